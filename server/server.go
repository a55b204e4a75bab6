// Package server serves the exporter's HTTP endpoints and owns the
// configuration lifecycle (initial load and reloads).
package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/quotaexporter/quota_exporter/cluster"
	"github.com/quotaexporter/quota_exporter/collector"
	"github.com/quotaexporter/quota_exporter/config"
)

// scrapeTimeoutHeader is set by Prometheus to the scrape timeout in seconds.
const scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// Leave time to encode and send the answer before Prometheus gives up.
const (
	maxDeadlineMargin   = 500 * time.Millisecond
	deadlineMarginRatio = 10 // at most a tenth of a short timeout
)

// Options configures a Server.
type Options struct {
	Logger   log.Logger
	Load     func() (*config.Config, error) // reads the configuration anew
	Exporter *collector.Exporter
	// Registry holds the long-lived metrics (Go, process, build info,
	// upstream counters); the server adds its reload metrics to it.
	Registry      *prometheus.Registry
	TelemetryPath string // checked by New: see ValidateTelemetryPath
	// Landing gives the status page's title, description, version and
	// header links.
	Landing web.LandingConfig
	// GrafanaURL is the dashboard each account on the status page links to,
	// with var-account and var-vendor set; "" for no link.
	GrafanaURL string
	Clock      func() time.Time // time.Now when nil
	// MaxRequests bounds the renders of /metrics, /probe and the status page
	// in progress at once; 0 for no bound.
	MaxRequests int
	// Cluster is this replica's shard (zero value: unsharded); the
	// Exporter must own the same accounts.
	Cluster cluster.Shards
	// EnableLifecycle allows POST /-/reload; without it the endpoint
	// answers 403 (SIGHUP still reloads), as in Prometheus.
	EnableLifecycle bool
}

// Server serves /metrics, /probe, health, readiness, reload and the status page.
type Server struct {
	opts        Options
	ready       atomic.Bool
	reloadMu    sync.Mutex // one reload at a time: SIGHUP and /-/reload may race
	reloadOK    prometheus.Gauge
	reloadTime  prometheus.Gauge
	handlerOpts promhttp.HandlerOpts
	grafana     *url.URL              // nil without a Grafana dashboard URL
	fleet       atomic.Pointer[fleet] // every account of the config in force
	renders     chan struct{}         // one token per render in progress; nil for no bound
}

// New builds the server; call Reload to load the first configuration.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Cluster.Count() == 0 {
		opts.Cluster = cluster.Unsharded
	}
	if err := ValidateTelemetryPath(opts.TelemetryPath); err != nil {
		return nil, err
	}
	grafana, err := parseGrafanaURL(opts.GrafanaURL)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:    opts,
		grafana: grafana,
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "quota_exporter_config_last_reload_successful",
			Help: "1 if the last configuration load or reload succeeded, 0 if it failed (the previous configuration stays in force).",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "quota_exporter_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration load or reload.",
		}),
		handlerOpts: promhttp.HandlerOpts{
			ErrorLog:      promLogger{level.Error(opts.Logger)},
			ErrorHandling: promhttp.ContinueOnError,
		},
	}
	if opts.MaxRequests > 0 {
		s.renders = make(chan struct{}, opts.MaxRequests)
	}
	if err := opts.Registry.Register(s.reloadOK); err != nil {
		return nil, err
	}
	if err := opts.Registry.Register(s.reloadTime); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload loads the configuration and applies it. On error the configuration
// in force stays, and the error says why.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	err := s.reload()
	if err != nil {
		s.reloadOK.Set(0)
		msg := "loading configuration failed"
		if s.ready.Load() {
			msg += ", keeping the previous one"
		}
		level.Error(s.opts.Logger).Log("msg", msg, "err", err)
		return err
	}
	s.reloadOK.Set(1)
	s.reloadTime.Set(float64(s.opts.Clock().UnixNano()) / 1e9)
	s.ready.Store(true)
	level.Info(s.opts.Logger).Log("msg", "configuration loaded")
	return nil
}

func (s *Server) reload() error {
	cfg, err := s.opts.Load()
	if err != nil {
		return err
	}
	if err := s.opts.Exporter.Apply(cfg); err != nil {
		return err
	}
	s.fleet.Store(newFleet(cfg, s.opts.Cluster))
	return nil
}

// reservedPaths are the endpoints the telemetry path must not take (besides
// everything under /-/).
var reservedPaths = []string{"/", "/probe", "/sd"}

// telemetryPathChars are the characters a telemetry path may hold: enough
// for any sensible path, and none that http.ServeMux reads as a method, a
// host or a wildcard.
var telemetryPathChars = regexp.MustCompile(`^[A-Za-z0-9._~/-]+$`)

// ValidateTelemetryPath says why path cannot serve the metrics, or nil: it
// must be a clean absolute path that no other endpoint uses.
func ValidateTelemetryPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("--web.telemetry-path %q must start with /", p)
	case !telemetryPathChars.MatchString(p):
		return fmt.Errorf("--web.telemetry-path %q may only hold letters, digits and . _ ~ - /", p)
	case path.Clean(p) != p:
		return fmt.Errorf("--web.telemetry-path %q is not a clean path (%q would be)", p, path.Clean(p))
	case slices.Contains(reservedPaths, p) || strings.HasPrefix(p, "/-/"):
		return fmt.Errorf("--web.telemetry-path %q is taken by another endpoint (%s and /-/...)", p, strings.Join(reservedPaths, ", "))
	}
	return nil
}

// Handler routes every endpoint of the contract.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// read registers an endpoint that only reads: every one but /-/reload.
	read := func(path string, h http.HandlerFunc) { mux.Handle(path, readOnly(h)) }
	read(s.opts.TelemetryPath, s.bounded(s.serveMetrics))
	read("/probe", s.bounded(s.serveProbe))
	read("/sd", s.serveSD)
	read("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	read("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "no valid configuration loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	mux.HandleFunc("/-/reload", s.serveReload)
	read("/", s.bounded(s.serveStatus))
	return mux
}

// readOnly answers GET and HEAD with h and any other method with 405, so
// that a POST cannot make an endpoint do what a GET does.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "only GET and HEAD are allowed here", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := scrapeContext(r)
	defer cancel()
	g, _ := s.opts.Exporter.Gatherer(ctx, "", s.opts.Registry)
	s.serveGatherer(w, r, g)
}

func (s *Server) serveProbe(w http.ResponseWriter, r *http.Request) {
	name, err := probeAccount(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := scrapeContext(r)
	defer cancel()
	g, ok := s.opts.Exporter.Gatherer(ctx, name, nil)
	if !ok {
		if s.redirectProbe(w, name) {
			return
		}
		// The name is not echoed: it is the caller's input, and a 400 is enough.
		http.Error(w, "unknown account: give the name of a configured account", http.StatusBadRequest)
		return
	}
	if r.URL.Query().Get("debug") == "true" {
		s.serveDebug(w, r, name)
		return
	}
	s.serveGatherer(w, r, g)
}

// bounded serves with h unless --web.max-requests renders are in progress
// already: then it answers 503 at once, so that a burst of scrapes cannot
// hold more memory than that many renders.
func (s *Server) bounded(h http.HandlerFunc) http.HandlerFunc {
	if s.renders == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.renders <- struct{}{}:
			defer func() { <-s.renders }()
		default:
			http.Error(w, fmt.Sprintf("limit of concurrent scrapes reached (%d), try again later", cap(s.renders)), http.StatusServiceUnavailable)
			return
		}
		h(w, r)
	}
}

// serveGatherer renders one scrape.
func (s *Server) serveGatherer(w http.ResponseWriter, r *http.Request, g prometheus.Gatherer) {
	promhttp.HandlerFor(g, s.handlerOpts).ServeHTTP(w, r)
}

// probeAccount is the account a probe asks for: `account=NAME`, or
// `target=NAME` as the Prometheus Operator's Probe sends it.
func probeAccount(q url.Values) (string, error) {
	account, target := q.Get("account"), q.Get("target")
	switch {
	case account == "" && target == "":
		return "", fmt.Errorf("the account parameter is missing: /probe?account=NAME (or target=NAME)")
	case account != "" && target != "" && account != target:
		return "", fmt.Errorf("the account and target parameters name different accounts: give one")
	case account != "":
		return account, nil
	}
	return target, nil
}

func (s *Server) serveReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "use POST to reload the configuration", http.StatusMethodNotAllowed)
		return
	}
	if !s.opts.EnableLifecycle {
		http.Error(w, "reloading over HTTP is off: start with --web.enable-lifecycle, or send SIGHUP", http.StatusForbidden)
		return
	}
	if err := s.Reload(); err != nil {
		http.Error(w, "configuration not reloaded, the previous one stays in force: "+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "configuration reloaded")
}

// maxScrapeTimeoutSeconds is the longest timeout a time.Duration holds
// (about 292 years); a longer one would wrap into a deadline in the past.
const maxScrapeTimeoutSeconds = float64(math.MaxInt64) / float64(time.Second)

// scrapeContext bounds the scrape by Prometheus' timeout less a margin.
// Without a usable header (missing, not a number, not finite, not positive,
// or too long for a time.Duration) the context has no deadline and each
// account waits up to its own `timeout`.
func scrapeContext(r *http.Request) (context.Context, context.CancelFunc) {
	secs, err := strconv.ParseFloat(r.Header.Get(scrapeTimeoutHeader), 64)
	if err != nil || math.IsNaN(secs) || secs <= 0 || secs >= maxScrapeTimeoutSeconds {
		return context.WithCancel(r.Context())
	}
	timeout := time.Duration(secs * float64(time.Second))
	timeout -= min(maxDeadlineMargin, timeout/deadlineMarginRatio)
	return context.WithTimeout(r.Context(), timeout)
}

// promLogger adapts go-kit to promhttp's Println logger.
type promLogger struct{ log.Logger }

func (l promLogger) Println(v ...any) {
	l.Log("msg", fmt.Sprint(v...))
}
