package collector

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

const (
	simEmail = "ops@example.com"
	simToken = "canary-token-7f3a9c"
)

// aiopsFixture is an exporter with one aiops account read from a simulator
// serving the demo licenses.
type aiopsFixture struct {
	sim   *simulator.AIOps
	inj   *faults.Injector // in front of sim
	clock *fakeClock
	e     *Exporter
	logs  *syncbuf.Buffer
	shang *time.Location
}

func newAIOpsFixture(t testing.TB) *aiopsFixture {
	t.Helper()
	f := &aiopsFixture{clock: newFakeClock(), logs: &syncbuf.Buffer{}}
	var err error
	f.shang, err = time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	var server *httptest.Server
	f.sim, f.inj, server = startAIOpsSimulator(t, httptest.NewServer)
	f.sim.SetLicenses(simulator.DemoAIOpsLicenses(f.clock.Now()))

	cfg, err := config.Parse(fmt.Appendf(nil, `
defaults: {cache_ttl: 5m, timeout: 2s, max_stale: 1h, timezone: Asia/Shanghai}
accounts:
  - name: ops
    base_url: %s
    aiops: {email: %s, token: %s}
`, server.URL, simEmail, simToken), "")
	require.NoError(t, err)
	f.e = New(Options{Clock: f.clock.Now, Logger: log.NewLogfmtLogger(f.logs), Registerer: prometheus.NewRegistry()})
	require.NoError(t, f.e.Apply(cfg))
	return f
}

// startAIOpsSimulator serves the demo licenses behind a fault injector with
// start (httptest.NewServer or NewTLSServer) until the test ends.
func startAIOpsSimulator(t testing.TB, start func(http.Handler) *httptest.Server) (*simulator.AIOps, *faults.Injector, *httptest.Server) {
	t.Helper()
	sim := simulator.NewAIOps(simEmail, simToken)
	sim.SetLicenses(simulator.DemoAIOpsLicenses(time.Now()))
	inj := faults.Wrap(sim)
	server := start(inj)
	t.Cleanup(server.Close)
	return sim, inj, server
}

// expectedAIOps derives every aiops series from the simulator's licenses,
// the way the README's metric reference defines them.
func (f *aiopsFixture) expectedAIOps(t *testing.T, now time.Time) map[string]float64 {
	t.Helper()
	want := map[string]float64{}
	for _, l := range f.sim.Licenses() {
		id := fmt.Sprintf("account=%q,license_id=%q", "ops", l.SysID)
		want[fmt.Sprintf("aiops_license_info{account=%q,contact_name=%q,edition=%q,license_id=%q,license_type=%q,user_id=%q}",
			"ops", l.ContactName, l.License, l.SysID, l.LicenseType, strconv.FormatInt(l.User, 10))] = 1
		for _, q := range []struct {
			channel     string
			used, total simulator.Count
		}{
			{"phone", l.TelNum, l.TelTotal}, {"sms", l.MsgNum, l.MsgTotal},
			{"wechat", l.WeChatNum, l.WeChatTotal}, {"email", l.EmailNum, l.EmailTotal},
			{"intl_phone", l.IntTelNum, l.IntTelTotal}, {"intl_sms", l.IntMsgNum, l.IntMsgTotal},
		} {
			if q.used.Wire == simulator.WireNull || q.total.Wire == simulator.WireNull {
				continue // a quota the vendor did not give is not invented
			}
			key := fmt.Sprintf("{account=%q,channel=%q,license_id=%q}", "ops", q.channel, l.SysID)
			want["aiops_license_quota_used"+key] = float64(q.used.Value)
			want["aiops_license_quota_limit"+key] = float64(q.total.Value)
		}
		lastDay, err := time.ParseInLocation(time.DateOnly, l.ExpiredTime, f.shang)
		require.NoError(t, err)
		expiry := lastDay.AddDate(0, 0, 1)
		reset, err := time.ParseInLocation(time.DateOnly, l.NextDate, f.shang)
		require.NoError(t, err)
		want["aiops_license_expiry_timestamp_seconds{"+id+"}"] = float64(expiry.Unix())
		want["aiops_license_days_until_expiry{"+id+"}"] = expiry.Sub(now).Seconds() / 86400
		want["aiops_license_quota_reset_timestamp_seconds{"+id+"}"] = float64(reset.Unix())
		want["aiops_license_expired{"+id+"}"] = float64(l.IsExpired)
		want["aiops_license_bound{"+id+"}"] = float64(l.IsUsed)
		want["aiops_license_auto_renew{"+id+"}"] = float64(l.AutoRenew)
	}
	return want
}

func vendorSeries(got map[string]float64, prefix string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range got {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

func TestAIOpsMetricsMatchTheVendorData(t *testing.T) {
	f := newAIOpsFixture(t)
	got := scrapeOnce(t, f.e, context.Background(), "")

	want := f.expectedAIOps(t, f.clock.Now())
	assert.InDeltaMapValues(t, want, vendorSeries(got, "aiops_"), 1e-9)
	assert.Len(t, vendorSeries(got, "aiops_"), len(want))
	assert.Equal(t, 1.0, got[`quota_exporter_scrape_success{account="ops",vendor="aiops"}`])

	// The countdown moves with the clock while the cache serves the same answer.
	f.clock.Advance(2 * time.Minute)
	got = scrapeOnce(t, f.e, context.Background(), "")
	assert.InDeltaMapValues(t, f.expectedAIOps(t, f.clock.Now()), vendorSeries(got, "aiops_"), 1e-9)
	assert.Equal(t, int64(1), f.inj.Requests())
}

func TestAIOpsUpstreamRequestsPerScrape(t *testing.T) {
	f := newAIOpsFixture(t)
	for range 10 {
		scrapeOnce(t, f.e, context.Background(), "")
		f.clock.Advance(20 * time.Second) // 10 scrapes span 200s, inside cache_ttl 5m
	}
	assert.Equal(t, int64(1), f.inj.Requests(), "within cache_ttl the vendor is asked once")

	f.clock.Advance(5 * time.Minute) // the cache has expired: 50 concurrent scrapes
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { scrapeOnce(t, f.e, context.Background(), "") })
	}
	wg.Wait()
	settle(f.e) // the data could still be served: the scrapes did not wait for their refresh
	assert.Equal(t, int64(2), f.inj.Requests(), "concurrent scrapes at expiry share one refresh")
}

func TestAIOpsFailingVendorIsNotCalledOnEveryScrape(t *testing.T) {
	f := newAIOpsFixture(t)
	scrapeOnce(t, f.e, context.Background(), "")
	f.inj.SetFault(faults.Fault{Kind: faults.Status, Status: 503})
	f.clock.Advance(6 * time.Minute)
	scrapeOnce(t, f.e, context.Background(), "")
	settle(f.e)
	got := scrapeOnce(t, f.e, context.Background(), "")
	assert.Equal(t, 0.0, got[`quota_exporter_scrape_success{account="ops",vendor="aiops"}`])
	assert.Equal(t, f.expectedAIOps(t, f.clock.Now())[`aiops_license_bound{account="ops",license_id="9f4a6c13-2e8b-4d71-b0c5-8e3f1a7d2b96"}`],
		got[`aiops_license_bound{account="ops",license_id="9f4a6c13-2e8b-4d71-b0c5-8e3f1a7d2b96"}`])
	assert.Contains(t, got, `aiops_license_bound{account="ops",license_id="9f4a6c13-2e8b-4d71-b0c5-8e3f1a7d2b96"}`, "stale data is served")
	requests := f.inj.Requests()

	for range 5 { // inside the first backoff (10s)
		f.clock.Advance(time.Second)
		scrapeOnce(t, f.e, context.Background(), "")
	}
	assert.Equal(t, requests, f.inj.Requests())
	assert.Contains(t, f.logs.String(), "http_error")
}

// The token, the email's Basic auth form and the members' telephones never
// leave the exporter, whatever the vendor answers.
func TestAIOpsSecretsNeverLeak(t *testing.T) {
	f := newAIOpsFixture(t)
	var outputs bytes.Buffer
	answers := []faults.Fault{
		{}, {Kind: faults.Unauthorized}, {Kind: faults.VendorError},
		{Kind: faults.HTML}, {Kind: faults.Malformed}, {Kind: faults.Status, Status: 500},
	}
	for _, fault := range answers {
		f.inj.SetFault(fault)
		f.clock.Advance(2 * time.Hour) // past cache_ttl and any backoff
		fmt.Fprintln(&outputs, scrapeOnce(t, f.e, context.Background(), ""))
	}
	assert.EqualValues(t, len(answers), f.inj.Requests())
	for _, l := range f.sim.Licenses() {
		if l.Telephone != "" {
			assert.NotContains(t, outputs.String()+f.logs.String(), l.Telephone)
		}
	}
	assert.NotContains(t, outputs.String()+f.logs.String(), simToken)
	assert.Contains(t, f.logs.String(), "auth_error", "the failures are logged")
}

// Upstream TLS follows the account's http_client_config: a private CA
// given as ca_file is trusted, and without it the vendor's certificate is not.
func TestUpstreamTLSFromHTTPClientConfig(t *testing.T) {
	_, inj, vendor := startAIOpsSimulator(t, httptest.NewTLSServer)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vendor.Certificate().Raw}), 0o600))

	cfg, err := config.Parse(fmt.Appendf(nil, `
accounts:
  - name: trusted
    base_url: %[1]s
    http_client_config: {tls_config: {ca_file: ca.pem}}
    aiops: {email: %[2]s, token: %[3]s}
  - name: untrusted
    base_url: %[1]s
    aiops: {email: %[2]s, token: %[3]s}
`, vendor.URL, simEmail, simToken), dir)
	require.NoError(t, err)
	e := New(Options{Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(cfg))

	got := scrapeOnce(t, e, context.Background(), "")
	assert.Equal(t, 1.0, got[`quota_exporter_scrape_success{account="trusted",vendor="aiops"}`])
	assert.Equal(t, 0.0, got[`quota_exporter_scrape_success{account="untrusted",vendor="aiops"}`])
	assert.Equal(t, 1.0, requestsWith(e, "untrusted", "aiops", upstream.ResultNetworkError))
	assert.Equal(t, int64(1), inj.Requests(), "the untrusted handshake never reached the vendor")
}

// Scrape latency as Prometheus sees it, with the vendor on loopback: warm
// scrapes come from the cache, cold ones each make the upstream request.
func BenchmarkAIOpsScrape(b *testing.B) {
	for _, bc := range []struct {
		name    string
		advance time.Duration // between scrapes
	}{{"warm", 0}, {"cold", 6 * time.Minute}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newAIOpsFixture(b)
			b.ReportAllocs()
			for b.Loop() {
				f.clock.Advance(bc.advance)
				g, _ := f.e.Gatherer(context.Background(), "", nil)
				if _, err := g.Gather(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(f.inj.Requests())/float64(b.N), "upstream-requests/scrape")
		})
	}
}

// A token file is read on every refresh: rotating it needs no reload.
func TestAIOpsTokenFileIsReadOnEveryRefresh(t *testing.T) {
	_, inj, vendor := startAIOpsSimulator(t, httptest.NewServer)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("revoked-token\n"), 0o600))
	cfg, err := config.Parse(fmt.Appendf(nil, "accounts:\n  - name: ops\n    base_url: %s\n    aiops: {email: %s, token_file: token}\n",
		vendor.URL, simEmail), dir)
	require.NoError(t, err)
	clock := newFakeClock()
	e := New(Options{Clock: clock.Now, Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(cfg))

	got := scrapeOnce(t, e, context.Background(), "")
	assert.Equal(t, 0.0, got[`quota_exporter_scrape_success{account="ops",vendor="aiops"}`])
	assert.Equal(t, 1.0, requestsWith(e, "ops", "aiops", upstream.ResultAuthError))

	require.NoError(t, os.WriteFile(tokenFile, []byte(simToken+"\r\n"), 0o600))
	clock.Advance(time.Minute) // past the first backoff
	got = scrapeOnce(t, e, context.Background(), "")
	assert.Equal(t, 1.0, got[`quota_exporter_scrape_success{account="ops",vendor="aiops"}`])
	assert.Equal(t, int64(2), inj.Requests())
}
