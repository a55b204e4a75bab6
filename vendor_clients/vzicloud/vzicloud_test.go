package vzicloud

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testKeyID  = "7ffG6UFo1135QXbK2gVuiJffadN1YXZC"
	testSecret = "secret-CANARY-m4b4gQc0hur8okz7"
)

// The vendor's published test vector.
func TestSignTestVector(t *testing.T) {
	assert.Equal(t, "8CXL+bRJ+WaDQrwg7wWxkdEok0Y=",
		Sign("m4b4gQc0hur8okz7rsR7pLJkoH4OMLYj", "POST", "J2bREIXRh58BwcSkG9YNQQ==", "application/json", 1561463558, "/v2/prs/user/apps"))
	q := url.Values{"accesskey_id": {"7ffG6UFo1135QXbK2gVuiJffadN1YXZC"}, "expires": {"1561463558"}, "signature": {"8CXL+bRJ+WaDQrwg7wWxkdEok0Y="}}
	assert.Equal(t, "accesskey_id=7ffG6UFo1135QXbK2gVuiJffadN1YXZC&expires=1561463558&signature=8CXL%2BbRJ%2BWaDQrwg7wWxkdEok0Y%3D", q.Encode())
}

func TestCanonicalResource(t *testing.T) {
	assert.Equal(t, "/openapi/v1/alg/consumes?page=1&size=1000",
		CanonicalResource("/openapi/v1/alg/consumes", url.Values{"size": {"1000"}, "page": {"1"}, "signature": {"x"}, "expires": {"1"}, "accesskey_id": {"k"}}))
	assert.Equal(t, "/p", CanonicalResource("/p", url.Values{"expires": {"1"}}))
	assert.Equal(t, "/p?wheres=a+b/c==", CanonicalResource("/p", url.Values{"wheres": {"a+b/c=="}}), "values are not URL-encoded")
}

// newTestClient reads from a simulator holding grants.
func newTestClient(t testing.TB, grants []simulator.VZICloudGrant, cfg Config) (*Client, *simulator.VZICloud) {
	t.Helper()
	sim := simulator.NewVZICloud(testKeyID, testSecret)
	sim.SetGrants(grants)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return newClientFor(t, srv.URL, cfg), sim
}

func newClientFor(t testing.TB, baseURL string, cfg Config) *Client {
	t.Helper()
	u, err := url.Parse(baseURL)
	require.NoError(t, err)
	cfg.BaseURL, cfg.AccessKeyID = u, testKeyID
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

// want aggregates grants the way contract.md defines the metrics, record
// by record, independently of the client's aggregation.
type want struct {
	grants    map[GrantKey]int
	permanent map[string]int
	expired   map[string]int
	expiring  map[string]int // within 7 days
	next      map[string]int64
}

func aggregateGrants(grants []simulator.VZICloudGrant, now time.Time) want {
	w := want{grants: map[GrantKey]int{}, permanent: map[string]int{}, expired: map[string]int{}, expiring: map[string]int{}, next: map[string]int64{}}
	code := func(v int) upstream.Code { return upstream.Code{Value: int64(v), Valid: true} }
	for _, g := range grants {
		p := strconv.Itoa(g.ProductID)
		w.grants[GrantKey{ProductID: p, Type: code(g.Type), State: code(g.State)}]++
		if g.State != 1 && g.State != 5 {
			continue
		}
		switch {
		case g.ExpireTime == -1:
			w.permanent[p]++
		case g.ExpireTime < now.Unix():
			w.expired[p]++
		default:
			if g.ExpireTime < now.Add(7*24*time.Hour).Unix() {
				w.expiring[p]++
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
	for p, e := range snap.Products {
		assert.Equal(t, w.permanent[p], e.Permanent, "product %s permanent", p)
		assert.Equal(t, w.expired[p], e.Expired(now), "product %s expired", p)
		assert.Equal(t, w.expiring[p], e.Expiring(now, 7*24*time.Hour), "product %s expiring", p)
		next, ok := e.NextExpiry(now)
		if n, has := w.next[p]; has {
			assert.True(t, ok)
			assert.Equal(t, n, next.Unix(), "product %s next expiry", p)
		} else {
			assert.False(t, ok)
		}
	}
}

func manyGrants(n int, now time.Time) []simulator.VZICloudGrant {
	demo := simulator.DemoVZICloudGrants(now)
	out := make([]simulator.VZICloudGrant, n)
	for i := range out {
		out[i] = demo[i%len(demo)]
		out[i].SN = fmt.Sprintf("SN%08d", i)
		out[i].ProductID += i % 7 // more products than the demo has
	}
	return out
}

func TestFetchEveryPageExactly(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		grants, size int
	}{
		{25001, 10000}, {25001, 7}, {25001, 1}, {0, 1000}, {10000, 10000}, {3, 1000},
	} {
		t.Run(fmt.Sprintf("%d grants in pages of %d", tc.grants, tc.size), func(t *testing.T) {
			grants := manyGrants(tc.grants, now)
			c, sim := newTestClient(t, grants, Config{PageSize: tc.size, Concurrency: 8})
			snap, err := c.Fetch(context.Background())
			require.NoError(t, err)
			assertSnapshot(t, aggregateGrants(grants, now), snap, time.Now())
			assert.EqualValues(t, max(1, (tc.grants+tc.size-1)/tc.size), sim.Requests(), "one request per page")
		})
	}
}

func TestFetchFixture(t *testing.T) {
	fixture, err := os.ReadFile("../upstream/testdata/vendors/vzicloud_alg_consumes.json")
	require.NoError(t, err)
	var query url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		_, _ = w.Write(fixture)
	}))
	t.Cleanup(srv.Close)
	now := time.Unix(1626000000, 0)
	c := newClientFor(t, srv.URL, Config{PageSize: 10000, Clock: func() time.Time { return now },
		Wheres: []Where{{K: "product_id", O: "in", V: []int{1, 2}}}})
	snap, err := c.Fetch(context.Background())
	require.NoError(t, err)
	granted := upstream.Code{Value: 1, Valid: true}
	online := upstream.Code{Value: 0, Valid: true}
	assert.Equal(t, map[GrantKey]int{{"1", online, granted}: 1, {"2", online, granted}: 1}, snap.Grants)
	next, ok := snap.Products["1"].NextExpiry(now)
	assert.True(t, ok)
	assert.Equal(t, int64(1626681843), next.Unix())

	// The request, as documented.
	assert.Equal(t, "10000", query.Get("size"))
	assert.Equal(t, "1", query.Get("page"))
	assert.Equal(t, strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10), query.Get("expires"))
	wheres, err := base64.StdEncoding.DecodeString(query.Get("wheres"))
	require.NoError(t, err)
	assert.JSONEq(t, `[{"k":"product_id","o":"in","v":[1,2]}]`, string(wheres))
	resource := CanonicalResource("/openapi/v1/alg/consumes", query)
	assert.Equal(t, Sign(testSecret, "GET", "", "", now.Add(2*time.Minute).Unix(), resource), query.Get("signature"))
}

// The simulator takes our requests and refuses any with one byte of the
// signature, the expiry or a parameter changed.
func TestSimulatorChecksEveryByte(t *testing.T) {
	grants := manyGrants(20, time.Now())
	sim := simulator.NewVZICloud(testKeyID, testSecret)
	sim.SetGrants(grants)
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

	get := func(q url.Values) int {
		resp, err := http.Get(srv.URL + signed.Path + "?" + q.Encode())
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get(signed.Query()))
	flip := func(s string, i int) string {
		b := []byte(s)
		b[i] ^= 1
		return string(b)
	}
	for _, name := range []string{"signature", "expires", "page", "size", "wheres", "accesskey_id"} {
		value := signed.Query().Get(name)
		for i := range len(value) {
			q := signed.Query()
			q.Set(name, flip(value, i))
			assert.NotEqual(t, http.StatusOK, get(q), "%s with byte %d changed", name, i)
		}
	}
}

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
		pages map[string]string // by page number; others answer empty
		says  string
	}{
		{"short page", map[string]string{"1": page(1, 25, 10), "2": page(2, 25, 9), "3": page(3, 25, 5)}, "holds 9 grants, expected 10"},
		{"empty page", map[string]string{"1": page(1, 25, 10), "2": page(2, 25, 10), "3": page(3, 25, 0)}, "holds 0 grants, expected 5"},
		{"total changes", map[string]string{"1": page(1, 25, 10), "2": page(2, 26, 10), "3": page(3, 25, 5)}, "total changed from 25 to 26"},
		{"long page", map[string]string{"1": page(1, 5, 6)}, "holds 6 grants, expected 5"},
		{"no total", map[string]string{"1": `{"page":1,"items":[]}`}, "total is missing"},
		{"absurd total", map[string]string{"1": page(1, 1000000000, 10)}, "more than the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				_, _ = io.WriteString(w, cmp.Or(tc.pages[r.URL.Query().Get("page")], page(0, 25, 0)))
			}))
			t.Cleanup(srv.Close)
			c := newClientFor(t, srv.URL, Config{PageSize: 10, MaxPages: 1000})
			snap, err := c.Fetch(context.Background())
			require.Error(t, err)
			assert.Nil(t, snap, "no partial data")
			assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
			assert.Contains(t, err.Error(), tc.says)
			assert.LessOrEqual(t, requests.Load(), int64(3))
		})
	}
}

func TestVendorErrorCodes(t *testing.T) {
	for code, result := range map[int]upstream.Result{
		1002: upstream.ResultAuthError, 1004: upstream.ResultAuthError, 1005: upstream.ResultAuthError,
		1016: upstream.ResultRateLimited, 1017: upstream.ResultRateLimited, 1100: upstream.ResultAPIError,
	} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			sim := simulator.NewVZICloud(testKeyID, testSecret)
			sim.SetFault(simulator.Fault{Kind: simulator.FaultVendorError, Code: code})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			_, err := newClientFor(t, srv.URL, Config{}).Fetch(context.Background())
			require.Error(t, err)
			assert.Equal(t, result, upstream.ResultOf(err))
			assert.Contains(t, err.Error(), fmt.Sprintf("code %d", code))
		})
	}
}

// Real refusals by the simulator: a wrong secret, an unknown key and an
// expired signature; the secret and the signature never show in the error.
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
		{"expired", Config{Clock: func() time.Time { return time.Now().Add(-time.Hour) }}, "1002"},
		{"too far ahead", Config{Clock: func() time.Time { return time.Now().Add(2 * time.Hour) }}, "1003"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClientFor(t, srv.URL, tc.cfg).Fetch(context.Background())
			require.Error(t, err)
			assert.Equal(t, upstream.ResultAuthError, upstream.ResultOf(err))
			assert.Contains(t, err.Error(), "code "+tc.code)
			assert.NotContains(t, err.Error(), testSecret)
			assert.NotContains(t, err.Error(), "signature=")
		})
	}
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c, err := New(Config{BaseURL: u, AccessKeyID: "unknown", AccessKeySecret: func() (string, error) { return testSecret, nil }}, &upstream.Client{})
	require.NoError(t, err)
	_, err = c.Fetch(context.Background())
	assert.Contains(t, err.Error(), "code 1005")
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

// FuzzDecodePage: a page never panics the decoder, fails only as a decode,
// API, auth or rate-limit error without the secret, and counts exactly the
// records it holds.
func FuzzDecodePage(f *testing.F) {
	fixture, err := os.ReadFile("../upstream/testdata/vendors/vzicloud_alg_consumes.json")
	require.NoError(f, err)
	f.Add(fixture)
	f.Add([]byte(`{"error_code":1004,"error_message":"` + testSecret + `"}`))
	f.Add([]byte(`{"page":1,"total":"1","items":[{"product_id":"x","state":"5","expire_time":"-1"}]}`))
	c := newClientFor(f, "http://vendor.invalid", Config{PageSize: 10})
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		agg, total, err := c.decodePage(resp, 1, -1, []string{testSecret})
		if err != nil {
			require.Contains(t, []upstream.Result{upstream.ResultDecodeError, upstream.ResultAPIError, upstream.ResultAuthError, upstream.ResultRateLimited}, upstream.ResultOf(err))
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

// BenchmarkFetch100k aggregates 100,000 grants from the simulator in pages
// of 10,000 and reports the peak heap growth, sampled while it runs.
func BenchmarkFetch100k(b *testing.B) {
	grants := manyGrants(100000, time.Now())
	c, _ := newTestClient(b, grants, Config{PageSize: 10000})
	var peak atomic.Uint64
	for b.Loop() {
		base := heapInUse()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if h := heapInUse(); h > base && h-base > peak.Load() {
					peak.Store(h - base)
				}
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}()
		snap, err := c.Fetch(context.Background())
		close(stop)
		<-done
		if err != nil || len(snap.Products) == 0 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkFetchPageLatency: 10 pages that each take 200ms at the vendor.
// Serial reading would take 2s; with pages in flight concurrently the
// refresh takes about (1 + 9/concurrency) page latencies.
func BenchmarkFetchPageLatency(b *testing.B) {
	grants := manyGrants(10000, time.Now())
	for _, concurrency := range []int{1, 4, 9} {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			c, sim := newTestClient(b, grants, Config{PageSize: 1000, Concurrency: concurrency})
			sim.SetFault(simulator.Fault{Kind: simulator.FaultLatency, Delay: 200 * time.Millisecond})
			for b.Loop() {
				if _, err := c.Fetch(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
