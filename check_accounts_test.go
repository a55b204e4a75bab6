package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/cluster"
	"github.com/quotaexporter/quota_exporter/internal/canary"
	"github.com/quotaexporter/quota_exporter/simulator"
)

func TestCheckAccounts(t *testing.T) {
	const (
		email        = "ops@example.com"
		vziKeyID     = "7ffG6UFo1135QXbK2gVuiJffadN1YXZC"
		vziKeySecret = "canary-vzi-secret-5e1f"
	)
	aiops := simulator.NewAIOps(email, checkToken)
	aiops.SetLicenses(simulator.DemoAIOpsLicenses(time.Now()))
	aiopsServer := httptest.NewServer(aiops)
	t.Cleanup(aiopsServer.Close)
	vzi := simulator.NewVZICloud(vziKeyID, vziKeySecret)
	vzi.SetGrants(simulator.DemoVZICloudGrants(time.Now()))
	vziServer := httptest.NewServer(vzi)
	t.Cleanup(vziServer.Close)
	echo := httptest.NewServer(canary.TokenEchoingVendor())
	t.Cleanup(echo.Close)

	good := fmt.Sprintf("accounts:\n"+
		"  - name: ops\n    base_url: %s\n    aiops: {email: %s, token_file: token}\n"+
		"  - name: cameras\n    base_url: %s\n    vzicloud: {access_key_id: %s, access_key_secret: %s, page_size: 1000}\n",
		aiopsServer.URL, email, vziServer.URL, vziKeyID, vziKeySecret)
	revoked := fmt.Sprintf("  - name: revoked\n    base_url: %s\n    aiops: {email: %s, token: %s}\n", echo.URL, email, checkToken)
	secrets := []string{checkToken, vziKeySecret}

	t.Run("all succeed", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		exit := run([]string{"--check-accounts", "--config.file", writeConfig(t, good)}, &stdout, &stderr)
		assert.Equal(t, 0, exit, stdout.String()+stderr.String())
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		require.Len(t, lines, 3, stdout.String())
		assert.Regexp(t, `^ACCOUNT +VENDOR +SHARD +RESULT +DURATION +SERIES +ERROR$`, lines[0])
		assert.Regexp(t, `^ops +aiops +0 +success +\S+ +\d+ +-$`, lines[1])
		assert.Regexp(t, `^cameras +vzicloud +0 +success +\S+ +\d+ +-$`, lines[2])
		assert.Equal(t, strings.Index(lines[0], "RESULT"), strings.Index(lines[2], "success"), "aligned")
		assert.NotRegexp(t, ` 0 +-$`, lines[1], "the series are counted")
		assert.Contains(t, stderr.String(), "all 2 accounts succeeded")
		canary.AssertAbsent(t, stdout.String()+stderr.String(), nil, secrets)
	})

	t.Run("one fails", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		exit := run([]string{"--check-accounts", "--config.file", writeConfig(t, good+revoked)}, &stdout, &stderr)
		assert.Equal(t, 1, exit, stdout.String()+stderr.String())
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		require.Len(t, lines, 4, stdout.String())
		assert.Regexp(t, `^ops +aiops +0 +success `, lines[1])
		assert.Regexp(t, `^revoked +aiops +0 +auth_error +\S+ +0 +the vendor rejected the credentials: GET http://127\.0\.0\.1:\d+/\S+: auth_error: HTTP status 401: vendor says "token <redacted> is not valid"$`, lines[3])
		assert.Contains(t, stderr.String(), "1 of 3 accounts failed")
		canary.AssertAbsent(t, stdout.String()+stderr.String(), nil, secrets)
	})

	t.Run("one shard", func(t *testing.T) {
		// Each replica checks only the accounts it owns, and says which shard it is.
		for shard := range 2 {
			var stdout, stderr bytes.Buffer
			run([]string{"--check-accounts", "--cluster.shards=2", fmt.Sprintf("--cluster.shard=%d", shard), "--config.file", writeConfig(t, good+revoked)}, &stdout, &stderr)
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")[1:]
			var want []string
			for _, name := range []string{"ops", "cameras", "revoked"} {
				if cluster.Owner(name, 2) == shard {
					want = append(want, name)
				}
			}
			require.Len(t, lines, len(want), stdout.String())
			for i, name := range want {
				assert.Regexp(t, fmt.Sprintf(`^%s +\S+ +%d +`, name, shard), lines[i])
			}
		}
	})

	t.Run("invalid configuration", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		exit := run([]string{"--check-accounts", "--config.file", writeConfig(t, "accounts: []\n")}, &stdout, &stderr)
		assert.Equal(t, 1, exit)
		assert.Contains(t, stderr.String(), "configuration is invalid")
		assert.Empty(t, stdout.String())
	})
}
