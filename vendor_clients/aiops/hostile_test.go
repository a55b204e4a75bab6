package aiops

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// simulated is a client of the aiops simulator served over TLS.
func simulated(t *testing.T, follow bool) (*faults.Injector, func(context.Context) error) {
	t.Helper()
	inj := faults.Wrap(simulator.NewAIOps(testEmail, testToken))
	srv := httptest.NewTLSServer(inj)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c := New(Config{BaseURL: u, Email: testEmail, Token: testutil.Secret(testToken)}, &upstream.Client{HTTP: srv.Client(), FollowRedirects: follow})
	return inj, func(ctx context.Context) error {
		snap, err := c.Fetch(ctx)
		assert.True(t, err == nil || snap == nil, "a snapshot only on success")
		return err
	}
}

// An https upstream redirecting to http: Basic auth must not go there in
// clear text.
func TestRedirectToHTTPKeepsBasicAuth(t *testing.T) {
	for _, status := range testutil.Redirects {
		testutil.CheckRedirectsRefused(t, simulated, status, "https to http")
	}
}

// {"success": true} without data is no empty license list.
func TestAnswerWithoutData(t *testing.T) {
	testutil.CheckAnswerWithoutData(t, simulated, "license list is missing from the answer")
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
	inj, fetch := simulated(t, false)
	inj.SetFault(faults.Fault{Kind: faults.DeclaredLength, Size: upstream.DefaultMaxBodyBytes + 1})
	err := fetch(context.Background())
	assert.Equal(t, upstream.ResultTooLarge, upstream.ResultOf(err))
	assert.ErrorContains(t, err, "declared as 33554433 bytes exceeds 33554432")
}
