package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Within the origin a redirect is followed only when the account allows
// it; refused, it is an http_error naming the host.
func TestRedirectWithinOrigin(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new?secret=s3", http.StatusMovedPermanently)
			return
		}
		_, _ = w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	get := func(follow bool) error {
		req, err := NewRequest(context.Background(), http.MethodGet, srv.URL+"/old", nil)
		require.NoError(t, err)
		c := &Client{FollowRedirects: follow}
		return c.Do(context.Background(), req, func(*http.Response) error { return nil })
	}
	require.NoError(t, get(true))
	err := get(false)
	require.Error(t, err)
	assert.Equal(t, ResultHTTPError, ResultOf(err))
	assert.EqualError(t, err, "GET "+srv.URL+"/old: http_error: redirect (HTTP 301) to host \""+host+"\" refused: follow_redirects is off")
	var ue *Error
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, http.StatusMovedPermanently, ue.StatusCode)
}

func TestOrigin(t *testing.T) {
	same := [][2]string{
		{"https://h.example", "https://H.example:443/x"},
		{"http://h.example:80", "HTTP://h.example/y?z"},
	}
	for _, p := range same {
		a, b := mustParse(t, p[0]), mustParse(t, p[1])
		assert.Equal(t, origin(a), origin(b), p)
	}
	other := [][2]string{
		{"https://h.example", "http://h.example"},
		{"https://h.example", "https://h.example:8443"},
		{"https://h.example", "https://evil.example"},
		{"https://h.example", "https://h.example.evil.example"},
	}
	for _, p := range other {
		a, b := mustParse(t, p[0]), mustParse(t, p[1])
		assert.NotEqual(t, origin(a), origin(b), p)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// Responses open at once count together against a shared budget, and
// what a closed one read is given back.
func TestBodyBudget(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", 60)))
	}))
	t.Cleanup(srv.Close)
	ctx := WithBodyBudget(context.Background(), NewBodyBudget(100))
	c := &Client{}
	get := func(inside DecodeFunc) error {
		req, err := NewRequest(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		return c.Do(ctx, req, func(resp *http.Response) error {
			if _, err := io.ReadAll(resp.Body); err != nil {
				return err
			}
			return inside(resp)
		})
	}
	done := func(*http.Response) error { return nil }
	require.NoError(t, get(done))
	require.NoError(t, get(done), "the first gave its 60 bytes back")

	var innerErr error
	outerErr := get(func(*http.Response) error { innerErr = get(done); return nil })
	require.NoError(t, outerErr)
	assert.Equal(t, ResultTooLarge, ResultOf(innerErr), "60 + 60 open at once exceed 100")
	assert.ErrorContains(t, innerErr, "responses read at once exceed 100 bytes together")
	require.NoError(t, get(done), "everything was given back")
}
