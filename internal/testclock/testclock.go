// Package testclock is a clock tests set and move, so that what happens over
// minutes or hours (cache, backoff, staleness) needs no sleeping.
package testclock

import (
	"sync"
	"time"
)

// Clock is safe for concurrent use; its zero value reads the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock reading start.
func New(start time.Time) *Clock {
	return &Clock{now: start}
}

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
