// Package limits is the request budget of each vendor API host: how many
// requests may be in flight at once (a semaphore) and how fast they may start
// (a token bucket whose burst is that concurrency). Every account of a vendor
// that reaches the same host shares one budget, pages included, so the number
// of accounts does not change what a vendor sees.
package limits

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"

	"github.com/quotaexporter/quota_exporter/config"
)

// Limits holds the budgets of every vendor host seen so far.
type Limits struct {
	wait *prometheus.CounterVec

	mu      sync.Mutex
	limitOf func(vendor string) config.Limit
	budgets map[host]*budget
}

type host struct{ vendor, address string }

// budget is one host's semaphore and token bucket, made for one limit.
type budget struct {
	limit config.Limit
	slots *semaphore.Weighted
	rate  *rate.Limiter // nil: no rate limit
}

// New returns Limits that apply the package defaults until Configure; the
// wait counter goes to reg when it is not nil.
func New(reg prometheus.Registerer) *Limits {
	l := &Limits{
		wait: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "quota_exporter",
			Name:      "upstream_limit_wait_seconds_total",
			Help:      "Time upstream requests spent waiting for their vendor host's limits (max_concurrency, requests_per_second) before being sent.",
		}, []string{"vendor"}),
		limitOf: (&config.Config{}).LimitFor,
		budgets: map[host]*budget{},
	}
	if reg != nil {
		reg.MustRegister(l.wait)
	}
	return l
}

// Configure takes the limits of a (re)loaded config. A host whose limit
// changed gets a new budget at its next request; requests already holding
// the old one finish under it. Unchanged hosts keep theirs.
func (l *Limits) Configure(cfg *config.Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limitOf = cfg.LimitFor
	for h, b := range l.budgets {
		if cfg.LimitFor(h.vendor) != b.limit {
			delete(l.budgets, h)
		}
	}
	for _, vendor := range config.Vendors {
		l.wait.WithLabelValues(vendor) // present from the start, so rate() works from the first wait
	}
}

// For returns the hook that holds each request to address (a URL's host:port)
// until the vendor's budget allows it.
func (l *Limits) For(vendor, address string) func(context.Context) (func(), error) {
	h := host{vendor, address}
	waited := l.wait.WithLabelValues(vendor)
	return func(ctx context.Context) (func(), error) {
		start := time.Now()
		release, err := l.budget(h).acquire(ctx)
		waited.Add(time.Since(start).Seconds())
		return release, err
	}
}

func (l *Limits) budget(h host) *budget {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.budgets[h]
	if b == nil {
		b = newBudget(l.limitOf(h.vendor))
		l.budgets[h] = b
	}
	return b
}

func newBudget(limit config.Limit) *budget {
	slots := max(limit.MaxConcurrency, 1)
	b := &budget{limit: limit, slots: semaphore.NewWeighted(int64(slots))}
	if limit.RequestsPerSecond > 0 {
		b.rate = rate.NewLimiter(rate.Limit(limit.RequestsPerSecond), slots)
	}
	return b
}

// acquire takes a slot, then a token, so that requests start no faster than
// the rate even when slots free up at once. Both waits end with ctx.
func (b *budget) acquire(ctx context.Context) (func(), error) {
	if err := b.slots.Acquire(ctx, 1); err != nil {
		return nil, fmt.Errorf("waiting for a free request slot (max_concurrency %d): %w", b.limit.MaxConcurrency, err)
	}
	if b.rate != nil {
		if err := b.rate.Wait(ctx); err != nil {
			b.slots.Release(1)
			return nil, fmt.Errorf("waiting for the request rate (requests_per_second %g): %w", b.limit.RequestsPerSecond, err)
		}
	}
	return func() { b.slots.Release(1) }, nil
}
