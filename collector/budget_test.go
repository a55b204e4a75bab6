package collector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// With a vendor that answers only when the test lets it and scrapes at
// every interval shorter than cache_ttl, no scrape after the first waits
// for the vendor, and refreshes stay at most 1.25 per cache_ttl.
func TestRefreshAheadNeverWaitsAndKeepsTheBudget(t *testing.T) {
	const ttl = 5 * time.Minute
	for _, interval := range []time.Duration{time.Second, 7 * time.Second, time.Minute, ttl - time.Second} {
		t.Run(interval.String(), func(t *testing.T) {
			clock := newFakeClock()
			f := &fakeVendor{value: 1}
			e := newTestExporter(clock, f)
			scrapeOnce(t, e, t.Context(), "") // the first scrape waits: there is no data yet

			release := make(chan struct{})
			f.mu.Lock()
			f.release = release // the vendor hangs until released
			f.mu.Unlock()
			const ttls = 10
			a := e.accounts[0]
			for elapsed := time.Duration(0); elapsed < ttls*ttl; elapsed += interval {
				clock.Advance(interval)
				// The refresh a scrape starts runs in the background and may
				// reach the vendor only after the scrape has returned.
				refreshing := a.needsRefresh(a.snapshot(), clock.Now())
				// A scrape that waited for the hanging vendor would
				// return only once its context ends.
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				got := scrapeOnce(t, e, ctx, "")
				require.NoError(t, ctx.Err(), "a scrape at %s waited for the vendor", elapsed)
				cancel()
				require.Contains(t, got, valueKey)
				if refreshing { // this scrape started a refresh, hanging now
					release <- struct{}{}
					settle(e)
				}
			}
			refreshes := float64(f.calls.Load() - 1)
			t.Logf("every %s: %.0f refreshes in %d cache_ttl", interval, refreshes, ttls)
			assert.LessOrEqual(t, refreshes/ttls, 1.25, "refreshes per cache_ttl")
			assert.GreaterOrEqual(t, refreshes/ttls, 0.9, "the data is kept fresh")
		})
	}
}

// limitedVendor is an aiops simulator answering after delay, behind a
// recorder of its traffic.
func limitedVendor(t *testing.T, delay time.Duration) (*testutil.Traffic, string) {
	sim := simulator.NewAIOps(simEmail, simToken)
	sim.SetLicenses(simulator.DemoAIOpsLicenses(time.Now())[:1]) // an answer small enough to leave in one write
	inj := faults.Wrap(sim)
	inj.SetFault(faults.Fault{Kind: faults.Latency, Delay: delay})
	traffic := testutil.NewTraffic(inj)
	srv := httptest.NewServer(traffic)
	t.Cleanup(srv.Close)
	return traffic, srv.URL
}

func aiopsAccounts(n int, url string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - {name: acct-%d, base_url: %q, aiops: {email: %s, token: %s}}\n", i, url, simEmail, simToken)
	}
	return b.String()
}

// 50 accounts of one vendor host share its limits: the vendor never sees
// more requests at once than max_concurrency, nor faster than the rate
// allows after the burst.
func TestLimitsHoldWithFiftyAccounts(t *testing.T) {
	const (
		accounts    = 50
		concurrency = 3
		rps         = 40.0
	)
	traffic, url := limitedVendor(t, 20*time.Millisecond)
	cfg, err := config.Parse(fmt.Appendf(nil, "limits: {aiops: {max_concurrency: %d, requests_per_second: %g}}\naccounts:\n%s",
		concurrency, rps, aiopsAccounts(accounts, url)), "")
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	e := New(Options{Registerer: reg})
	require.NoError(t, e.Apply(cfg))

	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	got := scrapeOnce(t, e, ctx, "")
	for i := range accounts {
		require.Equal(t, 1.0, got[fmt.Sprintf("quota_exporter_scrape_success{account=\"acct-%d\",vendor=\"aiops\"}", i)], "acct-%d", i)
	}
	arrivals := traffic.Arrivals()
	require.Len(t, arrivals, accounts)
	t.Logf("peak in flight %d, %d requests in %s", traffic.Peak(), len(arrivals), arrivals[len(arrivals)-1].Sub(start))
	assert.LessOrEqual(t, traffic.Peak(), concurrency, "requests in flight at once")
	assert.Greater(t, traffic.Peak(), 1, "the budget is used")
	// After a burst of max_concurrency, the token bucket lets rps through
	// per second: the last request cannot arrive before this.
	minSpan := time.Duration(float64(accounts-concurrency) / rps * float64(time.Second))
	assert.GreaterOrEqual(t, arrivals[len(arrivals)-1].Sub(start), minSpan, "requests per second")
	assert.Greater(t, gathered(t, reg, "quota_exporter_upstream_limit_wait_seconds_total", "aiops"), minSpan.Seconds(), "waiting is counted")
}

// A refresh is bounded as a whole by refresh_timeout, waits for limits
// included: two accounts behind a budget of one request every 10s cannot
// both finish within 1s, and the second fails at once rather than wait.
func TestRefreshTimeoutBoundsLimitWaits(t *testing.T) {
	traffic, url := limitedVendor(t, 0)
	logs := &syncbuf.Buffer{}
	cfg, err := config.Parse(fmt.Appendf(nil, "defaults: {timeout: 1s, refresh_timeout: 1s}\nlimits: {aiops: {max_concurrency: 1, requests_per_second: 0.1}}\naccounts:\n%s",
		aiopsAccounts(2, url)), "")
	require.NoError(t, err)
	e := New(Options{Registerer: prometheus.NewRegistry(), Logger: log.NewLogfmtLogger(logs)})
	require.NoError(t, e.Apply(cfg))

	start := time.Now()
	got := scrapeOnce(t, e, t.Context(), "")
	assert.Less(t, time.Since(start), 5*time.Second, "the refresh gave up at refresh_timeout")
	assert.Len(t, traffic.Arrivals(), 1, "only the first request was sent")
	assert.Equal(t, 1.0, got[`quota_exporter_scrape_success{account="acct-0",vendor="aiops"}`]+got[`quota_exporter_scrape_success{account="acct-1",vendor="aiops"}`])
	assert.Equal(t, 1.0, requestsWith(e, "acct-0", "aiops", upstream.ResultTimeout)+requestsWith(e, "acct-1", "aiops", upstream.ResultTimeout))
	assert.Contains(t, logs.String(), "requests_per_second")
}

// A paged refresh that takes longer than refresh_timeout fails as a whole.
func TestRefreshTimeoutBoundsAllPages(t *testing.T) {
	sim := simulator.NewVZICloud(simKeyID, simKeySecret)
	sim.SetGrants(simulator.DemoVZICloudGrants(time.Now()))
	inj := faults.Wrap(sim)
	inj.SetFault(faults.Fault{Kind: faults.Latency, Delay: 300 * time.Millisecond})
	srv := httptest.NewServer(inj)
	t.Cleanup(srv.Close)
	// 3,000 grants in pages of 100: 30 requests of 300ms, four at a time,
	// take over 2s; each one alone is well within its timeout.
	cfg, err := config.Parse(fmt.Appendf(nil, "defaults: {timeout: 1s, refresh_timeout: 1s}\nlimits: {vzicloud: {requests_per_second: 0}}\naccounts:\n"+
		"  - {name: acct, base_url: %q, vzicloud: {access_key_id: %s, access_key_secret: %s, page_size: 100}}\n", srv.URL, simKeyID, simKeySecret), "")
	require.NoError(t, err)
	e := New(Options{Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(cfg))
	// The scrape could wait longer than the refresh may take.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	got := scrapeOnce(t, e, ctx, "")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, 0.0, got[`quota_exporter_scrape_success{account="acct",vendor="vzicloud"}`])
	assert.Empty(t, vendorSeries(got, "vzicloud_"), "partial data is never published")
	assert.Positive(t, requestsWith(e, "acct", "vzicloud", upstream.ResultTimeout))
}
