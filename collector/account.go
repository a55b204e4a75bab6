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
	"github.com/quotaexporter/quota_exporter/storage"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// refreshAheadAt is the part of cache_ttl after which a scrape that finds
// data serves it and starts a refresh in the background: no scrape waits on
// the vendor once an account has data, and refreshes start at least
// 4/5 cache_ttl apart, so at most 1.25 per cache_ttl.
const refreshAheadAt = 0.8

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
	// refreshTimeout bounds a whole refresh: every page, every wait for limits.
	refreshTimeout time.Duration
	source         source
	clock          func() time.Time
	logger         log.Logger
	cfg            config.Account // to keep the cache across a reload that leaves the account unchanged
	// store keeps the answers across restarts (nil: memory only); identity
	// is what a stored answer must have been fetched for to be served.
	store    *storage.Store
	identity string
	// requests counts the account's upstream requests; a changed account
	// takes over the counts of the one it replaces.
	requests *requestCounts
	// ownLabels label the exporter's own series of the account.
	ownLabels []*dto.LabelPair
	// client sends the upstream requests, shared with the accounts of the
	// same http_client_config; nil in tests whose sources send none.
	client *sharedClient

	// flight holds at most one refresh: concurrent scrapes share it.
	flight singleflight.Group

	mu    sync.Mutex
	state state
	calls callWindow // upstream requests of finished refreshes, for the status page
}

// state is what the last refreshes left behind; copied out under the lock.
type state struct {
	data         *metricSet
	dataTime     time.Time // end of the refresh that fetched data
	lastOK       bool
	lastDuration time.Duration
	failures     int
	retryAt      time.Time      // no refresh before this, after failures
	last         *refreshRecord // how the last refresh went, for the status page and debug view
}

func newAccount(cfg config.Account, src source, clock func() time.Time, logger log.Logger) *account {
	eff := cfg.Effective
	return &account{
		name:           cfg.Name,
		vendor:         eff.Vendor,
		cacheTTL:       eff.CacheTTL,
		timeout:        eff.Timeout,
		maxStale:       eff.MaxStale,
		refreshTimeout: eff.RefreshTimeout,
		source:         src,
		clock:          clock,
		logger:         log.With(logger, "account", cfg.Name, "vendor", eff.Vendor),
		cfg:            cfg,
		ownLabels:      []*dto.LabelPair{labelPair("account", cfg.Name), labelPair("vendor", eff.Vendor)},
	}
}

// current returns the state to serve, starting a refresh when the data is
// near the end of cache_ttl (or missing) and no backoff is in force. Data
// that may be served is served at once, the refresh filling the cache for
// later scrapes; without it, current waits for the refresh until ctx is
// done, and a refresh still running then goes on in the background.
func (a *account) current(ctx context.Context) state {
	st := a.snapshot()
	now := a.clock()
	if !a.needsRefresh(st, now) {
		return st
	}
	done := a.flight.DoChan("refresh", func() (any, error) {
		// A refresh may have finished between our look and this flight
		// starting; checking again keeps it to one upstream call.
		if a.needsRefresh(a.snapshot(), a.clock()) {
			a.refresh()
		}
		return nil, nil
	})
	if a.servable(st, now) {
		return st
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	return a.snapshot()
}

// needsRefresh: the data is near the end of cache_ttl (or missing) and no
// backoff is in force.
func (a *account) needsRefresh(st state, now time.Time) bool {
	fresh := st.data != nil && now.Before(a.refreshDue(st))
	return !fresh && !now.Before(st.retryAt)
}

// refreshDue is when the data is old enough for a scrape to refresh ahead.
func (a *account) refreshDue(st state) time.Time {
	return st.dataTime.Add(time.Duration(float64(a.cacheTTL) * refreshAheadAt))
}

func (a *account) snapshot() state {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// refresh fetches the account once and stores a good answer. It runs
// detached from any scrape: a scrape that stops waiting does not cancel it.
// It is bounded as a whole by refresh_timeout, each request by timeout.
func (a *account) refresh() {
	if a.client != nil {
		a.client.begin()
		defer a.client.end()
	}
	trace := &upstream.Trace{}
	ctx, cancel := context.WithTimeout(upstream.WithTrace(context.Background(), trace), a.refreshTimeout)
	defer cancel()
	start := a.clock()
	ans, err := a.source.fetch(ctx)
	var set *metricSet
	if err == nil {
		set, err = ans.render()
	}
	end := a.clock()
	a.publish(set, &refreshRecord{start: start, end: end, err: err, trace: trace})
	if err == nil {
		a.save(ans, end)
	}
}

// publish records a refresh's outcome: its data, or its failure and backoff.
func (a *account) publish(set *metricSet, rec *refreshRecord) {
	end, err := rec.end, rec.err
	a.mu.Lock()
	defer a.mu.Unlock()
	s := &a.state
	s.last = rec
	a.calls.add(end, len(rec.trace.Requests()))
	s.lastOK = err == nil
	s.lastDuration = end.Sub(rec.start)
	if err == nil {
		s.data, s.dataTime = set, end
		s.failures, s.retryAt = 0, time.Time{}
		return
	}
	s.failures++
	wait := a.backoff(s.failures, err)
	s.retryAt = end.Add(wait)
	level.Warn(a.logger).Log("msg", "refresh failed", "result", upstream.ResultOf(err), "failures", s.failures, "retry_in", wait, "err", err)
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
