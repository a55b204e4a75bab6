package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/quotaexporter/quota_exporter/collector"
	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/testclock"
	"github.com/quotaexporter/quota_exporter/server"
	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

// figures are one size's measurements.
type figures struct {
	Accounts, Series, BodyKiB      int
	Warm, Floor, WarmCPU, FloorCPU time.Duration // medians; CPU per scrape
	// MiB: at rest a scrape interval after the steady hour, right after it
	// (after a collection), the highest during it, and the live heap.
	SteadyRSS, SteadyRSSAfter, SteadyPeakRSS, SteadyHeap float64
	Goroutines                                           int // at rest
	Cold, ColdCPU                                        time.Duration
	BurstPeakRSS                                         float64 // MiB
	BurstOK, BurstRefused, BurstOther                    int
	CacheRows                                            []row
}

func (f figures) ratio() float64 { return float64(f.Warm) / float64(f.Floor) }

func (f figures) burstAnswers() string {
	return fmt.Sprintf("%d×200 %d×503 %d other", f.BurstOK, f.BurstRefused, f.BurstOther)
}

// steadyInterval is the scrape interval of the steady hour, and the rest
// before its memory is measured.
const steadyInterval = 20 * time.Second

// rig is an exporter with perVendor accounts of each vendor, all reading
// the demo simulators, and a clock the rig moves.
type rig struct {
	sims     *simulators
	handler  http.Handler
	exporter *collector.Exporter
	registry *prometheus.Registry
	accounts int
	clock    *testclock.Clock
	cfg      *config.Config
}

// newRig builds a rig on the simulators with perVendor accounts of each
// vendor, serving with --web.max-requests=maxRequests.
func newRig(sims *simulators, perVendor, maxRequests int) (*rig, error) {
	demoCfg, err := config.Parse(sims.config, "")
	if err != nil {
		return nil, err
	}
	// perVendor copies of each demo account: same vendor, own cache.
	cfg := &config.Config{}
	for _, a := range demoCfg.Accounts {
		for i := range perVendor {
			c := a
			c.Name = fmt.Sprintf("%s-%04d", a.Name, i)
			if c.VZICloud != nil {
				v := *c.VZICloud
				v.PageSize = vzicloud.MaxPageSize // one page: latency is per request
				c.VZICloud = &v
			}
			c.Effective.CacheTTL = 5 * time.Minute
			c.Effective.Timeout = 60 * time.Second
			cfg.Accounts = append(cfg.Accounts, c)
		}
	}
	r := &rig{sims: sims, clock: testclock.New(time.Now()), registry: prometheus.NewRegistry(), accounts: len(cfg.Accounts), cfg: cfg}
	r.setConcurrency(perVendor)
	r.exporter = collector.New(collector.Options{Clock: r.clock.Now, Logger: log.NewNopLogger(), Registerer: r.registry, UserAgent: "quota_exporter/perf"})
	srv, err := server.New(server.Options{
		Logger: log.NewNopLogger(), Load: func() (*config.Config, error) { return r.cfg, nil },
		Exporter: r.exporter, Registry: r.registry, TelemetryPath: "/metrics", Landing: web.LandingConfig{Name: "perf"},
		MaxRequests: maxRequests,
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Reload(); err != nil {
		return nil, err
	}
	r.handler = srv.Handler()
	return r, nil
}

// setConcurrency sets every vendor's budget (`limits`) to n requests in
// flight and no rate limit, for the next reload. The rate only spreads the
// same work over time; the rig does not wait for it.
func (r *rig) setConcurrency(n int) {
	r.cfg.Limits = map[string]config.Limit{}
	for _, vendor := range config.Vendors {
		r.cfg.Limits[vendor] = config.Limit{MaxConcurrency: max(n, 1), RequestsPerSecond: 0}
	}
}

// reconfigure applies setConcurrency(n): the accounts keep their caches.
func (r *rig) reconfigure(n int) error {
	r.setConcurrency(n)
	return r.exporter.Apply(r.cfg)
}

// scrape serves one /metrics request in-process and returns its duration
// and body size. The body is counted, not kept, as a server streams it.
func scrape(h http.Handler) (time.Duration, int) {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "120")
	w := &countingWriter{header: http.Header{}}
	start := time.Now()
	h.ServeHTTP(w, req)
	return time.Since(start), w.n
}

// countingWriter is a ResponseWriter that counts the body's bytes.
type countingWriter struct {
	header http.Header
	n      int
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(int)     {}
func (w *countingWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}

// floor is the same families, gathered once, handed to promhttp by a
// gatherer that returns them: encoding and HTTP only.
func (r *rig) floor() http.Handler {
	g, _ := r.exporter.Gatherer(context.Background(), "", r.registry)
	mfs, err := g.Gather()
	if err != nil {
		panic(err) // the exporter's own gathering failed: nothing to compare
	}
	return promhttp.HandlerFor(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, nil }), promhttp.HandlerOpts{})
}

func (r *rig) upstreamRequests() int64 {
	n, err := r.sims.requests()
	if err != nil {
		panic(err) // the child is gone: no measurement makes sense
	}
	return n
}

func measure(o options) (figures, error) {
	sims, err := startSimulators(o.Grants)
	if err != nil {
		return figures{}, err
	}
	defer func() { _ = sims.close() }()
	// Steady memory and the burst under the default budget, what a user
	// of this many accounts runs; the warm and cold scrapes with every
	// account's request let through at once (-steady-concurrency sets the
	// first): the rig measures the exporter, not the pacing limits add on
	// purpose. Memory is measured first, before the cold scrapes have had
	// a thousand refreshes in flight.
	r, err := newRig(sims, o.PerVendor, o.MaxRequests)
	if err != nil {
		return figures{}, err
	}
	f := figures{Accounts: r.accounts}
	if err := r.reconfigure(o.SteadyConcurrency); err != nil {
		return f, err
	}
	_, size := scrape(r.handler) // fills every cache
	f.BodyKiB = size / 1024
	f.Series = countSeries(r.handler)

	// Steady memory: scrapes 20s apart, a refresh every cache_ttl. The
	// clock is the rig's, so an hour passes in seconds: right after it, the
	// memory its refreshes freed has not yet gone back to the system, as it
	// would have between real scrapes. The steady figure is taken a real
	// scrape interval later, at rest; the others are shown beside it.
	f.SteadyPeakRSS = peakRSS(func() {
		for range 200 {
			r.clock.Advance(steadyInterval)
			scrape(r.handler)
		}
	})
	runtime.GC()
	f.SteadyRSSAfter = rssMiB()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f.SteadyHeap = float64(ms.HeapAlloc) / (1 << 20)
	time.Sleep(steadyInterval)
	f.SteadyRSS = rssMiB()
	f.Goroutines = runtime.NumGoroutine()

	f.BurstPeakRSS, f.BurstOK, f.BurstRefused, f.BurstOther = burst(r.handler, o.Burst)

	if err := r.reconfigure(o.PerVendor); err != nil {
		return f, err
	}
	// Warm scrapes against the floor, interleaved so both see the same machine.
	if f.Warm, f.Floor, f.WarmCPU, f.FloorCPU, err = warmAndFloor(r, o.WarmRuns, o.WarmProfile); err != nil {
		return f, err
	}

	// Cold scrapes with every vendor answering after the latency.
	if err := r.sims.setLatency(o.Latency); err != nil {
		return f, err
	}
	var cold []time.Duration
	cpu0 := cpuTime()
	if err := profiled(o.ColdProfile, func() {
		for range 3 {
			r.clock.Advance(time.Hour) // every cache expired
			d, _ := scrape(r.handler)
			cold = append(cold, d)
		}
	}); err != nil {
		return f, err
	}
	f.Cold, f.ColdCPU = median(cold), (cpuTime()-cpu0)/3
	if err := r.sims.setLatency(0); err != nil {
		return f, err
	}

	if err := r.exporter.Apply(&config.Config{}); err != nil { // its caches and connections go
		return f, err
	}
	if o.Cache {
		f.CacheRows, err = cacheRows(sims, o.PerVendor)
	}
	return f, err
}

// warmAndFloor returns the medians of warm scrapes and of the floor,
// interleaved so both see the same machine, and the CPU time per scrape of
// each (the warm scrapes under the profiler when asked). The floor's
// families go with its return, before memory is measured.
func warmAndFloor(r *rig, runs int, profile string) (warm, floor, warmCPU, floorCPU time.Duration, err error) {
	h := r.floor()
	var ws, fs []time.Duration
	for range runs {
		w, _ := scrape(r.handler)
		f, _ := scrape(h)
		ws, fs = append(ws, w), append(fs, f)
	}
	cpuPerScrape := func(h http.Handler) time.Duration {
		cpu0 := cpuTime()
		for range runs {
			scrape(h)
		}
		return (cpuTime() - cpu0) / time.Duration(runs)
	}
	floorCPU = cpuPerScrape(h)
	err = profiled(profile, func() { warmCPU = cpuPerScrape(r.handler) })
	return median(ws), median(fs), warmCPU, floorCPU, err
}

// burst sends n concurrent scrapes over HTTP and returns the peak RSS seen
// while they ran and how they were answered. A scrape not answered within
// two minutes counts as other (hung).
func burst(h http.Handler, n int) (peak float64, ok, refused, other int) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	codes := make([]int, n)
	peak = peakRSS(func() {
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() {
				resp, err := client.Get(srv.URL + "/metrics")
				if err != nil {
					return
				}
				defer func() { _ = resp.Body.Close() }()
				if _, err := io.Copy(io.Discard, resp.Body); err == nil {
					codes[i] = resp.StatusCode
				}
			})
		}
		wg.Wait()
	})
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			refused++
		default:
			other++
		}
	}
	return peak, ok, refused, other
}

// peakRSS runs f and returns the highest RSS, in MiB, sampled every
// millisecond while it ran.
func peakRSS(f func()) float64 {
	stop := make(chan struct{})
	var high atomic.Uint64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			high.Store(max(high.Load(), uint64(rssMiB()*1024)))
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-sampled
	return float64(high.Load()) / 1024
}

// maxRefreshesPerHour is the contract's bound at cache_ttl 5m: refreshing
// ahead, at most 1.25 refreshes per cache_ttl.
const maxRefreshesPerHour = 1.25 * 60 / 5

// cacheRows measures what the cache saves, in a rig without a request limit.
func cacheRows(sims *simulators, perVendor int) ([]row, error) {
	r, err := newRig(sims, perVendor, 0)
	if err != nil {
		return nil, err
	}
	scrape(r.handler)
	// 100 concurrent scrapes at cache expiry share one refresh per account.
	r.clock.Advance(time.Hour)
	before := r.upstreamRequests()
	lat := make([]time.Duration, 100)
	var wg sync.WaitGroup
	for i := range lat {
		wg.Go(func() { lat[i], _ = scrape(r.handler) })
	}
	wg.Wait()
	perAccount := float64(r.upstreamRequests()-before) / float64(r.accounts)
	slices.Sort(lat)
	// Upstream load over a simulated hour of 15s scrapes.
	r.clock.Advance(time.Hour)
	before = r.upstreamRequests()
	for range 240 {
		scrape(r.handler)
		r.clock.Advance(15 * time.Second)
	}
	perHour := float64(r.upstreamRequests()-before) / float64(r.accounts)
	return []row{
		{fmt.Sprintf("100 concurrent scrapes at expiry, %d accounts: upstream requests per account", r.accounts), fmt.Sprintf("%.2f", perAccount), "exactly 1", verdict(perAccount == 1)},
		{"  their latency p50 / p99", fmt.Sprintf("%s / %s", lat[49].Round(time.Millisecond), lat[98].Round(time.Millisecond)), "", ""},
		{"upstream requests per account-hour, 15s scrapes, cache_ttl 5m", fmt.Sprintf("%.0f", perHour), "<= 15 (240 uncached)", verdict(perHour <= maxRefreshesPerHour)},
	}, r.exporter.Apply(&config.Config{})
}

// countSeries counts the sample lines of one scrape.
func countSeries(h http.Handler) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	return strings.Count(body, "\n") - strings.Count(body, "\n#") - boolInt(strings.HasPrefix(body, "#"))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// profiled runs f, under the CPU profiler when path is not "".
func profiled(path string, f func()) error {
	if path == "" {
		f()
		return nil
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		return errors.Join(err, out.Close())
	}
	f()
	pprof.StopCPUProfile()
	return out.Close()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// cpuTime is the CPU time, user and system, this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMiB reads VmRSS from /proc (Linux); 0 elsewhere.
func rssMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			var kib float64
			_, _ = fmt.Sscanf(strings.TrimSpace(string(rest)), "%f", &kib)
			return kib / 1024
		}
	}
	return 0
}
