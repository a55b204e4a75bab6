package testutil

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/quotaexporter/quota_exporter/simulator/faults"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// Simulated starts a vendor client against a fresh simulator, following
// redirects or not, and returns the simulator's fault injector and the
// client's fetch.
type Simulated func(t *testing.T, follow bool) (*faults.Injector, func(context.Context) error)

// CheckRedirectsRefused checks that, whether the client follows redirects or not, an
// upstream answering status with a Location on another origin (path and
// query, credentials included, copied along) gets a refused redirect, and
// nothing reaches that origin. wantInError is in the error when redirects
// are followed, to tell why.
func CheckRedirectsRefused(t *testing.T, start Simulated, status int, wantInError string) {
	t.Helper()
	for _, follow := range []bool{false, true} {
		inj, fetch := start(t, follow)
		sink := NewSink(t)
		inj.SetFault(faults.Fault{Kind: faults.Redirect, Status: status, Target: sink.URL})
		err := fetch(context.Background())
		sink.AssertRefused(t, err)
		if follow {
			assert.ErrorContains(t, err, wantInError)
		}
	}
}

// CheckAnswerWithoutData checks that the vendor's success envelope without its data
// is a decode error saying says, never an empty account.
func CheckAnswerWithoutData(t *testing.T, start Simulated, says string) {
	t.Helper()
	inj, fetch := start(t, false)
	inj.SetFault(faults.Fault{Kind: faults.NoData})
	err := fetch(context.Background())
	assert.Equal(t, upstream.ResultDecodeError, upstream.ResultOf(err))
	assert.ErrorContains(t, err, says)
}

// OtherOrigin is what a refused redirect to another origin says.
const OtherOrigin = "would receive the credentials"

// Redirects are the statuses a hostile upstream redirects with: 302, and
// 307 and 308, which make a client send the request body again.
var Redirects = []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect}
