package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/secret"
)

func TestParseLabelsLimitsAndRedirects(t *testing.T) {
	cfg, err := Parse([]byte(`defaults:
  labels: {team: ops, env: prod}
limits:
  vzicloud: {max_concurrency: 1, requests_per_second: 0}
  aiops: {requests_per_second: 2.5}
accounts:
  - name: a
    labels: {team: cameras, site: "上海"}
    http_client_config: {follow_redirects: true}
    tingyun: {authkey: x}
  - name: b
    http_client_config: {enable_http2: false}
    tingyun: {authkey: x}
  - name: c
    tingyun: {authkey: x}
`), "")
	require.NoError(t, err)
	a, b, c := cfg.Accounts[0].Effective, cfg.Accounts[1].Effective, cfg.Accounts[2].Effective
	require.Equal(t, map[string]string{"team": "cameras", "env": "prod", "site": "上海"}, a.Labels)
	require.Equal(t, map[string]string{"team": "ops", "env": "prod"}, b.Labels)

	// Redirects are followed only when asked for.
	require.True(t, a.HTTPClientConfig.FollowRedirects)
	require.False(t, b.HTTPClientConfig.FollowRedirects)
	require.False(t, b.HTTPClientConfig.EnableHTTP2)
	require.False(t, c.HTTPClientConfig.FollowRedirects)

	require.Equal(t, Limit{MaxConcurrency: 1, RequestsPerSecond: 0}, cfg.LimitFor(VendorVZICloud))
	require.Equal(t, Limit{MaxConcurrency: DefaultMaxConcurrency, RequestsPerSecond: 2.5}, cfg.LimitFor(VendorAIOps))
	require.Equal(t, Limit{MaxConcurrency: DefaultMaxConcurrency, RequestsPerSecond: DefaultRequestsPerSecond}, cfg.LimitFor(VendorTingyun))
}

// A proxy password is never printed: not in errors of any kind, nor when a
// valid config is.
func TestProxyPasswordNeverPrinted(t *testing.T) {
	const password = "PROXY-PASSWORD-42"
	for _, proxy := range []string{
		"http://user:" + password + "@proxy:3128",
		"http://user:" + password + "@proxy:port",
		"http://user:" + password + "@proxy:3128/%zz",
		"http://user:PROXY/PASSWORD-42@proxy:3128", // a slash makes the password look like a path
		"http://user:" + password + "@pro xy:3128",
		"ftp://user:" + password + "@[::1",
	} {
		for _, extra := range []string{"", "\n      no_proxy: localhost", "\n      unknown: 1", "\n      proxy_from_environment: true"} {
			doc := "accounts:\n  - name: a\n    http_client_config:\n      proxy_url: '" + proxy + "'" + extra + "\n    tingyun: {authkey: x}\n"
			cfg, err := Parse([]byte(doc), "")
			if err != nil {
				require.NotContains(t, err.Error(), "PASSWORD", doc)
				require.NotContains(t, err.Error(), "PROXY", doc)
				continue
			}
			require.NotContains(t, printed(t, cfg), "PASSWORD", doc)
		}
	}
}

func TestCheckSecretFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good"), []byte("s\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600))
	cfg, err := Parse([]byte(`accounts:
  - name: good
    aiops: {email: e, token_file: good}
  - name: empty
    vzicloud:
      access_key_id: id
      access_key_secret_file: empty
  - name: missing
    tingyun: {authkey_file: missing}
  - name: inline
    guoyangyun: {appkey: k, appsecret: s}
`), dir)
	require.NoError(t, err, "a missing or empty secret file is no load error")
	require.EqualError(t, cfg.CheckSecretFiles(), strings.Join([]string{
		`account "empty": vzicloud.access_key_secret_file (line 7): ` + filepath.Join(dir, "empty") + ` is empty`,
		`account "missing": tingyun.authkey_file (line 9): cannot be opened: no such file or directory`,
	}, "\n"))
}

// Aliases stand for what they name, accounts included.
func TestParseAliases(t *testing.T) {
	cfg, err := Parse([]byte(`x-accounts: &accounts
  - name: a
    labels: &labels {team: ops}
    tingyun: &tingyun {authkey: k}
  - name: b
    labels: *labels
    tingyun: *tingyun
accounts: *accounts
`), "")
	require.Nil(t, cfg)
	require.EqualError(t, err, `line 1: unknown key "x-accounts"`)

	cfg, err = Parse([]byte(`defaults:
  labels: &labels {team: ops}
accounts: &accounts
  - name: a
    labels: *labels
    tingyun: &tingyun {authkey: k}
  - name: b
    tingyun: *tingyun
`), "")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"team": "ops"}, cfg.Accounts[1].Effective.Labels)
	require.Equal(t, secret.Secret("k"), cfg.Accounts[1].Secret.Value)
}
