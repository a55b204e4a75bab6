package faults

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
)

// Each account of the demo config reaches its vendor through that vendor's
// Injector.
func TestStartDemo(t *testing.T) {
	demo, injectors, err := StartDemo(time.Now())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, demo.Close()) })
	cfg, err := config.Parse(demo.ConfigYAML(), "")
	require.NoError(t, err)
	require.Len(t, injectors, len(cfg.Accounts))

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for _, a := range cfg.Accounts {
		inj := injectors[a.Effective.Vendor]
		require.NotNil(t, inj, "no injector for %s", a.Name)
		inj.SetFault(Fault{Kind: HTML, Times: 1})
		resp, err := client.Get(a.Effective.BaseURL.String())
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, a.Name)
		assert.EqualValues(t, 1, inj.Requests(), a.Name)
	}
}
