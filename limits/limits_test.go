package limits

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
)

func limitsConfig(concurrency int, rps float64) *config.Config {
	return &config.Config{Limits: map[string]config.Limit{
		config.VendorAIOps: {MaxConcurrency: concurrency, RequestsPerSecond: rps},
	}}
}

// A reload keeps the budget of a host whose limit is unchanged, replaces
// the one whose limit changed, and leaves other vendors' alone.
func TestConfigureReplacesOnlyChangedBudgets(t *testing.T) {
	l := New(nil)
	l.Configure(limitsConfig(2, 5))
	aiops := host{config.VendorAIOps, "a.example:443"}
	tingyun := host{config.VendorTingyun, "t.example:443"}
	first, other := l.budget(aiops), l.budget(tingyun)
	assert.Equal(t, config.Limit{MaxConcurrency: 2, RequestsPerSecond: 5}, first.limit)
	assert.Equal(t, config.Limit{MaxConcurrency: config.DefaultMaxConcurrency, RequestsPerSecond: config.DefaultRequestsPerSecond}, other.limit)

	l.Configure(limitsConfig(2, 5))
	assert.Same(t, first, l.budget(aiops), "unchanged limit, same budget")
	l.Configure(limitsConfig(3, 5))
	assert.NotSame(t, first, l.budget(aiops), "changed limit, new budget")
	assert.Equal(t, 3, l.budget(aiops).limit.MaxConcurrency)
	assert.Same(t, other, l.budget(tingyun))
}

// The wait ends with the caller's context: a full semaphore fails at the
// deadline, and releasing the slot lets the next request through.
func TestAcquireWaitsWithinTheContext(t *testing.T) {
	l := New(nil)
	l.Configure(limitsConfig(1, 0))
	acquire := l.For(config.VendorAIOps, "a.example:443")
	release, err := acquire(t.Context())
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = acquire(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "max_concurrency 1")

	release()
	release, err = acquire(t.Context())
	require.NoError(t, err)
	release()
}
