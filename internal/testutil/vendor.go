package testutil

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// Secret is a credential source that always returns s.
func Secret(s string) func() (string, error) { return func() (string, error) { return s, nil } }

// JSONResponse is a response of status with body as JSON, for decoders
// tested without a server.
func JSONResponse(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
}

// Fetch is one vendor client's fetch against baseURL with secret as its
// credential source.
type Fetch func(ctx context.Context, baseURL string, secret func() (string, error)) error

// CheckSecretReadFailure checks that a secret that cannot be read fails the fetch as
// secret_error naming the credential (what), before any request.
func CheckSecretReadFailure(t *testing.T, what string, fetch Fetch) {
	t.Helper()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	t.Cleanup(srv.Close)
	err := fetch(context.Background(), srv.URL, func() (string, error) {
		return "", errors.New("secret file /run/secrets/x is empty")
	})
	assert.Equal(t, upstream.ResultSecretError, upstream.ResultOf(err))
	assert.EqualError(t, err, "secret_error: reading the "+what+": secret file /run/secrets/x is empty")
	assert.Zero(t, requests.Load())
}

// CheckTransportErrorsHide checks that, though Go's *url.Error prints the
// whole URL, the client's errors for a refused connection and for a timeout name the
// request (op, e.g. "GET /path") without any of secrets.
func CheckTransportErrorsHide(t *testing.T, op string, secret string, fetch Fetch, secrets ...string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	method, path, _ := strings.Cut(op, " ")

	err = fetch(context.Background(), closed, Secret(secret))
	assert.Equal(t, upstream.ResultNetworkError, upstream.ResultOf(err))
	assert.ErrorContains(t, err, method+" "+closed+path+": network_error: ")
	for _, s := range append(secrets, secret) {
		assert.NotContains(t, err.Error(), s)
	}

	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		// Only once the body is read does the server notice the client
		// going away and cancel the context.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = fetch(ctx, hang.URL, Secret(secret))
	assert.Equal(t, upstream.ResultTimeout, upstream.ResultOf(err))
	for _, s := range append(secrets, secret) {
		assert.NotContains(t, err.Error(), s)
	}
}
