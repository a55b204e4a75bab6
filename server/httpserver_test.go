package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTPServerLimitsClients(t *testing.T) {
	srv := NewHTTPServer(http.NotFoundHandler(), nil)
	assert.Equal(t, 30*time.Second, srv.ReadTimeout, "the whole request, body included")
	assert.Equal(t, 10*time.Second, srv.ReadHeaderTimeout)
	assert.Equal(t, 2*time.Minute, srv.IdleTimeout)
}

// A client that declares a body and drips it, as in a slow-loris attack,
// is cut off once its request has taken the server's read timeout, while
// other clients are served meanwhile.
func TestSlowRequestBodyIsCutOff(t *testing.T) {
	f := newFixture(t, "ops")
	require.NoError(t, f.srv.Reload())
	srv := NewHTTPServer(f.srv.Handler(), nil)
	srv.ReadTimeout = time.Second // the real 30s, shortened to keep the test fast
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		assert.ErrorIs(t, <-served, http.ErrServerClosed)
	})

	conn, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	_, err = fmt.Fprintf(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n")
	require.NoError(t, err)
	dripped := make(chan struct{})
	go func() {
		defer close(dripped)
		for range 200 { // 20 s, unless the server closes the connection first
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	resp, err := http.Get("http://" + l.Addr().String() + "/metrics")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode, "other scrapes are served meanwhile")

	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	start := time.Now()
	_, err = io.ReadAll(conn) // the answer, then EOF once the server closes the connection
	require.NoError(t, err, "the server did not close the connection of the dripping client")
	assert.Less(t, time.Since(start), 5*time.Second)
	_ = conn.Close()
	<-dripped
}
