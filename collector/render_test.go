package collector

import (
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
	"github.com/quotaexporter/quota_exporter/simulator"
)

// newAIOpsAccounts is an exporter with the aiops accounts of accountsYAML,
// all read from one simulator serving the demo licenses.
func newAIOpsAccounts(t *testing.T, clock *fakeClock, accountsYAML string) (*Exporter, *simulator.AIOps, *syncbuf.Buffer) {
	t.Helper()
	sim := simulator.NewAIOps(simEmail, simToken)
	sim.SetLicenses(simulator.DemoAIOpsLicenses(clock.Now()))
	server := httptest.NewServer(sim)
	t.Cleanup(server.Close)
	cfg, err := config.Parse([]byte(strings.NewReplacer("URL", server.URL, "AUTH", fmt.Sprintf("{email: %s, token: %s}", simEmail, simToken)).Replace(accountsYAML)), "")
	require.NoError(t, err)
	logs := &syncbuf.Buffer{}
	e := New(Options{Clock: clock.Now, Logger: log.NewLogfmtLogger(logs), Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(cfg))
	return e, sim, logs
}

// Static labels go on every vendor series of their account, never on the
// exporter's own; a label sorting before `account` still gives one sorted
// family per metric across accounts.
func TestStaticLabelsOnEveryVendorSeries(t *testing.T) {
	clock := newFakeClock()
	e, sim, _ := newAIOpsAccounts(t, clock, `
defaults: {labels: {team: ops}}
accounts:
  - {name: a, base_url: URL, labels: {Zone: z}, aiops: AUTH}
  - {name: b, base_url: URL, labels: {Zone: y, team: sre}, aiops: AUTH}
`)
	got := scrapeOnce(t, e, t.Context(), "")
	licenses := len(sim.Licenses())
	var vendorSeries int
	for key := range got {
		if strings.HasPrefix(key, "quota_exporter_") {
			require.NotContains(t, key, "team=", "own series carry no static labels: %s", key)
			require.NotContains(t, key, "Zone=", key)
			continue
		}
		vendorSeries++
		switch {
		case strings.Contains(key, `account="a"`):
			require.Contains(t, key, `Zone="z",account="a"`, key)
			require.Contains(t, key, `team="ops"`, key)
		case strings.Contains(key, `account="b"`):
			require.Contains(t, key, `Zone="y",account="b"`, key)
			require.Contains(t, key, `team="sre"`, key, "the account's labels win over the defaults'")
		default:
			t.Fatalf("a vendor series without its account: %s", key)
		}
	}
	require.Greater(t, vendorSeries, 2*licenses, "both accounts' licenses are there")
	require.Equal(t, 1.0, got[`aiops_license_info{Zone="y",account="b",contact_name="`+sim.Licenses()[0].ContactName+`",edition="`+sim.Licenses()[0].License+`",license_id="`+sim.Licenses()[0].SysID+`",license_type="`+sim.Licenses()[0].LicenseType+`",team="sre",user_id="`+fmt.Sprint(sim.Licenses()[0].User)+`"}`])
}

// An answer with more series than max_series, or a label value over 1,024
// bytes, fails the refresh with its result; the last good data stays.
func TestOversizedAnswersFailTheRefreshAndKeepTheLastGoodData(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spoil  func([]simulator.AIOpsLicense) []simulator.AIOpsLicense
		result string
	}{
		{"more series than max_series", func(ls []simulator.AIOpsLicense) []simulator.AIOpsLicense {
			extra := ls[0]
			extra.SysID = "one-more"
			return append(ls, extra)
		}, "too_large"},
		{"a label value over 1024 bytes", func(ls []simulator.AIOpsLicense) []simulator.AIOpsLicense {
			ls[1].ContactName = strings.Repeat("x", 1025)
			return ls
		}, "decode_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			e, sim, logs := newAIOpsAccounts(t, clock, `
accounts:
  - {name: ops, base_url: URL, cache_ttl: 5m, aiops: AUTH}
`)
			good := scrapeOnce(t, e, t.Context(), "")
			require.Equal(t, 1.0, good[`quota_exporter_scrape_success{account="ops",vendor="aiops"}`])
			series := e.accounts[0].snapshot().data.series
			require.Positive(t, series)

			// Exactly as many series as the data makes passes.
			cfg := e.accounts[0].cfg
			cfg.Effective.MaxSeries = series
			require.NoError(t, e.Apply(&config.Config{Accounts: []config.Account{cfg}}))
			require.Equal(t, vendorOnly(good), vendorOnly(scrapeOnce(t, e, t.Context(), "")))

			sim.SetLicenses(tc.spoil(sim.Licenses()))
			clock.Advance(6 * 60e9)
			scrapeOnce(t, e, t.Context(), "") // serves the data it has and refreshes ahead
			settle(e)
			got := scrapeOnce(t, e, t.Context(), "")
			require.Equal(t, 0.0, got[`quota_exporter_scrape_success{account="ops",vendor="aiops"}`])
			require.Equal(t, vendorOnly(good), vendorOnly(got), "the last good data stays")
			require.Contains(t, logs.String(), "result="+tc.result)
			require.Less(t, len(logs.String()), 2000, "a long value is not logged whole")
		})
	}
}

func vendorOnly(series map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range series {
		if !strings.HasPrefix(k, "quota_exporter_") && !strings.Contains(k, "days_until") {
			out[k] = v
		}
	}
	return out
}

// Kept families share equal label pairs and values between their series,
// which keep their own values: -0 stays -0 and NaN stays NaN.
func TestKeptFamiliesShareLabelPairsAndValues(t *testing.T) {
	gauge := vendorDesc("test_grants", "Grants.", "product", "state")
	counter := vendorDesc("test_used_total", "Used.", "product")
	b := newKeptBuilder(newAccountLabels("acct", nil), 0)
	b.gauge(gauge, 1, "p2", "on")
	b.gauge(gauge, 1, "p1", "on")
	b.gauge(gauge, math.Copysign(0, -1), "p1", "off")
	b.gauge(gauge, 0, "p2", "off")
	b.gauge(gauge, math.NaN(), "p3", "off")
	b.gauge(gauge, math.NaN(), "p3", "on")
	b.counter(counter, 7, "p1")
	b.counter(counter, 7, "p2")
	mfs, err := b.finish()
	require.NoError(t, err)

	var text strings.Builder
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&text, mf)
		require.NoError(t, err)
	}
	require.Equal(t, `# HELP test_grants Grants. May be served from cache, up to cache_ttl old.
# TYPE test_grants gauge
test_grants{account="acct",product="p1",state="off"} 0
test_grants{account="acct",product="p1",state="on"} 1
test_grants{account="acct",product="p2",state="off"} 0
test_grants{account="acct",product="p2",state="on"} 1
test_grants{account="acct",product="p3",state="off"} NaN
test_grants{account="acct",product="p3",state="on"} NaN
# HELP test_used_total Used. May be served from cache, up to cache_ttl old.
# TYPE test_used_total counter
test_used_total{account="acct",product="p1"} 7
test_used_total{account="acct",product="p2"} 7
`, text.String())

	grants, used := mfs[0].Metric, mfs[1].Metric
	require.Same(t, grants[0].Label[0], used[1].Label[0], "account")
	require.Same(t, grants[0].Label[1], grants[1].Label[1], `product="p1"`)
	require.Same(t, grants[0].Label[1], used[0].Label[1], `product="p1" of another metric`)
	require.Same(t, grants[1].Label[2], grants[3].Label[2], `state="on"`)
	require.Same(t, grants[1].Gauge, grants[3].Gauge, "1")
	require.True(t, math.Signbit(grants[0].GetGauge().GetValue()), "-0 stays -0 (the text format prints it as 0, protobuf does not)")
	require.False(t, math.Signbit(grants[2].GetGauge().GetValue()))
	require.Same(t, grants[4].Gauge, grants[5].Gauge, "NaN")
	require.Same(t, used[0].Counter, used[1].Counter, "7")
}
