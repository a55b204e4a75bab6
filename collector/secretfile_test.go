package collector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
)

// A secret file every user may read works, and is logged as a warning once,
// however many accounts read it and however often.
func TestWorldReadableSecretFileIsLoggedOnce(t *testing.T) {
	_, _, vendor := startAIOpsSimulator(t, httptest.NewServer)
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(simToken+"\n"), 0o644))
	require.NoError(t, os.Chmod(tokenFile, 0o644))
	cfg, err := config.Parse(fmt.Appendf(nil, `defaults: {cache_ttl: 1m}
accounts:
  - name: ops
    base_url: %[1]s
    aiops: {email: %[2]s, token_file: %[3]s}
  - name: ops2
    base_url: %[1]s
    aiops: {email: %[2]s, token_file: %[3]s}
`, vendor.URL, simEmail, tokenFile), "")
	require.NoError(t, err)
	logs := &syncbuf.Buffer{}
	clock := newFakeClock()
	e := New(Options{Clock: clock.Now, Logger: log.NewLogfmtLogger(logs), Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(cfg))

	for range 3 {
		got := scrapeOnce(t, e, context.Background(), "")
		assert.Equal(t, 1.0, got[`quota_exporter_scrape_success{account="ops",vendor="aiops"}`])
		assert.Equal(t, 1.0, got[`quota_exporter_scrape_success{account="ops2",vendor="aiops"}`])
		clock.Advance(2 * time.Minute)
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "readable by every user"), logs.String())
	assert.Contains(t, logs.String(), "level=warn")
	assert.Contains(t, logs.String(), "file="+tokenFile)
}
