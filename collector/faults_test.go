package collector

import (
	"cmp"
	"context"
	"fmt"
	"io"
	stdlog "log"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/canary"
	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// simulatedVendor is one vendor in the fault matrix.
type simulatedVendor struct {
	name    string
	newSim  func(now time.Time) *faults.Injector // the simulator, serving realistic data as of now
	block   string                               // the account's vendor block, credentials included
	canary  []string                             // secrets and personal data that must appear nowhere
	series  string                               // prefix of the vendor's series
	authErr faults.Fault                         // the vendor's answer to bad credentials
	extra   []faultCase                          // failures only this vendor has
}

var simulatedVendors = []simulatedVendor{{
	name: "aiops",
	newSim: func(now time.Time) *faults.Injector {
		sim := simulator.NewAIOps(simEmail, simToken)
		sim.SetLicenses(simulator.DemoAIOpsLicenses(now))
		return faults.Wrap(sim)
	},
	block:   fmt.Sprintf("aiops: {email: %s, token: %s}", simEmail, simToken),
	canary:  append([]string{simToken}, aiopsTelephones()...),
	series:  "aiops_",
	authErr: faults.Fault{Kind: faults.Unauthorized},
}, {
	name: "vzicloud",
	newSim: func(now time.Time) *faults.Injector {
		sim := simulator.NewVZICloud(simKeyID, simKeySecret)
		sim.SetGrants(simulator.DemoVZICloudGrants(now))
		return faults.Wrap(sim)
	},
	// Two pages of the demo's 3,000 grants: "a later page fails" fails one.
	block:   fmt.Sprintf("vzicloud: {access_key_id: %s, access_key_secret: %s, page_size: 1500}", simKeyID, simKeySecret),
	canary:  []string{simKeySecret},
	series:  "vzicloud_",
	authErr: faults.Fault{Kind: faults.VendorError, Code: 1004},
	extra: []faultCase{
		{name: "1016 QPS limit", fault: faults.Fault{Kind: faults.VendorError, Code: 1016}, result: upstream.ResultRateLimited},
		{name: "1017 requests used up", fault: faults.Fault{Kind: faults.VendorError, Code: 1017}, result: upstream.ResultRateLimited},
		{name: "a later page fails", fault: faults.Fault{Kind: faults.Status, Status: 502, After: 1}, result: upstream.ResultHTTPError},
	},
}, {
	name: "tingyun",
	newSim: func(now time.Time) *faults.Injector {
		sim := simulator.NewTingyun(simAuthkey)
		sim.SetUsers(simulator.DemoTingyunUsers(now))
		return faults.Wrap(sim)
	},
	block:   "tingyun: {authkey: " + simAuthkey + "}",
	canary:  append([]string{simAuthkey}, tingyunPersonalData()...),
	series:  "tingyun_",
	authErr: faults.Fault{Kind: faults.Unauthorized},
}, {
	name: "guoyangyun",
	newSim: func(time.Time) *faults.Injector {
		sim := simulator.NewGuoyangyun(simAppkey, simAppsecret)
		sim.SetAccounts(simulator.DemoGuoyangyunAccounts())
		return faults.Wrap(sim)
	},
	block:   fmt.Sprintf("guoyangyun: {appkey: %q, appsecret: %s}", simAppkey, simAppsecret),
	canary:  append([]string{simAppsecret}, guoyangyunSecretData()...),
	series:  "guoyangyun_",
	authErr: faults.Fault{Kind: faults.Unauthorized},
}}

// faultCase is one way the vendor fails and the result it must be counted as.
type faultCase struct {
	name   string
	fault  faults.Fault
	result upstream.Result
	tls    bool // the vendor serves TLS with a certificate we do not trust
	down   bool // nothing listens at the vendor's address
	// timeout of the account; 0 is 2s, ample for loopback even with every
	// case running in parallel under the race detector. Reading 32 MiB
	// there needs longer.
	timeout time.Duration
}

func faultCases(v simulatedVendor) []faultCase {
	return append([]faultCase{
		{name: "connection refused", down: true, result: upstream.ResultNetworkError},
		{name: "certificate not trusted", tls: true, result: upstream.ResultNetworkError},
		{name: "slower than timeout", fault: faults.Fault{Kind: faults.Latency, Delay: 4 * time.Second}, result: upstream.ResultTimeout},
		{name: "drip slower than timeout", fault: faults.Fault{Kind: faults.Drip, Delay: 4 * time.Second}, result: upstream.ResultTimeout},
		{name: "500", fault: faults.Fault{Kind: faults.Status, Status: 500}, result: upstream.ResultHTTPError},
		{name: "502 HTML", fault: faults.Fault{Kind: faults.HTML}, result: upstream.ResultHTTPError},
		{name: "vendor rejects credentials", fault: v.authErr, result: upstream.ResultAuthError},
		{name: "403", fault: faults.Fault{Kind: faults.Status, Status: 403}, result: upstream.ResultAuthError},
		{name: "429", fault: faults.Fault{Kind: faults.RateLimited, RetryAfter: 3 * time.Minute}, result: upstream.ResultRateLimited},
		{name: "vendor error envelope", fault: faults.Fault{Kind: faults.VendorError}, result: upstream.ResultAPIError},
		{name: "malformed JSON", fault: faults.Fault{Kind: faults.Malformed}, result: upstream.ResultDecodeError},
		{name: "truncated JSON", fault: faults.Fault{Kind: faults.Truncated}, result: upstream.ResultDecodeError},
		{name: "empty body", fault: faults.Fault{Kind: faults.Empty}, result: upstream.ResultDecodeError},
		{name: "wrong field types", fault: faults.Fault{Kind: faults.WrongTypes}, result: upstream.ResultDecodeError},
		{name: "body over the limit", fault: faults.Fault{Kind: faults.Oversized, Size: upstream.DefaultMaxBodyBytes + 1}, result: upstream.ResultTooLarge, timeout: 20 * time.Second},
		// Redirects are not followed by default: the first one fails the refresh.
		{name: "redirect loop", fault: faults.Fault{Kind: faults.RedirectLoop}, result: upstream.ResultHTTPError},
	}, v.extra...)
}

// TestFaultMatrix: for every vendor and every way it can fail, the scrape
// answers within its deadline, says what happened in the exporter's own
// metrics, serves the last good data until max_stale and then drops it,
// backs off, and leaks no secret.
func TestFaultMatrix(t *testing.T) {
	for _, v := range simulatedVendors {
		for _, fc := range faultCases(v) {
			t.Run(v.name+"/"+fc.name, func(t *testing.T) {
				t.Parallel()
				runFaultCase(t, v, fc)
			})
		}
	}
}

func runFaultCase(t *testing.T, v simulatedVendor, fc faultCase) {
	clock := newFakeClock()
	// Data as of the fake clock: the simulators keep expiries an hour away
	// from the edges of the expiry windows, so advancing the clock by minutes
	// moves no grant across an edge.
	sim := v.newSim(clock.Now())
	good := httptest.NewServer(sim)
	t.Cleanup(good.Close)
	logs := &syncbuf.Buffer{}
	const name = "acct"
	timeout := cmp.Or(fc.timeout, 2*time.Second)
	deadline := timeout + 2*time.Second
	yaml := func(baseURL string) []byte {
		return fmt.Appendf(nil, "defaults: {cache_ttl: 1m, timeout: %s, max_stale: 10m}\naccounts:\n  - name: %s\n    base_url: %s\n    %s\n",
			model.Duration(timeout), name, baseURL, v.block)
	}
	e := New(Options{Clock: clock.Now, Logger: log.NewLogfmtLogger(logs), Registerer: prometheus.NewRegistry()})
	cfg, err := config.Parse(yaml(good.URL), "")
	require.NoError(t, err)
	require.NoError(t, e.Apply(cfg))

	var outputs strings.Builder
	scrape := func() map[string]float64 {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		got := scrapeOnce(t, e, ctx, "")
		assert.Less(t, time.Since(start), deadline+time.Second, "the scrape kept its deadline")
		fmt.Fprintln(&outputs, got)
		return got
	}
	successKey := fmt.Sprintf("quota_exporter_scrape_success{account=%q,vendor=%q}", name, v.name)
	got := scrape()
	require.Equal(t, 1.0, got[successKey], "the vendor works before the fault")
	goodSeries := vendorSeries(got, v.series)
	require.NotEmpty(t, goodSeries)

	// Break the vendor.
	switch {
	case fc.down:
		good.Close() // the address the account uses now refuses connections
	case fc.tls:
		// An untrusted certificate needs an https base_url, so a changed
		// account: it starts afresh, without data.
		untrusted := httptest.NewUnstartedServer(sim)
		untrusted.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the handshake failure is expected
		untrusted.StartTLS()
		t.Cleanup(untrusted.Close)
		cfg, err := config.Parse(yaml(untrusted.URL), "")
		require.NoError(t, err)
		require.NoError(t, e.Apply(cfg))
		got = scrape()
		assert.Equal(t, 0.0, got[successKey])
		assert.Empty(t, vendorSeries(got, v.series))
		assert.Equal(t, 1.0, requestsWith(e, name, v.name, fc.result))
		canary.AssertAbsent(t, outputs.String()+logs.String(), nil, v.canary)
		return
	default:
		sim.SetFault(fc.fault)
	}

	before := sim.Requests()
	clock.Advance(2 * time.Minute) // the cache has expired
	assert.Equal(t, withoutCountdowns(goodSeries), withoutCountdowns(vendorSeries(scrape(), v.series)), "the data on hand is served while the refresh runs")
	settle(e)
	got = scrape()
	assert.Equal(t, 0.0, got[successKey])
	assert.Equal(t, 1.0, requestsWith(e, name, v.name, fc.result), "counted as %s", fc.result)
	assert.Equal(t, withoutCountdowns(goodSeries), withoutCountdowns(vendorSeries(got, v.series)), "the last good data is served")
	assert.Len(t, vendorSeries(got, v.series), len(goodSeries))
	assert.Equal(t, 120.0, got[fmt.Sprintf("quota_exporter_data_age_seconds{account=%q,vendor=%q}", name, v.name)])
	called := sim.Requests() - before // a redirect loop makes several

	for range 5 { // scrapes within the first backoff do not call the vendor
		clock.Advance(time.Second)
		scrape()
	}
	assert.Equal(t, before+called, sim.Requests(), "backing off")

	clock.Advance(10 * time.Minute) // past max_stale
	got = scrape()
	assert.Empty(t, vendorSeries(got, v.series), "data older than max_stale is dropped")
	assert.Equal(t, 0.0, got[successKey])

	canary.AssertAbsent(t, outputs.String()+logs.String(), nil, v.canary)
	assert.Contains(t, logs.String(), "result="+string(fc.result), "the failure is logged")
}

func requestsWith(e *Exporter, acct, vendorName string, r upstream.Result) float64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	i := slices.IndexFunc(e.accounts, func(a *account) bool { return a.name == acct && a.vendor == vendorName })
	return float64(e.accounts[i].requests.n[slices.Index(upstream.Results, r)].Load())
}

// withoutCountdowns leaves out the series that move with the clock.
func withoutCountdowns(series map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range series {
		if !strings.Contains(k, "_days_until_") {
			out[k] = v
		}
	}
	return out
}
