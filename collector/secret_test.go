package collector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// A secret file that cannot be read is counted as secret_error, though no
// request was sent (so no latency is observed), and the vendor is not
// called.
func TestUnreadableSecretFileIsCounted(t *testing.T) {
	_, inj, vendor := startAIOpsSimulator(t, httptest.NewServer)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(simToken), 0o600))
	cfg, err := config.Parse(fmt.Appendf(nil, "accounts:\n  - name: ops\n    base_url: %s\n    aiops: {email: %s, token_file: token}\n",
		vendor.URL, simEmail), dir)
	require.NoError(t, err)
	require.NoError(t, os.Remove(tokenFile)) // gone after the config was loaded
	e := New(Options{Clock: newFakeClock().Now, Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(cfg))

	got := scrapeOnce(t, e, context.Background(), "")
	assert.Equal(t, 0.0, got[`quota_exporter_scrape_success{account="ops",vendor="aiops"}`])
	assert.Equal(t, 1.0, requestsWith(e, "ops", "aiops", upstream.ResultSecretError))
	var latency dto.Metric
	require.NoError(t, e.latency.WithLabelValues("aiops").(prometheus.Histogram).Write(&latency))
	assert.Zero(t, latency.GetHistogram().GetSampleCount(), "no request, no duration")
	assert.Zero(t, inj.Requests())
}
