package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		removeBinary() // built by the end-to-end tests
		os.Exit(code)
	}))
}

const checkToken = "canary-token-c0ffee"

// writeConfig writes an exporter.yml with a token file beside it.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte(checkToken+"\n"), 0o600))
	path := filepath.Join(dir, "exporter.yml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		yaml     string
		exit     int
		contains []string
	}{{
		name: "valid",
		yaml: "accounts:\n  - name: ops\n    aiops: {email: ops@example.com, token_file: token}\n",
		exit: 0, contains: []string{`account "ops"`, "aiops", "configuration is valid: 1 accounts"},
	}, {
		name: "inline secret is not printed",
		yaml: "accounts:\n  - name: ops\n    aiops: {email: ops@example.com, token: " + checkToken + "}\n",
		exit: 0, contains: []string{`account "ops"`, "<secret>"},
	}, {
		name: "bad duration",
		yaml: "accounts:\n  - name: ops\n    cache_ttl: soon\n    aiops: {email: ops@example.com, token_file: token}\n",
		exit: 1, contains: []string{`"ops"`, "cache_ttl", "line 3"},
	}, {
		name: "unknown key",
		yaml: "accounts:\n  - name: ops\n    aiops: {email: ops@example.com, token_file: token, tokn: " + checkToken + "}\n",
		exit: 1, contains: []string{"tokn", "line 3"},
	}, {
		name: "secret given twice",
		yaml: "accounts:\n  - name: ops\n    aiops: {email: ops@example.com, token_file: token, token: " + checkToken + "}\n",
		exit: 1, contains: []string{`"ops"`, "token"},
	}, {
		// Not a load error, but the check reports every one and fails.
		name: "missing secret files",
		yaml: "accounts:\n  - name: ops\n    aiops: {email: ops@example.com, token_file: nowhere}\n  - name: net\n    tingyun: {authkey_file: nowhere}\n",
		exit: 1, contains: []string{
			"configuration is valid: 2 accounts",
			`account "ops": aiops.token_file (line 3): cannot be opened: no such file or directory`,
			`account "net": tingyun.authkey_file (line 5): cannot be opened: no such file or directory`,
		},
	}, {
		// A secret typed into a *_file key names no file: it is not echoed.
		name: "secret typed as a path",
		yaml: "accounts:\n  - name: ops\n    aiops: {email: ops@example.com, token_file: " + checkToken + "}\n",
		exit: 1, contains: []string{`account "ops": aiops.token_file (line 3): cannot be opened`, "token_file (cannot be opened; path not shown)"},
	}, {
		name: "page size out of range",
		yaml: "accounts:\n  - name: cams\n    vzicloud: {access_key_id: id, access_key_secret_file: token, page_size: 0}\n",
		exit: 1, contains: []string{`"cams"`, "page_size"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			exit := run([]string{"--config.check", "--config.file", writeConfig(t, tc.yaml)}, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			assert.Equal(t, tc.exit, exit, out)
			for _, s := range tc.contains {
				assert.Contains(t, out, s)
			}
			assert.NotContains(t, out, checkToken)
		})
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	// exporter.yml reads its secrets from files beside it, as in the image.
	dir := t.TempDir()
	example, err := os.ReadFile("exporter.yml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exporter.yml"), example, 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "secrets"), 0o700))
	for _, name := range []string{"aiops_token", "vzicloud_secret", "tingyun_authkey", "guoyangyun_appsecret"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", name), []byte(checkToken), 0o600))
	}
	var stdout, stderr bytes.Buffer
	exit := run([]string{"--config.check", "--config.file", filepath.Join(dir, "exporter.yml")}, &stdout, &stderr)
	out := stdout.String() + stderr.String()
	assert.NotContains(t, out, checkToken)
	assert.Equal(t, 0, exit, out)
	for _, name := range []string{"ops-team", "cameras", "netmon", "sms"} {
		assert.Contains(t, out, fmt.Sprintf("account %q", name))
	}
}

// A telemetry path that cannot serve is refused at start with a clear
// error, never a panic of the HTTP router.
func TestBadTelemetryPathIsAnErrorAtStart(t *testing.T) {
	config := writeConfig(t, "accounts:\n  - name: ops\n    aiops: {email: ops@example.com, token_file: token}\n")
	for _, path := range []string{"", "metrics", "/", "/probe", "/sd", "/-/reload", "/metrics{x}"} {
		var stdout, stderr bytes.Buffer
		exit := run([]string{"--config.file", config, "--web.listen-address=127.0.0.1:0", "--web.telemetry-path=" + path}, &stdout, &stderr)
		assert.Equal(t, 1, exit, "%q", path)
		assert.Contains(t, stderr.String(), "--web.telemetry-path", "%q", path)
	}
}
