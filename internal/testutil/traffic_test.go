package testutil

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Traffic counts requests in flight while the simulator answers them.
func TestTrafficRecordsPeakInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	traffic := NewTraffic(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	srv := httptest.NewServer(traffic)
	t.Cleanup(srv.Close)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			resp, err := http.Get(srv.URL)
			if assert.NoError(t, err) {
				_ = resp.Body.Close()
			}
		})
	}
	for range 3 {
		<-entered // all three are in the handler at once
	}
	close(release)
	wg.Wait()
	require.Len(t, traffic.Arrivals(), 3)
	assert.Equal(t, 3, traffic.Peak())

	release = make(chan struct{})
	close(release)
	go func() { <-entered }()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 3, traffic.Peak(), "one request alone leaves the peak")
	assert.Len(t, traffic.Arrivals(), 4)
}
