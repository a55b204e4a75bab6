package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testEmail = "ops@example.com"
	testToken = "s3cr3t-token-value"
)

// fixtureLicense is the license of testdata/aiops_license_list.json, a copy
// of the vendor's documented sample.
var fixtureLicense = AIOpsLicense{
	SysID: "07c89bcf-7cd6-45ea-98f4-2ef9dd408b99", LicenseType: "lite", License: "基础版",
	User: 100004605132, Telephone: "15726649462", ContactName: "manman01",
	SysCreatedOn: "2025-11-06", ExpiredTime: "2027-01-06", NextDate: "2026-04-11",
	IsUsed: 1, AutoRenew: 0, IsExpired: 0,
	TelNum: Count{Value: 0}, TelTotal: Count{Value: 100},
	MsgNum: Count{Value: 0}, MsgTotal: Count{Value: 300},
	WeChatNum: Count{Value: 0}, WeChatTotal: Count{Value: 300},
	EmailNum: Count{Value: 0}, EmailTotal: Count{Value: 300},
	IntTelNum: Count{Value: 0}, IntTelTotal: Count{Value: 0},
	IntMsgNum: Count{Value: 0}, IntMsgTotal: Count{Value: 0},
}

func newAIOpsServer(t *testing.T) (*AIOps, *httptest.Server) {
	t.Helper()
	a := NewAIOps(testEmail, testToken)
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

// answer is what a client got.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// aiopsGet sends a GET to path; setAuth, if not nil, sets the credentials.
func aiopsGet(t *testing.T, srv *httptest.Server, path string, setAuth func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	if setAuth != nil {
		setAuth(req)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return answer{resp.StatusCode, resp.Header, body}
}

func basic(email, token string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(email, token) }
}

var rightAuth = basic(testEmail, testToken)

func TestAIOpsAuth(t *testing.T) {
	for name, auth := range map[string]func(*http.Request){
		"none":        nil,
		"wrong token": basic(testEmail, "wrong-token"),
		"wrong email": basic("other@example.com", testToken),
		"swapped":     basic(testToken, testEmail),
		"empty":       basic("", ""),
		"bearer":      func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) },
	} {
		t.Run(name, func(t *testing.T) {
			_, srv := newAIOpsServer(t)
			for _, path := range []string{aiopsLicenseListPath, aiopsTestPath} {
				a := aiopsGet(t, srv, path, auth)
				assert.Equal(t, http.StatusUnauthorized, a.status, path)
				assert.Equal(t, jsonType, a.header.Get("Content-Type"))
				var env struct {
					Success *bool
					Code    int
					Message string
				}
				require.NoError(t, json.Unmarshal(a.body, &env))
				require.NotNil(t, env.Success)
				assert.False(t, *env.Success)
				assert.Equal(t, http.StatusUnauthorized, env.Code)
				assert.NotEmpty(t, env.Message)
				for _, s := range []string{testEmail, testToken, "wrong-token", "other@example.com"} {
					assert.NotContains(t, string(a.body), s, "credentials echoed")
				}
			}
		})
	}

	t.Run("right", func(t *testing.T) {
		_, srv := newAIOpsServer(t)
		a := aiopsGet(t, srv, aiopsLicenseListPath, rightAuth)
		assert.Equal(t, http.StatusOK, a.status)
		assert.JSONEq(t, `{"success":true,"data":[]}`, string(a.body))
	})
}

// The answer is the documented sample, byte for byte once compacted: the
// same fields, types and order.
func TestAIOpsAnswersLikeTheFixture(t *testing.T) {
	fixture, err := os.ReadFile("testdata/aiops_license_list.json")
	require.NoError(t, err)
	var want bytes.Buffer
	require.NoError(t, json.Compact(&want, fixture))

	sim, srv := newAIOpsServer(t)
	sim.SetLicenses([]AIOpsLicense{fixtureLicense})
	a := aiopsGet(t, srv, aiopsLicenseListPath, rightAuth)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, jsonType, a.header.Get("Content-Type"))
	assert.Equal(t, want.String(), string(a.body))
}

func TestAIOpsTokenTest(t *testing.T) {
	_, srv := newAIOpsServer(t)
	a := aiopsGet(t, srv, aiopsTestPath, rightAuth)
	assert.Equal(t, http.StatusOK, a.status)
	assert.JSONEq(t, `{"result":"success","message":"test ok","data":"ops@example.com","totalCount":0,"code":200}`, string(a.body))
}

func TestAIOpsUnknownPathsAndMethods(t *testing.T) {
	_, srv := newAIOpsServer(t)
	for _, auth := range []func(*http.Request){nil, rightAuth} {
		for _, path := range []string{"/", "/api/alert/rest/api/v1/ca/getLicenseLists", "/api/alert/rest/api/v2/ca/getLicenseList"} {
			assert.Equal(t, http.StatusNotFound, aiopsGet(t, srv, path, auth).status, path)
		}
	}
	resp, err := srv.Client().Post(srv.URL+aiopsLicenseListPath, "application/json", nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestAIOpsLicensesAreCopies(t *testing.T) {
	a := NewAIOps(testEmail, testToken)
	in := []AIOpsLicense{fixtureLicense}
	a.SetLicenses(in)
	in[0].SysID = "changed by the caller"
	out := a.Licenses()
	assert.Equal(t, []AIOpsLicense{fixtureLicense}, out)
	out[0].SysID = "changed by the caller"
	assert.Equal(t, []AIOpsLicense{fixtureLicense}, a.Licenses())

	a.SetLicenses(nil)
	assert.Empty(t, a.Licenses())
}

func TestAIOpsFaultBodies(t *testing.T) {
	sim, srv := newAIOpsServer(t)
	bodies := sim.FaultBodies()

	t.Run("unauthorized is the real rejection", func(t *testing.T) {
		real := aiopsGet(t, srv, aiopsLicenseListPath, nil)
		assert.Equal(t, string(real.body), string(bodies.Unauthorized))
	})

	t.Run("vendor error", func(t *testing.T) {
		for _, tt := range []struct {
			code, wantCode int
			message        string
		}{
			{0, 500, aiopsDefaultMessage},
			{400, 400, "参数错误"},
			{503, 503, aiopsDefaultMessage},
		} {
			status, body := bodies.VendorError(tt.code)
			assert.Equal(t, http.StatusOK, status, "the vendor's errors come with 200")
			assert.JSONEq(t, fmt.Sprintf(`{"success":false,"code":%d,"message":%q}`, tt.wantCode, tt.message), string(body))
		}
	})

	t.Run("wrong types", func(t *testing.T) {
		var got struct {
			Success bool
			Data    []map[string]any
		}
		require.NoError(t, json.Unmarshal(bodies.WrongTypes, &got))
		assert.True(t, got.Success, "a success envelope, so a client reads the license")
		require.Len(t, got.Data, 1)

		var fixture map[string]any
		raw, err := json.Marshal(fixtureLicense)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &fixture))
		delete(fixture, "telephone")
		for field := range fixture {
			v, ok := got.Data[0][field]
			if assert.True(t, ok, "%s missing", field) {
				assert.IsNotType(t, "", v, field)
				assert.IsNotType(t, float64(0), v, field)
			}
		}
		assert.NotContains(t, got.Data[0], "telephone")
	})
}

func TestCountMarshalJSON(t *testing.T) {
	for c, want := range map[Count]string{
		{Value: 300}:                       `"300"`,
		{Value: -5}:                        `"-5"`,
		{Value: 300, Wire: WireNumber}:     `300`,
		{Value: 300, Wire: WireNull}:       `null`,
		{Value: 1 << 62, Wire: WireNumber}: `4611686018427387904`,
	} {
		got, err := json.Marshal(c)
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	_, err := json.Marshal(Count{Wire: 9})
	assert.ErrorContains(t, err, "unknown Wire 9")
}

func TestAIOpsBadCountIsServerError(t *testing.T) {
	sim, srv := newAIOpsServer(t)
	bad := fixtureLicense
	bad.MsgNum.Wire = 9
	sim.SetLicenses([]AIOpsLicense{bad})
	assert.Equal(t, http.StatusInternalServerError, aiopsGet(t, srv, aiopsLicenseListPath, rightAuth).status)
}
