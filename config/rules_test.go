package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
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

	require.Equal(t, EffectiveLimit{MaxConcurrency: 1, RequestsPerSecond: 0}, cfg.LimitFor(VendorVZICloud))
	require.Equal(t, EffectiveLimit{MaxConcurrency: DefaultMaxConcurrency, RequestsPerSecond: 2.5}, cfg.LimitFor(VendorAIOps))
	require.Equal(t, EffectiveLimit{MaxConcurrency: DefaultMaxConcurrency, RequestsPerSecond: DefaultRequestsPerSecond}, cfg.LimitFor(VendorTingyun))
}

// A proxy password is never printed: not in errors of any kind, nor in the
// summary of a valid config.
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
			require.NotContains(t, cfg.Summary(), "PASSWORD", doc)
		}
	}
}

func writeSecret(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode)) // whatever the umask
	return path
}

func TestSecretFileRules(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	big := writeSecret(t, strings.Repeat("x", maxSecretFile+1), 0o600)
	for _, tc := range []struct {
		name, path, want string
	}{
		// Neither blocks: a FIFO without a writer, an endless device.
		{"fifo", fifo, "token_file: " + fifo + " is not a regular file (p---------)"},
		{"device", "/dev/zero", "token_file: /dev/zero is not a regular file (Dc---------)"},
		{"directory", filepath.Dir(fifo), "token_file: " + filepath.Dir(fifo) + " is not a regular file (d---------)"},
		{"too large", big, "token_file: " + big + " is larger than 64 KiB"},
		{"missing", "/nonexistent/CANARY-SECRET-123", "token_file: cannot be opened: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SecretSource{File: tc.path, key: "token_file"}.Read()
			require.EqualError(t, err, tc.want)
		})
	}

	// The largest secret file allowed reads whole.
	largest := writeSecret(t, strings.Repeat("x", maxSecretFile), 0o600)
	got, err := SecretSource{File: largest}.Read()
	require.NoError(t, err)
	require.Len(t, got, maxSecretFile)
}

// A world-readable secret file is read, and reported once per file.
func TestWorldReadableSecretFileIsWarnedOnce(t *testing.T) {
	open, private := writeSecret(t, "s3cret\n", 0o644), writeSecret(t, "s3cret\n", 0o640)
	var warned []string
	warn := func(file string) { warned = append(warned, file) }
	for range 3 {
		for _, path := range []string{open, private} {
			got, err := SecretSource{File: path, warn: warn}.Read()
			require.NoError(t, err)
			require.Equal(t, "s3cret", got)
		}
	}
	require.Equal(t, []string{open}, warned)
}

// WithSecretWarning hooks the warning into the account's secret source,
// leaving the account itself as parsed, so it still compares equal.
func TestWithSecretWarning(t *testing.T) {
	path := writeSecret(t, "t0ken\n", 0o604)
	cfg, err := Parse([]byte("accounts:\n  - name: a\n    aiops: {email: e, token_file: "+path+"}\n"), "")
	require.NoError(t, err)
	again, err := Parse([]byte("accounts:\n  - name: a\n    aiops: {email: e, token_file: "+path+"}\n"), "")
	require.NoError(t, err)
	var warned []string
	hooked := cfg.Accounts[0].WithSecretWarning(func(file string) { warned = append(warned, file) })
	got, err := hooked.AIOps.TokenSource().Read()
	require.NoError(t, err)
	require.Equal(t, "t0ken", got)
	require.Equal(t, []string{path}, warned)
	require.Equal(t, again.Accounts[0], cfg.Accounts[0])
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
	require.Equal(t, Secret("k"), cfg.Accounts[1].Tingyun.Authkey)
}
