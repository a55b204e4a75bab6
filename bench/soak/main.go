// Command soak runs the exporter in-process against the demo simulators on
// loopback, scrapes it at a high rate while vendor faults flip on and off,
// and reports RSS, goroutines and open file descriptors at the start and the
// end. It exits 1 when one of them did not stay flat.
//
//	go run ./bench/soak -duration 2m
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/quotaexporter/quota_exporter/collector"
	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/server"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
)

func main() {
	var (
		duration  = flag.Duration("duration", 2*time.Minute, "how long to scrape")
		scrapers  = flag.Int("scrapers", 8, "concurrent scrape loops")
		flipEvery = flag.Duration("flip", 2*time.Second, "how often a vendor's fault changes")
		cacheTTL  = flag.Duration("cache-ttl", 2*time.Second, "cache_ttl of every account, short so vendors are called often")
	)
	flag.Parse()
	if err := run(*duration, *scrapers, *flipEvery, *cacheTTL); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// flipped are the faults flipped on at random; each ends in bounded time.
var flipped = []faults.Fault{
	{},
	{Kind: faults.Latency, Delay: 3 * time.Second},
	{Kind: faults.Drip, Delay: 3 * time.Second},
	{Kind: faults.Status, Status: 500},
	{Kind: faults.HTML},
	{Kind: faults.Unauthorized},
	{Kind: faults.RateLimited, RetryAfter: time.Second},
	{Kind: faults.Malformed},
	{Kind: faults.Truncated},
	{Kind: faults.Oversized, Size: 40 << 20},
	{Kind: faults.RedirectLoop},
	{Kind: faults.VendorError},
}

func run(duration time.Duration, scrapers int, flipEvery, cacheTTL time.Duration) error {
	demo, injectors, err := faults.StartDemo(time.Now())
	if err != nil {
		return err
	}
	defer func() { _ = demo.Close() }()
	cfg, err := config.Parse(demo.ConfigYAML(), "")
	if err != nil {
		return err
	}
	for i := range cfg.Accounts {
		cfg.Accounts[i].Effective.CacheTTL = cacheTTL
		cfg.Accounts[i].Effective.Timeout = time.Second
		cfg.Accounts[i].Effective.MaxStale = 10 * cacheTTL
	}

	reg := prometheus.NewRegistry()
	exporter := collector.New(collector.Options{Logger: log.NewNopLogger(), Registerer: reg, UserAgent: "quota_exporter/soak"})
	srv, err := server.New(server.Options{
		Logger: log.NewNopLogger(), Load: func() (*config.Config, error) { return cfg, nil },
		Exporter: exporter, Registry: reg, TelemetryPath: "/metrics", Landing: web.LandingConfig{Name: "soak"},
	})
	if err != nil {
		return err
	}
	if err := srv.Reload(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	httpServer := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = httpServer.Serve(ln) }()
	defer func() { _ = httpServer.Close() }()
	url := "http://" + ln.Addr().String() + "/metrics"

	// Warm up: connection pools, caches and the heap reach their working size.
	var scrapes, failures atomic.Int64
	load := func(d time.Duration) { scrapeFor(url, scrapers, d, &scrapes, &failures) }
	load(10 * time.Second)
	start := measure()

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var flips sync.WaitGroup
	flips.Go(func() { flipFaults(ctx, injectors, flipEvery) })
	load(duration)
	flips.Wait()

	// Let the last faults end and refreshes settle under a normal load.
	for _, inj := range injectors {
		inj.SetFault(faults.Fault{})
	}
	load(10 * time.Second)
	end := measure()

	fmt.Printf("soak: %s, %d scrapers, faults flipping every %s, cache_ttl %s\n", duration, scrapers, flipEvery, cacheTTL)
	fmt.Printf("scrapes: %d (%.0f/s), failed HTTP scrapes: %d\n", scrapes.Load(), float64(scrapes.Load())/(duration+20*time.Second).Seconds(), failures.Load())
	for _, vendor := range slices.Sorted(maps.Keys(injectors)) {
		fmt.Printf("upstream requests to %s: %d\n", vendor, injectors[vendor].Requests())
	}
	fmt.Printf("%-22s %12s %12s\n", "", "start", "end")
	fmt.Printf("%-22s %12.1f %12.1f\n", "RSS (MiB)", start.rssMiB, end.rssMiB)
	fmt.Printf("%-22s %12.1f %12.1f\n", "heap in use (MiB)", start.heapMiB, end.heapMiB)
	fmt.Printf("%-22s %12d %12d\n", "goroutines", start.goroutines, end.goroutines)
	fmt.Printf("%-22s %12d %12d\n", "open file descriptors", start.fds, end.fds)

	var errs []error
	if failures.Load() > 0 {
		errs = append(errs, fmt.Errorf("%d scrapes did not answer 200", failures.Load()))
	}
	// Flat: a little slack for the pools' working set, no growth with time.
	if end.goroutines > start.goroutines+10 {
		errs = append(errs, fmt.Errorf("goroutines grew from %d to %d", start.goroutines, end.goroutines))
	}
	if end.fds > start.fds+10 {
		errs = append(errs, fmt.Errorf("file descriptors grew from %d to %d", start.fds, end.fds))
	}
	if end.heapMiB > 2*start.heapMiB+8 {
		errs = append(errs, fmt.Errorf("heap grew from %.1f to %.1f MiB", start.heapMiB, end.heapMiB))
	}
	return errors.Join(errs...)
}

// scrapeFor runs n scrape loops for d.
func scrapeFor(url string, n int, d time.Duration, scrapes, failures *atomic.Int64) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "2")
				resp, err := http.DefaultClient.Do(req)
				scrapes.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
}

func flipFaults(ctx context.Context, injectors map[string]*faults.Injector, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for _, inj := range injectors {
				inj.SetFault(flipped[rand.IntN(len(flipped))])
			}
		}
	}
}

type sample struct {
	rssMiB, heapMiB float64
	goroutines, fds int
}

// measure samples after a full collection, so garbage does not count.
func measure() sample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, _ := os.ReadDir("/proc/self/fd")
	return sample{rssMiB: rssMiB(), heapMiB: float64(ms.HeapInuse) / (1 << 20), goroutines: runtime.NumGoroutine(), fds: len(fds)}
}

// rssMiB reads VmRSS from /proc (Linux); 0 elsewhere.
func rssMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kib / 1024
		}
	}
	return 0
}
