package upstream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	assert.Equal(t, http.StatusMovedPermanently, err.(*Error).StatusCode)
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
