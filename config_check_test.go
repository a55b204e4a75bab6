package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
)

// The --config.check summary shows every account's settings, as resolved,
// and never a secret.
func TestConfigSummary(t *testing.T) {
	cfg, err := config.Load("config/testdata/valid.yml")
	require.NoError(t, err)
	require.Equal(t, `account "ops-team": aiops https://caweb.example.com/aiops
  email ops@example.com, token_file config/testdata/secrets/aiops_token
  cache_ttl 10m, timeout 10s, refresh_timeout 2m, max_stale 30m, max_series 100000, timezone UTC
  http_client_config:
    tls_config:
      ca_file: config/testdata/ca.pem
      insecure_skip_verify: false
    follow_redirects: false
    enable_http2: true
account "cameras": vzicloud https://open.vzicloud.com
  page_size 500, expiry_windows [1d, 7d, 90d], where product_id eq 1, where state in [1 5], access_key_secret_file config/testdata/secrets/vzicloud_secret
  cache_ttl 2m, timeout 30s, refresh_timeout 2m, max_stale 2h, max_series 100000, timezone UTC
  http_client_config:
    tls_config:
      ca_file: config/testdata/ca.pem
      insecure_skip_verify: false
    follow_redirects: false
    enable_http2: true
account "netmon": tingyun https://network.tingyun.com
  authkey <secret>
  cache_ttl 2m, timeout 10s, refresh_timeout 2m, max_stale 30m, max_series 100000, timezone Asia/Shanghai
  http_client_config:
    follow_redirects: false
    enable_http2: true
    proxy_url: http://proxy.example:3128
    proxy_connect_header:
      Proxy-Authorization:
        - <secret>
account "sms": guoyangyun https://api.guoyangyun.com
  username sms-user, appsecret <secret>
  cache_ttl 2m, timeout 10s, refresh_timeout 2m, max_stale 30m, max_series 100000, timezone UTC
  http_client_config:
    tls_config:
      ca_file: config/testdata/ca.pem
      insecure_skip_verify: false
    follow_redirects: false
    enable_http2: true
`, summary(cfg))

	// With the default http_client_config, it is not shown.
	cfg, err = config.Parse([]byte("accounts:\n  - name: a\n    http_client_config: {}\n    tingyun: {authkey: x}\n"), "")
	require.NoError(t, err)
	require.Equal(t, `account "a": tingyun https://network.tingyun.com
  authkey <secret>
  cache_ttl 5m, timeout 15s, refresh_timeout 2m, max_stale 1h, max_series 100000, timezone Asia/Shanghai
`, summary(cfg))
}

// A proxy password is never printed in the summary of a config that loads.
func TestConfigSummaryHidesProxyPassword(t *testing.T) {
	const password = "PROXY-PASSWORD-42"
	for _, proxy := range []string{"http://user:" + password + "@proxy:3128", "http://user:" + password + "@proxy:3128/p"} {
		doc := "accounts:\n  - name: a\n    http_client_config:\n      proxy_url: '" + proxy + "'\n    tingyun: {authkey: x}\n"
		cfg, err := config.Parse([]byte(doc), "")
		require.NoError(t, err)
		got := summary(cfg)
		require.Contains(t, got, "proxy_url: http://user:xxxxx@proxy:3128")
		require.NotContains(t, got, "PASSWORD", doc)
	}
}
