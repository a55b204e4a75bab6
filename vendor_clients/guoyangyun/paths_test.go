package guoyangyun

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/canary"
	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// canaryAccounts carry the answer's own credentials and phone numbers,
// which must never leave the client; every value is distinctive.
func canaryAccounts() []simulator.GuoyangyunAccount {
	mobile := func(s string) *string { return &s }
	num := func(v int64) simulator.Count { return simulator.Count{Value: v, Wire: simulator.WireNumber} }
	return []simulator.GuoyangyunAccount{{
		Created: "2019-09-25 16:00:26", Modified: "2023-06-19 10:13:24",
		PrimaryName: "main", Username: "main", Mobile: mobile("13700009001"), Corp: "示例",
		Appkey: "8771711500303199001", Appsecret: "as-CANARY-main-77c1", Status: simulator.Status{Code: 1},
		ProductList: []simulator.GuoyangyunProduct{
			{ProductName: "行业短信", PresentBalance: num(364), TotalUsed: simulator.Count{Value: 69}, InstanceID: "531241234", Status: simulator.Status{Code: 1, Wire: simulator.StatusNumber}},
		},
	}, {
		Created: "2020-01-01 00:00:00", Modified: "2020-01-01 00:00:00",
		PrimaryName: "main", Username: "sub", Mobile: mobile("13700009002"), Corp: "示例",
		Appkey: "8771711500303199002", Appsecret: "as-CANARY-sub-0e4d", Status: simulator.Status{Code: 2, Wire: simulator.StatusString},
		ProductList: []simulator.GuoyangyunProduct{
			{ProductName: "营销短信", PresentBalance: simulator.Count{Value: 12}, TotalUsed: num(5), InstanceID: "431242155", Status: simulator.Status{Code: 3}},
		},
	}}
}

// canaries lists the configured credentials and every secret or phone
// number of as.
func canaries(as []simulator.GuoyangyunAccount) []string {
	out := []string{testAppkey, testAppsecret}
	for _, a := range as {
		out = append(out, a.Appkey, a.Appsecret, *a.Mobile)
	}
	return out
}

func clientFor(t *testing.T, baseURL, username string, appsecret func() (string, error), up *upstream.Client) *Client {
	t.Helper()
	u, err := url.Parse(baseURL)
	require.NoError(t, err)
	return New(Config{BaseURL: u, Appkey: testAppkey, Appsecret: appsecret, Username: username}, up)
}

// The documented failure sample: a code that is not even a number.
func TestErrorFixture(t *testing.T) {
	fixture, err := os.ReadFile("../upstream/testdata/vendors/guoyangyun_error.json")
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(fixture) }))
	t.Cleanup(srv.Close)
	snap, err := newClient(t, srv.URL, "").Fetch(context.Background())
	assert.Nil(t, snap)
	assert.Equal(t, upstream.ResultAPIError, upstream.ResultOf(err))
	assert.EqualError(t, err, "POST "+srv.URL+"/"+searchAccountPath+`: api_error: vendor reported failure (code XXXX): "错误提示内容"`)
}

// Answers written by hand around the canary accounts: vendor errors that
// echo the request or still carry data, and decode errors caused next to
// secrets.
func TestErrorAnswersKeepSecretsOut(t *testing.T) {
	accounts := canaryAccounts()
	accountJSON := func(extra string) string {
		var b strings.Builder
		for i, a := range accounts {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"username":%q,"mobile":%q,"appkey":%q,"appsecret":%q,"status":"01","productList":[]}`,
				a.Username, *a.Mobile, a.Appkey, a.Appsecret)
		}
		return "[" + b.String() + extra + "]"
	}
	echo := "appkey=" + testAppkey + "&appsecret=" + url.QueryEscape(testAppsecret)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		result upstream.Result
		says   string
	}{
		{"vendor error with data", 200, `{"code":"500","msg":"系统繁忙","data":` + accountJSON("") + `}`,
			upstream.ResultAPIError, `(code 500): "系统繁忙"`},
		{"vendor error echoing the request", 200, `{"code":"1001","msg":"参数错误: ` + echo + `"}`,
			upstream.ResultAPIError, `"参数错误: appkey=<redacted>&appsecret=<redacted>"`},
		{"HTTP 500 echoing the request", 500, `{"code":"500","msg":"` + echo + `","data":` + accountJSON("") + `}`,
			upstream.ResultHTTPError, `vendor says "appkey=<redacted>&appsecret=<redacted>"`},
		{"appsecret where the corp goes", 200, `{"code":"0","data":` + accountJSON(`,{"username":"x","corp":{"appsecret":"`+accounts[0].Appsecret+`"}}`) + `}`,
			upstream.ResultDecodeError, "account list"},
		{"appkey as a misplaced number", 200, `{"code":"0","data":` + accountJSON(`,{"username":"x","productList":[{"instanceId":"1","presentBalance":[`+accounts[1].Appkey+`]}]}`) + `}`,
			upstream.ResultDecodeError, "account list"},
		{"mobile as a number where a list goes", 200, `{"code":"0","data":` + accountJSON(`,{"username":"x","productList":`+*accounts[0].Mobile+`}`) + `}`,
			upstream.ResultDecodeError, "account list"},
		{"duplicate username next to secrets", 200, `{"code":"0","data":` + accountJSON(`,{"username":"sub"}`) + `}`,
			upstream.ResultDecodeError, `accounts 2 and 3 of 3 have the same username "sub"`},
		{"cut short after an appsecret", 200, `{"code":"0","data":[{"username":"a","appsecret":"` + accounts[1].Appsecret,
			upstream.ResultDecodeError, "malformed JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			snap, err := newClient(t, srv.URL, "").Fetch(context.Background())
			require.Error(t, err)
			assert.Nil(t, snap)
			assert.Equal(t, tc.result, upstream.ResultOf(err), "%v", err)
			assert.Contains(t, err.Error(), tc.says)
			canary.AssertAbsent(t, snap, err, canaries(accounts))
		})
	}
}

// Status codes in every form the vendor uses: the same number whether sent
// as "01", "1" or 1; codes outside the documented set kept as their
// number; text that is no integer is "not given" (Valid false), which the
// exporter shows as unknown.
func TestStatusForms(t *testing.T) {
	for _, tc := range []struct {
		wire string
		want upstream.Code
	}{
		{`"01"`, code(StatusNormal)}, {`"1"`, code(StatusNormal)}, {`1`, code(StatusNormal)}, {`" 01 "`, code(StatusNormal)},
		{`"02"`, code(StatusFrozen)}, {`2`, code(StatusFrozen)},
		{`"03"`, code(StatusDisabled)}, {`"3"`, code(StatusDisabled)},
		{`"00"`, code(0)}, {`"04"`, code(4)}, {`99`, code(99)}, {`-1`, code(-1)},
		{`null`, upstream.Code{}}, {`""`, upstream.Code{}}, {`"正常"`, upstream.Code{}}, {`1.5`, upstream.Code{}},
	} {
		t.Run(tc.wire, func(t *testing.T) {
			body := `{"code":"0","data":[{"username":"a","status":` + tc.wire +
				`,"productList":[{"instanceId":"1","status":` + tc.wire + `}]}]}`
			resp := testutil.JSONResponse(http.StatusOK, body)
			defer func() { _ = resp.Body.Close() }()
			snap, err := decode(resp, nil)
			require.NoError(t, err)
			assert.Equal(t, []Account{{Username: "a", Status: tc.want, Products: []Product{{InstanceID: "1", Status: tc.want}}}}, snap.Accounts)
		})
	}
	t.Run("absent", func(t *testing.T) {
		resp := testutil.JSONResponse(http.StatusOK, `{"code":"0","data":[{"username":"a","productList":[{"instanceId":"1"}]}]}`)
		defer func() { _ = resp.Body.Close() }()
		snap, err := decode(resp, nil)
		require.NoError(t, err)
		assert.Equal(t, []Account{{Username: "a", Products: []Product{{InstanceID: "1"}}}}, snap.Accounts)
	})
}

// Balances and consumption as numbers or strings; null, "" or absence
// leave them invalid rather than zero, so no balance of 0 is invented.
func TestNumberForms(t *testing.T) {
	for _, tc := range []struct {
		wire string
		want upstream.Number
	}{
		{`364`, number(364)}, {`"364"`, number(364)}, {`" 364 "`, number(364)}, {`"12.50"`, number(12.5)},
		{`1e3`, number(1000)}, {`"0"`, number(0)}, {`-3`, number(-3)}, {`9007199254740993`, number(9007199254740992)},
		{`null`, upstream.Number{}}, {`""`, upstream.Number{}},
	} {
		t.Run(tc.wire, func(t *testing.T) {
			resp := testutil.JSONResponse(http.StatusOK, `{"code":"0","data":[{"username":"a","productList":[{"instanceId":"1","presentBalance":`+
				tc.wire+`,"totalUsed":`+tc.wire+`}]}]}`)
			defer func() { _ = resp.Body.Close() }()
			snap, err := decode(resp, nil)
			require.NoError(t, err)
			assert.Equal(t, []Product{{InstanceID: "1", Balance: tc.want, Used: tc.want}}, snap.Accounts[0].Products)
		})
	}
	for _, wire := range []string{`"many"`, `"NaN"`, `"0x10"`, `true`, `{}`} {
		t.Run("rejects "+wire, func(t *testing.T) {
			resp := testutil.JSONResponse(http.StatusOK, `{"code":"0","data":[{"username":"a","productList":[{"instanceId":"1","presentBalance":`+wire+`}]}]}`)
			defer func() { _ = resp.Body.Close() }()
			snap, err := decode(resp, nil)
			assert.Nil(t, snap)
			assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
			assert.Contains(t, err.Error(), "account list")
		})
	}
}

// Envelope codes: 0 in any form is success, anything else a failure.
func TestEnvelopeCodes(t *testing.T) {
	for _, ok := range []string{`"0"`, `0`, `" 0 "`} {
		resp := testutil.JSONResponse(http.StatusOK, `{"code":`+ok+`,"msg":null,"data":[]}`)
		snap, err := decode(resp, nil)
		require.NoError(t, err, ok)
		assert.Equal(t, &Snapshot{Accounts: []Account{}}, snap)
		require.NoError(t, resp.Body.Close())
	}
	for wire, want := range map[string]string{
		`"1002"`: `api_error: vendor reported failure (code 1002): "appkey或appsecret错误"`,
		`-1`:     `api_error: vendor reported failure (code -1): "appkey或appsecret错误"`,
		`null`:   `api_error: vendor reported failure (code none): "appkey或appsecret错误"`,
		`"00"`:   `api_error: vendor reported failure (code 00): "appkey或appsecret错误"`,
	} {
		resp := testutil.JSONResponse(http.StatusOK, `{"code":`+wire+`,"msg":"appkey或appsecret错误","data":[]}`)
		snap, err := decode(resp, nil)
		assert.Nil(t, snap)
		assert.EqualError(t, err, want, wire)
		require.NoError(t, resp.Body.Close())
	}
}

// The request: a POST whose form body holds the credentials (escaped as
// needed) and the username only when one is set; the URL holds nothing
// secret. The appsecret is read on every Fetch, so a rotated file takes
// effect.
func TestRequestForm(t *testing.T) {
	type seen struct {
		method, contentType, rawQuery string
		form                          url.Values
	}
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, r.ParseForm())
		got = append(got, seen{r.Method, r.Header.Get("Content-Type"), r.URL.RawQuery, r.PostForm})
		_, _ = io.WriteString(w, `{"code":"0","msg":"成功","data":[]}`)
	}))
	t.Cleanup(srv.Close)

	secrets := []string{"plain", "a+b&c=d %/é"}
	var calls atomic.Int32
	rotating := func() (string, error) { return secrets[calls.Add(1)-1], nil }
	c := clientFor(t, srv.URL, "", rotating, &upstream.Client{})
	for range secrets {
		_, err := c.Fetch(context.Background())
		require.NoError(t, err)
	}
	_, err := clientFor(t, srv.URL, "子账号 1", testutil.Secret("s"), &upstream.Client{}).Fetch(context.Background())
	require.NoError(t, err)

	form := "application/x-www-form-urlencoded; charset=UTF-8"
	assert.Equal(t, []seen{
		{http.MethodPost, form, "", url.Values{"appkey": {testAppkey}, "appsecret": {"plain"}}},
		{http.MethodPost, form, "", url.Values{"appkey": {testAppkey}, "appsecret": {"a+b&c=d %/é"}}},
		{http.MethodPost, form, "", url.Values{"appkey": {testAppkey}, "appsecret": {"s"}, "username": {"子账号 1"}}},
	}, got)
}

func TestAppsecretReadFailure(t *testing.T) {
	testutil.CheckSecretReadFailure(t, "appsecret", fetch)
}

func TestTransportErrorsHideTheCredentials(t *testing.T) {
	testutil.CheckTransportErrorsHide(t, "POST /"+searchAccountPath, testAppsecret, fetch, testAppkey)
}

// fetch reads the accounts from baseURL with the appsecret secret.
func fetch(ctx context.Context, baseURL string, secret func() (string, error)) error {
	u, err := url.Parse(baseURL)
	if err != nil {
		return err
	}
	_, err = New(Config{BaseURL: u, Appkey: testAppkey, Appsecret: secret}, &upstream.Client{}).Fetch(ctx)
	return err
}

// A wrong appkey is refused like a wrong appsecret, by the simulator's
// vendor body, and neither credential shows in the error.
func TestWrongAppkey(t *testing.T) {
	sim := simulator.NewGuoyangyun(testAppkey, testAppsecret)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c := New(Config{BaseURL: u, Appkey: "1111111111111111111", Appsecret: testutil.Secret(testAppsecret)}, &upstream.Client{})
	snap, err := c.Fetch(context.Background())
	assert.Nil(t, snap)
	assert.EqualError(t, err, "POST "+srv.URL+"/"+searchAccountPath+`: api_error: vendor reported failure (code 1002): "appkey或appsecret错误"`)
}
