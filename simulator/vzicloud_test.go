package simulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the vendor's signature is HMAC-SHA1
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

const (
	testVZIKeyID  = "7ffG6UFo1135QXbK2gVuiJffadN1YXZC"
	testVZISecret = "vzi-secret-CANARY"
)

func newVZICloudServer(t *testing.T, grants []VZICloudGrant) (*VZICloud, *httptest.Server) {
	t.Helper()
	v := NewVZICloud(testVZIKeyID, testVZISecret)
	v.SetGrants(grants)
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	return v, srv
}

// vziSign builds a signed query the way the README documents it, written
// here independently of both the simulator and the client: the other
// parameters sorted by name, values unencoded.
func vziSign(params url.Values, keyID, secret string, expires int64) url.Values {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	var pairs []string
	for _, name := range names {
		pairs = append(pairs, name+"="+params.Get(name))
	}
	resource := vzicloudConsumesPath
	if len(pairs) > 0 {
		resource += "?" + strings.Join(pairs, "&")
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte("GET\n\n\n" + strconv.FormatInt(expires, 10) + "\n" + resource))
	q := url.Values{}
	maps.Copy(q, params)
	q.Set("accesskey_id", keyID)
	q.Set("expires", strconv.FormatInt(expires, 10))
	q.Set("signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return q
}

func vziGet(t *testing.T, srv *httptest.Server, q url.Values) answer {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + vzicloudConsumesPath + "?" + q.Encode())
	require.NoError(t, err)
	var body bytes.Buffer
	_, err = body.ReadFrom(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return answer{status: resp.StatusCode, header: resp.Header, body: body.Bytes()}
}

// vziPage is a decoded page.
type vziPage struct {
	Page, Size, Total int
	Items             []VZICloudGrant
}

// vziPageOf requests one signed page and decodes it.
func vziPageOf(t *testing.T, srv *httptest.Server, params url.Values) vziPage {
	t.Helper()
	a := vziGet(t, srv, vziSign(params, testVZIKeyID, testVZISecret, time.Now().Add(time.Minute).Unix()))
	require.Equal(t, http.StatusOK, a.status, string(a.body))
	assert.Equal(t, jsonType, a.header.Get("Content-Type"))
	var p vziPage
	require.NoError(t, json.Unmarshal(a.body, &p))
	return p
}

func assertVZIError(t *testing.T, a answer, status, code int) {
	t.Helper()
	assert.Equal(t, status, a.status)
	assert.Equal(t, jsonType, a.header.Get("Content-Type"))
	assertVZIErrorBody(t, a.body, code)
}

// assertVZIErrorBody checks the vendor's error envelope for code.
func assertVZIErrorBody(t *testing.T, body []byte, code int) {
	t.Helper()
	var env struct {
		ErrorCode    int    `json:"error_code"`
		ErrorMessage string `json:"error_message"`
	}
	require.NoError(t, json.Unmarshal(body, &env), string(body))
	assert.Equal(t, code, env.ErrorCode)
	assert.NotEmpty(t, env.ErrorMessage)
	assert.NotContains(t, string(body), testVZISecret)
}

func TestVZICloudAuth(t *testing.T) {
	_, srv := newVZICloudServer(t, nil)
	now := time.Now()
	page := url.Values{"page": {"1"}, "size": {"10"}}
	signed := func() url.Values { return vziSign(page, testVZIKeyID, testVZISecret, now.Add(time.Minute).Unix()) }
	without := func(name string) url.Values {
		q := signed()
		q.Del(name)
		return q
	}
	with := func(name, value string) url.Values {
		q := signed()
		q.Set(name, value)
		return q
	}

	a := vziGet(t, srv, signed())
	assert.Equal(t, http.StatusOK, a.status)
	assert.JSONEq(t, `{"page":1,"size":10,"total":0,"items":[]}`, string(a.body))

	for _, tc := range []struct {
		name         string
		q            url.Values
		status, code int
	}{
		{"no accesskey_id", without("accesskey_id"), http.StatusBadRequest, 1001},
		{"no expires", without("expires"), http.StatusBadRequest, 1001},
		{"no signature", without("signature"), http.StatusBadRequest, 1001},
		{"expires not a number", with("expires", "soon"), http.StatusBadRequest, 1003},
		{"expires too far ahead", vziSign(page, testVZIKeyID, testVZISecret, now.Add(2*time.Hour).Unix()), http.StatusBadRequest, 1003},
		{"expired", vziSign(page, testVZIKeyID, testVZISecret, now.Add(-time.Second).Unix()), http.StatusForbidden, 1002},
		{"unknown key", vziSign(page, "someone-else", testVZISecret, now.Add(time.Minute).Unix()), http.StatusForbidden, 1005},
		{"wrong secret", vziSign(page, testVZIKeyID, "wrong", now.Add(time.Minute).Unix()), http.StatusForbidden, 1004},
		{"expires changed", with("expires", strconv.FormatInt(now.Add(time.Minute).Unix()+1, 10)), http.StatusForbidden, 1004},
		{"page changed", with("page", "2"), http.StatusForbidden, 1004},
		{"parameter added", with("wheres", "W10="), http.StatusForbidden, 1004},
		{"parameter left out", without("size"), http.StatusForbidden, 1004},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertVZIError(t, vziGet(t, srv, tc.q), tc.status, tc.code)
		})
	}
}

func TestVZICloudPaging(t *testing.T) {
	grants := DemoVZICloudGrants(time.Unix(1_800_000_000, 0))[:25]
	_, srv := newVZICloudServer(t, grants)
	for _, tc := range []struct {
		page, size, from, to int
	}{
		{1, 10, 0, 10}, {2, 10, 10, 20}, {3, 10, 20, 25}, {4, 10, 25, 25}, {1000000000000, 10, 25, 25},
		{1, 25, 0, 25}, {1, 7, 0, 7}, {4, 7, 21, 25}, {25, 1, 24, 25}, {26, 1, 25, 25},
	} {
		p := vziPageOf(t, srv, url.Values{"page": {strconv.Itoa(tc.page)}, "size": {strconv.Itoa(tc.size)}})
		assert.Equal(t, vziPage{Page: tc.page, Size: tc.size, Total: 25, Items: grants[tc.from:tc.to]}, p, "page %d of %d", tc.page, tc.size)
	}
	// The vendor's largest page is 10,000; the default is 10.
	p := vziPageOf(t, srv, url.Values{"page": {"1"}, "size": {"20000"}})
	assert.Equal(t, 10000, p.Size)
	assert.Len(t, p.Items, 25)
	p = vziPageOf(t, srv, url.Values{})
	assert.Equal(t, vziPage{Page: 1, Size: 10, Total: 25, Items: grants[:10]}, p)

	for _, bad := range []url.Values{{"page": {"0"}}, {"size": {"0"}}, {"page": {"x"}}, {"size": {"-1"}}} {
		a := vziGet(t, srv, vziSign(bad, testVZIKeyID, testVZISecret, time.Now().Add(time.Minute).Unix()))
		assertVZIError(t, a, http.StatusBadRequest, 1000)
	}
}

// wheresParam encodes conditions as the client sends them.
func wheresParam(t *testing.T, conds string) string {
	t.Helper()
	require.True(t, json.Valid([]byte(conds)), conds)
	return base64.StdEncoding.EncodeToString([]byte(conds))
}

func TestVZICloudWheres(t *testing.T) {
	grants := DemoVZICloudGrants(time.Unix(1_800_000_000, 0))
	_, srv := newVZICloudServer(t, grants)
	filter := func(keep func(g VZICloudGrant) bool) []VZICloudGrant {
		var out []VZICloudGrant
		for _, g := range grants {
			if keep(g) {
				out = append(out, g)
			}
		}
		return out
	}
	for _, tc := range []struct {
		conds string
		want  []VZICloudGrant
	}{
		{`[{"k":"product_id","o":"eq","v":1}]`, filter(func(g VZICloudGrant) bool { return g.ProductID == 1 })},
		{`[{"k":"product_id","o":"eq","v":"2"}]`, filter(func(g VZICloudGrant) bool { return g.ProductID == 2 })},
		{`[{"k":"product_id","o":"ne","v":1},{"k":"state","o":"in","v":[1,5]}]`,
			filter(func(g VZICloudGrant) bool { return g.ProductID != 1 && (g.State == 1 || g.State == 5) })},
		{`[{"k":"state","o":"ni","v":[1,5]}]`, filter(func(g VZICloudGrant) bool { return g.State != 1 && g.State != 5 })},
		{`[{"k":"type","o":"eq","v":1}]`, filter(func(g VZICloudGrant) bool { return g.Type == 1 })},
		{`[{"k":"state","o":"lt","v":2}]`, filter(func(g VZICloudGrant) bool { return g.State < 2 })},
		{`[{"k":"state","o":"lte","v":2}]`, filter(func(g VZICloudGrant) bool { return g.State <= 2 })},
		{`[{"k":"state","o":"gt","v":3}]`, filter(func(g VZICloudGrant) bool { return g.State > 3 })},
		{`[{"k":"state","o":"gte","v":3},{"k":"product_id","o":"eq","v":4}]`,
			filter(func(g VZICloudGrant) bool { return g.State >= 3 && g.ProductID == 4 })},
		{`[{"k":"period_time","o":"eq","v":0}]`, filter(func(g VZICloudGrant) bool { return g.PeriodTime == 0 })},
		{`[{"k":"sn","o":"like","v":"VZ00042001%"}]`, filter(func(g VZICloudGrant) bool { return strings.HasPrefix(g.SN, "VZ00042001") })},
		{`[{"k":"sn","o":"like","v":"%99"}]`, filter(func(g VZICloudGrant) bool { return strings.HasSuffix(g.SN, "99") })},
		{`[{"k":"sn","o":"like","v":"VZ000420_0_0"}]`, filter(func(g VZICloudGrant) bool {
			return len(g.SN) == 12 && strings.HasPrefix(g.SN, "VZ000420") && g.SN[9] == '0' && g.SN[11] == '0'
		})},
		{`[{"k":"sn","o":"eq","v":"VZ0004200007"}]`, grants[7:8]},
		{`[{"k":"order_no","o":"in","v":["ORD2026000001","ORD2026000002"]}]`,
			filter(func(g VZICloudGrant) bool { return g.OrderNo == "ORD2026000001" || g.OrderNo == "ORD2026000002" })},
		{`[{"k":"grant_accesskey_id","o":"eq","v":"nobody"}]`, nil},
		{`[]`, grants},
	} {
		t.Run(tc.conds, func(t *testing.T) {
			require.NotEqual(t, len(grants), len(tc.want)+1) // a filter that keeps all but one would be suspicious
			p := vziPageOf(t, srv, url.Values{"page": {"1"}, "size": {"10000"}, "wheres": {wheresParam(t, tc.conds)}})
			assert.Equal(t, len(tc.want), p.Total)
			assert.Equal(t, len(tc.want), len(p.Items))
			if len(tc.want) > 0 {
				assert.Equal(t, tc.want, p.Items)
			}
			if len(tc.want) > 3 {
				// Paging over the matches, not over all grants.
				p := vziPageOf(t, srv, url.Values{"page": {"2"}, "size": {"3"}, "wheres": {wheresParam(t, tc.conds)}})
				assert.Equal(t, vziPage{Page: 2, Size: 3, Total: len(tc.want), Items: tc.want[3:min(6, len(tc.want))]}, p)
			}
		})
	}

	for _, bad := range []string{
		"not base64!",
		base64.StdEncoding.EncodeToString([]byte(`{"k":"state"}`)),
		base64.StdEncoding.EncodeToString([]byte(`[{"k":"expire_time","o":"eq","v":1}]`)),
		base64.StdEncoding.EncodeToString([]byte(`[{"k":"state","o":"between","v":1}]`)),
		base64.StdEncoding.EncodeToString([]byte(`[{"k":"state","o":"in","v":1}]`)),
		base64.StdEncoding.EncodeToString([]byte(`[{"k":"state","o":"eq","v":{"a":1}}]`)),
		base64.StdEncoding.EncodeToString([]byte(`[{"k":"sn","o":"like","v":1}]`)),
	} {
		a := vziGet(t, srv, vziSign(url.Values{"wheres": {bad}}, testVZIKeyID, testVZISecret, time.Now().Add(time.Minute).Unix()))
		assertVZIError(t, a, http.StatusBadRequest, 1000)
	}
}

// The answer has the documented sample's fields and types.
func TestVZICloudAnswersLikeTheFixture(t *testing.T) {
	fixture, err := os.ReadFile("../vendor_clients/upstream/testdata/vendors/vzicloud_alg_consumes.json")
	require.NoError(t, err)
	var sample vziPage
	require.NoError(t, json.Unmarshal(fixture, &sample))
	_, srv := newVZICloudServer(t, sample.Items)
	a := vziGet(t, srv, vziSign(url.Values{"page": {"1"}, "size": {"10000"}}, testVZIKeyID, testVZISecret, time.Now().Add(time.Minute).Unix()))
	assert.Equal(t, http.StatusOK, a.status)
	assert.JSONEq(t, string(fixture), string(a.body))
}

func TestVZICloudFaultBodies(t *testing.T) {
	sim, srv := newVZICloudServer(t, DemoVZICloudGrants(time.Now())[:5])
	bodies := sim.FaultBodies()
	for code, status := range map[int]int{
		0: http.StatusInternalServerError, 1016: http.StatusTooManyRequests, 1017: http.StatusTooManyRequests,
		1004: http.StatusForbidden, 1012: http.StatusForbidden, 1001: http.StatusBadRequest,
	} {
		got, body := bodies.VendorError(code)
		assert.Equal(t, status, got, "code %d", code)
		assertVZIErrorBody(t, body, max(code, 1000))
	}

	// Unauthorized is the vendor's real refusal of a bad signature.
	q := vziSign(url.Values{"page": {"1"}}, testVZIKeyID, testVZISecret, time.Now().Add(time.Minute).Unix())
	q.Set("signature", "AAAA")
	assert.Equal(t, string(vziGet(t, srv, q).body), string(bodies.Unauthorized))

	var page struct {
		Total int
		Items []map[string]any
	}
	require.NoError(t, json.Unmarshal(bodies.WrongTypes, &page))
	require.Len(t, page.Items, page.Total)
	for _, field := range []string{"product_id", "type", "state", "expire_time"} {
		switch page.Items[0][field].(type) {
		case []any, map[string]any: // no tolerant reading takes these
		default:
			t.Errorf("%s is a scalar", field)
		}
	}
}

func TestVZICloudGrantsAreCopies(t *testing.T) {
	v := NewVZICloud(testVZIKeyID, testVZISecret)
	in := DemoVZICloudGrants(time.Unix(1_800_000_000, 0))[:2]
	want := slices.Clone(in)
	v.SetGrants(in)
	in[0].SN = "changed by the caller"
	out := v.Grants()
	assert.Equal(t, want, out)
	out[0].SN = "changed by the caller"
	assert.Equal(t, want, v.Grants())
	v.SetGrants(nil)
	assert.Empty(t, v.Grants())
}

func TestDemoVZICloudGrants(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	grants := DemoVZICloudGrants(now)
	assert.Equal(t, grants, DemoVZICloudGrants(now), "deterministic")
	require.Len(t, grants, 3000)

	const day = 24 * 60 * 60
	states := map[int]int{}
	types := map[int]int{}
	sns := map[string]bool{}
	var permanent, expired, within7d, within30d, later int
	for _, g := range grants {
		states[g.State]++
		types[g.Type]++
		sns[g.SN] = true
		assert.Contains(t, []int{1, 2, 3, 4}, g.ProductID)
		if g.State != 1 && g.State != 5 {
			continue
		}
		switch left := g.ExpireTime - now.Unix(); {
		case g.ExpireTime == -1:
			permanent++
		case left < 0:
			expired++
		case left < 7*day:
			within7d++
		case left < 30*day:
			within30d++
		default:
			later++
		}
		if g.ExpireTime != -1 {
			// Clear of now and of the 7d and 30d edges by an hour, so the
			// demo's counts hold still while it runs.
			for _, edge := range []int64{0, 7 * day, 30 * day} {
				assert.GreaterOrEqual(t, abs(g.ExpireTime-now.Unix()-edge), int64(3600), g.SN)
			}
		}
	}
	assert.Len(t, sns, 3000, "one grant per serial number")
	for state := range 6 {
		assert.Greater(t, states[state], 30, "state %d", state)
	}
	assert.Greater(t, types[0], 1000)
	assert.Greater(t, types[1], 100)
	for name, n := range map[string]int{"permanent": permanent, "expired": expired, "within 7 days": within7d, "within 30 days": within30d, "later": later} {
		assert.Greater(t, n, 50, name)
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// FuzzCanonicalResource: for any extra query parameter, the client's
// canonical resource and signature agree with the simulator's independent
// check, so neither side mangles names or values it did not foresee.
func FuzzCanonicalResource(f *testing.F) {
	f.Add("wheres", "W3siayI6InNuIiwibyI6ImVxIiwidiI6MX1d")
	f.Add("size", "10000")
	f.Add("a b", "x&y=z")
	f.Add("名", "值+/=%")
	v := NewVZICloud("key-id", "secret")
	f.Fuzz(func(t *testing.T, name, value string) {
		if name == "" || name == "accesskey_id" || name == "expires" || name == "signature" {
			return
		}
		q := url.Values{"page": {"1"}}
		q.Add(name, value)
		expires := time.Now().Add(time.Minute).Unix()
		signature := vzicloud.Sign("secret", http.MethodGet, "", "", expires, vzicloud.CanonicalResource(vzicloudConsumesPath, q))
		q.Set("accesskey_id", "key-id")
		q.Set("expires", strconv.FormatInt(expires, 10))
		q.Set("signature", signature)
		req := httptest.NewRequest(http.MethodGet, vzicloudConsumesPath+"?"+q.Encode(), nil)
		if code, ok := v.authorized(req); !ok {
			t.Fatalf("refused with %d: %q=%q", code, name, value)
		}
	})
}
