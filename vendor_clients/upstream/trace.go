package upstream

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Trace records what one refresh did upstream, for a person to read
// (/probe?debug=true): every request Client.Do sent and the notes vendor
// clients and the collector add (pages, limits). It holds nothing secret:
// requests are recorded with redacted URLs and safe errors. It is safe for
// concurrent use (pages are read in parallel).
type Trace struct {
	mu       sync.Mutex
	requests []TracedRequest
	notes    []string
}

// TracedRequest is one request of a trace.
type TracedRequest struct {
	Request
	Start time.Time
	Bytes int64 // body bytes read
}

type traceKey struct{}

// WithTrace returns a context whose requests are recorded in t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// traceOf returns the trace ctx carries, or nil.
func traceOf(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// Notef adds a line to the trace ctx carries, if any. The text must be as
// safe to show as an error message.
func Notef(ctx context.Context, format string, args ...any) {
	if t := traceOf(ctx); t != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.notes = append(t.notes, fmt.Sprintf(format, args...))
	}
}

func (t *Trace) add(r TracedRequest) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests = append(t.requests, r)
}

// Requests returns the recorded requests in the order they ended.
func (t *Trace) Requests() []TracedRequest {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]TracedRequest(nil), t.requests...)
}

// Notes returns the notes in the order they were added.
func (t *Trace) Notes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.notes...)
}
