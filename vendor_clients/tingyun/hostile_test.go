package tingyun

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

func simulated(t *testing.T, follow bool) (*faults.Injector, func(context.Context) error) {
	t.Helper()
	inj := faults.Wrap(simulator.NewTingyun(testAuthkey))
	srv := httptest.NewServer(inj)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c := New(Config{BaseURL: u, Authkey: testutil.Secret(testAuthkey)}, &upstream.Client{FollowRedirects: follow})
	return inj, func(ctx context.Context) error { _, err := c.Fetch(ctx); return err }
}

// A redirect to another origin carries the query, authkey included, along
// (and the Referer with it): nothing may reach that origin.
func TestRedirectKeepsTheAuthkey(t *testing.T) {
	for _, status := range testutil.Redirects {
		testutil.CheckRedirectsRefused(t, simulated, status, testutil.OtherOrigin)
	}
}

func TestAnswerWithoutData(t *testing.T) {
	testutil.CheckAnswerWithoutData(t, simulated, "user list is missing from the answer")
}
