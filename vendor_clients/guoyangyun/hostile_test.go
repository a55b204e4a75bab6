package guoyangyun

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
	inj := faults.Wrap(simulator.NewGuoyangyun(testAppkey, testAppsecret))
	srv := httptest.NewServer(inj)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c := New(Config{BaseURL: u, Appkey: testAppkey, Appsecret: testutil.Secret(testAppsecret)}, &upstream.Client{FollowRedirects: follow})
	return inj, func(ctx context.Context) error { _, err := c.Fetch(ctx); return err }
}

// 307 and 308 make a client post the form again, appkey and appsecret
// included: never to another origin.
func TestRedirectKeepsTheForm(t *testing.T) {
	for _, status := range testutil.Redirects {
		testutil.CheckRedirectsRefused(t, simulated, status, testutil.OtherOrigin)
	}
}

func TestAnswerWithoutData(t *testing.T) {
	testutil.CheckAnswerWithoutData(t, simulated, "account list is missing from the answer")
}
