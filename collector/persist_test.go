package collector

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/canary"
	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
)

// storedVendors serves every vendor's simulator, one account each.
type storedVendors struct {
	clock *fakeClock
	sims  map[string]*faults.Injector
	urls  map[string]string
}

func newStoredVendors(t testing.TB) *storedVendors {
	s := &storedVendors{clock: newFakeClock(), sims: map[string]*faults.Injector{}, urls: map[string]string{}}
	for _, v := range simulatedVendors {
		sim := v.newSim(s.clock.Now())
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		s.sims[v.name], s.urls[v.name] = sim, srv.URL
	}
	return s
}

// config has one account per vendor, named after it; blocks replaces a
// vendor's block.
func (s *storedVendors) config(t testing.TB, blocks map[string]string) *config.Config {
	var b strings.Builder
	b.WriteString("defaults: {cache_ttl: 5m, max_stale: 1h}\nlimits: {vzicloud: {requests_per_second: 0}}\naccounts:\n")
	for _, v := range simulatedVendors {
		block := v.block
		if blocks[v.name] != "" {
			block = blocks[v.name]
		}
		fmt.Fprintf(&b, "  - name: %s\n    base_url: %s\n    %s\n", v.name, s.urls[v.name], block)
	}
	cfg, err := config.Parse([]byte(b.String()), "")
	require.NoError(t, err)
	return cfg
}

// start is one exporter process on dir.
func (s *storedVendors) start(t testing.TB, dir string, cfg *config.Config, logs *syncbuf.Buffer) *Exporter {
	e := New(Options{Clock: s.clock.Now, Logger: log.NewLogfmtLogger(logs), Registerer: prometheus.NewRegistry(), StoragePath: dir})
	require.NoError(t, e.Apply(cfg))
	return e
}

// firstRun starts an exporter on a new directory and scrapes it once, so
// that every account's answer is stored.
func (s *storedVendors) firstRun(t testing.TB) (dir string, cfg *config.Config, e *Exporter) {
	dir, cfg = t.TempDir(), s.config(t, nil)
	e = s.start(t, dir, cfg, &syncbuf.Buffer{})
	scrapeOnce(t, e, t.Context(), "")
	return dir, cfg, e
}

func (s *storedVendors) requests() map[string]int64 {
	out := map[string]int64{}
	for name, sim := range s.sims {
		out[name] = sim.Requests()
	}
	return out
}

func allVendorSeries(got map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, v := range simulatedVendors {
		maps.Copy(out, vendorSeries(got, v.series))
	}
	return out
}

func TestRestartWithinCacheTTLCallsNoVendor(t *testing.T) {
	s := newStoredVendors(t)
	dir, cfg, first := s.firstRun(t)
	called := s.requests()

	s.clock.Advance(time.Minute)
	want := scrapeOnce(t, first, t.Context(), "")
	logs := &syncbuf.Buffer{}
	restarted := s.start(t, dir, cfg, logs)
	got := scrapeOnce(t, restarted, t.Context(), "")
	settle(restarted)
	assert.Equal(t, called, s.requests(), "no vendor is called after a restart within cache_ttl")
	assert.Equal(t, allVendorSeries(want), allVendorSeries(got), "the same vendor series as before the restart")
	assert.Len(t, allVendorSeries(got), len(allVendorSeries(want)))
	for _, v := range simulatedVendors {
		assert.Equal(t, 60.0, got[fmt.Sprintf("quota_exporter_data_age_seconds{account=%q,vendor=%q}", v.name, v.name)], "the true age")
		assert.Equal(t, 1.0, got[fmt.Sprintf("quota_exporter_scrape_success{account=%q,vendor=%q}", v.name, v.name)])
	}
	assert.NotContains(t, logs.String(), "level=warn")

	// One file per account, readable by the exporter's user only, holding
	// no secret, no personal data and not the account's email.
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, files, len(simulatedVendors))
	var stored strings.Builder
	for _, f := range files {
		info, err := f.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), f.Name())
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		require.NoError(t, err)
		stored.Write(data)
	}
	var canaries []string
	for _, v := range simulatedVendors {
		canaries = append(canaries, v.canary...)
	}
	canary.AssertAbsent(t, stored.String(), nil, append(canaries, simEmail, simKeyID, simAppkey))
	assert.Contains(t, stored.String(), "9f4a6c13-2e8b-4d71-b0c5-8e3f1a7d2b96", "the files hold the answers")
}

func TestRestartAfterCacheTTLServesStoredDataWhileTheVendorIsSlow(t *testing.T) {
	s := newStoredVendors(t)
	dir, cfg, _ := s.firstRun(t)
	for _, sim := range s.sims {
		sim.SetFault(faults.Fault{Kind: faults.Latency, Delay: 3 * time.Second})
	}

	s.clock.Advance(20 * time.Minute) // past cache_ttl, within max_stale
	restarted := s.start(t, dir, cfg, &syncbuf.Buffer{})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := scrapeOnce(t, restarted, ctx, "")
	assert.Less(t, time.Since(start), 2*time.Second, "the scrape kept its deadline")
	for _, v := range simulatedVendors {
		assert.NotEmpty(t, vendorSeries(got, v.series), v.name)
		assert.Equal(t, 1200.0, got[fmt.Sprintf("quota_exporter_data_age_seconds{account=%q,vendor=%q}", v.name, v.name)], v.name)
	}
	settle(restarted) // the refreshes the scrape started
}

func TestIdentityChangeRefetchesOnlyThatAccount(t *testing.T) {
	s := newStoredVendors(t)
	dir, _, _ := s.firstRun(t)
	before := s.requests()

	// A new page size is a new identity; a new cache_ttl and a new secret
	// are not.
	changed := s.config(t, map[string]string{
		"vzicloud": fmt.Sprintf("vzicloud: {access_key_id: %s, access_key_secret: %s, page_size: 1000}", simKeyID, simKeySecret),
	})
	changed.Accounts[0].Effective.CacheTTL = 10 * time.Minute
	changed.Accounts[2].Secret.Value = "rotated"
	logs := &syncbuf.Buffer{}
	restarted := s.start(t, dir, changed, logs)
	got := scrapeOnce(t, restarted, t.Context(), "")
	after := s.requests()
	for name := range before {
		if name == "vzicloud" {
			assert.Greater(t, after[name], before[name], "the changed account fetches again")
			continue
		}
		assert.Equal(t, before[name], after[name], "%s is served from storage", name)
	}
	assert.NotEmpty(t, vendorSeries(got, "vzicloud_"))
	assert.Contains(t, logs.String(), "stored answer not used")
}

func TestBadStoredFilesAreIgnored(t *testing.T) {
	s := newStoredVendors(t)
	dir, cfg, _ := s.firstRun(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.answer"))
	require.NoError(t, err)
	require.Len(t, files, 4)
	// Damage each a different way: a flipped byte, a cut, a foreign
	// file, another account's answer under this account's name.
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	data[len(data)/2] ^= 0xff
	require.NoError(t, os.WriteFile(files[0], data, 0o600))
	require.NoError(t, os.Truncate(files[1], 30))
	require.NoError(t, os.WriteFile(files[2], []byte("#!/bin/sh\necho not an answer\n"), 0o600))
	other, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(files[3], other, 0o600))
	before := s.requests()

	logs := &syncbuf.Buffer{}
	reg := prometheus.NewRegistry()
	e := New(Options{Clock: s.clock.Now, Logger: log.NewLogfmtLogger(logs), Registerer: reg, StoragePath: dir})
	require.NoError(t, e.Apply(cfg))
	got := scrapeOnce(t, e, t.Context(), "")
	for _, v := range simulatedVendors {
		assert.Equal(t, 1.0, got[fmt.Sprintf("quota_exporter_scrape_success{account=%q,vendor=%q}", v.name, v.name)], v.name)
		assert.Greater(t, s.requests()[v.name], before[v.name], "%s fetched again", v.name)
	}
	assert.Equal(t, 4, strings.Count(logs.String(), "stored answer ignored"), logs.String())
	assert.Equal(t, 4.0, storageErrors(t, reg, "load"))
}

// storageErrors is the value of quota_exporter_storage_errors_total{operation=op}.
func storageErrors(t *testing.T, reg *prometheus.Registry, op string) float64 {
	return gathered(t, reg, "quota_exporter_storage_errors_total", op)
}

// gathered is the value of the series of the metric name whose one label is value.
func gathered(t *testing.T, reg *prometheus.Registry, name, value string) float64 {
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == name && m.GetLabel()[0].GetValue() == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series of %s for %s", name, value)
	return 0
}

// An unwritable storage path costs nothing but a log line and a count.
func TestUnwritableStorageNeverFailsAScrape(t *testing.T) {
	s := newStoredVendors(t)
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o600))
	logs := &syncbuf.Buffer{}
	reg := prometheus.NewRegistry()
	e := New(Options{Clock: s.clock.Now, Logger: log.NewLogfmtLogger(logs), Registerer: reg, StoragePath: notADir})
	require.NoError(t, e.Apply(s.config(t, nil)))
	got := scrapeOnce(t, e, t.Context(), "")
	for _, v := range simulatedVendors {
		assert.Equal(t, 1.0, got[fmt.Sprintf("quota_exporter_scrape_success{account=%q,vendor=%q}", v.name, v.name)], v.name)
		assert.NotEmpty(t, vendorSeries(got, v.series))
	}
	assert.Equal(t, 4.0, storageErrors(t, reg, "save"))
	assert.Contains(t, logs.String(), "the answer could not be stored")
}

func TestFilesOfRemovedAccountsAreRemoved(t *testing.T) {
	s := newStoredVendors(t)
	dir, cfg, e := s.firstRun(t)
	unrelated := filepath.Join(dir, "README")
	require.NoError(t, os.WriteFile(unrelated, []byte("kept"), 0o600))

	cfg.Accounts = cfg.Accounts[1:]
	require.NoError(t, e.Apply(cfg))
	files, err := filepath.Glob(filepath.Join(dir, "*.answer"))
	require.NoError(t, err)
	assert.Len(t, files, 3)
	assert.FileExists(t, unrelated)
}
