package tingyun

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

func simulated(t *testing.T, follow bool) (*Client, *simulator.Tingyun) {
	t.Helper()
	sim := simulator.NewTingyun(testAuthkey)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return New(Config{BaseURL: u, Authkey: func() (string, error) { return testAuthkey, nil }}, &upstream.Client{FollowRedirects: follow}), sim
}

// A redirect to another origin that carries the query, authkey included,
// along (and the Referer with it): nothing reaches that origin.
func TestRedirectKeepsTheAuthkey(t *testing.T) {
	for _, follow := range []bool{false, true} {
		c, sim := simulated(t, follow)
		sink := testutil.NewSink(t)
		sim.SetFault(simulator.Fault{Kind: simulator.FaultRedirect, Target: sink.URL})
		snap, err := c.Fetch(context.Background())
		assert.Nil(t, snap)
		sink.AssertRefused(t, err)
		assert.NotContains(t, err.Error(), testAuthkey)
	}
}

func TestAnswerWithoutData(t *testing.T) {
	c, sim := simulated(t, false)
	sim.SetFault(simulator.Fault{Kind: simulator.FaultNoData})
	snap, err := c.Fetch(context.Background())
	assert.Nil(t, snap)
	assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
	assert.ErrorContains(t, err, "user list is missing from the answer")
}
