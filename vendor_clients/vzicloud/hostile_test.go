package vzicloud

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

func simulated(t *testing.T, follow bool) (*faults.Injector, func(context.Context) error) {
	t.Helper()
	c, _, inj := newTestClient(t, nil, Config{})
	c.up.FollowRedirects = follow
	return inj, func(ctx context.Context) error { _, err := c.Fetch(ctx); return err }
}

// A signature is replayable until it expires: a redirect carrying the
// signed query elsewhere must reach nothing.
func TestRedirectKeepsTheSignature(t *testing.T) {
	for _, status := range testutil.Redirects {
		testutil.CheckRedirectsRefused(t, simulated, status, testutil.OtherOrigin)
	}
}

func TestAnswerWithoutItems(t *testing.T) {
	testutil.CheckAnswerWithoutData(t, simulated, "items is missing from the answer")
}

// Expiries up to the end of 9999 are kept exactly; beyond, the timestamp
// would wrap, so the answer is a decode error.
func TestFarFutureExpiry(t *testing.T) {
	end9999 := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	c, _, _ := newTestClient(t, []simulator.VZICloudGrant{{ProductID: 1, State: StateGranted, ExpireTime: end9999.Unix()}}, Config{})
	snap, err := c.Fetch(context.Background())
	require.NoError(t, err)
	next, ok := snap.Products["1"].NextExpiry(now)
	require.True(t, ok)
	assert.True(t, next.Equal(end9999), "%v", next)

	for _, expire := range []int64{math.MaxInt64, end9999.Unix() + 1, math.MinInt64} {
		c, _, _ := newTestClient(t, []simulator.VZICloudGrant{{ProductID: 1, State: StateGranted, ExpireTime: expire}}, Config{})
		snap, err := c.Fetch(context.Background())
		assert.Nil(t, snap)
		assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
		assert.ErrorContains(t, err, "expire_time is outside the years 1 to 9999")
	}
}

func TestDeclaredLengthOverTheLimit(t *testing.T) {
	inj, fetch := simulated(t, false)
	inj.SetFault(faults.Fault{Kind: faults.DeclaredLength, Size: 1 << 40})
	assert.Equal(t, upstream.ResultTooLarge, upstream.ResultOf(fetch(context.Background())))
}
