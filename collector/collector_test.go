package collector

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/testclock"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a settable clock, so cache and backoff tests need no sleeping.
type fakeClock = testclock.Clock

func newFakeClock() *fakeClock {
	return testclock.New(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
}

var testDesc = vendorDesc("test_value", "A test value.", "item")
var testCountdown = vendorDesc("test_seconds_until", "Seconds until a fixed instant.")

// fakeVendor counts fetches and answers with a value, an error, or blocks.
type fakeVendor struct {
	calls   atomic.Int64
	mu      sync.Mutex
	value   float64
	err     error
	release chan struct{} // when set, fetches wait for it
	until   time.Time     // instant for the clock-derived metric
}

func (f *fakeVendor) fetch(ctx context.Context) (answer, error) {
	f.calls.Add(1)
	f.mu.Lock()
	release := f.release
	f.mu.Unlock()
	if release != nil {
		<-release
	}
	f.mu.Lock()
	value, err, until := f.value, f.err, f.until
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return fakeAnswer{Value: value, Until: until}, nil
}

// source is the fake's fetch and its answers' storage codec.
func (f *fakeVendor) source() source {
	return source{
		fetch:  f.fetch,
		decode: decodeAnswer(func(a fakeAnswer) answer { return a }),
		schema: schemaOf(reflect.TypeFor[fakeAnswer]()),
	}
}

// fakeAnswer is a fake vendor snapshot: one value and one instant.
type fakeAnswer struct {
	Value float64
	Until time.Time
}

func (a fakeAnswer) render() (*metricSet, error) {
	b := newBuilder(newAccountLabels("acct", nil), 0)
	b.gauge(testDesc, a.Value, "a")
	families, err := b.finish()
	if err != nil {
		return nil, err
	}
	return &metricSet{families: families, shared: b.shared, layouts: b.layouts,
		clocked: func(now time.Time, b *builder) { b.gauge(testCountdown, a.Until.Sub(now).Seconds()) }}, nil
}

func (a fakeAnswer) encode(w io.Writer) error { return gob.NewEncoder(w).Encode(a) }

// settle waits for the refreshes in flight, which refresh ahead leaves
// running after a scrape returns.
func settle(e *Exporter) {
	e.mu.RLock()
	accounts := e.accounts
	e.mu.RUnlock()
	for _, a := range accounts {
		_, _, _ = a.flight.Do("refresh", func() (any, error) { return nil, nil })
	}
}

func (f *fakeVendor) set(value float64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value, f.err = value, err
}

func testAccount(name string) config.Account {
	return config.Account{Name: name, Effective: config.Effective{
		Vendor: "test", CacheTTL: 5 * time.Minute, Timeout: 15 * time.Second, RefreshTimeout: 2 * time.Minute, MaxStale: time.Hour,
	}}
}

func newTestExporter(clock *fakeClock, f *fakeVendor) *Exporter {
	e := New(Options{Clock: clock.Now, Logger: log.NewNopLogger()})
	e.accounts = []*account{newAccount(testAccount("acct"), f.source(), clock.Now, log.NewNopLogger())}
	return e
}

// scrapeOnce gathers one scrape and returns its series as "name{labels}" → value.
func scrapeOnce(t testing.TB, e *Exporter, ctx context.Context, only string) map[string]float64 {
	t.Helper()
	g, ok := e.Gatherer(ctx, only, nil)
	require.True(t, ok, "account %q is configured", only)
	mfs, err := g.Gather()
	require.NoError(t, err)
	requireConsistent(t, mfs)
	return flatten(mfs)
}

// requireConsistent checks what the exporter no longer checks at each
// scrape: client_golang's own consistency checks (valid names and label
// values, no series twice) pass, and its normalization (families sorted by
// name, series by labels) changes nothing.
func requireConsistent(t testing.TB, mfs []*dto.MetricFamily) {
	t.Helper()
	checked, err := prometheus.Gatherers{prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return mfs, nil
	})}.Gather()
	require.NoError(t, err)
	require.Equal(t, encodeText(t, checked), encodeText(t, mfs), "families come sorted as client_golang sorts them")
}

func encodeText(t testing.TB, mfs []*dto.MetricFamily) string {
	t.Helper()
	var buf strings.Builder
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&buf, mf)
		require.NoError(t, err)
	}
	return buf.String()
}

func flatten(mfs []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(labels)
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

const (
	valueKey   = `test_value{account="acct",item="a"}`
	successKey = `quota_exporter_scrape_success{account="acct",vendor="test"}`
	ageKey     = `quota_exporter_data_age_seconds{account="acct",vendor="test"}`
)

func TestCacheServesWithinTTL(t *testing.T) {
	clock := newFakeClock()
	f := &fakeVendor{value: 42}
	e := newTestExporter(clock, f)

	for i := range 12 {
		got := scrapeOnce(t, e, t.Context(), "")
		require.Equal(t, 42.0, got[valueKey], "scrape %d", i)
		require.Equal(t, 1.0, got[successKey])
		clock.Advance(20 * time.Second) // 12 scrapes span 3m40s < 4m, where refresh ahead starts
	}
	require.EqualValues(t, 1, f.calls.Load())

	clock.Advance(2 * time.Minute) // past cache_ttl
	f.set(43, nil)
	got := scrapeOnce(t, e, t.Context(), "")
	require.Equal(t, 42.0, got[valueKey], "the data on hand is served while the refresh runs")
	settle(e)
	require.EqualValues(t, 2, f.calls.Load())
	require.Equal(t, 43.0, scrapeOnce(t, e, t.Context(), "")[valueKey])
}

func TestConcurrentScrapesShareOneRefresh(t *testing.T) {
	clock := newFakeClock()
	f := &fakeVendor{value: 1}
	e := newTestExporter(clock, f)
	release := make(chan struct{})
	f.mu.Lock()
	f.release = release
	f.mu.Unlock()

	// Without data, every scrape waits on the one refresh.
	var wg sync.WaitGroup
	results := make([]map[string]float64, 50)
	for i := range results {
		wg.Go(func() { results[i] = scrapeOnce(t, e, t.Context(), "") })
	}
	require.Eventually(t, func() bool { return f.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	require.EqualValues(t, 1, f.calls.Load(), "50 concurrent scrapes of an empty cache cause exactly one upstream refresh")
	for _, r := range results {
		require.Equal(t, 1.0, r[valueKey])
	}

	// With data at expiry, none waits and still one refresh runs.
	clock.Advance(5 * time.Minute)
	f.set(2, nil)
	release = make(chan struct{})
	f.mu.Lock()
	f.release = release
	f.mu.Unlock()
	for i := range results {
		wg.Go(func() { results[i] = scrapeOnce(t, e, t.Context(), "") })
	}
	wg.Wait()
	close(release)
	settle(e)
	require.EqualValues(t, 2, f.calls.Load(), "50 concurrent scrapes at expiry cause exactly one upstream refresh")
	for _, r := range results {
		require.Equal(t, 1.0, r[valueKey])
	}
	require.Equal(t, 2.0, scrapeOnce(t, e, t.Context(), "")[valueKey])
}

func TestSlowVendorServesStaleWithinDeadline(t *testing.T) {
	clock := newFakeClock()
	f := &fakeVendor{value: 7, until: clock.Now().Add(time.Hour)}
	e := newTestExporter(clock, f)
	scrapeOnce(t, e, t.Context(), "")
	clock.Advance(6 * time.Minute)

	release := make(chan struct{})
	f.mu.Lock()
	f.release = release
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := scrapeOnce(t, e, ctx, "")
	require.Less(t, time.Since(start), 2*time.Second, "the scrape returns at its deadline")
	require.Equal(t, 7.0, got[valueKey], "last good data is served while the refresh runs")
	require.Equal(t, 360.0, got[ageKey])
	require.Equal(t, 1.0, got[successKey], "no refresh has failed yet")
	require.Equal(t, 3600.0-360, got[`test_seconds_until{account="acct"}`], "clock-derived values use the scrape's time")

	// The refresh goes on in the background and fills the cache.
	f.set(8, nil)
	close(release)
	require.Eventually(t, func() bool {
		return scrapeOnce(t, e, t.Context(), "")[valueKey] == 8
	}, 5*time.Second, time.Millisecond)
	require.EqualValues(t, 2, f.calls.Load())
}

func TestFailuresServeStaleUntilMaxStaleAndBackOff(t *testing.T) {
	clock := newFakeClock()
	f := &fakeVendor{value: 5}
	e := newTestExporter(clock, f)
	scrapeOnce(t, e, t.Context(), "")

	f.set(0, &upstream.Error{Result: upstream.ResultHTTPError, Err: errors.New("HTTP status 500")})
	clock.Advance(5 * time.Minute)
	scrapeOnce(t, e, t.Context(), "")
	settle(e)
	got := scrapeOnce(t, e, t.Context(), "")
	require.EqualValues(t, 2, f.calls.Load())
	require.Equal(t, 0.0, got[successKey])
	require.Equal(t, 5.0, got[valueKey], "stale data is served after a failed refresh")

	// Scrapes every 5s during the backoff do not call the vendor.
	for range 3 {
		clock.Advance(3 * time.Second)
		scrapeOnce(t, e, t.Context(), "")
	}
	require.EqualValues(t, 2, f.calls.Load(), "no upstream call during the first 10s backoff")
	clock.Advance(time.Second)
	scrapeOnce(t, e, t.Context(), "")
	settle(e)
	require.EqualValues(t, 3, f.calls.Load(), "a retry once the backoff has passed")
	// The second failure doubles the wait to 20s.
	clock.Advance(19 * time.Second)
	scrapeOnce(t, e, t.Context(), "")
	require.EqualValues(t, 3, f.calls.Load())
	clock.Advance(time.Second)
	scrapeOnce(t, e, t.Context(), "")
	settle(e)
	require.EqualValues(t, 4, f.calls.Load())

	// Past max_stale (1h since the data was fetched) the vendor series go.
	clock.Advance(time.Hour)
	got = scrapeOnce(t, e, t.Context(), "")
	require.NotContains(t, got, valueKey)
	require.NotContains(t, got, ageKey)
	require.Equal(t, 0.0, got[successKey])
	require.Contains(t, got, `quota_exporter_last_success_timestamp_seconds{account="acct",vendor="test"}`)
}

func TestBackoff(t *testing.T) {
	a := newAccount(testAccount("acct"), source{}, time.Now, log.NewNopLogger())
	plain := errors.New("boom")
	limited := &upstream.Error{Result: upstream.ResultRateLimited}
	limitedAfter := &upstream.Error{Result: upstream.ResultRateLimited, RetryAfter: 2 * time.Hour}
	for _, tc := range []struct {
		failures int
		err      error
		want     time.Duration
	}{
		{1, plain, 10 * time.Second},
		{2, plain, 20 * time.Second},
		{5, plain, 160 * time.Second},
		{6, plain, 5 * time.Minute}, // capped at cache_ttl
		{60, plain, 5 * time.Minute},
		{1, limited, 40 * time.Second},
		{6, limited, 20 * time.Minute},
		{1, limitedAfter, time.Hour}, // Retry-After honored up to an hour
	} {
		require.Equal(t, tc.want, a.backoff(tc.failures, tc.err), "%d failures, %v", tc.failures, tc.err)
	}
}

func TestProbeSelectsOneAccount(t *testing.T) {
	clock := newFakeClock()
	f1, f2 := &fakeVendor{value: 1}, &fakeVendor{value: 2}
	e := New(Options{Clock: clock.Now})
	e.accounts = []*account{
		newAccount(testAccount("acct"), f1.source(), clock.Now, log.NewNopLogger()),
		newAccount(testAccount("other"), f2.source(), clock.Now, log.NewNopLogger()),
	}
	got := scrapeOnce(t, e, t.Context(), "other")
	require.EqualValues(t, 0, f1.calls.Load(), "a probe of one account does not refresh the others")
	require.EqualValues(t, 1, f2.calls.Load())
	require.Equal(t, 1.0, got[`quota_exporter_scrape_success{account="other",vendor="test"}`])
	require.NotContains(t, got, successKey)
	_, ok := e.Gatherer(t.Context(), "nobody", nil)
	require.False(t, ok, "an unknown account has no gatherer")
}
