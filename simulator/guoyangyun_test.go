package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	gyAppkey    = "8771711500303188888"
	gyAppsecret = "gy-appsecret-CANARY-5d2a"
)

func newGuoyangyunServer(t *testing.T, accounts []GuoyangyunAccount) (*Guoyangyun, *httptest.Server) {
	t.Helper()
	sim := NewGuoyangyun(gyAppkey, gyAppsecret)
	sim.SetAccounts(accounts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

// gyRequest sends form as a POST body, or as a GET query when method is GET.
func gyRequest(t *testing.T, srv *httptest.Server, method string, form url.Values) answer {
	t.Helper()
	target, body := srv.URL+guoyangyunSearchAccountPath, io.Reader(nil)
	if method == http.MethodGet {
		target += "?" + form.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, body)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	}
	return gyDo(t, srv, req)
}

func gyDo(t *testing.T, srv *httptest.Server, req *http.Request) answer {
	t.Helper()
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

var gyRight = url.Values{"appkey": {gyAppkey}, "appsecret": {gyAppsecret}}

func gyWith(v url.Values, key, value string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	out.Set(key, value)
	return out
}

// gyUsernames decodes a success answer and returns its usernames.
func gyUsernames(t *testing.T, a answer) []string {
	t.Helper()
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, jsonType, a.header.Get("Content-Type"))
	var env struct {
		Code, Msg string
		Data      []struct{ Username string }
	}
	require.NoError(t, json.Unmarshal(a.body, &env), "%s", a.body)
	require.Equal(t, "0", env.Code, "%s", a.body)
	assert.Equal(t, "成功", env.Msg)
	require.NotNil(t, env.Data, `"data": [], never null`)
	names := []string{}
	for _, d := range env.Data {
		names = append(names, d.Username)
	}
	return names
}

// Wrong, missing or swapped credentials get the vendor's refusal inside an
// HTTP 200, and it does not echo them.
func TestGuoyangyunAuth(t *testing.T) {
	_, srv := newGuoyangyunServer(t, DemoGuoyangyunAccounts())
	for name, form := range map[string]url.Values{
		"none":            {},
		"no appsecret":    {"appkey": {gyAppkey}},
		"no appkey":       {"appsecret": {gyAppsecret}},
		"wrong appsecret": gyWith(gyRight, "appsecret", "wrong-appsecret"),
		"wrong appkey":    gyWith(gyRight, "appkey", "1234567890"),
		"swapped":         {"appkey": {gyAppsecret}, "appsecret": {gyAppkey}},
		"other case":      {"appKey": {gyAppkey}, "appSecret": {gyAppsecret}},
		"secret prefix":   gyWith(gyRight, "appsecret", gyAppsecret[:len(gyAppsecret)-1]),
	} {
		t.Run(name, func(t *testing.T) {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				a := gyRequest(t, srv, method, form)
				assert.Equal(t, http.StatusOK, a.status)
				assert.Equal(t, jsonType, a.header.Get("Content-Type"))
				assert.JSONEq(t, `{"code":"1002","msg":"appkey或appsecret错误"}`, string(a.body))
			}
		})
	}

	t.Run("POST form", func(t *testing.T) {
		assert.Equal(t, []string{"ops-main", "alerts-sub", "legacy-sub"}, gyUsernames(t, gyRequest(t, srv, http.MethodPost, gyRight)))
	})
	t.Run("GET query, as documented", func(t *testing.T) {
		assert.Equal(t, []string{"ops-main", "alerts-sub", "legacy-sub"}, gyUsernames(t, gyRequest(t, srv, http.MethodGet, gyRight)))
	})
	t.Run("POST of JSON is refused", func(t *testing.T) {
		body, err := json.Marshal(map[string]string{"appkey": gyAppkey, "appsecret": gyAppsecret})
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+guoyangyunSearchAccountPath, strings.NewReader(string(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		assert.JSONEq(t, `{"code":"1000","msg":"参数错误"}`, string(gyDo(t, srv, req).body))
	})
}

// username selects one sub-account; empty means all, an unknown one none.
func TestGuoyangyunUsernameFilter(t *testing.T) {
	_, srv := newGuoyangyunServer(t, DemoGuoyangyunAccounts())
	for username, want := range map[string][]string{
		"":           {"ops-main", "alerts-sub", "legacy-sub"},
		"alerts-sub": {"alerts-sub"},
		"ops-main":   {"ops-main"},
		"nobody":     {},
		"ALERTS-SUB": {},
	} {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			got := gyUsernames(t, gyRequest(t, srv, method, gyWith(gyRight, "username", username)))
			assert.Equal(t, want, got, "%s %q", method, username)
		}
	}
}

// With the documented sample's account, the answer is the sample: the same
// fields, values, types and order.
func TestGuoyangyunAnswersLikeTheFixture(t *testing.T) {
	fixture, err := os.ReadFile("../vendor_clients/upstream/testdata/vendors/guoyangyun_search_account.json")
	require.NoError(t, err)
	num := func(v int64) Count { return Count{Value: v, Wire: WireNumber} }
	_, srv := newGuoyangyunServer(t, []GuoyangyunAccount{{
		Created: "2019-09-25 16:00:26", Modified: "2023-06-19 10:13:24",
		PrimaryName: "a123456", Username: "test11", Mobile: nil, Corp: "123",
		Appkey: "8771711500303127746", Appsecret: "d3113d7858d1b6b00f", Status: Status{Code: 1},
		ProductList: []GuoyangyunProduct{
			{ProductName: "行业短信", PresentBalance: num(364), TotalUsed: num(69), InstanceID: "531241234", Status: Status{Code: 1, Wire: StatusNumber}},
			{ProductName: "营销短信", PresentBalance: num(224), TotalUsed: num(23), InstanceID: "431242155", Status: Status{Code: 1}},
		},
	}})
	a := gyRequest(t, srv, http.MethodPost, gyRight)
	assert.JSONEq(t, string(fixture), string(a.body))

	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, fixture))
	assert.Equal(t, compact.String(), string(a.body), "same order")
}

func TestGuoyangyunStatusWire(t *testing.T) {
	for _, tc := range []struct {
		s    Status
		want string
	}{
		{Status{Code: 1}, `"01"`}, {Status{Code: 2, Wire: StatusPadded}, `"02"`}, {Status{Code: 12}, `"12"`},
		{Status{Code: 3, Wire: StatusString}, `"3"`}, {Status{Code: 3, Wire: StatusNumber}, `3`},
		{Status{Code: 0, Wire: StatusNumber}, `0`}, {Status{Code: 100, Wire: StatusString}, `"100"`},
	} {
		got, err := json.Marshal(tc.s)
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(got), "%+v", tc.s)
	}
	_, err := json.Marshal(Status{Code: 1, Wire: StatusWire(9)})
	assert.ErrorContains(t, err, "unknown StatusWire 9")

	// A status the simulator cannot encode fails the request loudly, not
	// with a body the client would misread.
	_, srv := newGuoyangyunServer(t, []GuoyangyunAccount{{Username: "x", Status: Status{Wire: StatusWire(9)}}})
	assert.Equal(t, http.StatusInternalServerError, gyRequest(t, srv, http.MethodPost, gyRight).status)
}

func TestGuoyangyunFaultBodies(t *testing.T) {
	sim, srv := newGuoyangyunServer(t, DemoGuoyangyunAccounts())
	bodies := sim.FaultBodies()

	// Unauthorized is the vendor's real refusal.
	refused := gyRequest(t, srv, http.MethodPost, gyWith(gyRight, "appsecret", "wrong"))
	assert.Equal(t, string(refused.body), string(bodies.Unauthorized))

	status, body := bodies.VendorError(0)
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"code":"9999","msg":"系统异常，请稍后重试"}`, string(body))

	var env struct {
		Code string
		Data []map[string]any
	}
	require.NoError(t, json.Unmarshal(bodies.WrongTypes, &env))
	assert.Equal(t, "0", env.Code)
	require.NotEmpty(t, env.Data)
	for _, field := range []string{"username", "primaryName", "corp", "status"} {
		switch env.Data[0][field].(type) {
		case []any, map[string]any: // no tolerant reading takes these
		default:
			t.Errorf("%s is a scalar", field)
		}
	}
	assert.IsType(t, map[string]any{}, env.Data[0]["productList"], "an object where the list goes")
}

func TestGuoyangyunAccountsAreCopies(t *testing.T) {
	sim := NewGuoyangyun(gyAppkey, gyAppsecret)
	assert.Empty(t, sim.Accounts())
	in := DemoGuoyangyunAccounts()
	want := DemoGuoyangyunAccounts()
	sim.SetAccounts(in)
	in[0].Username = "changed by the caller"
	out := sim.Accounts()
	assert.Equal(t, want, out)
	out[0].Username = "changed by the caller"
	assert.Equal(t, want, sim.Accounts())

	sim.SetAccounts(nil)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	assert.Empty(t, gyUsernames(t, gyRequest(t, srv, http.MethodPost, gyRight)))
}

// The demo accounts show what the dashboards and alerts need: a normal
// primary account, a frozen sub-account, a disabled one without products, a
// product under 100 messages; status codes in all three wire forms.
func TestDemoGuoyangyunAccounts(t *testing.T) {
	accounts := DemoGuoyangyunAccounts()
	assert.Equal(t, accounts, DemoGuoyangyunAccounts(), "deterministic")
	require.Len(t, accounts, 3)

	statuses, wires := map[int]string{}, map[StatusWire]int{}
	var low []string
	users := map[string]bool{}
	for _, a := range accounts {
		assert.False(t, users[a.Username], "username %s twice", a.Username)
		users[a.Username] = true
		assert.Equal(t, "ops-main", a.PrimaryName)
		statuses[a.Status.Code] = a.Username
		wires[a.Status.Wire]++
		instances := map[string]bool{}
		for _, p := range a.ProductList {
			assert.False(t, instances[p.InstanceID], "instance %s twice", p.InstanceID)
			instances[p.InstanceID] = true
			wires[p.Status.Wire]++
			assert.Contains(t, []string{"行业短信", "营销短信"}, p.ProductName)
			if p.PresentBalance.Value < 100 {
				low = append(low, a.Username+"/"+p.InstanceID)
			}
		}
	}
	assert.Equal(t, map[int]string{1: "ops-main", 2: "alerts-sub", 3: "legacy-sub"}, statuses)
	assert.Equal(t, []string{"ops-main/431242155"}, low, "one product under 100")
	assert.Empty(t, accounts[2].ProductList, "the disabled account has no products")
	for _, w := range []StatusWire{StatusPadded, StatusString, StatusNumber} {
		assert.Positive(t, wires[w], "status wire %d used", w)
	}
}

// A test that finds no appkey, appsecret or mobile in the exporter's output
// proves something only if they occur nowhere else in the answer.
func TestDemoGuoyangyunSecretsAreDistinctive(t *testing.T) {
	masked := DemoGuoyangyunAccounts()
	var secrets []string
	for i := range masked {
		secrets = append(secrets, masked[i].Appkey, masked[i].Appsecret)
		if masked[i].Mobile != nil {
			secrets = append(secrets, *masked[i].Mobile)
		}
		masked[i].Appkey, masked[i].Appsecret, masked[i].Mobile = "", "", nil
	}
	assert.Len(t, secrets, 8)
	rest, err := json.Marshal(masked)
	require.NoError(t, err)
	for _, s := range secrets {
		require.NotEmpty(t, s)
		assert.NotContains(t, string(rest), s)
	}
}
