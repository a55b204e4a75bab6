package collector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/cluster"
	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// A replica builds, refreshes and serves only the accounts it owns, and a
// reload keeps that rule.
func TestReplicaServesOnlyItsOwnAccounts(t *testing.T) {
	_, inj, server := startAIOpsSimulator(t, httptest.NewServer)
	var yaml strings.Builder
	yaml.WriteString("accounts:\n")
	var names []string
	for i := range 12 {
		name := fmt.Sprintf("team-%02d", i)
		names = append(names, name)
		fmt.Fprintf(&yaml, "  - name: %s\n    base_url: %s\n    aiops: {email: %s, token: %s}\n", name, server.URL, simEmail, simToken)
	}
	cfg, err := config.Parse([]byte(yaml.String()), "")
	require.NoError(t, err)

	shards, err := cluster.New(3, 1, "")
	require.NoError(t, err)
	var owned []string
	for _, name := range names {
		if shards.Owns(name) {
			owned = append(owned, name)
		}
	}
	require.NotEmpty(t, owned)
	require.Less(t, len(owned), len(names))

	reg := prometheus.NewRegistry()
	e := New(Options{Clock: newFakeClock().Now, Registerer: reg, Owns: shards.Owns})
	for range 2 { // the first load, then a reload
		require.NoError(t, e.Apply(cfg))
		got := scrapeOnce(t, e, context.Background(), "")
		for _, name := range names {
			key := fmt.Sprintf(`quota_exporter_scrape_success{account=%q,vendor="aiops"}`, name)
			if shards.Owns(name) {
				assert.Equal(t, 1.0, got[key], name)
			} else {
				assert.NotContains(t, got, key, name)
			}
			_, has := e.Gatherer(t.Context(), name, nil)
			assert.Equal(t, shards.Owns(name), has, name)
		}
		assert.Equal(t, int64(len(owned)), inj.Requests(), "one upstream call per own account, none for the others")
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(`
# HELP quota_exporter_accounts Configured accounts this replica owns, refreshes and serves (all of them unless --cluster.shards is over 1).
# TYPE quota_exporter_accounts gauge
quota_exporter_accounts %d
`, len(owned))), "quota_exporter_accounts"))
		// Only own accounts have upstream counters.
		assert.Len(t, vendorSeries(got, "quota_exporter_upstream_requests_total{"), len(owned)*len(upstream.Results))
	}
}
