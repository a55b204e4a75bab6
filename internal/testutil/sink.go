// Package testutil holds helpers that tests of several packages share.
package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// Sink is another origin that a hostile upstream redirects to: it records
// whatever reaches it, so a test can prove that nothing did.
type Sink struct {
	*httptest.Server
	mu       sync.Mutex
	received []string // method, URL, headers and body of each request
}

// NewSink starts a Sink, closed when t ends.
func NewSink(t testing.TB) *Sink {
	s := &Sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // whatever arrived is evidence enough
		s.mu.Lock()
		defer s.mu.Unlock()
		s.received = append(s.received, r.Method+" "+r.URL.String()+" "+r.Header.Get("Authorization")+" "+r.Referer()+" "+string(body))
	}))
	t.Cleanup(s.Close)
	return s
}

// AssertRefused checks that err is the http_error of a refused redirect
// naming the sink's host, never its query, and that the sink received
// nothing at all.
func (s *Sink) AssertRefused(t testing.TB, err error) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, upstream.ResultHTTPError, upstream.ResultOf(err), "%v", err)
	u, perr := url.Parse(s.URL)
	require.NoError(t, perr)
	assert.Contains(t, err.Error(), "to host \""+u.Host+"\" refused")
	assert.NotContains(t, err.Error(), "?", "the target's query may hold credentials")
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Empty(t, s.received, "nothing may reach the other origin")
}
