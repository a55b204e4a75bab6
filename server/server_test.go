package server

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quotaexporter/quota_exporter/cluster"
	"github.com/quotaexporter/quota_exporter/collector"
	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testEmail = "ops@example.com"
	testToken = "canary-token-51d0"
)

// fixture is a server over a real exporter whose accounts read aiops
// simulators; the configuration it loads can be swapped, like a file.
type fixture struct {
	srv  *Server
	http *httptest.Server
	sims map[string]*faults.Injector // by account
	urls map[string]string
	logs *syncbuf.Buffer
	mu   sync.Mutex
	yaml string
	reg  *prometheus.Registry
}

func newFixture(t *testing.T, accounts ...string) *fixture {
	t.Helper()
	return newShardFixture(t, cluster.Unsharded, accounts...)
}

// newShardFixture is newFixture for one replica of a sharded fleet.
func newShardFixture(t *testing.T, shards cluster.Shards, accounts ...string) *fixture {
	t.Helper()
	f := &fixture{sims: map[string]*faults.Injector{}, urls: map[string]string{}, logs: &syncbuf.Buffer{}, reg: prometheus.NewRegistry()}
	for _, name := range accounts {
		sim := simulator.NewAIOps(testEmail, testToken)
		sim.SetLicenses(simulator.DemoAIOpsLicenses(time.Now()))
		inj := faults.Wrap(sim)
		s := httptest.NewServer(inj)
		t.Cleanup(s.Close)
		f.sims[name], f.urls[name] = inj, s.URL
	}
	f.setConfig(f.configFor(accounts...))
	logger := log.NewLogfmtLogger(f.logs)
	exp := collector.New(collector.Options{Logger: logger, Registerer: f.reg, Owns: shards.Owns})
	var err error
	f.srv, err = New(Options{
		Logger: logger,
		Load: func() (*config.Config, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return config.Parse([]byte(f.yaml), "")
		},
		Exporter:        exp,
		Registry:        f.reg,
		TelemetryPath:   "/metrics",
		Landing:         web.LandingConfig{Name: "Quota Exporter", Links: []web.LandingLinks{{Address: "/metrics", Text: "Metrics"}}},
		Cluster:         shards,
		EnableLifecycle: true,
	})
	require.NoError(t, err)
	f.http = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.http.Close)
	return f
}

func (f *fixture) configFor(accounts ...string) string {
	var b strings.Builder
	b.WriteString("defaults: {cache_ttl: 5m, timeout: 3s}\naccounts:\n")
	for _, name := range accounts {
		fmt.Fprintf(&b, "  - name: %s\n    base_url: %s\n    aiops: {email: %s, token: %s}\n", name, f.urls[name], testEmail, testToken)
	}
	return b.String()
}

func (f *fixture) setConfig(yaml string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.yaml = yaml
}

func (f *fixture) do(t *testing.T, method, path string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.http.URL+path, nil)
	require.NoError(t, err)
	maps.Copy(req.Header, header)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestReadyOnlyOnceAConfigIsLoaded(t *testing.T) {
	f := newFixture(t, "ops")
	code, _ := f.do(t, http.MethodGet, "/-/healthy", nil)
	assert.Equal(t, http.StatusOK, code)
	code, _ = f.do(t, http.MethodGet, "/-/ready", nil)
	assert.Equal(t, http.StatusServiceUnavailable, code)

	require.NoError(t, f.srv.Reload())
	code, _ = f.do(t, http.MethodGet, "/-/ready", nil)
	assert.Equal(t, http.StatusOK, code)
	code, body := f.do(t, http.MethodGet, "/", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `href="/metrics"`)
}

func TestProbe(t *testing.T) {
	f := newFixture(t, "ops", "sms")
	require.NoError(t, f.srv.Reload())

	for _, path := range []string{"/probe", "/probe?account=", "/probe?account=nobody", "/probe?target=nobody",
		"/probe?account=ops&target=sms"} {
		code, _ := f.do(t, http.MethodGet, path, nil)
		assert.Equal(t, http.StatusBadRequest, code, path)
	}
	// target=NAME is what the Prometheus Operator's Probe sends.
	for _, path := range []string{"/probe?account=sms", "/probe?target=sms", "/probe?account=sms&target=sms"} {
		code, body := f.do(t, http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, code, path)
		assert.Contains(t, body, `quota_exporter_scrape_success{account="sms",vendor="aiops"} 1`, path)
		assert.Contains(t, body, `aiops_license_info{account="sms",`, path)
		assert.NotContains(t, body, `account="ops"`, path)
		assert.NotContains(t, body, "go_goroutines", "a probe answers for its account only")
	}
	assert.Equal(t, int64(0), f.sims["ops"].Requests())
	assert.Equal(t, int64(1), f.sims["sms"].Requests(), "the later probes are served from cache")
}

func TestReadEndpointsAnswerGETAndHEADOnly(t *testing.T) {
	f := newFixture(t, "ops")
	require.NoError(t, f.srv.Reload())
	for _, path := range []string{"/metrics", "/probe?account=ops", "/", "/-/healthy", "/-/ready"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			req, err := http.NewRequest(method, f.http.URL+path, strings.NewReader("x"))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s", method, path)
			assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"), "%s %s", method, path)
		}
		code, _ := f.do(t, http.MethodHead, path, nil)
		assert.Equal(t, http.StatusOK, code, "HEAD %s", path)
	}
	assert.Equal(t, int64(1), f.sims["ops"].Requests(), "only the HEAD requests scraped, and the second from cache")
	code, body := f.do(t, http.MethodGet, "/metrics", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `quota_exporter_scrape_success{account="ops",vendor="aiops"} 1`)
}

func TestReloadEndpointNeedsTheLifecycleFlag(t *testing.T) {
	f := newFixture(t, "ops", "sms")
	f.srv.opts.EnableLifecycle = false
	require.NoError(t, f.srv.Reload())

	f.setConfig(f.configFor("ops"))
	code, body := f.do(t, http.MethodPost, "/-/reload", nil)
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, body, "--web.enable-lifecycle")
	code, _ = f.do(t, http.MethodGet, "/-/reload", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	_, body = f.do(t, http.MethodGet, "/metrics", nil)
	assert.Contains(t, body, `account="sms"`, "the configuration was not reloaded")

	// SIGHUP's path, Reload, always works.
	require.NoError(t, f.srv.Reload())
	_, body = f.do(t, http.MethodGet, "/metrics", nil)
	assert.NotContains(t, body, `account="sms"`)
}

func TestLoadFailureSaysWhetherAPreviousConfigStays(t *testing.T) {
	f := newFixture(t, "ops")
	good := f.configFor("ops")
	f.setConfig("accounts: [")
	require.Error(t, f.srv.Reload())
	assert.Contains(t, f.logs.String(), `msg="loading configuration failed"`)
	assert.NotContains(t, f.logs.String(), "previous", "there is no previous configuration to keep")

	f.setConfig(good)
	require.NoError(t, f.srv.Reload())
	f.setConfig("accounts: [")
	require.Error(t, f.srv.Reload())
	assert.Contains(t, f.logs.String(), `msg="loading configuration failed, keeping the previous one"`)
}

func TestTelemetryPath(t *testing.T) {
	for _, bad := range []string{"", "metrics", "/", "/probe", "/sd", "/-/healthy", "/-/metrics", "/metrics/",
		"//metrics", "/a/../metrics", "/metrics{x}", "GET /metrics", "/me trics", "/metrics?x=1"} {
		err := ValidateTelemetryPath(bad)
		require.Error(t, err, "%q", bad)
		assert.Contains(t, err.Error(), "--web.telemetry-path", "%q", bad)
		_, err = New(Options{Logger: log.NewNopLogger(), Registry: prometheus.NewRegistry(), TelemetryPath: bad})
		assert.Error(t, err, "%q", bad)
	}

	f := newFixture(t, "ops")
	require.NoError(t, f.srv.Reload())
	f.srv.opts.TelemetryPath = "/custom/metrics_1.0"
	require.NoError(t, ValidateTelemetryPath(f.srv.opts.TelemetryPath))
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/custom/metrics_1.0")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `quota_exporter_scrape_success{account="ops",vendor="aiops"} 1`)
}

func TestMetricsCoverEveryAccountAndCountThisScrapesRequests(t *testing.T) {
	f := newFixture(t, "ops", "sms")
	require.NoError(t, f.srv.Reload())
	code, body := f.do(t, http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, code)
	for _, name := range []string{"ops", "sms"} {
		assert.Contains(t, body, fmt.Sprintf(`quota_exporter_scrape_success{account=%q,vendor="aiops"} 1`, name))
		// The first scrape's own request is already counted.
		assert.Contains(t, body, fmt.Sprintf(`quota_exporter_upstream_requests_total{account=%q,result="success",vendor="aiops"} 1`, name))
	}
	assert.Contains(t, body, "quota_exporter_config_last_reload_successful 1")
}

func TestBadReloadKeepsTheConfigInForce(t *testing.T) {
	f := newFixture(t, "ops", "sms")
	require.NoError(t, f.srv.Reload())

	code, _ := f.do(t, http.MethodGet, "/-/reload", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, code)

	f.setConfig(f.configFor("ops") + "    cache_ttl: soon\n")
	code, body := f.do(t, http.MethodPost, "/-/reload", nil)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, `"ops"`)
	assert.Contains(t, body, "cache_ttl")
	assert.Equal(t, 0.0, testutil.ToFloat64(f.srv.reloadOK))

	code, body = f.do(t, http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `quota_exporter_scrape_success{account="sms",vendor="aiops"} 1`, "the old config serves on")
	code, _ = f.do(t, http.MethodGet, "/-/ready", nil)
	assert.Equal(t, http.StatusOK, code)

	f.setConfig(f.configFor("ops"))
	code, _ = f.do(t, http.MethodPost, "/-/reload", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1.0, testutil.ToFloat64(f.srv.reloadOK))
	_, body = f.do(t, http.MethodGet, "/metrics", nil)
	assert.NotContains(t, body, `account="sms"`, "a removed account's series go")
	assert.Equal(t, int64(1), f.sims["ops"].Requests(), "an unchanged account keeps its cache over a reload")
}

func TestScrapeAnswersWithinItsDeadline(t *testing.T) {
	f := newFixture(t, "ops")
	require.NoError(t, f.srv.Reload())
	f.sims["ops"].SetFault(faults.Fault{Kind: faults.Latency, Delay: 2500 * time.Millisecond})

	start := time.Now()
	code, body := f.do(t, http.MethodGet, "/metrics", http.Header{scrapeTimeoutHeader: {"0.5"}})
	elapsed := time.Since(start)
	assert.Equal(t, http.StatusOK, code)
	assert.Less(t, elapsed, 2500*time.Millisecond, "the scrape did not wait for the slow vendor")
	assert.Contains(t, body, `quota_exporter_scrape_success{account="ops",vendor="aiops"} 0`)
	assert.NotContains(t, body, "aiops_license_info", "no data yet")

	// The refresh finishes in the background and fills the cache.
	require.Eventually(t, func() bool {
		_, body := f.do(t, http.MethodGet, "/metrics", http.Header{scrapeTimeoutHeader: {"0.5"}})
		return strings.Contains(body, `quota_exporter_scrape_success{account="ops",vendor="aiops"} 1`)
	}, 10*time.Second, 100*time.Millisecond)
	assert.Equal(t, int64(1), f.sims["ops"].Requests(), "the slow refresh was not abandoned and repeated")
}

func TestScrapeContextDeadline(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration // 0: no deadline
	}{
		{"10", 9500 * time.Millisecond},
		{"2", 1800 * time.Millisecond},
		{"0.5", 450 * time.Millisecond},
		{"", 0},
		{"soon", 0},
		{"-1", 0},
		{"0", 0},
		{"NaN", 0},
		{"Inf", 0},
		{"+Inf", 0},
		{"-Inf", 0},
		{"1e400", 0},
		{"1e11", 0}, // beyond what a time.Duration holds
		{"1e9", 1e9*time.Second - maxDeadlineMargin},
	} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tc.header != "" {
			r.Header.Set(scrapeTimeoutHeader, tc.header)
		}
		before := time.Now()
		ctx, cancel := scrapeContext(r)
		deadline, ok := ctx.Deadline()
		cancel()
		if tc.want == 0 {
			assert.False(t, ok, tc.header)
			continue
		}
		require.True(t, ok, tc.header)
		assert.WithinDuration(t, before.Add(tc.want), deadline, 50*time.Millisecond, tc.header)
	}
}

func TestNoSecretInAnyAnswerOrLog(t *testing.T) {
	f := newFixture(t, "ops")
	require.NoError(t, f.srv.Reload())
	var seen strings.Builder
	for _, fault := range []faults.Fault{{}, {Kind: faults.Unauthorized}} {
		f.sims["ops"].SetFault(fault)
		for _, path := range []string{"/metrics", "/probe?account=ops", "/", "/-/ready"} {
			_, body := f.do(t, http.MethodGet, path, nil)
			seen.WriteString(body)
		}
		// A config error must not echo the token either.
		f.setConfig(f.configFor("ops") + "    aiops_extra: " + testToken + "\n")
		_, body := f.do(t, http.MethodPost, "/-/reload", nil)
		seen.WriteString(body)
		f.setConfig(f.configFor("ops"))
	}
	assert.NotContains(t, seen.String()+f.logs.String(), testToken)
	assert.Contains(t, seen.String(), "aiops_license_info", "the answers were real")
}

// Reloads, good and bad, while scrapes run: every scrape answers 200 with
// exactly the accounts of one configuration, never a mix or a gap.
func TestReloadUnderLoad(t *testing.T) {
	f := newFixture(t, "ops", "sms", "cams")
	configs := map[string]string{
		"ops,sms":  f.configFor("ops", "sms"),
		"cams,ops": f.configFor("ops", "cams"),
	}
	f.setConfig(configs["ops,sms"])
	require.NoError(t, f.srv.Reload())

	accountLabel := regexp.MustCompile(`quota_exporter_scrape_success\{account="([^"]+)"`)
	stop := make(chan struct{})
	var scrapes sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for range 4 {
		scrapes.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body := f.do(t, http.MethodGet, "/metrics", nil)
				var names []string
				for _, m := range accountLabel.FindAllStringSubmatch(body, -1) {
					names = append(names, m[1])
				}
				slices.Sort(names)
				set := strings.Join(names, ",")
				assert.Equal(t, http.StatusOK, code)
				assert.Contains(t, configs, set, "a scrape saw a mix of configurations")
				mu.Lock()
				seen[set]++
				mu.Unlock()
			}
		})
	}
	for i := range 40 {
		switch i % 3 {
		case 0:
			f.setConfig(configs["cams,ops"])
			assert.NoError(t, f.srv.Reload())
		case 1:
			f.setConfig("accounts: [") // broken: the config in force stays
			assert.Error(t, f.srv.Reload())
		case 2:
			f.setConfig(configs["ops,sms"])
			assert.NoError(t, f.srv.Reload())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	scrapes.Wait()
	t.Logf("scrapes per configuration: %v", seen)
	assert.Len(t, seen, 2, "both configurations were served")
	// The unchanged account kept its cache through every reload.
	assert.Equal(t, int64(1), f.sims["ops"].Requests())
}

// Past --web.max-requests renders in progress, /metrics, /probe and the
// status page answer 503 at once rather than queue; once a render ends,
// scrapes are served.
func TestMaxRequestsRefusesRendersPastTheLimit(t *testing.T) {
	f := newFixture(t, "ops")
	opts := f.srv.opts
	opts.MaxRequests, opts.Registry = 1, prometheus.NewRegistry()
	srv, err := New(opts)
	require.NoError(t, err)
	require.NoError(t, srv.Reload())
	h := httptest.NewServer(srv.Handler())
	t.Cleanup(h.Close)
	get := func(path string) int {
		resp, err := http.Get(h.URL + path)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		return resp.StatusCode
	}

	f.sims["ops"].SetFault(faults.Fault{Kind: faults.Latency, Delay: time.Second})
	first := make(chan int)
	go func() { first <- get("/metrics") }() // waits for the slow refresh
	require.Eventually(t, func() bool { return f.sims["ops"].Requests() == 1 }, 5*time.Second, time.Millisecond)
	for _, path := range []string{"/metrics", "/probe?account=ops", "/probe?account=ops&debug=true", "/"} {
		start := time.Now()
		require.Equal(t, http.StatusServiceUnavailable, get(path), path)
		require.Less(t, time.Since(start), 500*time.Millisecond, "refused at once, not queued")
	}
	require.Equal(t, http.StatusOK, <-first)
	require.Equal(t, http.StatusOK, get("/metrics"), "served again once the render ended")
	require.Equal(t, http.StatusOK, get("/-/healthy"), "other endpoints are not limited")
}
