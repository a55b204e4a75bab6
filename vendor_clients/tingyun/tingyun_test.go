package tingyun

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

const testAuthkey = "authkey-CANARY-5e71"

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	return loc
}

func newClient(t testing.TB, baseURL string) *Client {
	t.Helper()
	u, err := url.Parse(baseURL)
	require.NoError(t, err)
	return New(Config{BaseURL: u, Authkey: testutil.Secret(testAuthkey), Location: shanghai(t)},
		&upstream.Client{Timeout: 5 * time.Second})
}

func code(v int64) upstream.Code { return upstream.Code{Value: v, Valid: true} }

func TestFetchFixture(t *testing.T) {
	fixture, err := os.ReadFile("../upstream/testdata/vendors/tingyun_user_list.json")
	require.NoError(t, err)
	var query url.Values
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, query = r.URL.Path, r.URL.Query()
		_, _ = w.Write(fixture)
	}))
	t.Cleanup(srv.Close)

	snap, err := newClient(t, srv.URL+"/prefix").Fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "/prefix/network-report-data/user-config/list-json-authkey", path)
	assert.Equal(t, testAuthkey, query.Get("authkey"))
	loc := shanghai(t)
	assert.Equal(t, []User{
		{ID: "1230664", Code: "sihy000", Name: "1122", Type: code(3), Status: code(1), Created: time.Date(2015, 5, 21, 14, 42, 9, 0, loc)},
		{ID: "1594480", Code: "#1594480", Name: "sihy", Type: code(11), Status: code(0), Created: time.Date(2017, 2, 28, 14, 21, 33, 0, loc)},
		{ID: "1594507", Code: "shy000_bb", Name: "baobiao", Type: code(4), Status: code(1), Created: time.Date(2017, 3, 1, 0, 36, 46, 0, loc)},
	}, snap.Users)
}

func TestDecodeVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []User
	}{
		{"strings, nulls and unknown fields",
			`{"status":"200","error_code":"0","data":[{"id":"7","code":null,"name":"n","type":"11","status":null,"ctime":null,"extra":{"x":1}}],"more":true}`,
			[]User{{ID: "7", Name: "n", Type: code(11)}}},
		{"unknown codes kept", `{"status":200,"error_code":0,"data":[{"id":8,"type":99,"status":7}]}`,
			[]User{{ID: "8", Type: code(99), Status: code(7)}}},
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

func TestDecodeFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		result upstream.Result
		says   string
	}{
		{"permission denied", 200, `{"status":403,"error_code":"PermissionDeniedError","message":"授权码 ` + testAuthkey + ` 无效"}`, upstream.ResultAuthError, "PermissionDeniedError"},
		{"other error", 200, `{"status":500,"error_code":"InternalServerError","message":"boom"}`, upstream.ResultAPIError, "boom"},
		{"status without error code", 200, `{"status":502,"error_code":0,"message":""}`, upstream.ResultAPIError, "status 502"},
		{"duplicate id", 200, `{"status":200,"error_code":0,"data":[{"id":1},{"id":"1"}]}`, upstream.ResultDecodeError, "same id"},
		{"null data", 200, `{"status":200,"error_code":0,"data":null}`, upstream.ResultDecodeError, "user list is missing from the answer"},
		{"absent data", 200, `{"status":200,"error_code":0}`, upstream.ResultDecodeError, "user list is missing from the answer"},
		{"missing id", 200, `{"status":200,"error_code":0,"data":[{"code":"x"}]}`, upstream.ResultDecodeError, "id is missing"},
		{"bad ctime", 200, `{"status":200,"error_code":0,"data":[{"id":1,"ctime":"yesterday"}]}`, upstream.ResultDecodeError, "ctime"},
		{"password of a wrong type", 200, `{"status":200,"error_code":0,"data":[{"id":{"password":"` + testAuthkey + `"}}]}`, upstream.ResultDecodeError, "user list"},
		{"HTTP 403", 403, `{"message":"` + testAuthkey + `"}`, upstream.ResultAuthError, "HTTP status 403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			snap, err := newClient(t, srv.URL).Fetch(context.Background())
			require.Error(t, err)
			assert.Nil(t, snap)
			assert.Equal(t, tc.result, upstream.ResultOf(err))
			assert.Contains(t, err.Error(), tc.says)
			assert.NotContains(t, err.Error(), testAuthkey)
		})
	}
}

// Against the simulator: the demo users come back exactly, a wrong authkey
// is a clear auth error, and no personal data reaches the snapshot.
func TestFetchFromSimulator(t *testing.T) {
	sim := simulator.NewTingyun(testAuthkey)
	users := simulator.DemoTingyunUsers(time.Now())
	sim.SetUsers(users)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)

	snap, err := newClient(t, srv.URL).Fetch(context.Background())
	require.NoError(t, err)
	require.Len(t, snap.Users, len(users))
	loc := shanghai(t)
	for i, u := range users {
		created, err := time.ParseInLocation(time.DateTime, u.Ctime, loc)
		require.NoError(t, err)
		assert.Equal(t, User{ID: fmt.Sprint(u.ID), Code: u.Code, Name: u.Name, Type: code(u.Type.Value), Status: code(u.Status.Value), Created: created}, snap.Users[i])
	}
	dump := fmt.Sprintf("%+v", snap)
	for _, u := range users {
		for _, personal := range []string{u.Password, u.Email, u.Mobile, u.Phone} {
			if personal != "" {
				assert.NotContains(t, dump, personal)
			}
		}
	}

	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	wrong := New(Config{BaseURL: u, Authkey: func() (string, error) { return "wrong-authkey", nil }}, &upstream.Client{})
	_, err = wrong.Fetch(context.Background())
	require.Error(t, err)
	assert.Equal(t, upstream.ResultAuthError, upstream.ResultOf(err))
	assert.Contains(t, err.Error(), "PermissionDeniedError")
	assert.NotContains(t, err.Error(), "wrong-authkey")
}

// FuzzDecode: the decoder never panics, fails only with a decode, API or
// auth error that does not quote the authkey, and accepts only users with
// distinct ids.
func FuzzDecode(f *testing.F) {
	fixture, err := os.ReadFile("../upstream/testdata/vendors/tingyun_user_list.json")
	require.NoError(f, err)
	f.Add(fixture)
	f.Add([]byte(`{"status":403,"error_code":"PermissionDeniedError","message":"` + testAuthkey + `"}`))
	f.Add([]byte(`{"status":"200","data":[{"id":1,"ctime":"2020-02-30 00:00:00"}]}`))
	c := newClient(f, "http://vendor.invalid")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		snap, err := c.decode(resp, []string{testAuthkey})
		if err != nil {
			require.Contains(t, []upstream.Result{upstream.ResultDecodeError, upstream.ResultAPIError, upstream.ResultAuthError}, upstream.ResultOf(err))
			require.NotContains(t, err.Error(), testAuthkey)
			return
		}
		ids := map[string]bool{}
		for _, u := range snap.Users {
			require.NotEmpty(t, u.ID)
			require.False(t, ids[u.ID])
			ids[u.ID] = true
		}
	})
}
