package tingyun

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/canary"
	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// canaryUsers carry personal data that must never leave the client: every
// value is distinctive, so finding one anywhere is a leak, not a
// coincidence.
func canaryUsers() []simulator.TingyunUser {
	num := func(v int64) simulator.Count { return simulator.Count{Value: v, Wire: simulator.WireNumber} }
	return []simulator.TingyunUser{{
		ID: 501, Code: "ops", Name: "运维", Password: "pw-CANARY-a1f0", Email: "canary-a@mail.invalid",
		Mobile: "13900007001", Phone: "010-77770001", Type: num(11), Status: num(1), Ctime: "2020-01-02 03:04:05",
	}, {
		ID: 502, Code: "viewer", Name: "报表", Password: "pw-CANARY-b2e1", Email: "canary-b@mail.invalid",
		Mobile: "13900007002", Phone: "010-77770002", Type: simulator.Count{Value: 4}, Status: simulator.Count{Value: 0},
		Ctime: "2021-06-30 23:59:59",
	}}
}

// canaries lists every personal value of us and the authkey.
func canaries(us []simulator.TingyunUser) []string {
	out := []string{testAuthkey}
	for _, u := range us {
		out = append(out, u.Password, u.Email, u.Mobile, u.Phone)
	}
	return out
}

func clientFor(t *testing.T, baseURL string, authkey func() (string, error), up *upstream.Client) *Client {
	t.Helper()
	u, err := url.Parse(baseURL)
	require.NoError(t, err)
	return New(Config{BaseURL: u, Authkey: authkey, Location: shanghai(t)}, up)
}

// Answers written by hand around the canary users: a vendor error that
// still carries data, and decode errors caused next to personal data.
func TestErrorAnswersKeepPersonalDataOut(t *testing.T) {
	users := canaryUsers()
	userJSON := func(extra string) string {
		var b strings.Builder
		for i, u := range users {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":%d,"code":%q,"password":%q,"email":%q,"mobile":%q,"phone":%q,"ctime":"2020-01-02 03:04:05"}`,
				u.ID, u.Code, u.Password, u.Email, u.Mobile, u.Phone)
		}
		return "[" + b.String() + extra + "]"
	}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		result upstream.Result
		says   string
	}{
		{"vendor error with data", 200, `{"status":500,"error_code":"ServerError","message":"稍后重试","data":` + userJSON("") + `}`,
			upstream.ResultAPIError, `(code ServerError): "稍后重试"`},
		{"permission denied with data", 200, `{"status":403,"error_code":"PermissionDeniedError","message":"","data":` + userJSON("") + `}`,
			upstream.ResultAuthError, "(code PermissionDeniedError)"},
		{"HTTP 500 echoing the request", 500, `{"status":500,"message":"GET /x?authkey=` + testAuthkey + `","data":` + userJSON("") + `}`,
			upstream.ResultHTTPError, `vendor says "GET /x?authkey=<redacted>"`},
		{"password where the name goes", 200, `{"status":200,"error_code":0,"data":` + userJSON(`,{"id":9,"name":{"password":"`+users[0].Password+`"}}`) + `}`,
			upstream.ResultDecodeError, "user list"},
		{"phone number as ctime", 200, `{"status":200,"error_code":0,"data":` + userJSON(`,{"id":9,"ctime":"`+users[0].Mobile+`"}`) + `}`,
			upstream.ResultDecodeError, `user "9": ctime: expected a time`},
		{"mobile as a misplaced number", 200, `{"status":200,"error_code":0,"data":` + userJSON(`,{"id":9,"type":{"m":`+users[1].Mobile+`}}`) + `}`,
			upstream.ResultDecodeError, "user list"},
		{"duplicate id next to passwords", 200, `{"status":200,"error_code":0,"data":` + userJSON(`,{"id":501}`) + `}`,
			upstream.ResultDecodeError, `users 1 and 3 of 3 have the same id "501"`},
		{"data as an object of secrets", 200, `{"status":200,"error_code":0,"data":{"password":"` + users[0].Password + `"}}`,
			upstream.ResultDecodeError, "user list"},
		{"cut short after a password", 200, `{"status":200,"error_code":0,"data":[{"id":1,"password":"` + users[1].Password,
			upstream.ResultDecodeError, "malformed JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			snap, err := newClient(t, srv.URL).Fetch(context.Background())
			require.Error(t, err)
			assert.Nil(t, snap)
			assert.Equal(t, tc.result, upstream.ResultOf(err), "%v", err)
			assert.Contains(t, err.Error(), tc.says)
			canary.AssertAbsent(t, snap, err, canaries(users))
		})
	}
}

// The authkey is read on every Fetch, so a rotated file takes effect, and
// it reaches the vendor intact however it needs escaping.
func TestAuthkeyIsReadOnEveryFetch(t *testing.T) {
	keys := []string{"first-key", "a+b/c=d&e f%", "第三"}
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Query().Get("authkey"))
		assert.Equal(t, []string{"authkey"}, keysOf(r.URL.Query()), "no other parameter")
		_, _ = io.WriteString(w, `{"status":200,"error_code":0,"data":[]}`)
	}))
	t.Cleanup(srv.Close)
	var calls atomic.Int32
	c := clientFor(t, srv.URL, func() (string, error) { return keys[calls.Add(1)-1], nil }, &upstream.Client{})
	for range keys {
		snap, err := c.Fetch(context.Background())
		require.NoError(t, err)
		assert.Equal(t, &Snapshot{Users: []User{}}, snap)
	}
	assert.Equal(t, keys, got)
}

func keysOf(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	return out
}

func TestAuthkeyReadFailure(t *testing.T) {
	testutil.CheckSecretReadFailure(t, "authkey", fetch)
}

func TestTransportErrorsHideTheAuthkey(t *testing.T) {
	testutil.CheckTransportErrorsHide(t, "GET /"+userListPath, testAuthkey, fetch)
}

// fetch reads the user list from baseURL with the authkey secret.
func fetch(ctx context.Context, baseURL string, secret func() (string, error)) error {
	u, err := url.Parse(baseURL)
	if err != nil {
		return err
	}
	_, err = New(Config{BaseURL: u, Authkey: secret}, &upstream.Client{}).Fetch(ctx)
	return err
}

// More shapes the vendor may send for a good answer: each field tolerated
// on its own, and nothing invented for what is missing.
func TestDecodeMoreVariants(t *testing.T) {
	loc := shanghai(t)
	for _, tc := range []struct {
		name string
		body string
		want []User
	}{
		{"error_code, message and time null; status a string", `{"status":" 200 ","error_code":null,"message":null,"time":null,` +
			`"data":[{"id":1,"type":11,"status":1,"ctime":"2015-05-21 14:42:09"}]}`,
			[]User{{ID: "1", Type: code(11), Status: code(1), Created: time.Date(2015, 5, 21, 14, 42, 9, 0, loc)}}},
		{"error_code an empty string", `{"status":200,"error_code":"","data":[{"id":2}]}`, []User{{ID: "2"}}},
		{"data empty", `{"status":200,"error_code":"0","data":[]}`, []User{}},
		{"id beyond float64 precision kept exactly", `{"status":200,"error_code":0,"data":[{"id":12345678901234567890}]}`,
			[]User{{ID: "12345678901234567890"}}},
		{"codes as padded or spaced strings", `{"status":200,"error_code":0,"data":[{"id":3,"type":" 04","status":"01"}]}`,
			[]User{{ID: "3", Type: code(4), Status: code(1)}}},
		{"codes that are no integers are unknown, not errors", `{"status":200,"error_code":0,"data":[{"id":4,"type":"task","status":1.5}]}`,
			[]User{{ID: "4"}}},
		{"ctime with fractional seconds and spaces", `{"status":200,"error_code":0,"data":[{"id":5,"ctime":" 2017-03-01 00:36:46.250 "}]}`,
			[]User{{ID: "5", Created: time.Date(2017, 3, 1, 0, 36, 46, 250_000_000, loc)}}},
		{"ctime empty", `{"status":200,"error_code":0,"data":[{"id":6,"ctime":""}]}`, []User{{ID: "6"}}},
		{"every documented and unknown extra", `{"status":200,"error_code":0,"request":"/x","data":[{"id":7,"code":"c","name":"n",` +
			`"password":null,"email":["a"],"mobile":{"m":1},"phone":true,"detail_ids":"1,2","task_ids":[1],` +
			`"change_task_ids_creator":null,"if_newtask_view":1,"new_create":{"x":[]},"future":1}]}`,
			[]User{{ID: "7", Code: "c", Name: "n"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := testutil.JSONResponse(http.StatusOK, tc.body)
			defer func() { _ = resp.Body.Close() }()
			snap, err := newClient(t, "http://vendor.invalid").decode(resp, []string{testAuthkey})
			require.NoError(t, err)
			assert.Equal(t, tc.want, snap.Users)
		})
	}
}

// Envelopes that report failure, however the vendor spells it.
func TestEnvelopeFailures(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		result     upstream.Result
		err        string
	}{
		{"permission denied, status 200", `{"status":200,"error_code":"PermissionDeniedError","message":"授权码无效"}`,
			upstream.ResultAuthError, `auth_error: vendor reported failure (code PermissionDeniedError): "授权码无效"`},
		{"error code a number", `{"status":200,"error_code":1001,"message":"参数错误"}`,
			upstream.ResultAPIError, `api_error: vendor reported failure (code 1001): "参数错误"`},
		{"status absent", `{"error_code":0,"data":[]}`, upstream.ResultAPIError, `api_error: vendor reported failure (code status 0)`},
		{"status a string", `{"status":"500","error_code":"0","message":"busy"}`,
			upstream.ResultAPIError, `api_error: vendor reported failure (code status 500): "busy"`},
		{"message with control characters and the authkey", `{"status":403,"error_code":"PermissionDeniedError","message":"bad\n\tkey ` + strings.ToUpper(testAuthkey) + `"}`,
			upstream.ResultAuthError, `auth_error: vendor reported failure (code PermissionDeniedError): "bad key <redacted>"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := testutil.JSONResponse(http.StatusOK, tc.body)
			defer func() { _ = resp.Body.Close() }()
			snap, err := newClient(t, "http://vendor.invalid").decode(resp, []string{testAuthkey})
			assert.Nil(t, snap)
			assert.Equal(t, tc.result, upstream.ResultOf(err))
			assert.EqualError(t, err, tc.err)
		})
	}
}

// The zone of ctime is the configured one, and China time by default.
func TestCreatedInTheAccountsZone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"status":200,"error_code":0,"data":[{"id":1,"ctime":"2021-11-08 07:49:28"}]}`)
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	for _, tc := range []struct {
		loc  *time.Location
		unix int64
	}{
		{nil, 1636328968}, // 2021-11-07 23:49:28 UTC
		{time.UTC, 1636357768},
		{time.FixedZone("UTC-5", -5*3600), 1636375768},
	} {
		c := New(Config{BaseURL: u, Authkey: testutil.Secret(testAuthkey), Location: tc.loc}, &upstream.Client{})
		snap, err := c.Fetch(context.Background())
		require.NoError(t, err)
		assert.Equal(t, tc.unix, snap.Users[0].Created.Unix(), "%v", tc.loc)
	}
}
