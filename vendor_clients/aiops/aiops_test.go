package aiops

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai without the host's zoneinfo

	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

const (
	testEmail = "ops@example.com"
	testToken = "tok-SECRET-8f3a9c"
	testUA    = "quota_exporter/test"
	listPath  = "/api/alert/rest/api/v1/ca/getLicenseList"
)

// fixture is the vendor's published sample answer, kept once beside the
// tolerant decoders that must accept every vendor's sample.
func fixture(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("../upstream/testdata/vendors/aiops_license_list.json")
	require.NoError(t, err)
	return data
}

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	return loc
}

// recorder remembers every result the upstream client observed.
type recorder struct {
	mu      sync.Mutex
	results []upstream.Result
}

func (r *recorder) observe(req upstream.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, req.Result)
}

func (r *recorder) get() []upstream.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.results
}

type setup struct {
	client *Client
	up     *upstream.Client // tests may change its limits before fetching
	seen   *recorder
	url    string
}

// newSetup serves handler and returns a client for it with the test
// credentials; basePath is the optional prefix of the base URL.
func newSetup(t *testing.T, basePath string, handler http.HandlerFunc) setup {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL + basePath)
	require.NoError(t, err)
	rec := &recorder{}
	up := &upstream.Client{HTTP: srv.Client(), UserAgent: testUA, Timeout: 5 * time.Second, Observe: rec.observe}
	c := New(Config{
		BaseURL:  base,
		Email:    testEmail,
		Token:    func() (string, error) { return testToken, nil },
		Location: shanghai(t),
	}, up)
	return setup{client: c, up: up, seen: rec, url: srv.URL}
}

// serve answers every request with status and body as JSON.
func serve(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestFetchFixture(t *testing.T) {
	body := fixture(t)
	var req *http.Request
	s := newSetup(t, "", func(w http.ResponseWriter, r *http.Request) {
		req = r
		_, _ = w.Write(body)
	})

	snap, err := s.client.Fetch(context.Background())
	require.NoError(t, err)

	loc := shanghai(t)
	require.Equal(t, &Snapshot{Licenses: []License{{
		ID:          "07c89bcf-7cd6-45ea-98f4-2ef9dd408b99",
		Type:        "lite",
		Edition:     "基础版",
		UserID:      "100004605132",
		ContactName: "manman01",
		Quotas: []Quota{
			{Channel: "phone", Used: 0, Total: 100},
			{Channel: "sms", Used: 0, Total: 300},
			{Channel: "wechat", Used: 0, Total: 300},
			{Channel: "email", Used: 0, Total: 300},
			{Channel: "intl_phone", Used: 0, Total: 0},
			{Channel: "intl_sms", Used: 0, Total: 0},
		},
		Expiry:     time.Date(2027, 1, 7, 0, 0, 0, 0, loc),
		QuotaReset: time.Date(2026, 4, 11, 0, 0, 0, 0, loc),
		Expired:    upstream.Flag{Value: false, Valid: true},
		Bound:      upstream.Flag{Value: true, Valid: true},
		AutoRenew:  upstream.Flag{Value: false, Valid: true},
	}}}, snap)
	// expired_time 2027-01-06 in China time: valid through that day.
	require.Equal(t, int64(1799251200), snap.Licenses[0].Expiry.Unix())
	require.Equal(t, "2027-01-07T00:00:00+08:00", snap.Licenses[0].Expiry.Format(time.RFC3339))
	require.Equal(t, int64(1775836800), snap.Licenses[0].QuotaReset.Unix())
	// The member's phone number is not decoded at all.
	require.NotContains(t, fmt.Sprintf("%+v", snap), "15726649462")

	require.Equal(t, http.MethodGet, req.Method)
	require.Equal(t, listPath, req.URL.Path)
	require.Empty(t, req.URL.RawQuery)
	require.Equal(t, "application/json", req.Header.Get("Accept"))
	require.Equal(t, testUA, req.Header.Get("User-Agent"))
	user, pass, ok := req.BasicAuth()
	require.True(t, ok)
	require.Equal(t, testEmail, user)
	require.Equal(t, testToken, pass)
	require.Equal(t, []upstream.Result{upstream.ResultSuccess}, s.seen.get())
}

// Without a zone the vendor's own applies: China time.
func TestFetchDefaultsToChinaTime(t *testing.T) {
	s := newSetup(t, "", serve(200, string(fixture(t))))
	base, err := url.Parse(s.url)
	require.NoError(t, err)
	c := New(Config{BaseURL: base, Email: testEmail, Token: s.client.token}, s.up)
	snap, err := c.Fetch(context.Background())
	require.NoError(t, err)
	require.Equal(t, "2027-01-07T00:00:00+08:00", snap.Licenses[0].Expiry.Format(time.RFC3339))
	require.Equal(t, int64(1799251200), snap.Licenses[0].Expiry.Unix())
}

func TestFetchHonoursPathPrefix(t *testing.T) {
	for base, want := range map[string]string{
		"":              listPath,
		"/":             listPath,
		"/aiops":        "/aiops" + listPath,
		"/aiops/":       "/aiops" + listPath,
		"/proxy/ca/v2/": "/proxy/ca/v2" + listPath,
	} {
		t.Run(base, func(t *testing.T) {
			var got string
			s := newSetup(t, base, func(w http.ResponseWriter, r *http.Request) {
				got = r.URL.Path
				_, _ = io.WriteString(w, `{"success":true,"data":[]}`)
			})
			_, err := s.client.Fetch(context.Background())
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

func TestFetchReadsTokenEveryTime(t *testing.T) {
	var got []string
	s := newSetup(t, "", func(w http.ResponseWriter, r *http.Request) {
		_, pass, _ := r.BasicAuth()
		got = append(got, pass)
		_, _ = io.WriteString(w, `{"success":true,"data":[]}`)
	})
	tokens := []string{"first", "second"}
	calls := 0
	s.client.token = func() (string, error) {
		calls++
		if calls > len(tokens) {
			return "", errors.New("secret file /run/secrets/aiops is empty")
		}
		return tokens[calls-1], nil
	}

	for range tokens {
		_, err := s.client.Fetch(context.Background())
		require.NoError(t, err)
	}
	require.Equal(t, tokens, got)

	// A token that cannot be read fails the fetch before any request, and
	// the observer counts it.
	_, err := s.client.Fetch(context.Background())
	require.Equal(t, upstream.ResultSecretError, upstream.ResultOf(err))
	require.EqualError(t, err, "secret_error: reading the API token: secret file /run/secrets/aiops is empty")
	require.Len(t, got, 2)
	require.Equal(t, []upstream.Result{upstream.ResultSuccess, upstream.ResultSuccess, upstream.ResultSecretError}, s.seen.get())
}

// The same license written the ways the vendor may write it.
func TestFetchVariants(t *testing.T) {
	loc := shanghai(t)
	valid := func(v bool) upstream.Flag { return upstream.Flag{Value: v, Valid: true} }
	for _, c := range []struct {
		name    string
		license string
		want    License
	}{{
		name: "numbers as numbers",
		license: `{"sys_id":"a","user":100004605132,"is_used":1,"auto_renew":1,"isExpired":0,
			"telNum":3,"telTotal":100,"intMsgNum":0.5,"intMsgTotal":10}`,
		want: License{ID: "a", UserID: "100004605132", Bound: valid(true), AutoRenew: valid(true), Expired: valid(false),
			Quotas: []Quota{{"phone", 3, 100}, {"intl_sms", 0.5, 10}}},
	}, {
		name: "strings with spaces",
		license: `{"sys_id":"a","user":"100004605132","is_used":" 1 ","auto_renew":"0","isExpired":"1",
			"msgNum":" 7","msgTotal":"300 ","expired_time":" 2027-01-06 ","nextDate":"2026-04-11"}`,
		want: License{ID: "a", UserID: "100004605132", Bound: valid(true), AutoRenew: valid(false), Expired: valid(true),
			Quotas:     []Quota{{"sms", 7, 300}},
			Expiry:     time.Date(2027, 1, 7, 0, 0, 0, 0, loc),
			QuotaReset: time.Date(2026, 4, 11, 0, 0, 0, 0, loc)},
	}, {
		name:    "booleans",
		license: `{"sys_id":"a","is_used":true,"auto_renew":false,"isExpired":"true"}`,
		want:    License{ID: "a", Bound: valid(true), AutoRenew: valid(false), Expired: valid(true)},
	}, {
		name: "nulls are not given, not zero",
		license: `{"sys_id":"a","license_type":null,"license":null,"user":null,"contact_name":null,
			"is_used":null,"auto_renew":null,"isExpired":null,"expired_time":null,"nextDate":null,
			"telNum":null,"telTotal":null,"emailNum":null,"emailTotal":null}`,
		want: License{ID: "a"},
	}, {
		name:    "empty strings are not given",
		license: `{"sys_id":"a","is_used":"","expired_time":"","nextDate":"  ","weChatNum":"","weChatTotal":""}`,
		want:    License{ID: "a"},
	}, {
		name:    "absent",
		license: `{"sys_id":"a"}`,
		want:    License{ID: "a"},
	}, {
		name:    "half a quota is none",
		license: `{"sys_id":"a","telNum":"1","telTotal":null,"msgTotal":"5","emailNum":"2","emailTotal":"9"}`,
		want:    License{ID: "a", Quotas: []Quota{{"email", 2, 9}}},
	}, {
		name: "unknown fields, and the phone number in any shape",
		license: `{"sys_id":"a","telephone":{"country":86,"number":[157,2664]},"newField":[{"x":null}],
			"sys_created_on":"not a date","contact_name":"manman01","license_type":"pro","license":"专业版"}`,
		want: License{ID: "a", ContactName: "manman01", Type: "pro", Edition: "专业版"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			s := newSetup(t, "", serve(200, `{"success":true,"unknown":{"a":[1]},"data":[`+c.license+`]}`))
			snap, err := s.client.Fetch(context.Background())
			require.NoError(t, err)
			require.Equal(t, &Snapshot{Licenses: []License{c.want}}, snap)
		})
	}
}

func TestFetchEnvelopeVariants(t *testing.T) {
	for _, body := range []string{
		`{"success":true,"data":[]}`,
		`{"success":"true","data":[]}`,
		`{"success":1,"data":[],"message":"ok","code":200}`,
		"\ufeff" + `{"success":true,"data":[]}`,
	} {
		t.Run(body, func(t *testing.T) {
			s := newSetup(t, "", serve(200, body))
			snap, err := s.client.Fetch(context.Background())
			require.NoError(t, err)
			require.Empty(t, snap.Licenses)
		})
	}
}

func TestFetchValidates(t *testing.T) {
	for _, c := range []struct {
		name, data string
		want       string // the error after "GET <url>: decode_error: "
		secret     string // a value the message must not contain
	}{{
		name: "missing sys_id",
		data: `[{"sys_id":"a"},{"license_type":"lite"}]`,
		want: "license 2 of 2: sys_id is missing",
	}, {
		name: "null sys_id",
		data: `[{"sys_id":null}]`,
		want: "license 1 of 1: sys_id is missing",
	}, {
		name: "blank sys_id",
		data: `[{"sys_id":"  "}]`,
		want: "license 1 of 1: sys_id is missing",
	}, {
		name: "duplicate sys_id",
		data: `[{"sys_id":"a"},{"sys_id":"b"},{"sys_id":"a"}]`,
		want: `licenses 1 and 3 of 3 have the same sys_id "a"`,
	}, {
		name: "duplicate sys_id as number and string",
		data: `[{"sys_id":12},{"sys_id":"12"}]`,
		want: `licenses 1 and 2 of 2 have the same sys_id "12"`,
	}, {
		name: "ids equal once trimmed, kept trimmed",
		data: `[{"sys_id":"a "},{"sys_id":" a"}]`,
		want: `licenses 1 and 2 of 2 have the same sys_id "a"`,
	}, {
		name: "a huge duplicate id quoted cut short",
		data: `[{"sys_id":"` + strings.Repeat("x", 1<<20) + `"},{"sys_id":"` + strings.Repeat("x", 1<<20) + `"}]`,
		want: `licenses 1 and 2 of 2 have the same sys_id "` + strings.Repeat("x", 200) + `"… (1048576 bytes)`,
	}, {
		name:   "malformed expired_time",
		data:   `[{"sys_id":"a","expired_time":"2027/01/06"}]`,
		want:   `license "a": expired_time: expected a date YYYY-MM-DD`,
		secret: "2027/01/06",
	}, {
		name:   "malformed nextDate",
		data:   `[{"sys_id":"a","nextDate":"SECRET-2026-04-11"}]`,
		want:   `license "a": nextDate: expected a date YYYY-MM-DD`,
		secret: "SECRET",
	}, {
		name:   "quota not a number",
		data:   `[{"sys_id":"a","telTotal":"SECRET"}]`,
		want:   "license list: json: cannot unmarshal string (expected a number or a numeric string) into Go struct field license.telTotal of type upstream.Number",
		secret: "SECRET",
	}, {
		name:   "flag out of range",
		data:   `[{"sys_id":"a","isExpired":2}]`,
		want:   "license list: json: cannot unmarshal number (expected 0, 1 or a boolean, as such or as a string) into Go struct field license.isExpired of type upstream.Flag",
		secret: ":2",
	}, {
		name: "data not a list",
		data: `{"sys_id":"a"}`,
		want: "license list: json: cannot unmarshal object into Go value of type []aiops.license",
	}, {
		name:   "license not an object",
		data:   `[12345678901234567]`,
		want:   "license list: json: cannot unmarshal number into Go value of type aiops.license",
		secret: "12345678901234567",
	}, {
		name: "data null",
		data: `null`,
		want: "license list is missing from the answer",
	}} {
		t.Run(c.name, func(t *testing.T) {
			s := newSetup(t, "", serve(200, `{"success":true,"data":`+c.data+`}`))
			snap, err := s.client.Fetch(context.Background())
			require.Nil(t, snap)
			require.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
			require.EqualError(t, err, "GET "+s.url+listPath+": decode_error: "+c.want)
			if c.secret != "" {
				require.NotContains(t, err.Error(), c.secret)
			}
		})
	}
}

func TestFetchFailures(t *testing.T) {
	big := append(fixture(t), bytes.Repeat([]byte(" "), 2048)...)
	truncated := fixture(t)[:300]
	for _, c := range []struct {
		name        string
		handler     http.HandlerFunc
		maxBody     int64
		result      upstream.Result
		status      int
		retryAfter  time.Duration
		wantMessage string // the error after "GET <url>: "
	}{{
		name:        "401",
		handler:     serve(401, `{"success":false,"message":"Bad credentials"}`),
		result:      upstream.ResultAuthError,
		status:      401,
		wantMessage: `auth_error: HTTP status 401: vendor says "Bad credentials"`,
	}, {
		name:        "403 without a body",
		handler:     serve(403, ``),
		result:      upstream.ResultAuthError,
		status:      403,
		wantMessage: `auth_error: HTTP status 403`,
	}, {
		name: "429 with Retry-After",
		handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		result:      upstream.ResultRateLimited,
		status:      429,
		retryAfter:  2 * time.Minute,
		wantMessage: `rate_limited: HTTP status 429`,
	}, {
		name:        "500 with a message",
		handler:     serve(500, `{"success":false,"message":"  internal\nerror ","code":500}`),
		result:      upstream.ResultHTTPError,
		status:      500,
		wantMessage: `http_error: HTTP status 500: vendor says "internal error"`,
	}, {
		name: "502 HTML from a gateway",
		handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		},
		result:      upstream.ResultHTTPError,
		status:      502,
		wantMessage: `http_error: HTTP status 502`,
	}, {
		name:        "200 with success false",
		handler:     serve(200, `{"success":false,"message":"团队不存在","data":null}`),
		result:      upstream.ResultAPIError,
		status:      200,
		wantMessage: `api_error: vendor reported failure: "团队不存在"`,
	}, {
		name:        "200 without success",
		handler:     serve(200, `{"data":[]}`),
		result:      upstream.ResultAPIError,
		status:      200,
		wantMessage: `api_error: vendor reported failure`,
	}, {
		name:        "200 with code 401",
		handler:     serve(200, `{"success":false,"code":"401","message":"token invalid","data":"ops@example.com"}`),
		result:      upstream.ResultAuthError,
		status:      200,
		wantMessage: `auth_error: vendor reported failure (code 401): "token invalid"`,
	}, {
		name:        "200 with code 400",
		handler:     serve(200, `{"success":false,"code":400,"message":"bad parameter"}`),
		result:      upstream.ResultAPIError,
		status:      200,
		wantMessage: `api_error: vendor reported failure (code 400): "bad parameter"`,
	}, {
		name:        "malformed JSON",
		handler:     serve(200, `{"success":true,"data":[{"sys_id":"a",}]}`),
		result:      upstream.ResultDecodeError,
		status:      200,
		wantMessage: `decode_error: malformed JSON: invalid character '}' looking for beginning of object key string`,
	}, {
		name:        "truncated JSON",
		handler:     serve(200, string(truncated)),
		result:      upstream.ResultDecodeError,
		status:      200,
		wantMessage: `decode_error: malformed JSON: unexpected end of JSON input`,
	}, {
		name: "200 HTML",
		handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<!DOCTYPE html><html>login</html>")
		},
		result:      upstream.ResultDecodeError,
		status:      200,
		wantMessage: `decode_error: response is not JSON (content-type text/html)`,
	}, {
		name:        "200 empty",
		handler:     serve(200, ""),
		result:      upstream.ResultDecodeError,
		status:      200,
		wantMessage: `decode_error: response body is empty`,
	}, {
		name:        "body over the size limit",
		handler:     serve(200, string(big)),
		maxBody:     1024,
		result:      upstream.ResultTooLarge,
		status:      200,
		wantMessage: `too_large: response body exceeds 1024 bytes`,
	}} {
		t.Run(c.name, func(t *testing.T) {
			s := newSetup(t, "", c.handler)
			s.up.MaxBodyBytes = c.maxBody
			snap, err := s.client.Fetch(context.Background())
			require.Nil(t, snap)
			require.Equal(t, c.result, upstream.ResultOf(err))
			require.Equal(t, c.retryAfter, upstream.RetryAfterOf(err))
			var ue *upstream.Error
			require.ErrorAs(t, err, &ue)
			require.Equal(t, c.status, ue.StatusCode)
			require.EqualError(t, err, "GET "+s.url+listPath+": "+c.wantMessage)
			require.Equal(t, []upstream.Result{c.result}, s.seen.get())
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	for name, handler := range map[string]http.HandlerFunc{
		"no answer": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		},
		"stalled body": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"success":true,"data":[`)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSetup(t, "", handler)
			s.up.Timeout = 100 * time.Millisecond
			start := time.Now()
			snap, err := s.client.Fetch(context.Background())
			require.Nil(t, snap)
			require.Equal(t, upstream.ResultTimeout, upstream.ResultOf(err))
			require.Less(t, time.Since(start), 2*time.Second)
		})
	}
}

func TestFetchNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens at its address any more
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c := New(Config{BaseURL: base, Email: testEmail, Token: func() (string, error) { return testToken, nil }},
		&upstream.Client{Timeout: 5 * time.Second})
	snap, err := c.Fetch(context.Background())
	require.Nil(t, snap)
	require.Equal(t, upstream.ResultNetworkError, upstream.ResultOf(err))
}

// Whatever the vendor or a gateway echoes back, the email, the token and
// the Authorization header value never reach an error message.
func TestFetchNeverLeaksCredentials(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte(testEmail + ":" + testToken))
	echo := "user " + testEmail + " / " + strings.ToUpper(testEmail) + " / " + url.QueryEscape(testEmail) +
		", token " + testToken + " / " + strings.ToLower(testToken) + ", Authorization: Basic " + auth
	for _, c := range []struct {
		name, contentType, body string
		status                  int
	}{
		{name: "401 message", status: 401, body: `{"success":false,"message":"` + echo + `"}`},
		{name: "400 message", status: 400, body: `{"success":false,"message":"` + echo + `"}`},
		{name: "429 message", status: 429, body: `{"message":"` + echo + `"}`},
		{name: "500 message", status: 500, body: `{"message":"` + echo + `"}`},
		{name: "502 HTML", status: 502, contentType: "text/html", body: "<html>" + echo + "</html>"},
		{name: "200 failure", status: 200, body: `{"success":false,"message":"` + echo + `","data":"` + testEmail + `"}`},
		{name: "200 code 401", status: 200, body: `{"success":false,"code":401,"message":"` + echo + `"}`},
		{name: "200 not JSON", status: 200, contentType: "text/plain; token=" + testToken, body: echo},
		{name: "token in a quota", status: 200, body: `{"success":true,"data":[{"sys_id":"a","telTotal":"` + testToken + `"}]}`},
		{name: "token in a flag", status: 200, body: `{"success":true,"data":[{"sys_id":"a","is_used":"` + testToken + `"}]}`},
		{name: "token in a date", status: 200, body: `{"success":true,"data":[{"sys_id":"a","expired_time":"` + testToken + `"}]}`},
		{name: "token in success", status: 200, body: `{"success":"` + testToken + `"}`},
		{name: "token in data", status: 200, body: `{"success":true,"data":"` + testToken + `"}`},
		{name: "token unquoted", status: 200, body: `{"success":true,"data":[{"sys_id":` + testToken + `}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSetup(t, "", func(w http.ResponseWriter, _ *http.Request) {
				if c.contentType != "" {
					w.Header().Set("Content-Type", c.contentType)
				}
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			})
			_, err := s.client.Fetch(context.Background())
			require.Error(t, err)
			for _, msg := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				lower := strings.ToLower(msg)
				for _, secret := range []string{testEmail, testToken, auth, url.QueryEscape(testEmail)} {
					require.NotContains(t, lower, strings.ToLower(secret))
				}
				require.NotContains(t, msg, "8f3a9c")
			}
		})
	}
}

// FuzzDecode feeds arbitrary answers to the decoder: it must not panic, it
// fails only as a decode, API or auth error, and what it accepts is a
// license list the exporter can publish as is.
func FuzzDecode(f *testing.F) {
	f.Add(fixture(f))
	for _, s := range []string{
		`{"success":true,"data":null}`,
		`{"success":false,"code":401,"message":"x"}`,
		`{"success":true,"data":[{"sys_id":"a"},{"sys_id":"a"}]}`,
		`{"success":"1","data":[{"sys_id":1,"telNum":" 2","telTotal":3,"expired_time":"2027-02-30"}]}`,
		`<html></html>`,
	} {
		f.Add([]byte(s))
	}
	loc := shanghai(f)
	u, err := url.Parse("https://caweb.aiops.com")
	require.NoError(f, err)
	c := New(Config{BaseURL: u, Email: testEmail, Location: loc}, nil)
	channels := map[string]bool{"phone": true, "sms": true, "wechat": true, "email": true, "intl_phone": true, "intl_sms": true}

	f.Fuzz(func(t *testing.T, body []byte) {
		resp := &http.Response{
			StatusCode: 200,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(bytes.NewReader(body)),
		}
		snap, err := c.decode(resp, []string{testEmail, testToken})
		if err != nil {
			require.Nil(t, snap)
			require.Contains(t, []upstream.Result{upstream.ResultDecodeError, upstream.ResultAPIError, upstream.ResultAuthError}, upstream.ResultOf(err))
			return
		}
		ids := map[string]bool{}
		for _, l := range snap.Licenses {
			require.NotEmpty(t, strings.TrimSpace(l.ID))
			require.False(t, ids[l.ID], "duplicate id %q", l.ID)
			ids[l.ID] = true
			seen := map[string]bool{}
			for _, q := range l.Quotas {
				require.True(t, channels[q.Channel] && !seen[q.Channel], "channel %q", q.Channel)
				seen[q.Channel] = true
			}
			for _, ts := range []time.Time{l.Expiry, l.QuotaReset} {
				if !ts.IsZero() {
					require.Equal(t, loc, ts.Location())
					h, m, s := ts.Clock()
					require.Equal(t, [3]int{0, 0, 0}, [3]int{h, m, s})
				}
			}
		}
	})
}
