package guoyangyun

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

const (
	testAppkey    = "8771711500303127746"
	testAppsecret = "appsecret-CANARY-0b9d"
)

func newClient(t testing.TB, baseURL, username string) *Client {
	t.Helper()
	u, err := url.Parse(baseURL)
	require.NoError(t, err)
	return New(Config{BaseURL: u, Appkey: testAppkey, Appsecret: testutil.Secret(testAppsecret), Username: username},
		&upstream.Client{Timeout: 5 * time.Second})
}

func code(v int64) upstream.Code       { return upstream.Code{Value: v, Valid: true} }
func number(v float64) upstream.Number { return upstream.Number{Value: v, Valid: true} }

func TestFetchFixtureSendsAFormBody(t *testing.T) {
	fixture, err := os.ReadFile("../upstream/testdata/vendors/guoyangyun_search_account.json")
	require.NoError(t, err)
	var req *http.Request
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req = r
		require.NoError(t, r.ParseForm())
		form = r.PostForm
		_, _ = w.Write(fixture)
	}))
	t.Cleanup(srv.Close)

	snap, err := newClient(t, srv.URL+"/gw", "test11").Fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, req.Method)
	assert.Equal(t, "/gw/api/user/searchAccount.htm", req.URL.Path)
	assert.Empty(t, req.URL.RawQuery, "credentials stay out of the URL")
	assert.Equal(t, url.Values{"appkey": {testAppkey}, "appsecret": {testAppsecret}, "username": {"test11"}}, form)
	assert.Equal(t, []Account{{
		Username: "test11", PrimaryName: "a123456", Corp: "123", Status: code(1),
		Products: []Product{
			{InstanceID: "531241234", Name: "行业短信", Balance: number(364), Used: number(69), Status: code(1)},
			{InstanceID: "431242155", Name: "营销短信", Balance: number(224), Used: number(23), Status: code(1)},
		},
	}}, snap.Accounts)
	assert.NotContains(t, fmt.Sprintf("%+v", snap), "d3113d7858d1b6b00f", "the answer's appsecret is never decoded")
}

func TestDecodeVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []Account
	}{
		{"codes as \"01\", \"1\" and 1; numbers as strings; nulls; unknown fields",
			`{"code":0,"msg":"成功","x":1,"data":[{"username":"a","status":"02","corp":null,"productList":[` +
				`{"instanceId":1,"productName":"p","presentBalance":"12.5","totalUsed":null,"status":"1","new":[]},` +
				`{"instanceId":"2","status":3}]}]}`,
			[]Account{{Username: "a", Status: code(2), Products: []Product{
				{InstanceID: "1", Name: "p", Balance: number(12.5), Status: code(1)},
				{InstanceID: "2", Status: code(3)},
			}}}},
		{"unknown status code kept", `{"code":"0","data":[{"username":"b","status":"07","productList":null}]}`,
			[]Account{{Username: "b", Status: code(7)}}},
		{"empty data", `{"code":"0","msg":"成功","data":[]}`, []Account{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := testutil.JSONResponse(http.StatusOK, tc.body)
			defer func() { _ = resp.Body.Close() }()
			snap, err := decode(resp, []string{testAppkey, testAppsecret})
			require.NoError(t, err)
			assert.Equal(t, tc.want, snap.Accounts)
		})
	}
}

func TestDecodeFailures(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		result     upstream.Result
		says       string
	}{
		{"vendor error", `{"code":"1002","msg":"appkey ` + testAppkey + ` 或 appsecret 错误"}`, upstream.ResultAPIError, `code 1002`},
		{"no code", `{"msg":"?"}`, upstream.ResultAPIError, "code none"},
		{"duplicate username", `{"code":"0","data":[{"username":"a"},{"username":" a"}]}`, upstream.ResultDecodeError, `accounts 1 and 2 of 2 have the same username "a"`},
		{"duplicate instance", `{"code":"0","data":[{"username":"a","productList":[{"instanceId":"1"},{"instanceId":1}]}]}`, upstream.ResultDecodeError, `account "a": products 1 and 2 of 2 have the same instanceId "1"`},
		{"no data", `{"code":"0","msg":"成功"}`, upstream.ResultDecodeError, "account list is missing from the answer"},
		{"null data", `{"code":"0","msg":"成功","data":null}`, upstream.ResultDecodeError, "account list is missing from the answer"},
		{"missing username", `{"code":"0","data":[{"corp":"x"}]}`, upstream.ResultDecodeError, "username is missing"},
		{"secret as a wrong type", `{"code":"0","data":[{"username":{"appsecret":"` + testAppsecret + `"}}]}`, upstream.ResultDecodeError, "account list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, tc.body) }))
			t.Cleanup(srv.Close)
			snap, err := newClient(t, srv.URL, "").Fetch(context.Background())
			require.Error(t, err)
			assert.Nil(t, snap)
			assert.Equal(t, tc.result, upstream.ResultOf(err))
			assert.Contains(t, err.Error(), tc.says)
			assert.NotContains(t, err.Error(), testAppsecret)
			assert.NotContains(t, err.Error(), testAppkey)
		})
	}
}

// Against the simulator: the demo accounts come back exactly, the username
// filter works, a wrong appsecret is a clear failure, and no credential or
// phone number of the answer reaches the snapshot.
func TestFetchFromSimulator(t *testing.T) {
	sim := simulator.NewGuoyangyun(testAppkey, testAppsecret)
	accounts := simulator.DemoGuoyangyunAccounts()
	sim.SetAccounts(accounts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)

	snap, err := newClient(t, srv.URL, "").Fetch(context.Background())
	require.NoError(t, err)
	require.Len(t, snap.Accounts, len(accounts))
	for i, a := range accounts {
		want := Account{Username: a.Username, PrimaryName: a.PrimaryName, Corp: a.Corp, Status: code(int64(a.Status.Code))}
		for _, p := range a.ProductList {
			want.Products = append(want.Products, Product{
				InstanceID: p.InstanceID, Name: p.ProductName, Status: code(int64(p.Status.Code)),
				Balance: number(float64(p.PresentBalance.Value)), Used: number(float64(p.TotalUsed.Value)),
			})
		}
		assert.Equal(t, want, snap.Accounts[i])
	}
	dump := fmt.Sprintf("%+v", snap)
	for _, a := range accounts {
		assert.NotContains(t, dump, a.Appsecret)
		assert.NotContains(t, dump, a.Appkey)
		if a.Mobile != nil {
			assert.NotContains(t, dump, *a.Mobile)
		}
	}

	one, err := newClient(t, srv.URL, accounts[1].Username).Fetch(context.Background())
	require.NoError(t, err)
	require.Len(t, one.Accounts, 1)
	assert.Equal(t, accounts[1].Username, one.Accounts[0].Username)

	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	wrong := New(Config{BaseURL: u, Appkey: testAppkey, Appsecret: func() (string, error) { return "wrong-secret", nil }}, &upstream.Client{})
	_, err = wrong.Fetch(context.Background())
	require.Error(t, err)
	assert.Equal(t, upstream.ResultAPIError, upstream.ResultOf(err))
	assert.Contains(t, err.Error(), "appkey或appsecret错误")
	assert.NotContains(t, err.Error(), "wrong-secret")
}

// FuzzDecode: the decoder never panics, fails only with a decode or API
// error that quotes no credential, and accepts only distinct names.
func FuzzDecode(f *testing.F) {
	fixture, err := os.ReadFile("../upstream/testdata/vendors/guoyangyun_search_account.json")
	require.NoError(f, err)
	f.Add(fixture)
	f.Add([]byte(`{"code":"1","msg":"` + testAppsecret + `"}`))
	f.Add([]byte(`{"code":0,"data":[{"username":"a","status":1,"productList":[{"instanceId":"1","presentBalance":"1e3"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		snap, err := decode(resp, []string{testAppkey, testAppsecret})
		if err != nil {
			require.Contains(t, []upstream.Result{upstream.ResultDecodeError, upstream.ResultAPIError}, upstream.ResultOf(err))
			require.NotContains(t, err.Error(), testAppsecret)
			return
		}
		names := map[string]bool{}
		for _, a := range snap.Accounts {
			require.NotEmpty(t, a.Username)
			require.False(t, names[a.Username])
			names[a.Username] = true
		}
	})
}
