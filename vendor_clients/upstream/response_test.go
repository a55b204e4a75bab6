package upstream

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func response(status int, contentType, body string) *http.Response {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func TestDecodeJSON(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body string
		status                  int
		want                    string // the decoded field, or
		wantErr                 string // the whole error message
	}{
		{name: "object", contentType: "application/json", body: `{"v":"x"}`, want: "x"},
		{name: "whatever content type", contentType: "text/plain", body: " \n{\"v\":\"x\"}\n", want: "x"},
		{name: "byte order mark", contentType: "application/json;charset=UTF-8", body: "\ufeff{\"v\":\"x\"}", want: "x"},
		{name: "error status", status: 500, body: `{"v":"x"}`, want: "x"},
		{name: "html", contentType: "text/html; charset=utf-8", body: "<html><body>502 Bad Gateway SECRET</body></html>",
			wantErr: "response is not JSON (content-type text/html)"},
		{name: "plain text", body: "Bad Gateway", wantErr: "response is not JSON (no content-type)"},
		{name: "bad content type", contentType: "SECRET/;;", body: "SECRET", wantErr: "response is not JSON (malformed content-type)"},
		{name: "empty", contentType: "application/json", body: " \n", wantErr: "response body is empty"},
		{name: "truncated", body: `{"v":"SECRET`, wantErr: "malformed JSON: unexpected end of JSON input"},
		{name: "malformed", body: `{"v":SECRET}`, wantErr: "malformed JSON: invalid character 'S' looking for beginning of value"},
		{name: "trailing data", body: `{"v":"x"} SECRET`, wantErr: "malformed JSON: invalid character 'S' after top-level value"},
		{name: "wrong type", body: `{"v":12345678901234567890}`,
			wantErr: "json: cannot unmarshal number into Go struct field .v of type string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status := c.status
			if status == 0 {
				status = 200
			}
			var got struct {
				V string `json:"v"`
			}
			resp := response(status, c.contentType, c.body)
			defer func() { require.NoError(t, resp.Body.Close()) }()
			err := DecodeJSON(resp, &got)
			if c.wantErr != "" {
				require.EqualError(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got.V)
		})
	}
}

// An error page is read only as far as a message could be, so that even a
// huge one stays the HTTP error it is.
func TestDecodeJSONBoundsErrorBodies(t *testing.T) {
	body := `{"message":"` + strings.Repeat("x", 1<<20) + `"}`
	r := strings.NewReader(body)
	resp := &http.Response{StatusCode: 502, Header: http.Header{}, Body: io.NopCloser(r)}
	var v struct{ Message string }
	require.EqualError(t, DecodeJSON(resp, &v), "malformed JSON: unexpected end of JSON input")
	require.Equal(t, int64(len(body)-maxErrorBodyBytes), int64(r.Len()))
}

// encoding/json quotes a misplaced number; Unmarshal does not.
func TestUnmarshalNeverQuotesValues(t *testing.T) {
	const secret = "8771711500303127746"
	for _, doc := range []string{
		`{"data": ` + secret + `}`,
		`{"data": [` + secret + `]}`,
		`{"data": [{"sys_id": ` + secret + `}]}`,
		`{"n": ` + secret + `}`,
		`{"b": ` + secret + `}`,
		`{"b": "` + secret + `"}`,
	} {
		var v struct {
			Data []struct {
				SysID bool `json:"sys_id"`
			} `json:"data"`
			N int8 `json:"n"`
			B bool `json:"b"`
		}
		err := Unmarshal([]byte(doc), &v)
		require.Error(t, err, doc)
		require.NotContains(t, err.Error(), secret, doc)
		require.NotContains(t, err.Error(), secret[:4], doc)
		var te *json.UnmarshalTypeError
		require.ErrorAs(t, err, &te, doc)
	}
}

func TestVendorMessage(t *testing.T) {
	const email, token = "Ops@Example.com", "tok/en+SECRET 1"
	for _, c := range []struct {
		name, in, want string
		secrets        []string
	}{
		{name: "plain", in: "bad credentials", want: "bad credentials"},
		{name: "no secrets given", in: "user ops@example.com unknown", want: "user ops@example.com unknown"},
		{name: "echoed", in: "user ops@example.com with token tok/en+SECRET 1 unknown",
			secrets: []string{email, token}, want: "user <redacted> with token <redacted> unknown"},
		{name: "case changed", in: "user OPS@EXAMPLE.COM, token TOK/EN+secret 1",
			secrets: []string{email, token}, want: "user <redacted>, token <redacted>"},
		{name: "query encoded", in: "GET /x?email=Ops%40Example.com&token=tok%2Fen%2BSECRET+1",
			secrets: []string{email, token}, want: "GET /x?email=<redacted>&token=<redacted>"},
		{name: "path encoded", in: "GET /x/tok%2Fen+SECRET%201", secrets: []string{token}, want: "GET /x/<redacted>"},
		{name: "longest first", in: "cred abcdef", secrets: []string{"abc", "abcdef"}, want: "cred <redacted>"},
		{name: "empty secret ignored", in: "bad", secrets: []string{""}, want: "bad"},
		{name: "white space and control characters", in: " line one\r\n\tline\x00two\x1b[31m  ", want: "line one line two [31m"},
		{name: "secret split by white space", in: "tok/en+SECRET\n1", secrets: []string{token}, want: "<redacted>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, VendorMessage(c.in, c.secrets...))
		})
	}
}

func TestVendorMessageTruncates(t *testing.T) {
	long := strings.Repeat("错误", 150) // 300 characters, 900 bytes
	got := VendorMessage(long)
	require.Equal(t, 201, utf8.RuneCountInString(got))
	require.True(t, utf8.ValidString(got))
	require.Equal(t, strings.Repeat("错误", 100)+"…", got)

	exact := strings.Repeat("x", 200)
	require.Equal(t, exact, VendorMessage(exact))

	// Redaction comes first, so a secret past the cut is gone too, not half shown.
	secret := "SECRET-0123456789"
	got = VendorMessage(strings.Repeat("x", 190)+secret, secret)
	require.Equal(t, strings.Repeat("x", 190)+"<redacted>", got)
}

// readBody returns the body exactly, whatever the declared length says
// and however many chunks it takes.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("0123456789", readChunk/4) // 2.5 chunks
	for _, declared := range []int64{-1, 0, 10, int64(len(body)), int64(len(body)) + 7} {
		got, err := readBody(strings.NewReader(body), declared)
		require.NoError(t, err)
		assert.Equal(t, len(body), len(got), "declared %d", declared)
		assert.Equal(t, body, string(got), "declared %d", declared)
	}
	got, err := readBody(strings.NewReader(""), -1)
	require.NoError(t, err)
	assert.Empty(t, got)
}
