package collector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Far-future dates keep their value instead of wrapping (UnixNano and
// time.Sub overflow after 2262).
func TestFarFutureDates(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	end := time.Date(10000, 1, 1, 0, 0, 0, 0, shanghai) // the end of 9999-12-31
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, 253402272000.0, unixSeconds(end))
	assert.InDelta(t, 2912105.6667, daysUntil(end, now), 0.001)
	assert.Equal(t, 1.5, unixSeconds(time.Unix(1, 500_000_000)))
	assert.Equal(t, -0.5, daysUntil(now.Add(-12*time.Hour), now))
}
