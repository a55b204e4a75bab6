package guoyangyun

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

func simulated(t *testing.T, follow bool) (*Client, *simulator.Guoyangyun) {
	t.Helper()
	sim := simulator.NewGuoyangyun(testAppkey, testAppsecret)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return New(Config{BaseURL: u, Appkey: testAppkey, Appsecret: func() (string, error) { return testAppsecret, nil }},
		&upstream.Client{FollowRedirects: follow}), sim
}

// 307 and 308 make a client post the form again, appkey and appsecret
// included: never to another origin.
func TestRedirectKeepsTheForm(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, follow := range []bool{false, true} {
			c, sim := simulated(t, follow)
			sink := testutil.NewSink(t)
			sim.SetFault(simulator.Fault{Kind: simulator.FaultRedirect, Status: status, Target: sink.URL})
			snap, err := c.Fetch(context.Background())
			assert.Nil(t, snap)
			sink.AssertRefused(t, err)
		}
	}
}

func TestAnswerWithoutData(t *testing.T) {
	c, sim := simulated(t, false)
	sim.SetFault(simulator.Fault{Kind: simulator.FaultNoData})
	snap, err := c.Fetch(context.Background())
	assert.Nil(t, snap)
	assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
	assert.ErrorContains(t, err, "account list is missing from the answer")
}
