// Command perf measures the exporter against the targets of its
// performance issue and prints one table: warm scrapes against a floor,
// cold scrapes against the slowest vendor, concurrent scrapes at cache
// expiry, memory, and the upstream load the cache saves. The exporter runs
// in this process; the simulated vendors in a child, on loopback, so that
// the memory measured is the exporter's.
//
//	go run ./bench/perf
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/quotaexporter/quota_exporter/collector"
	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/server"
	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

func main() {
	perVendor := flag.Int("accounts", 25, "accounts per vendor")
	latency := flag.Duration("latency", 300*time.Millisecond, "vendor latency for the cold scrape")
	warmRuns := flag.Int("warm-runs", 300, "warm scrapes measured")
	simulators := flag.Bool("simulators", false, "internal: serve the demo simulators for the measuring process")
	var profiles profiles
	flag.StringVar(&profiles.cold, "cpuprofile", "", "write a CPU profile of the cold scrapes to this file")
	flag.StringVar(&profiles.warm, "warm-cpuprofile", "", "write a CPU profile of warm scrapes (exporter only, after the measured ones) to this file")
	flag.Parse()
	if *simulators {
		if err := serveSimulators(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "perf simulators:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*perVendor, *latency, *warmRuns, profiles); err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

// rig is an exporter with perVendor accounts of each vendor, all reading
// the demo simulators, and a clock the rig moves.
type rig struct {
	sims     *simulators
	handler  http.Handler
	exporter *collector.Exporter
	registry *prometheus.Registry
	accounts int

	mu  sync.Mutex
	now time.Time
}

func (r *rig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *rig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

// newRig builds a rig on the simulators with perVendor accounts of each
// vendor, or, if only is a vendor's name, of that vendor alone.
func newRig(sims *simulators, perVendor int, only string) (*rig, error) {
	demoCfg, err := config.Parse(sims.config, "")
	if err != nil {
		return nil, err
	}
	// perVendor copies of each demo account: same vendor, own cache. The
	// vendor budgets (`limits`) let every account's request through at once:
	// the rig measures the exporter, not the pacing limits add on purpose.
	noRate, slots := 0.0, max(perVendor, 1)
	cfg := &config.Config{Limits: map[string]config.Limit{}}
	for _, vendor := range config.Vendors {
		cfg.Limits[vendor] = config.Limit{MaxConcurrency: &slots, RequestsPerSecond: &noRate}
	}
	for _, a := range demoCfg.Accounts {
		if only != "" && a.Name != "demo-"+only {
			continue
		}
		for i := range perVendor {
			c := a
			c.Name = fmt.Sprintf("%s-%02d", a.Name, i)
			if c.VZICloud != nil {
				v := *c.VZICloud
				v.PageSize = vzicloud.MaxPageSize // one page: latency is per request
				c.VZICloud = &v
			}
			c.Effective.CacheTTL = 5 * time.Minute
			c.Effective.Timeout = 10 * time.Second
			cfg.Accounts = append(cfg.Accounts, c)
		}
	}
	r := &rig{sims: sims, now: time.Now(), registry: prometheus.NewRegistry(), accounts: len(cfg.Accounts)}
	r.exporter = collector.New(collector.Options{Clock: r.clock, Logger: log.NewNopLogger(), Registerer: r.registry, UserAgent: "quota_exporter/perf"})
	srv, err := server.New(server.Options{
		Logger: log.NewNopLogger(), Load: func() (*config.Config, error) { return cfg, nil },
		Exporter: r.exporter, Registry: r.registry, TelemetryPath: "/metrics", Landing: web.LandingConfig{Name: "perf"},
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

// scrape serves one /metrics request in-process and returns its duration.
func (r *rig) scrape(h http.Handler) (time.Duration, int) {
	return r.get(h, "/metrics")
}

func (r *rig) get(h http.Handler, path string) (time.Duration, int) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "30")
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	return time.Since(start), rec.Body.Len()
}

func (r *rig) upstreamRequests() int64 {
	n, err := r.sims.requests()
	if err != nil {
		panic(err) // the child is gone: no measurement makes sense
	}
	return n
}

// floor is the same series as const metrics, built once, in a bare registry
// served by promhttp: what serving costs without the exporter's work.
func (r *rig) floor() http.Handler {
	ch := make(chan prometheus.Metric, 1024)
	var metrics []prometheus.Metric
	done := make(chan struct{})
	go func() {
		for m := range ch {
			metrics = append(metrics, m)
		}
		close(done)
	}()
	r.exporter.Collector(context.Background(), "").Collect(ch)
	close(ch)
	<-done
	reg := prometheus.NewRegistry()
	reg.MustRegister(replay(metrics))
	return promhttp.HandlerFor(prometheus.Gatherers{reg, r.registry}, promhttp.HandlerOpts{})
}

type replay []prometheus.Metric

func (replay) Describe(chan<- *prometheus.Desc) {}

func (m replay) Collect(ch chan<- prometheus.Metric) {
	for _, x := range m {
		ch <- x
	}
}

var vendors = []string{"aiops", "vzicloud", "tingyun", "guoyangyun"}

type row struct{ measure, value, target, verdict string }

// profiles are where to write CPU profiles; "" for none.
type profiles struct{ cold, warm string }

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

func run(perVendor int, latency time.Duration, warmRuns int, profiles profiles) error {
	sims, err := startSimulators()
	if err != nil {
		return err
	}
	defer func() { _ = sims.close() }()
	r, err := newRig(sims, perVendor, "")
	if err != nil {
		return err
	}
	var rows []row
	check := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}

	// 1. Warm scrapes against the floor, interleaved so both see the same machine.
	_, size := r.scrape(r.handler) // fills every cache
	floor := r.floor()
	var warm, base []time.Duration
	var allocsWarm, allocsFloor uint64
	for range warmRuns {
		a0 := mallocs()
		d, _ := r.scrape(r.handler)
		a1 := mallocs()
		f, _ := r.scrape(floor)
		a2 := mallocs()
		warm, base = append(warm, d), append(base, f)
		allocsWarm += a1 - a0
		allocsFloor += a2 - a1
	}
	if profiles.warm != "" {
		err := profiled(profiles.warm, func() {
			for range warmRuns {
				r.scrape(r.handler)
			}
		})
		if err != nil {
			return err
		}
	}
	series := strings.Count(scrapeBody(r.handler), "\n") - strings.Count(scrapeBody(r.handler), "\n#")
	ratio := float64(median(warm)) / float64(median(base))
	rows = append(rows,
		row{fmt.Sprintf("warm scrape, %d accounts, %d series, %d KiB", r.accounts, series, size/1024), median(warm).String(), "", ""},
		row{"floor: same series pre-built, bare registry", median(base).String(), "", ""},
		row{"warm / floor (median)", fmt.Sprintf("%.2fx", ratio), "<= 1.5x", check(ratio <= 1.5)},
		row{"allocations per series, warm / floor", fmt.Sprintf("%.1f / %.1f", float64(allocsWarm)/float64(warmRuns)/float64(series), float64(allocsFloor)/float64(warmRuns)/float64(series)), "in proportion to series", ""})

	// 2. Cold scrape with every vendor answering after latency.
	if err := r.sims.setLatency(latency); err != nil {
		return err
	}
	// The slowest vendor: each vendor's accounts refreshed alone, cold, in
	// a rig of their own; and one account alone.
	var slowest, slowestAccount time.Duration
	var slowestName string
	for _, vendor := range vendors {
		alone, err := newRig(sims, perVendor, vendor)
		if err != nil {
			return err
		}
		alone.scrape(alone.handler) // connections open, as in the full rig
		var times []time.Duration
		for range 3 { // the median, as for the full cold scrape
			alone.advance(time.Hour)
			d, _ := alone.scrape(alone.handler)
			times = append(times, d)
		}
		if d := median(times); d > slowest {
			slowest, slowestName = d, vendor
		}
		if err := alone.exporter.Apply(&config.Config{}); err != nil { // its caches and connections go
			return err
		}
		r.advance(time.Hour)
		if d, _ := r.get(r.handler, "/probe?account=demo-"+vendor+"-00"); d > slowestAccount {
			slowestAccount = d
		}
	}
	var cold []time.Duration
	cpu0 := cpuTime()
	err = profiled(profiles.cold, func() {
		for range 3 {
			r.advance(time.Hour) // every cache expired
			d, _ := r.scrape(r.handler)
			cold = append(cold, d)
		}
	})
	if err != nil {
		return err
	}
	coldCPU := (cpuTime() - cpu0) / 3
	coldRatio := float64(median(cold)) / float64(slowest)
	rows = append(rows,
		row{fmt.Sprintf("slowest vendor alone, its %d accounts cold (%s, answering after %s)", perVendor, slowestName, latency), slowest.String(), "", ""},
		row{fmt.Sprintf("cold scrape of all %d accounts", r.accounts), median(cold).String(), "", ""},
		row{"cold / slowest vendor", fmt.Sprintf("%.2fx", coldRatio), "<= 1.2x", check(coldRatio <= 1.2)},
		row{"  the slowest single account alone, cold", slowestAccount.String(), "", ""},
		row{"  cold / slowest single account", fmt.Sprintf("%.2fx", float64(median(cold))/float64(slowestAccount)), "", ""},
		row{"  exporter CPU time per cold scrape (decoding, mostly)", coldCPU.Round(time.Millisecond).String(), "", ""})

	if err := r.sims.setLatency(0); err != nil {
		return err
	}

	// 3. Steady memory: repeated scrapes, a refresh every cache_ttl.
	for range 200 {
		r.advance(20 * time.Second)
		r.scrape(r.handler)
	}
	runtime.GC()
	rss := rssMiB()
	rows = append(rows, row{fmt.Sprintf("steady RSS, %d accounts, 200 scrapes 20s apart", r.accounts), fmt.Sprintf("%.1f MiB", rss), "<= 50 MiB", check(rss <= 50)})

	// 4. 100 concurrent scrapes at cache expiry: each renders every
	// series, so the heap peaks at 100 responses at once.
	r.advance(time.Hour)
	before := r.upstreamRequests()
	lat := make([]time.Duration, 100)
	var wg sync.WaitGroup
	for i := range lat {
		wg.Go(func() { lat[i], _ = r.scrape(r.handler) })
	}
	wg.Wait()
	perAccount := float64(r.upstreamRequests()-before) / float64(r.accounts)
	slices.Sort(lat)
	runtime.GC()
	rows = append(rows,
		row{"100 concurrent scrapes at expiry: upstream requests per account", fmt.Sprintf("%.2f", perAccount), "exactly 1", check(perAccount == 1)},
		row{"  their latency p50 / p99", fmt.Sprintf("%s / %s", lat[49], lat[98]), "", ""},
		row{"  RSS right after them, before the runtime returns the peak", fmt.Sprintf("%.1f MiB", rssMiB()), "", ""})

	// 5. Upstream load over a simulated hour of 15s scrapes.
	r.advance(time.Hour)
	before = r.upstreamRequests()
	for range 240 {
		r.scrape(r.handler)
		r.advance(15 * time.Second)
	}
	perHour := float64(r.upstreamRequests()-before) / float64(r.accounts)
	rows = append(rows, row{"upstream requests per account-hour, 15s scrapes, cache_ttl 5m", fmt.Sprintf("%.0f", perHour), "vs 240 uncached", check(perHour <= 13)})

	fmt.Printf("%-80s %-22s %-24s %s\n", "measure", "value", "target", "")
	for _, x := range rows {
		fmt.Printf("%-80s %-22s %-24s %s\n", x.measure, x.value, x.target, x.verdict)
	}
	fmt.Printf("\n%s, %d CPUs, %s\n", runtime.Version(), runtime.NumCPU(), runtime.GOARCH)
	return nil
}

func scrapeBody(h http.Handler) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
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
	for _, line := range bytes.Split(status, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			var kib float64
			_, _ = fmt.Sscanf(strings.TrimSpace(string(rest)), "%f", &kib)
			return kib / 1024
		}
	}
	return 0
}
