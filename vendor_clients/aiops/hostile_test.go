package aiops

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// simulated is a client of the aiops simulator served over TLS, which
// follows redirects or not.
func simulated(t *testing.T, follow bool) (*Client, *simulator.AIOps) {
	t.Helper()
	sim := simulator.NewAIOps(testEmail, testToken)
	srv := httptest.NewTLSServer(sim)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	up := &upstream.Client{HTTP: srv.Client(), FollowRedirects: follow}
	return New(Config{BaseURL: u, Email: testEmail, Token: func() (string, error) { return testToken, nil }}, up), sim
}

// An https upstream redirecting to http: Basic auth must not go there in
// clear text, whether redirects are followed or not.
func TestRedirectToHTTPKeepsBasicAuth(t *testing.T) {
	for _, follow := range []bool{false, true} {
		c, sim := simulated(t, follow)
		sink := testutil.NewSink(t)
		sim.SetFault(simulator.Fault{Kind: simulator.FaultRedirect, Status: http.StatusFound, Target: sink.URL})
		snap, err := c.Fetch(context.Background())
		assert.Nil(t, snap)
		sink.AssertRefused(t, err)
		if follow {
			assert.Contains(t, err.Error(), "https to http")
		}
	}
}

// {"success": true} without data is no empty license list.
func TestAnswerWithoutData(t *testing.T) {
	c, sim := simulated(t, false)
	sim.SetFault(simulator.Fault{Kind: simulator.FaultNoData})
	snap, err := c.Fetch(context.Background())
	assert.Nil(t, snap)
	assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
	assert.ErrorContains(t, err, "license list is missing from the answer")
}

// The last day a date can name is exported as the end of that day.
func TestExpiryInTheYear9999(t *testing.T) {
	s := newSetup(t, "", serve(200, `{"success":true,"data":[{"sys_id":"a","expired_time":"9999-12-31"}]}`))
	snap, err := s.client.Fetch(context.Background())
	require.NoError(t, err)
	require.Len(t, snap.Licenses, 1)
	assert.Equal(t, time.Date(10000, 1, 1, 0, 0, 0, 0, shanghai(t)), snap.Licenses[0].Expiry)
}

// A declared length over the limit is refused before a byte is read: the
// simulator never sends the rest, so waiting for it would time out.
func TestDeclaredLengthOverTheLimit(t *testing.T) {
	c, sim := simulated(t, false)
	sim.SetFault(simulator.Fault{Kind: simulator.FaultDeclaredLength, Size: upstream.DefaultMaxBodyBytes + 1})
	snap, err := c.Fetch(context.Background())
	assert.Nil(t, snap)
	assert.Equal(t, upstream.ResultTooLarge, upstream.ResultOf(err))
	assert.ErrorContains(t, err, "declared as 33554433 bytes exceeds 33554432")
}
