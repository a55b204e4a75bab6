package vzicloud

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// The documented state codes that make a grant active.
const (
	StateGranted = 1
	StateOffline = 5
)

// permanent is the expire_time of a grant that never expires.
const permanent = -1

// GrantKey groups grant records for counting. Codes outside the documented
// sets are kept as they came; Valid is false when the vendor sent none.
type GrantKey struct {
	ProductID string
	Type      upstream.Code
	State     upstream.Code
}

// Snapshot is the grant list, aggregated: it holds counts, never records,
// so its size depends on the number of products and distinct expiry times.
type Snapshot struct {
	Grants   map[GrantKey]int
	Products map[string]*Expiries // every product_id seen, active grants or not
}

// Expiries are the active grants of one product: how many never expire,
// and how many expire at each instant, for questions asked at scrape time.
type Expiries struct {
	Permanent int
	at        []int64 // distinct expire_times, ascending
	before    []int   // before[i]: grants expiring before at[i]; one more entry for all
}

// Expired is the number of grants whose expiry is before now.
func (e *Expiries) Expired(now time.Time) int {
	return e.countBefore(now.Unix())
}

// Expiring is the number of grants expiring at or after now and before now+window.
func (e *Expiries) Expiring(now time.Time, window time.Duration) int {
	return e.countBefore(now.Add(window).Unix()) - e.countBefore(now.Unix())
}

// NextExpiry is the earliest expiry at or after now; false when none.
func (e *Expiries) NextExpiry(now time.Time) (time.Time, bool) {
	i := sort.Search(len(e.at), func(i int) bool { return e.at[i] >= now.Unix() })
	if i == len(e.at) {
		return time.Time{}, false
	}
	return time.Unix(e.at[i], 0), true
}

func (e *Expiries) countBefore(unix int64) int {
	return e.before[sort.Search(len(e.at), func(i int) bool { return e.at[i] >= unix })]
}

// aggregate counts grant records as they are decoded, page by page.
type aggregate struct {
	grants    map[GrantKey]int
	products  map[string]*productTally
	processed int
}

type productTally struct {
	permanent int
	expiries  map[int64]int
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
	if !g.State.Valid || (g.State.Value != StateGranted && g.State.Value != StateOffline) || !g.ExpireTime.Valid {
		return
	}
	if g.ExpireTime.Value == permanent {
		p.permanent++
		return
	}
	p.expiries[g.ExpireTime.Value]++
}

// merge adds another page's counts.
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
		e := &Expiries{Permanent: p.permanent, at: make([]int64, 0, len(p.expiries))}
		for at := range p.expiries {
			e.at = append(e.at, at)
		}
		slices.SortFunc(e.at, cmp.Compare)
		e.before = make([]int, len(e.at)+1)
		for i, at := range e.at {
			e.before[i+1] = e.before[i] + p.expiries[at]
		}
		s.Products[product] = e
	}
	return s
}
