package upstream

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
)

// limitedBody fails reads past the limit instead of truncating silently, so a
// truncated document is never mistaken for a complete one. With a shared
// budget, what it read also counts against that until release.
type limitedBody struct {
	r              io.Reader
	left           int64
	read           int64 // bytes handed to the decoder, for the refresh's trace
	exceeded       bool
	shared         *BodyBudget // nil without one
	charged        int64       // taken from shared
	sharedExceeded bool
}

var errBodyTooLarge = errors.New("response body too large")

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.exceeded = true
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.read += int64(n)
	if l.shared != nil && n > 0 {
		l.charged += int64(n)
		if l.shared.left.Add(-int64(n)) < 0 {
			l.sharedExceeded = true
			return 0, errBodyTooLarge
		}
	}
	return n, err
}

// release gives back to the shared budget what the body took from it.
func (l *limitedBody) release() {
	if l.shared != nil {
		l.shared.left.Add(l.charged)
	}
}

// BodyBudget bounds the bytes that several responses read together while
// they are open, such as the pages of one refresh read concurrently: each
// stays under the client's own limit, and all of them together under the
// budget's. Going over fails the response that did as too_large.
type BodyBudget struct {
	limit int64
	left  atomic.Int64
}

// NewBodyBudget returns a budget of limit bytes.
func NewBodyBudget(limit int64) *BodyBudget {
	b := &BodyBudget{limit: limit}
	b.left.Store(limit)
	return b
}

type budgetKey struct{}

// WithBodyBudget makes every request sent with ctx count against b.
func WithBodyBudget(ctx context.Context, b *BodyBudget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

func budgetOf(ctx context.Context) *BodyBudget {
	b, _ := ctx.Value(budgetKey{}).(*BodyBudget)
	return b
}
