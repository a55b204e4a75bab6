package collector

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
)

// manyAccounts is n accounts spread evenly over the four simulated vendors,
// with limits loose enough to fill the storage quickly.
func (s *storedVendors) manyAccounts(b *testing.B, n int) *config.Config {
	var y strings.Builder
	y.WriteString("defaults: {cache_ttl: 5m, max_stale: 1h, timeout: 1m, refresh_timeout: 5m}\nlimits:\n")
	for _, v := range simulatedVendors {
		fmt.Fprintf(&y, "  %s: {max_concurrency: 32, requests_per_second: 0}\n", v.name)
	}
	y.WriteString("accounts:\n")
	for i := range n {
		v := simulatedVendors[i%len(simulatedVendors)]
		fmt.Fprintf(&y, "  - name: %s-%d\n    base_url: %s\n    %s\n", v.name, i, s.urls[v.name], v.block)
	}
	cfg, err := config.Parse([]byte(y.String()), "")
	require.NoError(b, err)
	return cfg
}

// BenchmarkRestartToFirstScrape: a start with 1,000 stored answers (250 per
// vendor, the demo data) until its first complete /metrics, with no
// upstream call.
func BenchmarkRestartToFirstScrape(b *testing.B) {
	s := newStoredVendors(b)
	dir := b.TempDir()
	cfg := s.manyAccounts(b, 1000)
	scrapeOnce(b, s.start(b, dir, cfg, &syncbuf.Buffer{}), b.Context(), "")
	called := s.requests()
	b.ResetTimer()
	for b.Loop() {
		e := New(Options{Clock: s.clock.Now, Logger: log.NewNopLogger(), Registerer: prometheus.NewRegistry(), StoragePath: dir})
		require.NoError(b, e.Apply(cfg))
		scrapeOnce(b, e, b.Context(), "")
	}
	b.StopTimer()
	require.Equal(b, called, s.requests(), "served from storage")
}

// BenchmarkSaveAnswer is the cost a successful refresh adds with
// --storage.path: encoding the snapshot and writing it durably.
func BenchmarkSaveAnswer(b *testing.B) {
	s := newStoredVendors(b)
	cfg := s.config(b, nil)
	dir := b.TempDir()
	e := s.start(b, dir, cfg, &syncbuf.Buffer{})
	for _, a := range e.accounts {
		b.Run(a.vendor, func(b *testing.B) {
			ans, err := a.source.fetch(b.Context())
			require.NoError(b, err)
			for b.Loop() {
				a.save(ans, s.clock.Now())
			}
			var snapshot bytes.Buffer
			require.NoError(b, ans.encode(&snapshot))
			size := snapshot.Len()
			b.ReportMetric(float64(size), "snapshot-bytes")
		})
	}
}

// BenchmarkStoredSeries reports the live heap that 1,000 accounts' stored
// families take (the demo data), per series: what steady memory is made of.
func BenchmarkStoredSeries(b *testing.B) {
	s := newStoredVendors(b)
	cfg := s.manyAccounts(b, 1000)
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		e := s.start(b, "", cfg, &syncbuf.Buffer{})
		series := len(scrapeOnce(b, e, b.Context(), ""))
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(series), "live-bytes/series")
		b.ReportMetric(float64(series), "series")
		runtime.KeepAlive(e)
	}
}
