package vzicloud

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testKeyID  = "7ffG6UFo1135QXbK2gVuiJffadN1YXZC"
	testSecret = "secret-CANARY-m4b4gQc0hur8okz7"
	week       = 7 * 24 * time.Hour
	month      = 30 * 24 * time.Hour
)

// newTestClient reads from a simulator holding grants, behind a fault
// injector.
func newTestClient(t testing.TB, grants []simulator.VZICloudGrant, cfg Config) (*Client, *simulator.VZICloud, *faults.Injector) {
	t.Helper()
	sim := simulator.NewVZICloud(testKeyID, testSecret)
	sim.SetGrants(grants)
	inj := faults.Wrap(sim)
	srv := httptest.NewServer(inj)
	t.Cleanup(srv.Close)
	return newClientFor(t, srv.URL, cfg), sim, inj
}

// newClientFor reads from baseURL with the test key, unless cfg sets one.
func newClientFor(t testing.TB, baseURL string, cfg Config) *Client {
	t.Helper()
	u, err := url.Parse(baseURL)
	require.NoError(t, err)
	cfg.BaseURL = u
	cfg.AccessKeyID = cmp.Or(cfg.AccessKeyID, testKeyID)
	if cfg.AccessKeySecret == nil {
		cfg.AccessKeySecret = func() (string, error) { return testSecret, nil }
	}
	// Enough idle connections for every page in flight, as the Prometheus
	// HTTP client config gives; the default two would churn connections.
	transport := &http.Transport{MaxIdleConnsPerHost: 32}
	t.Cleanup(transport.CloseIdleConnections)
	c, err := New(cfg, &upstream.Client{HTTP: &http.Client{Transport: transport}, Timeout: 30 * time.Second})
	require.NoError(t, err)
	return c
}

// want aggregates grants the way the README's vzicloud metrics are defined, record
// by record, independently of the client's aggregation.
type want struct {
	grants    map[GrantKey]int
	products  map[string]bool
	permanent map[string]int
	expired   map[string]int
	expiring  map[time.Duration]map[string]int
	next      map[string]int64
}

var windows = []time.Duration{week, month}

func aggregateGrants(grants []simulator.VZICloudGrant, now time.Time) want {
	w := want{
		grants: map[GrantKey]int{}, products: map[string]bool{}, permanent: map[string]int{}, expired: map[string]int{},
		expiring: map[time.Duration]map[string]int{}, next: map[string]int64{},
	}
	for _, d := range windows {
		w.expiring[d] = map[string]int{}
	}
	for _, g := range grants {
		p := strconv.Itoa(g.ProductID)
		w.products[p] = true
		w.grants[GrantKey{ProductID: p, Type: code(int64(g.Type)), State: code(int64(g.State))}]++
		if g.State != 1 && g.State != 5 {
			continue
		}
		at := time.Unix(g.ExpireTime, 0)
		switch {
		case g.ExpireTime == -1:
			w.permanent[p]++
		case at.Before(now):
			w.expired[p]++
		default:
			for _, d := range windows {
				if at.Before(now.Add(d)) {
					w.expiring[d][p]++
				}
			}
			if n, ok := w.next[p]; !ok || g.ExpireTime < n {
				w.next[p] = g.ExpireTime
			}
		}
	}
	return w
}

func assertSnapshot(t *testing.T, w want, snap *Snapshot, now time.Time) {
	t.Helper()
	assert.Equal(t, w.grants, snap.Grants)
	require.Len(t, snap.Products, len(w.products))
	for p := range w.products {
		assert.Equal(t, w.permanent[p], expiriesOf(snap, p).Permanent, "product %s permanent", p)
		assert.Equal(t, w.expired[p], expiriesOf(snap, p).Expired(now), "product %s expired", p)
		for _, d := range windows {
			assert.Equal(t, w.expiring[d][p], expiriesOf(snap, p).Expiring(now, d), "product %s expiring within %s", p, d)
		}
		next, ok := expiriesOf(snap, p).NextExpiry(now)
		if n, has := w.next[p]; has {
			assert.True(t, ok, "product %s has a next expiry", p)
			assert.Equal(t, n, next.Unix(), "product %s next expiry", p)
		} else {
			assert.False(t, ok, "product %s has no next expiry", p)
		}
	}
}

// manyGrants is n grants over 10 products from the demo's mix of states,
// types and expiries, with some codes outside the documented sets and
// some grants expiring exactly at now.
func manyGrants(n int, now time.Time) []simulator.VZICloudGrant {
	demo := simulator.DemoVZICloudGrants(now)
	out := make([]simulator.VZICloudGrant, n)
	for i := range out {
		g := demo[i%len(demo)]
		g.SN = fmt.Sprintf("SN%08d", i)
		g.ProductID += i % 7
		switch {
		case i%97 == 0:
			g.State = 9
		case i%101 == 0:
			g.Type = 7
		case i%89 == 0:
			g.State, g.ExpireTime = 1, now.Unix()
		}
		out[i] = g
	}
	return out
}

// Against the simulator, every count is exact whatever the page size,
// each page is read once, and one request is made per page.
func TestFetchEveryPageExactly(t *testing.T) {
	for _, tc := range []struct{ grants, size int }{
		{25001, 10000}, {25001, 7}, {25001, 1}, {25000, 10000}, {0, 1000}, {10000, 10000}, {3, 1000},
	} {
		if testing.Short() && tc.size == 1 {
			tc.grants = 2501 // 25,001 requests take seconds, more under -race
		}
		t.Run(fmt.Sprintf("%d grants in pages of %d", tc.grants, tc.size), func(t *testing.T) {
			now := time.Unix(time.Now().Unix(), 0) // whole seconds, as the grants are
			grants := manyGrants(tc.grants, now)
			c, sim, inj := newTestClient(t, grants, Config{PageSize: tc.size, Concurrency: 8})
			snap, err := c.Fetch(context.Background())
			require.NoError(t, err)
			require.Equal(t, grants, sim.Grants())
			assertSnapshot(t, aggregateGrants(sim.Grants(), now), snap, now)
			assert.EqualValues(t, max(1, (tc.grants+tc.size-1)/tc.size), inj.Requests(), "one request per page")
			// Clock-derived counts move with the clock, from the same snapshot.
			later := now.Add(10 * 24 * time.Hour)
			assertSnapshot(t, aggregateGrants(grants, later), snap, later)
		})
	}
}

// The documented sample decodes, and the request is the documented one.
func TestFetchFixture(t *testing.T) {
	fixture, err := os.ReadFile("../upstream/testdata/vendors/vzicloud_alg_consumes.json")
	require.NoError(t, err)
	var got *url.URL
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL
		_, _ = w.Write(fixture)
	}))
	t.Cleanup(srv.Close)
	now := time.Unix(1626000000, 0)
	c := newClientFor(t, srv.URL+"/gateway/", Config{PageSize: 10000, Clock: func() time.Time { return now },
		Wheres: []Where{{K: "product_id", O: "in", V: []int{1, 2}}}})
	snap, err := c.Fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[GrantKey]int{{"1", code(0), code(1)}: 1, {"2", code(0), code(1)}: 1}, snap.Grants)
	next, ok := expiriesOf(snap, "1").NextExpiry(now)
	assert.True(t, ok)
	assert.Equal(t, int64(1626681843), next.Unix())
	assert.Equal(t, 0, expiriesOf(snap, "1").Expiring(now, week))
	assert.Equal(t, 1, expiriesOf(snap, "1").Expiring(now, 8*24*time.Hour), "7.9 days ahead")
	assert.Equal(t, 1, expiriesOf(snap, "2").Expiring(now, 67*24*time.Hour), "66.9 days ahead")

	// The request, as documented, below the base URL's path.
	assert.Equal(t, "/gateway/openapi/v1/alg/consumes", got.Path)
	query := got.Query()
	assert.Equal(t, []string{"accesskey_id", "expires", "page", "signature", "size", "wheres"}, slices.Sorted(maps.Keys(query)))
	assert.Equal(t, testKeyID, query.Get("accesskey_id"))
	assert.Equal(t, "10000", query.Get("size"))
	assert.Equal(t, "1", query.Get("page"))
	assert.Equal(t, strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10), query.Get("expires"), "two minutes ahead")
	wheres, err := base64.StdEncoding.DecodeString(query.Get("wheres"))
	require.NoError(t, err)
	assert.JSONEq(t, `[{"k":"product_id","o":"in","v":[1,2]}]`, string(wheres))
	assert.Contains(t, got.RawQuery, "wheres="+url.QueryEscape(query.Get("wheres")), "base64, then URL-encoded")
	resource := "/gateway/openapi/v1/alg/consumes?page=1&size=10000&wheres=" + query.Get("wheres")
	assert.Equal(t, Sign(testSecret, "GET", "", "", now.Add(2*time.Minute).Unix(), resource), query.Get("signature"))
}

func TestNewDefaults(t *testing.T) {
	for _, tc := range []struct {
		size int
		want string
	}{{0, "1000"}, {-3, "1000"}, {20000, "10000"}, {7, "7"}} {
		var size string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			size = r.URL.Query().Get("size")
			_, _ = io.WriteString(w, `{"page":1,"total":0,"items":[]}`)
		}))
		_, err := newClientFor(t, srv.URL, Config{PageSize: tc.size}).Fetch(context.Background())
		srv.Close()
		require.NoError(t, err)
		assert.Equal(t, tc.want, size, "page size %d", tc.size)
	}
	u, err := url.Parse("https://open.vzicloud.com")
	require.NoError(t, err)
	_, err = New(Config{BaseURL: u, Wheres: []Where{{K: "sn", O: "eq", V: func() {}}}}, &upstream.Client{})
	assert.ErrorContains(t, err, "wheres")
}

// The simulator takes our requests and refuses any with one byte of the
// signature, the expiry or a parameter changed, or a parameter added or
// left out.
func TestSimulatorChecksEveryByte(t *testing.T) {
	sim := simulator.NewVZICloud(testKeyID, testSecret)
	sim.SetGrants(manyGrants(20, time.Now()))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	var signed *url.URL
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signed = r.URL
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(capture.Close)
	c := newClientFor(t, capture.URL, Config{PageSize: 50, Wheres: []Where{{K: "state", O: "in", V: []int{1, 5}}}})
	_, err := c.Fetch(context.Background())
	require.NoError(t, err)

	get := func(q url.Values) (int, string) {
		resp, err := http.Get(srv.URL + signed.Path + "?" + q.Encode())
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode, string(body)
	}
	status, _ := get(signed.Query())
	require.Equal(t, http.StatusOK, status, "the request as signed")
	flip := func(s string, i int) string {
		b := []byte(s)
		b[i] ^= 1
		return string(b)
	}
	changes := 0
	for _, name := range []string{"signature", "expires", "page", "size", "wheres", "accesskey_id"} {
		value := signed.Query().Get(name)
		require.NotEmpty(t, value, name)
		for i := range len(value) {
			q := signed.Query()
			q.Set(name, flip(value, i))
			status, body := get(q)
			assert.NotEqual(t, http.StatusOK, status, "%s with byte %d changed", name, i)
			assert.Contains(t, body, `"error_code":100`, "%s with byte %d changed", name, i)
			changes++
		}
		q := signed.Query()
		q.Del(name)
		status, _ := get(q)
		assert.NotEqual(t, http.StatusOK, status, "%s left out", name)
	}
	assert.Greater(t, changes, 100)
	q := signed.Query()
	q.Set("extra", "1")
	status, _ = get(q)
	assert.NotEqual(t, http.StatusOK, status, "a parameter added")
}

// A vendor that answers inconsistently fails the refresh, without a
// partial snapshot and without reading on.
func TestFetchFailsOnPagingAnomalies(t *testing.T) {
	page := func(pageNo, total, items int) string {
		var b strings.Builder
		for i := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"product_id":1,"state":1,"type":0,"expire_time":%d}`, 2000000000+i)
		}
		return fmt.Sprintf(`{"page":%d,"size":10,"total":%d,"items":[%s]}`, pageNo, total, b.String())
	}
	for _, tc := range []struct {
		name  string
		pages map[string]string // by page number; others answer an empty page
		says  string
	}{
		{"short page", map[string]string{"1": page(1, 25, 10), "2": page(2, 25, 9), "3": page(3, 25, 5)}, "page 2 holds 9 grants, expected 10 of 25"},
		{"empty page", map[string]string{"1": page(1, 25, 10), "2": page(2, 25, 10)}, "page 3 holds 0 grants, expected 5 of 25"},
		{"short first page", map[string]string{"1": page(1, 25, 3)}, "page 1 holds 3 grants, expected 10"},
		{"total grows", map[string]string{"1": page(1, 25, 10), "2": page(2, 26, 10), "3": page(3, 25, 5)}, "total changed from 25 to 26"},
		{"total shrinks", map[string]string{"1": page(1, 25, 10), "2": page(2, 25, 10), "3": page(3, 24, 4)}, "total changed from 25 to 24"},
		{"long page", map[string]string{"1": page(1, 5, 6)}, "holds 6 grants, expected 5"},
		{"page over the size", map[string]string{"1": page(1, 50, 11)}, "holds more than 10 grants"},
		{"page ignored", map[string]string{"1": page(1, 25, 10), "2": page(1, 25, 10), "3": page(1, 25, 5)}, "asked for page 2, the vendor answered page 1"},
		{"size ignored", map[string]string{"1": `{"page":1,"size":20,"total":25,"items":[]}`}, "asked for pages of 10, the vendor answered size 20"},
		{"no total", map[string]string{"1": `{"page":1,"items":[]}`}, "total is missing"},
		{"negative total", map[string]string{"1": `{"page":1,"total":-1,"items":[]}`}, "total is missing or not a count"},
		{"total an object", map[string]string{"1": `{"page":1,"total":{"n":1},"items":[]}`}, "page 1: total: json: cannot unmarshal object"},
		{"fractional total", map[string]string{"1": `{"page":1,"total":2.5,"items":[]}`}, "total is missing or not a count"},
		{"absurd total", map[string]string{"1": page(1, 1000000000, 10)}, "needs 100000000 pages of 10, more than the limit of 1000"},
		{"items not an array", map[string]string{"1": `{"page":1,"total":1,"items":{"product_id":1}}`}, "items: expected an array, got an object"},
		{"items twice", map[string]string{"1": `{"page":1,"total":1,"items":[],"items":[{}]}`}, "items appears twice"},
		{"wrong item type", map[string]string{"1": `{"page":1,"total":1,"items":[{"state":[1]}]}`}, "item 0: json: cannot unmarshal array (expected an integer code as a number or a string) into Go struct field grant.state"},
		{"item not an object", map[string]string{"1": `{"page":1,"total":1,"items":[20210618001]}`}, "item 0: expected an object, got a number"},
		{"data after the answer", map[string]string{"1": `{"page":1,"total":0,"items":[]} {}`}, "data after the answer"},
		{"a JSON array", map[string]string{"1": `[{"page":1}]`}, "cannot unmarshal array"},
		{"truncated", map[string]string{"1": `{"page":1,"total":2,"items":[{"product_id":1},{"pro`}, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				n, _ := strconv.Atoi(r.URL.Query().Get("page"))
				_, _ = io.WriteString(w, cmp.Or(tc.pages[r.URL.Query().Get("page")], page(n, 25, 0)))
			}))
			t.Cleanup(srv.Close)
			c := newClientFor(t, srv.URL, Config{PageSize: 10, MaxPages: 1000, Concurrency: 1})
			snap, err := c.Fetch(context.Background())
			require.Error(t, err)
			assert.Nil(t, snap, "no partial data")
			assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
			assert.Contains(t, err.Error(), tc.says)
			assert.LessOrEqual(t, requests.Load(), int64(3))
		})
	}
}

// The page cap holds against the simulator too: no request beyond page 1.
func TestFetchPageCap(t *testing.T) {
	c, _, inj := newTestClient(t, manyGrants(101, time.Now()), Config{PageSize: 10, MaxPages: 10})
	snap, err := c.Fetch(context.Background())
	assert.Nil(t, snap)
	assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
	assert.ErrorContains(t, err, "total 101 needs 11 pages of 10, more than the limit of 10")
	assert.EqualValues(t, 1, inj.Requests())

	c, _, _ = newTestClient(t, manyGrants(100, time.Now()), Config{PageSize: 10, MaxPages: 10})
	_, err = c.Fetch(context.Background())
	assert.NoError(t, err, "exactly the cap")
}

// failPage answers page 'page' with a gateway error at once and passes
// the others to next after 20ms, so that the failure comes first, counting
// requests.
func failPage(next http.Handler, page string, requests *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Query().Get("page") == page {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		time.Sleep(20 * time.Millisecond)
		next.ServeHTTP(w, r)
	})
}

// One failed page fails the refresh, and no further pages are started.
func TestFetchFailsWhenAnyPageFails(t *testing.T) {
	for _, failing := range []int{1, 2, 3, 20} {
		t.Run(fmt.Sprintf("page %d of 20", failing), func(t *testing.T) {
			sim := simulator.NewVZICloud(testKeyID, testSecret)
			sim.SetGrants(manyGrants(200, time.Now()))
			var requests atomic.Int64
			srv := httptest.NewServer(failPage(sim, strconv.Itoa(failing), &requests))
			t.Cleanup(srv.Close)
			snap, err := newClientFor(t, srv.URL, Config{PageSize: 10, Concurrency: 2}).Fetch(context.Background())
			assert.Nil(t, snap)
			assert.Equal(t, upstream.ResultHTTPError, upstream.ResultOf(err))
			assert.ErrorContains(t, err, "HTTP status 502")
			// The pages in flight with it, and perhaps one started as it
			// failed, but none after.
			assert.LessOrEqual(t, requests.Load(), int64(min(failing+2, 20)), "pages after the failure are not requested")
		})
	}
}

// Pages after the first are in flight together, never more than
// Concurrency at a time.
func TestFetchPagesConcurrently(t *testing.T) {
	sim := simulator.NewVZICloud(testKeyID, testSecret)
	sim.SetGrants(manyGrants(200, time.Now()))
	var inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(30 * time.Millisecond)
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	start := time.Now()
	snap, err := newClientFor(t, srv.URL, Config{PageSize: 10, Concurrency: 4}).Fetch(context.Background())
	require.NoError(t, err)
	assert.Len(t, snap.Products, 10)
	assert.EqualValues(t, 4, peak.Load())
	// 20 pages of 30ms: page 1, then 19 in 5 rounds of 4 — not 20 in a row.
	assert.Less(t, time.Since(start), 15*30*time.Millisecond)
}

// The vendor's error codes, in an error status as documented and in an
// HTTP 200, classify as the collector needs them.
func TestVendorErrorCodes(t *testing.T) {
	for code, result := range map[int]upstream.Result{
		1001: upstream.ResultAuthError, 1002: upstream.ResultAuthError, 1003: upstream.ResultAuthError,
		1004: upstream.ResultAuthError, 1005: upstream.ResultAuthError, 1006: upstream.ResultAuthError,
		1009: upstream.ResultAuthError, 1012: upstream.ResultAuthError, 1015: upstream.ResultAuthError,
		1016: upstream.ResultRateLimited, 1017: upstream.ResultRateLimited,
		1000: upstream.ResultAPIError, 1100: upstream.ResultAPIError,
	} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			inj := faults.Wrap(simulator.NewVZICloud(testKeyID, testSecret))
			inj.SetFault(faults.Fault{Kind: faults.VendorError, Code: code})
			srv := httptest.NewServer(inj)
			t.Cleanup(srv.Close)
			snap, err := newClientFor(t, srv.URL, Config{}).Fetch(context.Background())
			assert.Nil(t, snap)
			assert.Equal(t, result, upstream.ResultOf(err))
			assert.ErrorContains(t, err, fmt.Sprintf("(code %d)", code))
			assert.EqualValues(t, 1, inj.Requests(), "no page after a failed first")

			srv200 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, `{"error_code":"%d","error_message":"no"}`, code) // a code as a string
			}))
			t.Cleanup(srv200.Close)
			_, err = newClientFor(t, srv200.URL, Config{}).Fetch(context.Background())
			assert.Equal(t, result, upstream.ResultOf(err), "in an HTTP 200")
			assert.ErrorContains(t, err, fmt.Sprintf(`(code %d): "no"`, code))
		})
	}
}

// The simulator's own refusals: the secret, the signature and the query
// never show in the error.
func TestRefusedRequests(t *testing.T) {
	sim := simulator.NewVZICloud(testKeyID, testSecret)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		cfg  Config
		code string
	}{
		{"wrong secret", Config{AccessKeySecret: func() (string, error) { return "wrong-" + testSecret, nil }}, "1004"},
		{"unknown key", Config{AccessKeyID: "unknown"}, "1005"},
		{"expired", Config{Clock: func() time.Time { return time.Now().Add(-time.Hour) }}, "1002"},
		{"too far ahead", Config{Clock: func() time.Time { return time.Now().Add(2 * time.Hour) }}, "1003"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClientFor(t, srv.URL, tc.cfg).Fetch(context.Background())
			require.Error(t, err)
			assert.Equal(t, upstream.ResultAuthError, upstream.ResultOf(err))
			assert.Contains(t, err.Error(), "(code "+tc.code+")")
			assert.Contains(t, err.Error(), "GET "+srv.URL+"/openapi/v1/alg/consumes: ", "the URL without its query")
			assertNoSecrets(t, err)
		})
	}
}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	for _, s := range []string{testSecret, "CANARY", "signature=", "expires=", "?"} {
		assert.NotContains(t, msg, s)
	}
}

// A vendor or gateway echoing the request: its message is scrubbed of the
// secret and of the signature, as is or URL-encoded.
func TestEchoedSecretsAreRedacted(t *testing.T) {
	var signatures []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.URL.Query().Get("signature")
		mu.Lock()
		signatures = append(signatures, sig)
		mu.Unlock()
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"error_code":1004,"error_message":"signature %s (%s) does not match %s; query %s"}`,
			sig, url.QueryEscape(sig), strings.ToUpper(testSecret), r.URL.RawQuery)
	}))
	t.Cleanup(srv.Close)
	_, err := newClientFor(t, srv.URL, Config{}).Fetch(context.Background())
	require.Error(t, err)
	assert.Equal(t, upstream.ResultAuthError, upstream.ResultOf(err))
	assert.Contains(t, err.Error(), "signature <redacted> (<redacted>) does not match <redacted>")
	require.Len(t, signatures, 1)
	assert.NotContains(t, err.Error(), signatures[0])
	assert.NotContains(t, err.Error(), url.QueryEscape(signatures[0]))
	assert.NotContains(t, strings.ToLower(err.Error()), strings.ToLower(testSecret))
}

// Transport failures print no URL query either.
func TestNetworkErrorHasNoQuery(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := newClientFor(t, srv.URL, Config{}).Fetch(context.Background())
	assert.Equal(t, upstream.ResultNetworkError, upstream.ResultOf(err))
	assertNoSecrets(t, err)
}

// The secret is read on every Fetch, so a rotated one takes effect; a
// secret that cannot be read fails without a request.
func TestSecretReadOnEveryFetch(t *testing.T) {
	sim := simulator.NewVZICloud(testKeyID, testSecret)
	sim.SetGrants(manyGrants(3, time.Now()))
	inj := faults.Wrap(sim)
	srv := httptest.NewServer(inj)
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	secret, readErr := "old-secret", error(nil)
	c := newClientFor(t, srv.URL, Config{AccessKeySecret: func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return secret, readErr
	}})
	_, err := c.Fetch(context.Background())
	assert.ErrorContains(t, err, "(code 1004)")

	mu.Lock()
	secret = testSecret
	mu.Unlock()
	snap, err := c.Fetch(context.Background())
	require.NoError(t, err)
	assert.Len(t, snap.Products, 3)

	mu.Lock()
	readErr = errors.New("open /run/secrets/vzi: permission denied")
	mu.Unlock()
	before := inj.Requests()
	_, err = c.Fetch(context.Background())
	assert.Equal(t, upstream.ResultSecretError, upstream.ResultOf(err))
	assert.ErrorContains(t, err, "reading the access key secret: open /run/secrets/vzi: permission denied")
	assert.Equal(t, before, inj.Requests())
}

// The faults classify as the collector expects.
func TestSimulatorFaults(t *testing.T) {
	for _, tc := range []struct {
		fault  faults.Fault
		result upstream.Result
	}{
		{faults.Fault{Kind: faults.Unauthorized}, upstream.ResultAuthError},
		{faults.Fault{Kind: faults.VendorError}, upstream.ResultAPIError},
		{faults.Fault{Kind: faults.RateLimited, RetryAfter: time.Minute}, upstream.ResultRateLimited},
		{faults.Fault{Kind: faults.HTML}, upstream.ResultHTTPError},
		{faults.Fault{Kind: faults.Status}, upstream.ResultHTTPError},
		{faults.Fault{Kind: faults.Malformed}, upstream.ResultDecodeError},
		{faults.Fault{Kind: faults.Truncated}, upstream.ResultDecodeError},
		{faults.Fault{Kind: faults.Empty}, upstream.ResultDecodeError},
		{faults.Fault{Kind: faults.WrongTypes}, upstream.ResultDecodeError},
		{faults.Fault{Kind: faults.Oversized, Size: 1 << 20}, upstream.ResultTooLarge},
		{faults.Fault{Kind: faults.Latency, Delay: time.Second}, upstream.ResultTimeout},
	} {
		t.Run(tc.fault.Kind.String(), func(t *testing.T) {
			sim := simulator.NewVZICloud(testKeyID, testSecret)
			sim.SetGrants(manyGrants(30, time.Now()))
			inj := faults.Wrap(sim)
			inj.SetFault(tc.fault)
			srv := httptest.NewServer(inj)
			t.Cleanup(srv.Close)
			u, err := url.Parse(srv.URL)
			require.NoError(t, err)
			c, err := New(Config{BaseURL: u, AccessKeyID: testKeyID, AccessKeySecret: func() (string, error) { return testSecret, nil }},
				&upstream.Client{Timeout: 200 * time.Millisecond, MaxBodyBytes: 1 << 19})
			require.NoError(t, err)
			snap, err := c.Fetch(context.Background())
			assert.Nil(t, snap)
			assert.Equal(t, tc.result, upstream.ResultOf(err), "%v", err)
			assertNoSecrets(t, err)
		})
	}
}

// A 429 with Retry-After and the vendor's 1016 keeps the Retry-After for
// the collector's backoff.
func TestRateLimitKeepsRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"error_code":1016,"error_message":"slow down"}`)
	}))
	t.Cleanup(srv.Close)
	_, err := newClientFor(t, srv.URL, Config{}).Fetch(context.Background())
	assert.Equal(t, upstream.ResultRateLimited, upstream.ResultOf(err))
	assert.Equal(t, 2*time.Minute, upstream.RetryAfterOf(err))
}

// Numbers as strings, null, a BOM, unknown fields and fields in any order
// are read as the vendors send them.
func TestTolerantPage(t *testing.T) {
	body := "\ufeff \n" + `{"items":[
		{"product_id":"12","type":"1","state":"5","expire_time":"-1","sn":"x","extra":{"a":[1]}},
		{"product_id":12,"type":1,"state":5,"expire_time":1900000000},
		{"product_id":"alg-x","type":null,"state":"granted","expire_time":null},
		{"product_id":12,"type":0,"state":9,"expire_time":1}
	],"unknown":[{"deep":true}],"total":"4","size":"10","page":"1","error_code":0}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	snap, err := newClientFor(t, srv.URL, Config{PageSize: 10}).Fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[GrantKey]int{
		{"12", code(1), code(5)}:                    2,
		{"alg-x", upstream.Code{}, upstream.Code{}}: 1,
		{"12", code(0), code(9)}:                    1,
	}, snap.Grants)
	now := time.Unix(1800000000, 0)
	assert.Equal(t, 1, expiriesOf(snap, "12").Permanent)
	assert.Equal(t, 1, expiriesOf(snap, "12").Expiring(now, 1200*24*time.Hour))
	assert.Zero(t, expiriesOf(snap, "12").Expired(now), "state 9 is not active")
}

// The member-by-member reading of a grant: escaped names, a repeated
// member (the last wins, as with encoding/json), invalid UTF-8 and deep
// unknown members; and errors that name neither values nor member names,
// which are the vendor's text.
func TestDecodeGrantMembers(t *testing.T) {
	c := newClientFor(t, "http://vendor.invalid", Config{PageSize: 10})
	decode := func(items string) (*aggregate, error) {
		body := `{"page":1,"total":1,"items":[` + items + `]}`
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
		agg, _, err := c.decodePage(resp, 1, -1, []string{testSecret})
		return agg, err
	}
	agg, err := decode(`{"product\u005fid":"7","state":"1","state":4,"sn":"` + "\xff\xfe" + `","x":{"y":[{"z":null}]},"type":0}`)
	require.NoError(t, err)
	assert.Equal(t, map[GrantKey]int{{ProductID: "7", Type: upstream.Code{Value: 0, Valid: true}, State: upstream.Code{Value: 4, Valid: true}}: 1}, agg.grants)

	for items, says := range map[string]string{
		`{"` + testSecret + `":tru}`:         "item 0: malformed JSON at byte",
		`{"` + testSecret + `":1,"state"}`:   "item 0: malformed JSON at byte",
		`{"state":{"` + testSecret + `":1}}`: "item 0: json: cannot unmarshal object (expected an integer code as a number or a string) into Go struct field grant.state",
		`"` + testSecret + `"`:               "item 0: expected an object, got a string",
	} {
		_, err := decode(items)
		require.Error(t, err, items)
		assert.Contains(t, err.Error(), says)
		assert.NotContains(t, err.Error(), testSecret)
	}
}

// FuzzDecodePage: a page never panics the decoder, fails only as a decode,
// API, auth or rate-limit error without the secret, and counts exactly the
// records it holds.
func FuzzDecodePage(f *testing.F) {
	fixture, err := os.ReadFile("../upstream/testdata/vendors/vzicloud_alg_consumes.json")
	require.NoError(f, err)
	f.Add(fixture, 200)
	f.Add([]byte(`{"error_code":1004,"error_message":"`+testSecret+`"}`), 403)
	f.Add([]byte(`{"page":1,"total":"1","items":[{"product_id":"x","state":"5","expire_time":"-1"}]}`), 200)
	f.Add([]byte(`<html>502</html>`), 502)
	c := newClientFor(f, "http://vendor.invalid", Config{PageSize: 10})
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		if status < 100 || status > 999 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		agg, total, err := c.decodePage(resp, 1, -1, []string{testSecret})
		if err != nil {
			require.Contains(t, []upstream.Result{upstream.ResultDecodeError, upstream.ResultAPIError, upstream.ResultAuthError,
				upstream.ResultRateLimited, upstream.ResultHTTPError}, upstream.ResultOf(err))
			require.NotContains(t, err.Error(), testSecret)
			return
		}
		require.Equal(t, int64(agg.processed), min(total, 10))
		var sum int
		for _, n := range agg.grants {
			sum += n
		}
		require.Equal(t, agg.processed, sum)
	})
}
