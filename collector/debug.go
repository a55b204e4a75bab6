package collector

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// Refresh is how one refresh went, for a person to read. Nothing in it is
// secret.
type Refresh struct {
	Start, End time.Time
	Result     upstream.Result
	Err        error // nil on success; safe to show
	Requests   []upstream.TracedRequest
	Notes      []string // what the vendor client noted (pages announced, limits)
}

// Debug is what /probe?debug=true shows of one account.
type Debug struct {
	// Decision says what this request found and did: served from cache,
	// backing off, or refreshing, and why.
	Decision string
	// Ran is true when Refresh ran during this request; else Refresh is the
	// account's previous one (nil when none has finished).
	Ran     bool
	Refresh *Refresh
	Status  AccountStatus
	// Metrics holds the account's series as the probe served them.
	Metrics prometheus.Gatherer
}

// Debug does what a probe of the account does (a refresh only when a scrape
// would run one) and reports how. ok is false for an unknown account.
func (e *Exporter) Debug(ctx context.Context, name string) (d Debug, ok bool) {
	a := e.find(name)
	if a == nil {
		return Debug{}, false
	}

	before := a.snapshot()
	needed := a.needsRefresh(before, e.opts.Clock())
	d.Decision = a.explain(before, e.opts.Clock())
	st := a.current(ctx)
	d.Ran = st.last != before.last
	if needed && !d.Ran {
		d.Decision += "; it did not finish before this request's deadline and goes on in the background"
	}
	if st.last != nil {
		d.Refresh = &Refresh{
			Start:    st.last.start,
			End:      st.last.end,
			Result:   upstream.ResultOf(st.last.err),
			Err:      st.last.err,
			Requests: st.last.trace.Requests(),
			Notes:    st.last.trace.Notes(),
		}
		// Pages are read in parallel and recorded as they end; a person
		// reads them in the order they were sent.
		slices.SortStableFunc(d.Refresh.Requests, func(x, y upstream.TracedRequest) int { return x.Start.Compare(y.Start) })
	}
	d.Status = a.status(e.opts.Clock())
	d.Status.Shard = e.opts.Shard
	d.Metrics = &served{account: a, state: st, clock: e.opts.Clock}
	return d, true
}

// find returns the account of that name, or nil.
func (e *Exporter) find(name string) *account {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if i := slices.IndexFunc(e.accounts, func(a *account) bool { return a.name == name }); i >= 0 {
		return e.accounts[i]
	}
	return nil
}

// explain says why a scrape at now would, or would not, refresh.
func (a *account) explain(st state, now time.Time) string {
	age := now.Sub(st.dataTime).Round(time.Second)
	switch {
	case now.Before(st.retryAt):
		return fmt.Sprintf("backing off after %d failed refresh(es) until %s (%s from now): no upstream call",
			st.failures, st.retryAt.UTC().Format(time.RFC3339), st.retryAt.Sub(now).Round(time.Second))
	case !a.needsRefresh(st, now):
		return fmt.Sprintf("data is %s old, younger than cache_ttl %s: served from cache, no upstream call", age, a.cacheTTL)
	case st.data == nil:
		return "no data yet: this request refreshes the account"
	default:
		return fmt.Sprintf("data is %s old, not younger than cache_ttl %s: this request refreshes the account", age, a.cacheTTL)
	}
}

// served gathers one account in a state already fetched.
type served struct {
	account *account
	state   state
	clock   func() time.Time
}

func (s *served) Gather() ([]*dto.MetricFamily, error) {
	now := s.clock()
	own := newBuilder(nil, 0)
	servable := s.account.servable(s.state, now)
	ownSeries(own, s.account, s.state, servable, now)
	parts := [][]*dto.MetricFamily{own.ownFamilies()}
	if servable {
		parts = append(parts, s.state.data.families, s.state.data.clockedFamilies(now))
	}
	return mergeFamilies(parts), nil
}

// Check is the outcome of one account's refresh by CheckAccounts.
type Check struct {
	Name     string
	Vendor   string
	Shard    int // this replica's, which owns the account
	Result   upstream.Result
	Duration time.Duration
	Series   int   // vendor series the answer makes
	Err      error // nil on success; safe to show
}

// CheckAccounts refreshes every account once, whatever its cache, all at
// once, and reports each in configuration order.
func (e *Exporter) CheckAccounts() []Check {
	e.mu.RLock()
	accounts := e.accounts
	e.mu.RUnlock()
	out := make([]Check, len(accounts))
	var wg sync.WaitGroup
	for i, a := range accounts {
		wg.Go(func() {
			a.refresh()
			st := a.snapshot()
			c := Check{Name: a.name, Vendor: a.vendor, Shard: e.opts.Shard, Result: upstream.ResultOf(st.last.err), Duration: st.lastDuration, Err: st.last.err}
			if c.Err == nil {
				c.Series = st.data.series
			}
			out[i] = c
		})
	}
	wg.Wait()
	return out
}
