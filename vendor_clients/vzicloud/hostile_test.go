package vzicloud

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// A signature is replayable until it expires: a redirect carrying the
// signed query elsewhere must reach nothing.
func TestRedirectKeepsTheSignature(t *testing.T) {
	for _, follow := range []bool{false, true} {
		c, sim := newTestClient(t, nil, Config{})
		c.up.FollowRedirects = follow
		sink := testutil.NewSink(t)
		sim.SetFault(simulator.Fault{Kind: simulator.FaultRedirect, Target: sink.URL})
		snap, err := c.Fetch(context.Background())
		assert.Nil(t, snap)
		sink.AssertRefused(t, err)
		assert.NotContains(t, err.Error(), "signature")
	}
}

func TestAnswerWithoutItems(t *testing.T) {
	c, sim := newTestClient(t, nil, Config{})
	sim.SetFault(simulator.Fault{Kind: simulator.FaultNoData})
	snap, err := c.Fetch(context.Background())
	assert.Nil(t, snap)
	assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
	assert.ErrorContains(t, err, "items is missing from the answer")
}
