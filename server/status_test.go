package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/quotaexporter/quota_exporter/collector"
	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/canary"
	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
	"github.com/quotaexporter/quota_exporter/internal/testclock"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
)

const (
	vziKeyID     = "7ffG6UFo1135QXbK2gVuiJffadN1YXZC"
	vziKeySecret = "canary-vzi-secret-93c1"
	// vziPageSize reads the demo's 3,000 grants in three pages.
	vziPageSize = 1000
)

// statesFixture is a server whose accounts are, once brought there by
// bringToEveryState, in every state a row can show. Each account reads a
// real simulator (or a hostile vendor) over HTTP.
type statesFixture struct {
	clock   *testclock.Clock
	http    *httptest.Server
	grafana *httptest.Server
	aiops   map[string]*faults.Injector
	secret  string // the file holding secret-account's token
	logs    *syncbuf.Buffer
	canary  []string
}

// The accounts of statesFixture and the state each ends in.
var fixtureStates = []struct {
	name, state, errorHas string
}{
	{"ok-account", "ok", ""},
	{"stale-account", "stale", "HTTP status 500"},
	{"auth-account", "failing", "HTTP status 401"},
	{"error500-account", "failing", "HTTP status 500"},
	{"timeout-account", "failing", "timeout"},
	{"decode-account", "failing", "decode_error"},
	{"secret-account", "failing", "reading the API token"},
	{"cameras", "ok", ""},
	{"waiting-account", "waiting", ""},
}

func newStatesFixture(t *testing.T) *statesFixture {
	t.Helper()
	f := &statesFixture{
		clock: testclock.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)),
		aiops: map[string]*faults.Injector{},
		logs:  &syncbuf.Buffer{},
	}
	var yaml strings.Builder
	yaml.WriteString("defaults: {cache_ttl: 5m, timeout: 2s, max_stale: 1h}\naccounts:\n")
	for _, name := range []string{"ok-account", "stale-account", "error500-account", "timeout-account", "decode-account", "secret-account", "waiting-account"} {
		sim := simulator.NewAIOps(testEmail, testToken)
		sim.SetLicenses(simulator.DemoAIOpsLicenses(f.clock.Now()))
		f.aiops[name] = faults.Wrap(sim)
		s := httptest.NewServer(f.aiops[name])
		t.Cleanup(s.Close)
		token := "token: " + testToken
		if name == "secret-account" {
			f.secret = filepath.Join(t.TempDir(), "aiops-token")
			require.NoError(t, os.WriteFile(f.secret, []byte(testToken+"\n"), 0o600))
			token = "token_file: " + f.secret
		}
		fmt.Fprintf(&yaml, "  - name: %s\n    base_url: %s\n    aiops: {email: %s, %s}\n", name, s.URL, testEmail, token)
		if name == "timeout-account" {
			yaml.WriteString("    timeout: 300ms\n")
		}
	}
	// A hostile vendor: its 401 quotes the token it was sent.
	echo := httptest.NewServer(canary.TokenEchoingVendor())
	t.Cleanup(echo.Close)
	fmt.Fprintf(&yaml, "  - name: auth-account\n    base_url: %s\n    aiops: {email: %s, token: %s}\n", echo.URL, testEmail, testToken)

	vzi := simulator.NewVZICloud(vziKeyID, vziKeySecret)
	vzi.SetGrants(simulator.DemoVZICloudGrants(f.clock.Now()))
	vziServer := httptest.NewServer(vzi)
	t.Cleanup(vziServer.Close)
	fmt.Fprintf(&yaml, "  - name: cameras\n    base_url: %s\n    vzicloud: {access_key_id: %s, access_key_secret: %s, page_size: %d}\n",
		vziServer.URL, vziKeyID, vziKeySecret, vziPageSize)

	f.grafana = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "a Grafana dashboard")
	}))
	t.Cleanup(f.grafana.Close)

	cfg, err := config.Parse([]byte(yaml.String()), "")
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	logger := log.NewLogfmtLogger(f.logs)
	exp := collector.New(collector.Options{Logger: logger, Registerer: reg, Clock: f.clock.Now})
	srv, err := New(Options{
		Logger:        logger,
		Load:          func() (*config.Config, error) { return cfg, nil },
		Exporter:      exp,
		Registry:      reg,
		TelemetryPath: "/metrics",
		Landing: web.LandingConfig{Name: "Quota Exporter", Version: "test", Links: []web.LandingLinks{
			{Address: "/metrics", Text: "Metrics"}, {Address: "/-/healthy", Text: "Health"}, {Address: "/-/ready", Text: "Readiness"},
		}},
		GrafanaURL: f.grafana.URL + "/d/quota-exporter/quota-exporter?orgId=1",
		Clock:      f.clock.Now,
	})
	require.NoError(t, err)
	require.NoError(t, srv.Reload())
	f.http = httptest.NewServer(srv.Handler())
	t.Cleanup(f.http.Close)

	f.canary = []string{testToken, vziKeySecret}
	for _, l := range simulator.DemoAIOpsLicenses(f.clock.Now()) {
		if l.Telephone != "" {
			f.canary = append(f.canary, l.Telephone)
		}
	}
	return f
}

// bringToEveryState probes the accounts so that each ends in its state of
// fixtureStates, the clock 6 minutes on.
func (f *statesFixture) bringToEveryState(t *testing.T) {
	t.Helper()
	f.aiops["error500-account"].SetFault(faults.Fault{Kind: faults.Status, Status: 500})
	f.aiops["timeout-account"].SetFault(faults.Fault{Kind: faults.Latency, Delay: 5 * time.Second})
	f.aiops["decode-account"].SetFault(faults.Fault{Kind: faults.Malformed})
	require.NoError(t, os.Remove(f.secret)) // read on every refresh: gone since the load
	for _, st := range fixtureStates {
		if st.state != "waiting" {
			f.get(t, "/probe?account="+st.name)
		}
	}
	// Past cache_ttl, the stale account's vendor fails; its data stays.
	f.aiops["stale-account"].SetFault(faults.Fault{Kind: faults.Status, Status: 500})
	f.clock.Advance(6 * time.Minute)
	f.get(t, "/probe?account=stale-account")
	f.get(t, "/probe?account=ok-account")
	// Both probes served the data they had and refresh ahead in the
	// background: wait until both refreshes have ended.
	require.Eventually(t, func() bool {
		dom := parseStatus(t, f.get(t, "/"))
		return strings.HasPrefix(dom.rows["stale-account"].cells["Failures / backoff"], "1") &&
			dom.rows["ok-account"].cells["Calls (1h)"] == "2"
	}, 10*time.Second, 10*time.Millisecond)
}

func (f *statesFixture) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(f.http.URL + path)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body := readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
	return body
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// pageRow is one account's row as a browser shows it: each cell's text by
// its label, and its links.
type pageRow struct {
	state string
	cells map[string]string
	links map[string]string // link text → href
}

// statusDOM is what a test reads of the status page.
type statusDOM struct {
	summary string
	rows    map[string]pageRow
	hrefs   []string // every link on the page
}

func parseStatus(t *testing.T, page string) statusDOM {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	dom := statusDOM{rows: map[string]pageRow{}}
	var walk func(n *html.Node, row *pageRow)
	walk = func(n *html.Node, row *pageRow) {
		if n.Type == html.ElementNode {
			switch {
			case n.DataAtom == atom.Tr && attr(n, "data-account") != "":
				r := pageRow{state: attr(n, "data-state"), cells: map[string]string{}, links: map[string]string{}}
				dom.rows[attr(n, "data-account")] = r
				row = &r
			case n.DataAtom == atom.Td && row != nil:
				row.cells[attr(n, "data-label")] = strings.Join(strings.Fields(text(n)), " ")
			case n.DataAtom == atom.P && attr(n, "id") == "summary":
				dom.summary = strings.Join(strings.Fields(text(n)), " ")
			case n.DataAtom == atom.A:
				dom.hrefs = append(dom.hrefs, attr(n, "href"))
				if row != nil {
					row.links[strings.TrimSpace(text(n))] = attr(n, "href")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, row)
		}
	}
	walk(doc, nil)
	return dom
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is the node's text as read: a line break is a space.
func text(n *html.Node) string {
	switch {
	case n.Type == html.TextNode:
		return n.Data
	case n.DataAtom == atom.Br:
		return " "
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}

// assertEveryState checks the page of a statesFixture brought to every state.
func (f *statesFixture) assertEveryState(t *testing.T, page string) statusDOM {
	t.Helper()
	dom := parseStatus(t, page)
	assert.Equal(t, "9 accounts: 5 failing, 1 stale, 1 waiting, 2 ok", dom.summary)
	require.Len(t, dom.rows, len(fixtureStates))
	for _, want := range fixtureStates {
		row := dom.rows[want.name]
		assert.Equal(t, want.state, row.state, want.name)
		assert.Contains(t, row.cells["State"], want.state, "the state is written, not only colored")
		if want.errorHas != "" {
			assert.Contains(t, row.cells["Last error"], want.errorHas, want.name)
		}
		assert.Equal(t, "/probe?account="+want.name, row.links["probe"])
		assert.Equal(t, "/probe?account="+want.name+"&debug=true", row.links["debug"])
		assert.Equal(t, f.grafana.URL+"/d/quota-exporter/quota-exporter?orgId=1&var-account="+want.name+"&var-vendor="+row.cells["Vendor"], row.links["dashboard"])
	}
	ok, stale, waiting := dom.rows["ok-account"], dom.rows["stale-account"], dom.rows["waiting-account"]
	assert.Equal(t, "2026-11-30 09:06:00 UTC 0s ago", ok.cells["Last success"])
	assert.Equal(t, "in 4m", ok.cells["Next refresh"], "refresh ahead at 4/5 of cache_ttl 5m")
	assert.Equal(t, "2", ok.cells["Calls (1h)"], "two refreshes of one request")
	assert.Equal(t, "3", dom.rows["cameras"].cells["Calls (1h)"], "three pages")
	assert.Equal(t, "2026-11-30 09:00:00 UTC 6m ago", stale.cells["Last success"])
	assert.Equal(t, "6m", stale.cells["Data age"])
	assert.Equal(t, "1 backoff 10s left", stale.cells["Failures / backoff"])
	assert.Equal(t, "in 10s", stale.cells["Next refresh"])
	assert.Contains(t, stale.cells["Last error"], "http_error: the vendor answered with an HTTP error status")
	assert.Equal(t, "never", waiting.cells["Last success"])
	assert.Equal(t, "no data served", waiting.cells["Data age"])
	assert.Equal(t, "0", waiting.cells["Calls (1h)"])
	assert.Contains(t, dom.rows["auth-account"].cells["Last error"], `vendor says "token <redacted> is not valid"`)
	assert.Contains(t, dom.rows["secret-account"].cells["Last error"], "token_file: cannot be opened", "names the key, never its content")
	return dom
}

func TestStatusPageShowsEveryState(t *testing.T) {
	f := newStatesFixture(t)
	f.bringToEveryState(t)
	page := f.get(t, "/")
	dom := f.assertEveryState(t, page)

	// Every link answers 200, the dashboard's included.
	for _, href := range dom.hrefs {
		target := href
		if strings.HasPrefix(href, "/") {
			target = f.http.URL + href
		}
		resp, err := http.Get(target)
		require.NoError(t, err)
		_ = readAll(t, resp)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, href)
	}
	assert.Len(t, dom.hrefs, 3+3*len(fixtureStates), "header links, then probe, debug and dashboard per account")
	canary.AssertAbsent(t, page+f.logs.String(), nil, f.canary)

	// An hour on: the calls have left the window, and the stale data has
	// passed max_stale.
	f.clock.Advance(61 * time.Minute)
	dom = parseStatus(t, f.get(t, "/"))
	assert.Equal(t, "0", dom.rows["ok-account"].cells["Calls (1h)"])
	assert.Equal(t, "failing", dom.rows["stale-account"].state)
	assert.Equal(t, "ok", dom.rows["ok-account"].state, "ok until a refresh fails, however old")
	assert.Equal(t, "next scrape", dom.rows["ok-account"].cells["Next refresh"])
}

func TestStatusPageWithoutGrafana(t *testing.T) {
	f := newFixture(t, "ops")
	code, page := f.do(t, http.MethodGet, "/", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "0 accounts: 0 failing, 0 stale, 0 waiting, 0 ok", parseStatus(t, page).summary, "before a configuration is loaded")
	assert.Contains(t, page, "No accounts are configured.")

	require.NoError(t, f.srv.Reload())
	_, page = f.do(t, http.MethodGet, "/", nil)
	row := parseStatus(t, page).rows["ops"]
	assert.Equal(t, map[string]string{"probe": "/probe?account=ops", "debug": "/probe?account=ops&debug=true"}, row.links)
	code, _ = f.do(t, http.MethodGet, "/nothing-here", nil)
	assert.Equal(t, http.StatusNotFound, code, "only / is the status page")
}

func TestGrafanaURLMustBeAbsolute(t *testing.T) {
	for _, bad := range []string{"grafana.example.com/d/x", "ftp://grafana/d/x", "http://user:hunter2@[::1", "/d/x"} {
		_, err := New(Options{Logger: log.NewNopLogger(), Registry: prometheus.NewRegistry(), GrafanaURL: bad})
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

// debugRequest matches one request line of the debug view.
var debugRequest = regexp.MustCompile(`(?m)^  #\d+\s+GET\s+http://127\.0\.0\.1:\d+/openapi/v1/alg/consumes\s+200\s+[\d.]+ms\s+\d+ bytes\s+success$`)

func TestProbeDebugOfAPagedRefresh(t *testing.T) {
	f := newStatesFixture(t)
	resp, err := http.Get(f.http.URL + "/probe?account=cameras&debug=true")
	require.NoError(t, err)
	first := readAll(t, resp)
	_ = resp.Body.Close()
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, first, "Decision: no data yet: this request refreshes the account\nRefresh: run by this request\n")
	assert.Contains(t, first, "note: the vendor announced 3000 grant records: 3 pages of 1000\nUpstream requests: 3\n")
	assert.Len(t, debugRequest.FindAllString(first, -1), 3, "one line per page:\n%s", first)
	assert.Contains(t, first, "State: ok; serving data 0s old")
	metrics := first[strings.Index(first, "\nMetrics:\n"):]
	assert.Contains(t, metrics, `quota_exporter_scrape_success{account="cameras",vendor="vzicloud"} 1`)
	assert.Contains(t, metrics, `vzicloud_grants{account="cameras",`)

	// A minute on, the cached answer still shows how it was fetched.
	f.clock.Advance(time.Minute)
	second := f.get(t, "/probe?account=cameras&debug=true")
	assert.Contains(t, second, "Decision: data is 1m0s old, younger than cache_ttl 5m0s: served from cache, no upstream call\n"+
		"Refresh: the account's last one (this request made no upstream call)\n")
	assert.Len(t, debugRequest.FindAllString(second, -1), 3)
	canary.AssertAbsent(t, first+second, nil, f.canary)
}

func TestProbeDebugOfFailures(t *testing.T) {
	f := newStatesFixture(t)
	f.bringToEveryState(t)
	// Its backoff has ended: this request refreshes, and fails again.
	auth := f.get(t, "/probe?account=auth-account&debug=true")
	assert.Contains(t, auth, "Decision: no data yet: this request refreshes the account\nRefresh: run by this request\n")
	assert.Contains(t, auth, "result auth_error (the vendor rejected the credentials)")
	assert.Regexp(t, `(?m)^  #1\s+GET\s+http://127\.0\.0\.1:\d+/api/alert/rest/api/v1/ca/getLicenseList\s+401\s+[\d.]+ms\s+\d+ bytes\s+auth_error$`, auth)
	assert.Contains(t, auth, `#1 failed: GET http://127.0.0.1:`)
	assert.Contains(t, auth, `vendor says "token <redacted> is not valid"`)
	assert.Contains(t, auth, "State: failing; no vendor data served; consecutive failures: 2; backoff: 20s left")
	again := f.get(t, "/probe?account=auth-account&debug=true")
	assert.Contains(t, again, "Decision: backing off after 2 failed refresh(es) until 2026-11-30T09:06:20Z (20s from now): no upstream call\n"+
		"Refresh: the account's last one (this request made no upstream call)\n")

	timeout := f.get(t, "/probe?account=timeout-account&debug=true")
	assert.Regexp(t, `(?m)^  #1\s+GET\s+\S+\s+-\s+[\d.]+ms\s+0 bytes\s+timeout$`, timeout)
	decode := f.get(t, "/probe?account=decode-account&debug=true")
	assert.Contains(t, decode, "result decode_error (the answer is not the documented shape)")
	secret := f.get(t, "/probe?account=secret-account&debug=true")
	assert.Contains(t, secret, "Upstream requests: 0\n", "no request without the secret")
	assert.Contains(t, secret, "token_file: cannot be opened")
	canary.AssertAbsent(t, auth+again+timeout+decode+secret, nil, f.canary)
}
