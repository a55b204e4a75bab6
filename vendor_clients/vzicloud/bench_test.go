package vzicloud

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quotaexporter/quota_exporter/simulator/faults"
)

// BenchmarkFetch100k aggregates 100,000 grants from the simulator in pages
// of 10,000 and reports the peak heap growth during a Fetch: the most the
// heap grew above what it held after a GC just before, sampled every
// millisecond. Client and simulator share the process, so the figure
// includes the simulator's encoding; and, as heap in use, garbage not yet
// collected.
func BenchmarkFetch100k(b *testing.B) {
	benchmarkFetch(b, 100000, faults.Fault{})
}

// BenchmarkFetch1M is the same for 1,000,000 grants (100 pages): the heap
// must not grow with the grants, only with the pages in flight.
func BenchmarkFetch1M(b *testing.B) {
	benchmarkFetch(b, 1000000, faults.Fault{})
}

// BenchmarkFetch100kSlowPages is the same with 50ms of latency on every
// page: with four pages in flight, a refresh takes page 1 and then three
// rounds, about 4 × 50ms, not the 10 × 50ms of reading pages one by one.
func BenchmarkFetch100kSlowPages(b *testing.B) {
	benchmarkFetch(b, 100000, faults.Fault{Kind: faults.Latency, Delay: 50 * time.Millisecond})
}

func benchmarkFetch(b *testing.B, n int, fault faults.Fault) {
	grants := manyGrants(n, time.Now())
	c, _, inj := newTestClient(b, grants, Config{PageSize: 10000})
	inj.SetFault(fault)
	var peak uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		base := heapObjects()
		var high atomic.Uint64
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				if h := heapObjects(); h > high.Load() {
					high.Store(h)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		b.StartTimer()
		snap, err := c.Fetch(context.Background())
		b.StopTimer()
		close(stop)
		<-done
		if err != nil || len(snap.Products) != 10 {
			b.Fatal(err)
		}
		if h := high.Load(); h > base {
			peak = max(peak, h-base)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// heapObjects is the bytes of heap objects, live or not yet swept; read
// through runtime/metrics, which, unlike runtime.ReadMemStats, does not
// stop the world, so sampling does not slow the Fetch it measures.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkDecodePage decodes one page of 10,000 grants held in memory: the
// client's CPU cost per page, without HTTP or the simulator's encoding.
func BenchmarkDecodePage(b *testing.B) {
	const n = 10000
	body, err := json.Marshal(map[string]any{"page": 1, "size": n, "total": n, "items": manyGrants(n, time.Now())})
	if err != nil {
		b.Fatal(err)
	}
	c := newClientFor(b, "http://vendor.invalid", Config{PageSize: n})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		resp := &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(body))}
		agg, _, err := c.decodePage(resp, 1, -1, nil)
		if err != nil || agg.processed != n {
			b.Fatal(agg, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/grant")
}
