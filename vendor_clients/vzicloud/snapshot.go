package vzicloud

import (
	"cmp"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// NeverExpires is the expire_time of a permanent grant.
const NeverExpires = -1

// Active reports whether a grant in state is in force: granted (1) or an
// offline grant (5). Only active grants count towards permanence and expiry.
func Active(state upstream.Code) bool {
	return state.Valid && (state.Value == StateGranted || state.Value == StateOffline)
}

// GrantKey groups grant records for counting. Codes outside the documented
// sets are kept as they came, to be labeled with their number; Valid is
// false when the vendor sent no integer code (null, absent or text).
type GrantKey struct {
	ProductID string // product_id as sent, numbers as their literal text
	Type      upstream.Code
	State     upstream.Code
}

// Snapshot is the grant list, aggregated: it holds counts, never records,
// so its size grows with the number of products and of distinct expiry
// times, not with the number of grants. Questions that depend on the
// clock are answered at the time asked, so a cached Snapshot never shows
// a stale countdown. A Snapshot is not modified after Fetch returns it and
// is safe for concurrent reads.
type Snapshot struct {
	// Grants counts every record by product, type and state.
	Grants map[GrantKey]int
	// Products holds the active grants' expiries of every product_id seen,
	// including products without active grants.
	Products map[string]*Expiries
}

// Expiries are the active grants of one product: how many never expire,
// and how many expire at each distinct instant, sorted, so that counts for
// any now and window take a binary search. Grants without a usable
// expire_time count in neither.
type Expiries struct {
	Permanent int
	at        []int64 // distinct expire_times in Unix seconds, ascending
	before    []int   // before[i]: grants expiring before at[i]; one more entry for all
}

// Expired is the number of grants whose expiry is before now.
func (e *Expiries) Expired(now time.Time) int {
	return e.countBefore(now)
}

// Expiring is the number of grants expiring at or after now and before
// now+window.
func (e *Expiries) Expiring(now time.Time, window time.Duration) int {
	return e.countBefore(now.Add(window)) - e.countBefore(now)
}

// NextExpiry is the earliest expiry at or after now; false when none.
func (e *Expiries) NextExpiry(now time.Time) (time.Time, bool) {
	i := e.search(now)
	if i == len(e.at) {
		return time.Time{}, false
	}
	return time.Unix(e.at[i], 0), true
}

// countBefore is the number of grants expiring before t.
func (e *Expiries) countBefore(t time.Time) int {
	if len(e.before) == 0 { // the zero Expiries
		return 0
	}
	return e.before[e.search(t)]
}

// search is the index of the first expiry at or after t. Expiries are
// whole seconds, so one at or after t is one at or after t rounded up.
func (e *Expiries) search(t time.Time) int {
	unix := t.Unix()
	if t.Nanosecond() > 0 {
		unix++
	}
	return sort.Search(len(e.at), func(i int) bool { return e.at[i] >= unix })
}

// aggregate counts grant records as they are decoded, page by page.
type aggregate struct {
	grants    map[GrantKey]int
	products  map[string]*productTally
	processed int
}

type productTally struct {
	permanent int
	expiries  map[int64]int // active grants by expire_time
}

func newAggregate() *aggregate {
	return &aggregate{grants: map[GrantKey]int{}, products: map[string]*productTally{}}
}

func (a *aggregate) add(g *grant) {
	a.processed++
	product := string(g.ProductID)
	a.grants[GrantKey{ProductID: product, Type: g.Type, State: g.State}]++
	p := a.products[product]
	if p == nil {
		p = &productTally{expiries: map[int64]int{}}
		a.products[product] = p
	}
	if !Active(g.State) || !g.ExpireTime.Valid {
		return
	}
	if g.ExpireTime.Value == NeverExpires {
		p.permanent++
		return
	}
	p.expiries[g.ExpireTime.Value]++
}

// merge adds another page's counts; b is not used afterwards.
func (a *aggregate) merge(b *aggregate) {
	a.processed += b.processed
	for k, n := range b.grants {
		a.grants[k] += n
	}
	for product, bp := range b.products {
		p := a.products[product]
		if p == nil {
			a.products[product] = bp
			continue
		}
		p.permanent += bp.permanent
		for at, n := range bp.expiries {
			p.expiries[at] += n
		}
	}
}

func (a *aggregate) snapshot() *Snapshot {
	s := &Snapshot{Grants: a.grants, Products: make(map[string]*Expiries, len(a.products))}
	for product, p := range a.products {
		at := slices.SortedFunc(maps.Keys(p.expiries), cmp.Compare)
		s.Products[product] = newExpiries(p.permanent, at, func(i int) int { return p.expiries[at[i]] })
	}
	return s
}

// newExpiries holds permanent grants and count(i) grants expiring at each
// instant at[i]; at is ascending and distinct.
func newExpiries(permanent int, at []int64, count func(i int) int) *Expiries {
	e := &Expiries{Permanent: permanent, at: at, before: make([]int, len(at)+1)}
	for i := range at {
		e.before[i+1] = e.before[i] + count(i)
	}
	return e
}
