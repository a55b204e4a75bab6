package collector

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sync/singleflight"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// Backoff after failed refreshes: the first retry waits backoffBase, each
// further failure doubles it up to the account's cache_ttl (at least
// backoffBase). A rate-limited refresh waits rateLimitFactor times longer, and
// never less than the vendor's Retry-After (capped at maxRetryAfter).
const (
	backoffBase     = 10 * time.Second
	rateLimitFactor = 4
	maxRetryAfter   = time.Hour
)

// account owns the cache of one configured vendor account.
type account struct {
	name     string
	vendor   string
	cacheTTL time.Duration
	timeout  time.Duration
	maxStale time.Duration
	fetch    fetchFunc
	clock    func() time.Time
	logger   log.Logger
	// requests counts the account's upstream requests; a changed account
	// takes over the counts of the one it replaces.
	requests *requestCounts
	// ownLabels label the exporter's own series of the account.
	ownLabels []*dto.LabelPair
	cfg       config.Account // to keep the cache across a reload that leaves the account unchanged
	// closeIdle closes the account's idle upstream connections once a
	// reload drops it; nil when it has none of its own.
	closeIdle func()

	// flight holds at most one refresh: concurrent scrapes share it.
	flight singleflight.Group

	mu    sync.Mutex
	state state
}

// state is what the last refreshes left behind; copied out under the lock.
type state struct {
	data         *metricSet
	dataTime     time.Time // end of the refresh that fetched data
	refreshed    bool      // a refresh has finished at least once
	lastOK       bool
	lastDuration time.Duration
	failures     int
	retryAt      time.Time // no refresh before this, after failures
}

func newAccount(cfg config.Account, fetch fetchFunc, clock func() time.Time, logger log.Logger) *account {
	eff := cfg.Effective
	return &account{
		name:      cfg.Name,
		vendor:    eff.Vendor,
		cacheTTL:  eff.CacheTTL,
		timeout:   eff.Timeout,
		maxStale:  eff.MaxStale,
		fetch:     fetch,
		clock:     clock,
		logger:    log.With(logger, "account", cfg.Name, "vendor", eff.Vendor),
		ownLabels: []*dto.LabelPair{labelPair("account", cfg.Name), labelPair("vendor", eff.Vendor)},
		cfg:       cfg,
	}
}

// current returns the state to serve, starting a refresh when the data is
// older than cache_ttl and no backoff is in force. It waits for the refresh
// until ctx is done; a refresh still running then goes on in the background
// and fills the cache for a later scrape.
func (a *account) current(ctx context.Context) state {
	st := a.snapshot()
	if !a.needsRefresh(st, a.clock()) {
		return st
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	done := a.flight.DoChan("refresh", func() (any, error) {
		// A refresh may have finished between our look and this flight
		// starting; checking again keeps it to one upstream call.
		if a.needsRefresh(a.snapshot(), a.clock()) {
			a.refresh()
		}
		return nil, nil
	})
	select {
	case <-done:
	case <-ctx.Done():
	}
	return a.snapshot()
}

// needsRefresh: the data is older than cache_ttl (or missing) and no backoff
// is in force.
func (a *account) needsRefresh(st state, now time.Time) bool {
	fresh := st.data != nil && now.Sub(st.dataTime) < a.cacheTTL
	return !fresh && !now.Before(st.retryAt)
}

func (a *account) snapshot() state {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// refresh fetches the account once. It runs detached from any scrape: a
// scrape that stops waiting does not cancel it. Each upstream request is
// bounded by the account's timeout.
func (a *account) refresh() {
	start := a.clock()
	set, err := a.fetch(context.Background())
	end := a.clock()

	a.mu.Lock()
	defer a.mu.Unlock()
	s := &a.state
	s.refreshed = true
	s.lastOK = err == nil
	s.lastDuration = end.Sub(start)
	if err == nil {
		s.data, s.dataTime = set, end
		s.failures, s.retryAt = 0, time.Time{}
		return
	}
	s.failures++
	wait := a.backoff(s.failures, err)
	s.retryAt = end.Add(wait)
	_ = level.Warn(a.logger).Log("msg", "refresh failed", "result", upstream.ResultOf(err), "failures", s.failures, "retry_in", wait, "err", err)
}

func (a *account) backoff(failures int, err error) time.Duration {
	ceiling := max(a.cacheTTL, backoffBase)
	wait := backoffBase
	for i := 1; i < failures && wait < ceiling; i++ {
		wait *= 2
	}
	wait = min(wait, ceiling)
	var ue *upstream.Error
	if errors.As(err, &ue) && ue.Result == upstream.ResultRateLimited {
		wait *= rateLimitFactor
		wait = max(wait, min(ue.RetryAfter, maxRetryAfter))
	}
	return wait
}

// servable reports whether the data may still be served at now.
func (a *account) servable(st state, now time.Time) bool {
	return st.data != nil && now.Sub(st.dataTime) < a.maxStale
}
