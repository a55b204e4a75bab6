package collector

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
)

// clientsByName maps each account of e to its HTTP client.
func clientsByName(e *Exporter) map[string]*sharedClient {
	e.mu.RLock()
	defer e.mu.RUnlock()
	clients := map[string]*sharedClient{}
	for _, a := range e.accounts {
		clients[a.name] = a.client
	}
	return clients
}

// Accounts share a client exactly when their http_client_config is the
// same, secrets included; a reload keeps an unchanged account's client and
// gives a changed one the client of its new config.
func TestAccountsShareAClientPerHTTPClientConfig(t *testing.T) {
	parse := func(accounts string) *config.Config {
		cfg, err := config.Parse([]byte("accounts:\n"+accounts), "")
		require.NoError(t, err)
		return cfg
	}
	proxied := func(name, header string) string {
		return fmt.Sprintf("  - {name: %s, http_client_config: {proxy_url: 'http://proxy.example:3128', proxy_connect_header: {Proxy-Authorization: ['%s']}}, tingyun: {authkey: k}}\n", name, header)
	}
	e := New(Options{Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(parse(
		"  - {name: a, tingyun: {authkey: k1}}\n"+
			"  - {name: b, aiops: {email: b@example.com, token: t}}\n"+
			"  - {name: c, http_client_config: {enable_http2: false}, tingyun: {authkey: k3}}\n"+
			proxied("d", "Basic one")+proxied("e", "Basic one")+proxied("f", "Basic two"))))
	before := clientsByName(e)
	assert.Same(t, before["a"], before["b"], "same (default) config, other vendor: one client")
	assert.NotSame(t, before["a"], before["c"])
	assert.Same(t, before["d"], before["e"])
	assert.NotSame(t, before["d"], before["f"], "a different proxy secret is a different config")
	assert.Len(t, clientsOf(e.accounts), 4)

	require.NoError(t, e.Apply(parse(
		"  - {name: a, tingyun: {authkey: k1}}\n"+ // unchanged
			"  - {name: b, aiops: {email: b@example.com, token: t2}}\n"+ // changed, same client config
			"  - {name: c, tingyun: {authkey: k3}}\n"+ // now the default client config
			proxied("d", "Basic two"))))
	after := clientsByName(e)
	assert.Same(t, before["a"], after["a"])
	assert.Same(t, before["a"], after["b"])
	assert.Same(t, before["a"], after["c"])
	assert.Same(t, before["f"], after["d"])
	assert.Len(t, clientsOf(e.accounts), 2)
}

// openConns counts the connections a server has open.
func openConns(srv *httptest.Server) *atomic.Int64 {
	var open atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	return &open
}

// At rest, between refreshes minutes apart, the exporter holds no upstream
// connection, nor the goroutines that serve one: the last refresh in flight
// on a client closes its idle connections. A reload that drops the accounts
// leaves none either.
func TestNoUpstreamConnectionOutlivesTheRefreshes(t *testing.T) {
	sim := simulator.NewAIOps(simEmail, simToken)
	sim.SetLicenses(simulator.DemoAIOpsLicenses(time.Now()))
	inj := faults.Wrap(sim)
	srv := httptest.NewUnstartedServer(inj)
	open := openConns(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	var accounts strings.Builder
	for i := range 20 {
		fmt.Fprintf(&accounts, "  - {name: acct%d, base_url: %s, aiops: {email: %s, token: %s}}\n", i, srv.URL, simEmail, simToken)
	}
	// Without a rate limit, the accounts' requests overlap on several connections.
	limits := "limits: {aiops: {max_concurrency: 20, requests_per_second: 0}}\n"
	cfg, err := config.Parse([]byte(limits+"accounts:\n"+accounts.String()), "")
	require.NoError(t, err)
	baseline := runtime.NumGoroutine()

	clock := newFakeClock()
	e := New(Options{Clock: clock.Now, Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(cfg))
	atRest := func(msg string) {
		t.Helper()
		assert.Eventually(t, func() bool { return open.Load() == 0 }, 5*time.Second, 10*time.Millisecond, "%s: open connections", msg)
		// Polled here: assert.Eventually's own goroutine would count.
		for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > baseline && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		assert.LessOrEqual(t, runtime.NumGoroutine(), baseline, "%s: goroutines", msg)
	}
	for round := range 3 {
		var wg sync.WaitGroup
		for range 4 { // concurrent scrapes share each account's refresh
			wg.Go(func() {
				got := scrapeOnce(t, e, context.Background(), "")
				assert.Equal(t, 1.0, got[`quota_exporter_scrape_success{account="acct7",vendor="aiops"}`])
			})
		}
		wg.Wait()
		settle(e)
		atRest(fmt.Sprintf("after refresh %d", round+1))
		clock.Advance(time.Hour)
	}
	assert.Equal(t, int64(60), inj.Requests())

	scrapeOnce(t, e, context.Background(), "") // refreshes in flight as the accounts go
	require.NoError(t, e.Apply(&config.Config{}))
	atRest("after the reload")
}

// The pages of one refresh reuse their connections: closing the idle
// connections after each refresh costs a connection per page in flight
// (here one) per refresh, not one per request.
func TestTheRequestsOfARefreshShareAConnection(t *testing.T) {
	clock := newFakeClock()
	sim := simulatedVendors[slices.IndexFunc(simulatedVendors, func(v simulatedVendor) bool { return v.name == "vzicloud" })].newSim(clock.Now())
	srv := httptest.NewUnstartedServer(sim)
	var opened atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	cfg, err := config.Parse(fmt.Appendf(nil, `
limits: {vzicloud: {max_concurrency: 1, requests_per_second: 0}}
accounts:
  - {name: cams, base_url: %s, vzicloud: {access_key_id: %s, access_key_secret: %s, page_size: 300}}
`, srv.URL, simKeyID, simKeySecret), "")
	require.NoError(t, err)
	e := New(Options{Clock: clock.Now, Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(cfg))
	for refresh := range 2 {
		requests := sim.Requests()
		require.Equal(t, 1.0, scrapeOnce(t, e, context.Background(), "")[`quota_exporter_scrape_success{account="cams",vendor="vzicloud"}`])
		assert.Equal(t, int64(10), sim.Requests()-requests, "the demo's 3,000 grants in pages of 300")
		assert.Equal(t, int64(refresh+1), opened.Load())
		clock.Advance(time.Hour)
	}
}
