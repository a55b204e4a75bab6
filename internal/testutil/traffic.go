package testutil

import (
	"net/http"
	"sync"
	"time"
)

// Traffic wraps a simulated vendor and records what a vendor would see of the
// exporter's requests: how many were in flight at once, at most, and when
// each arrived. Tests use it to check the per-host limits.
type Traffic struct {
	next http.Handler

	mu       sync.Mutex
	inFlight int
	peak     int
	arrivals []time.Time
}

// NewTraffic records the requests that reach next.
func NewTraffic(next http.Handler) *Traffic {
	return &Traffic{next: next}
}

// ServeHTTP counts the request in flight while next answers it.
func (t *Traffic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	t.inFlight++
	t.peak = max(t.peak, t.inFlight)
	t.arrivals = append(t.arrivals, time.Now())
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.inFlight--
		t.mu.Unlock()
	}()
	t.next.ServeHTTP(w, r)
}

// Peak is the largest number of requests in flight at once so far.
func (t *Traffic) Peak() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peak
}

// Arrivals are the times requests arrived, in order.
func (t *Traffic) Arrivals() []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Time(nil), t.arrivals...)
}
