package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	promcfg "github.com/prometheus/common/config"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/quotaexporter/quota_exporter/internal/secret"
	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

// canary is every secret in testdata/valid.yml, inline and in files.
const canary = "CANARY-SECRET-123"

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	require.NoError(t, err)
	return l
}

func TestLoadValid(t *testing.T) {
	cfg, err := Load("testdata/valid.yml")
	require.NoError(t, err)

	defaultsHTTP := DefaultHTTPClientConfig
	defaultsHTTP.TLSConfig.CAFile = filepath.Join("testdata", "ca.pem")
	proxyHTTP := DefaultHTTPClientConfig
	proxyHTTP.ProxyURL = promcfg.URL{URL: mustURL(t, "http://proxy.example:3128")}
	proxyHTTP.ProxyConnectHeader = promcfg.ProxyHeader{"Proxy-Authorization": {canary}}

	want := []Effective{{
		Vendor:           VendorAIOps,
		BaseURL:          mustURL(t, "https://caweb.example.com/aiops"),
		CacheTTL:         10 * time.Minute,
		Timeout:          10 * time.Second,
		RefreshTimeout:   DefaultRefreshTimeout,
		MaxSeries:        DefaultMaxSeries,
		MaxStale:         30 * time.Minute,
		Location:         zone(t, "UTC"),
		HTTPClientConfig: defaultsHTTP,
	}, {
		Vendor:           VendorVZICloud,
		BaseURL:          mustURL(t, "https://open.vzicloud.com"),
		CacheTTL:         2 * time.Minute,
		Timeout:          30 * time.Second,
		RefreshTimeout:   DefaultRefreshTimeout,
		MaxSeries:        DefaultMaxSeries,
		MaxStale:         2 * time.Hour,
		Location:         zone(t, "UTC"),
		HTTPClientConfig: defaultsHTTP,
	}, {
		Vendor:           VendorTingyun,
		BaseURL:          mustURL(t, "https://network.tingyun.com"),
		CacheTTL:         2 * time.Minute,
		Timeout:          10 * time.Second,
		RefreshTimeout:   DefaultRefreshTimeout,
		MaxSeries:        DefaultMaxSeries,
		MaxStale:         30 * time.Minute,
		Location:         zone(t, "Asia/Shanghai"),
		HTTPClientConfig: proxyHTTP,
	}, {
		Vendor:           VendorGuoyangyun,
		BaseURL:          mustURL(t, "https://api.guoyangyun.com"),
		CacheTTL:         2 * time.Minute,
		Timeout:          10 * time.Second,
		RefreshTimeout:   DefaultRefreshTimeout,
		MaxSeries:        DefaultMaxSeries,
		MaxStale:         30 * time.Minute,
		Location:         zone(t, "UTC"),
		HTTPClientConfig: defaultsHTTP,
	}}
	require.Len(t, cfg.Accounts, len(want))
	for i, w := range want {
		require.Equal(t, w, cfg.Accounts[i].Effective, cfg.Accounts[i].Name)
	}

	ops, cameras, netmon, sms := cfg.Accounts[0], cfg.Accounts[1], cfg.Accounts[2], cfg.Accounts[3]
	require.Equal(t, []string{"ops-team", "cameras", "netmon", "sms"}, []string{ops.Name, cameras.Name, netmon.Name, sms.Name})
	require.Equal(t, "ops@example.com", ops.AIOps.Email)
	require.Equal(t, filepath.Join("testdata", "secrets", "aiops_token"), ops.Secret.File)
	require.Equal(t, "7ffG6UFo1135QXbK2gVuiJffadN1YXZC", cameras.VZICloud.AccessKeyID)
	require.Equal(t, filepath.Join("testdata", "secrets", "vzicloud_secret"), cameras.Secret.File)
	require.Equal(t, 500, cameras.VZICloud.PageSize)
	require.Equal(t, []vzicloud.Where{{K: "product_id", O: "eq", V: 1}, {K: "state", O: "in", V: []any{1, 5}}}, cameras.VZICloud.Wheres)
	require.Equal(t, []Window{{"1d", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"90d", 90 * 24 * time.Hour}}, cameras.VZICloud.ExpiryWindows)
	require.Equal(t, secret.Secret(canary), netmon.Secret.Value)
	require.Equal(t, "8771711500303127746", sms.Guoyangyun.Appkey)
	require.Equal(t, "sms-user", sms.Guoyangyun.Username)
	require.Equal(t, secret.Secret(canary), sms.Secret.Value)

	// Every secret reads as the canary: \n and \r\n are trimmed from files.
	for _, src := range []secret.Source{ops.Secret, cameras.Secret, netmon.Secret, sms.Secret} {
		got, err := src.Read()
		require.NoError(t, err)
		require.Equal(t, canary, got)
	}
}

// The default windows are written as their text would parse.
func TestDefaultExpiryWindowsParse(t *testing.T) {
	for _, w := range DefaultExpiryWindows {
		parsed, err := parseWindow(w.Text)
		require.NoError(t, err)
		require.Equal(t, w, parsed)
	}
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`
accounts:
  - name: a
    vzicloud: {access_key_id: id, access_key_secret: s}
  - name: b
    vzicloud: {access_key_id: id, access_key_secret: s, page_size: ~, expiry_windows: ~}
`), "")
	require.NoError(t, err)
	for _, a := range cfg.Accounts {
		require.Equal(t, Effective{
			Vendor:           VendorVZICloud,
			BaseURL:          mustURL(t, vzicloud.DefaultBaseURL),
			CacheTTL:         DefaultCacheTTL,
			Timeout:          DefaultTimeout,
			RefreshTimeout:   DefaultRefreshTimeout,
			MaxSeries:        DefaultMaxSeries,
			MaxStale:         DefaultMaxStale,
			Location:         zone(t, DefaultTimezone),
			HTTPClientConfig: DefaultHTTPClientConfig,
		}, a.Effective, a.Name)
		require.Equal(t, vzicloud.DefaultPageSize, a.VZICloud.PageSize, a.Name)
		require.Equal(t, []Window{{"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}, a.VZICloud.ExpiryWindows, a.Name)
	}
}

// The collector keeps an account's cache across a reload when the account
// compares equal (reflect.DeepEqual): parsing the same text twice must give
// equal accounts.
func TestParseIsDeterministic(t *testing.T) {
	data, err := os.ReadFile("testdata/valid.yml")
	require.NoError(t, err)
	a, err := Parse(data, "testdata")
	require.NoError(t, err)
	b, err := Parse(data, "testdata")
	require.NoError(t, err)
	require.True(t, reflect.DeepEqual(a.Accounts, b.Accounts))
}

func TestParseErrors(t *testing.T) {
	const ok = "  - name: ok\n    tingyun: {authkey: x}\n"
	for _, tc := range []struct {
		name string
		yaml string
		want []string // the error's lines; $DIR is the config directory
	}{{
		name: "unknown key at the top level",
		yaml: "acounts: []\naccounts:\n" + ok,
		want: []string{`line 1: unknown key "acounts"`},
	}, {
		name: "unknown key in defaults",
		yaml: "defaults:\n  cachettl: 5m\naccounts:\n" + ok,
		want: []string{`line 2: unknown key "cachettl" in defaults`},
	}, {
		name: "unknown key in an account",
		yaml: "accounts:\n  - name: cameras\n    timout: 5s\n    tingyun: {authkey: x}\n",
		want: []string{`account "cameras": line 3: unknown key "timout"`},
	}, {
		name: "unknown key in a vendor block",
		yaml: `accounts:
  - name: cameras
    vzicloud:
      access_key_id: id
      access_key_secret: s
      pagesize: 10
`,
		want: []string{`account "cameras": line 6: unknown key "pagesize" in vzicloud`},
	}, {
		name: "unknown key in a where",
		yaml: `accounts:
  - name: cameras
    vzicloud:
      access_key_id: id
      access_key_secret: s
      wheres:
        - {k: sn, o: eq, v: A1}
        - {k: sn, o: eq, v: A2, op: eq}
`,
		want: []string{`account "cameras": line 8: unknown key "op" in vzicloud.wheres[1]`},
	}, {
		name: "duplicate key",
		yaml: "accounts:\n  - name: a\n    timeout: 5s\n    timeout: 6s\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": line 4: duplicate key "timeout", first on line 3`},
	}, {
		name: "duplicate key in a vendor block",
		yaml: "accounts:\n  - name: a\n    tingyun:\n      authkey: x\n      authkey: y\n",
		want: []string{`account "a": line 5: duplicate key "authkey" in tingyun, first on line 4`},
	}, {
		name: "missing vendor block",
		yaml: "accounts:\n  - name: a\n    cache_ttl: 1m\n",
		want: []string{`account "a": line 2: no vendor block: set one of aiops, vzicloud, tingyun or guoyangyun`},
	}, {
		name: "two vendor blocks",
		yaml: "accounts:\n  - name: a\n    aiops: {email: e, token: t}\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": tingyun (line 4): more than one vendor block (aiops, tingyun): an account has exactly one`},
	}, {
		name: "empty vendor block",
		yaml: "accounts:\n  - name: a\n    aiops:\n",
		want: []string{
			`account "a": line 3: aiops.token or aiops.token_file is required`,
			`account "a": line 3: aiops.email is required`,
		},
	}, {
		name: "vendor block not a mapping",
		yaml: "accounts:\n  - name: a\n    aiops: yes\n",
		want: []string{`account "a": aiops (line 3): must be a mapping, got a scalar`},
	}, {
		name: "duplicate name",
		yaml: "accounts:\n  - name: a\n    tingyun: {authkey: x}\n  - name: a\n    tingyun: {authkey: y}\n",
		want: []string{`account "a": name (line 4): duplicate: account "a" is already defined on line 2`},
	}, {
		name: "missing name",
		yaml: "accounts:\n" + ok + "  - tingyun: {authkey: x}\n",
		want: []string{`accounts[1]: line 4: name is required`},
	}, {
		name: "both secret and secret file",
		yaml: "accounts:\n  - name: a\n    aiops:\n      email: e\n      token: t\n      token_file: token\n",
		want: []string{`account "a": aiops.token_file (line 6): conflicts with aiops.token (line 5): set only one`},
	}, {
		name: "neither secret nor secret file",
		yaml: "accounts:\n  - name: a\n    guoyangyun:\n      appkey: k\n",
		want: []string{`account "a": line 3: guoyangyun.appsecret or guoyangyun.appsecret_file is required`},
	}, {
		name: "empty inline secret",
		yaml: "accounts:\n  - name: a\n    tingyun:\n      authkey: ''\n",
		want: []string{`account "a": line 3: tingyun.authkey or tingyun.authkey_file is required`},
	}, {
		name: "required fields",
		yaml: `accounts:
  - name: a
    aiops: {token: t}
  - name: b
    vzicloud: {access_key_secret: s}
  - name: c
    guoyangyun: {appsecret: s, appkey: ""}
`,
		want: []string{
			`account "a": line 3: aiops.email is required`,
			`account "b": line 5: vzicloud.access_key_id is required`,
			`account "c": guoyangyun.appkey (line 7): is required`,
		},
	}, {
		name: "bad duration",
		yaml: "defaults:\n  cache_ttl: 5 minutes\naccounts:\n" + ok,
		want: []string{`defaults.cache_ttl (line 2): unknown unit " minutes" in duration "5 minutes"`},
	}, {
		name: "zero durations",
		yaml: "defaults:\n  timeout: 0s\naccounts:\n  - name: a\n    cache_ttl: 0s\n    tingyun: {authkey: x}\n",
		want: []string{
			`defaults.timeout (line 2): must be greater than 0`,
			`account "a": cache_ttl (line 5): must be greater than 0`,
		},
	}, {
		name: "bad zone",
		yaml: "accounts:\n  - name: a\n    timezone: Mars/Olympus\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": timezone (line 3): unknown time zone Mars/Olympus`},
	}, {
		name: "empty zone",
		yaml: "defaults:\n  timezone: ''\naccounts:\n" + ok,
		want: []string{`defaults.timezone (line 2): must be a zone name such as Asia/Shanghai or UTC`},
	}, {
		name: "page_size 0",
		yaml: "accounts:\n  - name: cameras\n    vzicloud:\n      access_key_id: id\n      access_key_secret: s\n      page_size: 0\n",
		want: []string{`account "cameras": vzicloud.page_size (line 6): must be between 1 and 10000, got 0`},
	}, {
		name: "page_size 10001",
		yaml: "accounts:\n  - name: cameras\n    vzicloud:\n      access_key_id: id\n      access_key_secret: s\n      page_size: 10001\n",
		want: []string{`account "cameras": vzicloud.page_size (line 6): must be between 1 and 10000, got 10001`},
	}, {
		name: "page_size not a number",
		yaml: "accounts:\n  - name: cameras\n    vzicloud:\n      access_key_id: id\n      access_key_secret: s\n      page_size: many\n",
		want: []string{`account "cameras": vzicloud.page_size (line 6): must be an integer, got "many"`},
	}, {
		name: "bad base_url",
		yaml: `accounts:
  - name: no-scheme
    base_url: caweb.aiops.com
    tingyun: {authkey: x}
  - name: ftp
    base_url: ftp://caweb.aiops.com
    tingyun: {authkey: x}
  - name: credentials
    base_url: https://user:pass@caweb.aiops.com
    tingyun: {authkey: x}
  - name: no-host
    base_url: https:///v1
    tingyun: {authkey: x}
  - name: query
    base_url: https://caweb.aiops.com/v1?x=1
    tingyun: {authkey: x}
  - name: fragment
    base_url: https://caweb.aiops.com/#top
    tingyun: {authkey: x}
  - name: empty
    base_url: ""
    tingyun: {authkey: x}
  - name: unparsable
    base_url: "https://caweb aiops.com"
    tingyun: {authkey: x}
`,
		want: []string{
			`account "no-scheme": base_url (line 3): must start with http:// or https://`,
			`account "ftp": base_url (line 6): must start with http:// or https://`,
			`account "credentials": base_url (line 9): must not hold credentials: the vendor client authenticates itself`,
			`account "no-host": base_url (line 12): must have a host`,
			`account "query": base_url (line 15): must not have a query or fragment`,
			`account "fragment": base_url (line 18): must not have a query or fragment`,
			`account "empty": base_url (line 21): must start with http:// or https://`,
			`account "unparsable": base_url (line 24): invalid character " " in host name`,
		},
	}, {
		name: "max_stale below cache_ttl",
		yaml: "accounts:\n  - name: a\n    cache_ttl: 10m\n    max_stale: 5m\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": max_stale (line 4): max_stale (5m) must be at least cache_ttl (10m)`},
	}, {
		name: "max_stale below an inherited cache_ttl",
		yaml: "defaults:\n  cache_ttl: 20m\naccounts:\n  - name: a\n    max_stale: 10m\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": max_stale (line 5): max_stale (10m) must be at least cache_ttl (20m)`},
	}, {
		// Reported once, in defaults, not in every account that inherits it.
		name: "cache_ttl in defaults above the default max_stale",
		yaml: "defaults:\n  cache_ttl: 2h\naccounts:\n" + ok + "  - name: ok2\n    tingyun: {authkey: x}\n",
		want: []string{`defaults.cache_ttl (line 2): max_stale (1h) must be at least cache_ttl (2h)`},
	}, {
		name: "http_client_config with basic_auth",
		yaml: "accounts:\n  - name: a\n    http_client_config:\n      basic_auth: {username: u, password: p}\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": http_client_config.basic_auth (line 4): not allowed: each vendor client authenticates itself`},
	}, {
		name: "http_client_config with bearer_token and authorization in defaults",
		yaml: "defaults:\n  http_client_config:\n    follow_redirects: false\n    authorization: {credentials: c}\n    bearer_token_file: t\naccounts:\n" + ok,
		want: []string{
			`defaults.http_client_config.authorization (line 4): not allowed: each vendor client authenticates itself`,
			`defaults.http_client_config.bearer_token_file (line 5): not allowed: each vendor client authenticates itself`,
		},
	}, {
		name: "http_client_config with basic_auth through a merge key",
		yaml: "x: &auth {basic_auth: {username: u, password: p}}\naccounts:\n  - name: a\n    http_client_config:\n      <<: *auth\n    tingyun: {authkey: x}\n",
		want: []string{
			`line 1: unknown key "x"`,
			`account "a": http_client_config.basic_auth (line 4): not allowed: each vendor client authenticates itself`,
		},
	}, {
		name: "http_client_config unknown key",
		yaml: "accounts:\n  - name: a\n    http_client_config:\n      proxy: http://p:3128\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": http_client_config (line 3): unknown key "proxy"`},
	}, {
		name: "http_client_config invalid",
		yaml: "accounts:\n  - name: a\n    http_client_config:\n      no_proxy: localhost\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": http_client_config (line 3): if no_proxy is configured, proxy_url must also be configured`},
	}, {
		name: "bad wheres",
		yaml: `accounts:
  - name: cameras
    vzicloud:
      access_key_id: id
      access_key_secret: s
      wheres:
        - {k: size, o: eq, v: red}
        - {k: sn, o: is, v: A1}
        - {k: sn, o: eq}
        - {k: sn, o: in, v: A1}
        - {k: sn, o: eq, v: [A1, A2]}
        - {o: ni, v: [1]}
`,
		want: []string{
			`account "cameras": vzicloud.wheres[0].k (line 7): must be one of sn, type, order_no, product_id, state, period_time, period_unit, grant_user_id, grant_accesskey_id, remark, create_time, update_time, got "size"`,
			`account "cameras": vzicloud.wheres[1].o (line 8): must be one of eq, ne, lt, lte, gt, gte, like, in, ni, got "is"`,
			`account "cameras": line 9: vzicloud.wheres[2].v is required`,
			`account "cameras": vzicloud.wheres[3].v (line 10): must be a list for in`,
			`account "cameras": vzicloud.wheres[4].v (line 11): must be a single value for eq`,
			`account "cameras": line 12: vzicloud.wheres[5].k is required`,
		},
	}, {
		name: "bad expiry_windows",
		yaml: `accounts:
  - name: cameras
    vzicloud:
      access_key_id: id
      access_key_secret: s
      expiry_windows:
        - 7d
        - 168h
        - 0d
  - name: empty
    vzicloud:
      access_key_id: id
      access_key_secret: s
      expiry_windows: []
  - name: unparsable
    vzicloud:
      access_key_id: id
      access_key_secret: s
      expiry_windows: [7x]
`,
		want: []string{
			`account "cameras": vzicloud.expiry_windows[1] (line 8): duplicate window: 168h is the same as 7d`,
			`account "cameras": vzicloud.expiry_windows[2] (line 9): must be greater than 0`,
			`account "empty": vzicloud.expiry_windows (line 14): must list at least one window; leave it out for the default [7d 30d]`,
			`account "unparsable": vzicloud.expiry_windows[0] (line 19): unknown unit "x" in duration "7x"`,
		},
	}, {
		name: "refresh_timeout and max_series",
		yaml: `defaults:
  refresh_timeout: 0s
  max_series: 0
accounts:
  - name: a
    timeout: 30s
    refresh_timeout: 20s
    tingyun: {authkey: x}
  - name: b
    max_series: many
    tingyun: {authkey: x}
`,
		want: []string{
			`defaults.refresh_timeout (line 2): must be greater than 0`,
			`defaults.max_series (line 3): must be greater than 0`,
			`account "a": refresh_timeout (line 7): refresh_timeout (20s) must be at least timeout (30s)`,
			`account "b": max_series (line 10): must be an integer, got "many"`,
		},
	}, {
		name: "timeout above the default refresh_timeout",
		yaml: "accounts:\n  - name: a\n    timeout: 5m\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": timeout (line 3): refresh_timeout (2m) must be at least timeout (5m)`},
	}, {
		name: "bad labels",
		yaml: `defaults:
  labels:
    team-a: x
    __meta: x
    account: x
    9lives: x
accounts:
  - name: a
    labels:
      status: x
      le: x
      job: x
      team: [x]
      owner: ` + strings.Repeat("x", 1025) + `
      ok: ` + strings.Repeat("x", 1024) + `
    tingyun: {authkey: x}
  - name: b
    labels: [team]
    tingyun: {authkey: x}
`,
		want: []string{
			`line 3: label name "team-a" in defaults.labels is not valid: letters, digits and _, not starting with a digit`,
			`line 4: label name "__meta" in defaults.labels is reserved: names starting with __ are Prometheus' own`,
			`line 5: label name "account" in defaults.labels is reserved: the exporter or Prometheus sets it`,
			`line 6: label name "9lives" in defaults.labels is not valid: letters, digits and _, not starting with a digit`,
			`account "a": line 10: label name "status" in labels is reserved: the exporter or Prometheus sets it`,
			`account "a": line 11: label name "le" in labels is reserved: the exporter or Prometheus sets it`,
			`account "a": line 12: label name "job" in labels is reserved: the exporter or Prometheus sets it`,
			`account "a": labels.team (line 13): must be a single value, got a list`,
			`account "a": labels.owner (line 14): must be at most 1024 bytes, got 1025`,
			`account "b": labels (line 18): must be a mapping, got a list`,
		},
	}, {
		name: "bad limits",
		yaml: `limits:
  vzi: {max_concurrency: 1}
  aiops: {max_concurrency: 0, requests_per_second: -1}
  tingyun: {requests_per_second: .nan, burst: 3}
  guoyangyun: {max_concurrency: two}
  vzicloud: 5
accounts:
` + ok,
		want: []string{
			`line 2: unknown vendor "vzi" in limits: must be one of aiops, vzicloud, tingyun, guoyangyun`,
			`limits.aiops.max_concurrency (line 3): must be at least 1, got 0`,
			`limits.aiops.requests_per_second (line 3): must be a number of at least 0 (0: no limit), got -1`,
			`line 4: unknown key "burst" in limits.tingyun`,
			`limits.tingyun.requests_per_second (line 4): must be a number of at least 0 (0: no limit), got NaN`,
			`limits.guoyangyun.max_concurrency (line 5): must be an integer, got "two"`,
			`limits.vzicloud (line 6): must be a mapping, got a scalar`,
		},
	}, {
		// Neither the password nor any piece of it: an unparsable URL with
		// credentials is not quoted at all.
		name: "proxy_url with a password",
		yaml: "accounts:\n  - name: a\n    http_client_config:\n      proxy_url: 'http://user:pa/ss@proxy:3128'\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": http_client_config (line 3): proxy_url: not a valid URL`},
	}, {
		name: "proxy_url without credentials",
		yaml: "accounts:\n  - name: a\n    http_client_config:\n      proxy_url: 'http://proxy:port'\n    tingyun: {authkey: x}\n",
		want: []string{`account "a": http_client_config (line 3): proxy_url: invalid port ":port" after host`},
	}, {
		// Quoted config text is cut to 200 characters.
		name: "long where operator",
		yaml: "accounts:\n  - name: a\n    vzicloud:\n      access_key_id: id\n      access_key_secret: s\n      wheres: [{k: sn, o: " + strings.Repeat("o", 5000) + ", v: 1}]\n",
		want: []string{`account "a": vzicloud.wheres[0].o (line 6): must be one of eq, ne, lt, lte, gt, gte, like, in, ni, got "` + strings.Repeat("o", 200) + `"… (5000 bytes)`},
	}, {
		name: "long bad duration",
		yaml: "defaults:\n  timeout: " + strings.Repeat("9", 5000) + "x\naccounts:\n" + ok,
		want: []string{`defaults.timeout (line 2): not valid: "` + strings.Repeat("9", 200) + `"… (5001 bytes)`},
	}, {
		name: "no accounts",
		yaml: "accounts: []\n",
		want: []string{`accounts (line 1): must list at least one account`},
	}, {
		name: "empty file",
		yaml: "",
		want: []string{`accounts must list at least one account`},
	}, {
		name: "accounts not a list",
		yaml: "accounts:\n  a: 1\n",
		want: []string{`accounts (line 1): must be a list, got a mapping`},
	}, {
		name: "account not a mapping",
		yaml: "accounts:\n" + ok + "  - ops-team\n",
		want: []string{`accounts[1]: line 4: must be a mapping, got a scalar`},
	}, {
		name: "not a mapping",
		yaml: "- name: a\n",
		want: []string{`line 1: must be a mapping, got a list`},
	}, {
		name: "yaml syntax error",
		yaml: "accounts:\n  - name: a\n    tingyun: {authkey: x\n",
		want: []string{`line 2: did not find expected ',' or '}'`},
	}, {
		name: "second document",
		yaml: "accounts:\n" + ok + "---\naccounts: []\n",
		want: []string{`line 4: a second YAML document is not allowed`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := Parse([]byte(tc.yaml), dir)
			require.Error(t, err)
			require.Nil(t, cfg)
			want := strings.ReplaceAll(strings.Join(tc.want, "\n"), "$DIR", dir)
			require.Equal(t, want, err.Error())
		})
	}
}

// All errors come at once, in the order of their lines.
func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse([]byte(`defaults:
  cache_ttl: 1x
  size: blue
accounts:
  - name: cameras
    vzicloud:
      access_key_id: id
      access_key_secret: s
      page_size: 0
      pagesize: 10
  - name: cameras
    timezone: Nowhere
    tingyun: {}
`), "")
	require.EqualError(t, err, strings.Join([]string{
		`defaults.cache_ttl (line 2): unknown unit "x" in duration "1x"`,
		`line 3: unknown key "size" in defaults`,
		`account "cameras": vzicloud.page_size (line 9): must be between 1 and 10000, got 0`,
		`account "cameras": line 10: unknown key "pagesize" in vzicloud`,
		`account "cameras": name (line 11): duplicate: account "cameras" is already defined on line 5`,
		`account "cameras": timezone (line 12): unknown time zone Nowhere`,
		`account "cameras": line 13: tingyun.authkey or tingyun.authkey_file is required`,
	}, "\n"))
}

// Relative paths are found from the config file's directory, for secrets
// and for http_client_config files alike.
func TestLoadResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "secrets"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", "token"), []byte("t0ken\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exporter.yml"), []byte(`
accounts:
  - name: a
    http_client_config:
      tls_config: {ca_file: ca.pem, cert_file: /abs/cert.pem, key_file: key.pem}
    aiops: {email: e, token_file: secrets/token}
`), 0o600))
	cfg, err := Load(filepath.Join(dir, "exporter.yml"))
	require.NoError(t, err)
	a := cfg.Accounts[0]
	require.Equal(t, filepath.Join(dir, "secrets", "token"), a.Secret.File)
	require.Equal(t, filepath.Join(dir, "ca.pem"), a.Effective.HTTPClientConfig.TLSConfig.CAFile)
	require.Equal(t, "/abs/cert.pem", a.Effective.HTTPClientConfig.TLSConfig.CertFile)
	require.Equal(t, filepath.Join(dir, "key.pem"), a.Effective.HTTPClientConfig.TLSConfig.KeyFile)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "exporter.yml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A rotated secret file takes effect on the next Read, without a reload.
func TestSecretSourceRereadsAfterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o600))
	cfg, err := Parse([]byte("accounts:\n  - name: a\n    aiops: {email: e, token_file: token}\n"), dir)
	require.NoError(t, err)
	src := cfg.Accounts[0].Secret

	got, err := src.Read()
	require.NoError(t, err)
	require.Equal(t, "old", got)

	// Rotate the way Kubernetes does: a new file renamed over the old one.
	require.NoError(t, os.WriteFile(path+".new", []byte("new\r\n"), 0o600))
	require.NoError(t, os.Rename(path+".new", path))
	got, err = src.Read()
	require.NoError(t, err)
	require.Equal(t, "new", got)

	// Emptied or removed after load: an error naming the file, at refresh time.
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err = src.Read()
	require.EqualError(t, err, "token_file: "+path+" is empty")
	require.NoError(t, os.Remove(path))
	_, err = src.Read()
	require.ErrorIs(t, err, os.ErrNotExist)
	require.EqualError(t, err, "token_file: cannot be opened: no such file or directory")
}

// Secrets are never printed by our code (summary, errors), nor by fmt,
// yaml or json on any value of this package.
func TestSecretsNeverPrinted(t *testing.T) {
	cfg, err := Load("testdata/valid.yml")
	require.NoError(t, err)
	// The canary is there to be leaked: it is what the secrets read as.
	got, err := cfg.Accounts[3].Secret.Read()
	require.NoError(t, err)
	require.Equal(t, canary, got)

	var shown []string
	show := func(vs ...any) {
		for _, v := range vs {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%t", "%T"} {
				shown = append(shown, fmt.Sprintf(verb, v))
			}
			y, err := yaml.Marshal(v)
			require.NoError(t, err)
			j, err := json.Marshal(v)
			require.NoError(t, err)
			shown = append(shown, string(y), string(j))
		}
	}
	show(cfg, *cfg, cfg.Accounts)
	for _, a := range cfg.Accounts {
		show(a, &a, a.Effective)
	}
	ops, cameras, netmon, sms := cfg.Accounts[0], cfg.Accounts[1], cfg.Accounts[2], cfg.Accounts[3]
	show(ops.AIOps, *ops.AIOps, cameras.VZICloud, *cameras.VZICloud, netmon.Tingyun, *netmon.Tingyun, sms.Guoyangyun, *sms.Guoyangyun)
	show(netmon.Secret, sms.Secret, netmon.Secret.Value)
	shown = append(shown, fmt.Sprint(netmon.Secret.Value), fmt.Sprintln(netmon.Secret.Value))
	for _, s := range shown {
		require.NotContains(t, s, canary)
		require.NotContains(t, s, hex.EncodeToString([]byte(canary)))
	}

	// Errors about secrets, or near them, do not quote them either.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte(canary+"\n"), 0o600))
	for _, doc := range []string{
		"accounts:\n  - name: a\n    aiops: {email: e, token: " + canary + ", token_file: token}\n",
		"accounts:\n  - name: a\n    aiops: {email: e, token: !!int " + canary + "}\n    cache_ttl: 0s\n",
		"accounts:\n  - name: a\n    aiops: {email: e, token: [" + canary + "]}\n",
		"accounts:\n  - name: a\n    aiops: {email: e, token: {k: " + canary + "}}\n",
		"accounts:\n  - name: a\n    tingyun: {authkey: " + canary + ", authkey_fil: x}\n",
		"accounts:\n  - name: a\n    base_url: https://user:" + canary + "@host\n    tingyun: {authkey: " + canary + "}\n",
		"accounts:\n  - name: a\n    http_client_config: {basic_auth: {username: u, password: " + canary + "}}\n    tingyun: {authkey: x}\n",
		"accounts:\n  - name: a\n    http_client_config: {proxy_connect_header: {X: [" + canary + "]}}\n    tingyun: {authkey: x}\n",
		"accounts:\n  - name: a\n    tingyun: {authkey: " + canary + "}\n  - name: a\n    tingyun: {authkey_file: token}\n",
	} {
		_, err := Parse([]byte(doc), dir)
		require.Error(t, err, doc)
		require.NotContains(t, err.Error(), canary)
	}
}

// The example shipped beside the binary is valid. Its secret files are
// relative to it, so a copy with them beside it loads as is.
func TestExampleFile(t *testing.T) {
	data, err := os.ReadFile("../exporter.yml")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exporter.yml"), data, 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "secrets"), 0o700))
	for _, name := range []string{"aiops_token", "vzicloud_secret", "tingyun_authkey", "guoyangyun_appsecret"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", name), []byte(name+"\n"), 0o600))
	}

	cfg, err := Load(filepath.Join(dir, "exporter.yml"))
	require.NoError(t, err)
	var vendors []string
	for _, a := range cfg.Accounts {
		vendors = append(vendors, a.Effective.Vendor)
	}
	require.Equal(t, []string{VendorAIOps, VendorVZICloud, VendorTingyun, VendorGuoyangyun}, vendors)
	token, err := cfg.Accounts[0].Secret.Read()
	require.NoError(t, err)
	require.Equal(t, "aiops_token", token)

	require.NoError(t, cfg.CheckSecretFiles())

	// Without the secret files it loads too (those accounts fail with
	// secret_error), and the check reports each missing one.
	cfg, err = Load("../exporter.yml")
	require.NoError(t, err)
	err = cfg.CheckSecretFiles()
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 4)
	for i, name := range []string{`account "ops-team": aiops.token_file`, `account "cameras": vzicloud.access_key_secret_file`, `account "netmon": tingyun.authkey_file`, `account "sms": guoyangyun.appsecret_file`} {
		require.Regexp(t, "^"+regexp.QuoteMeta(name)+` \(line \d+\): cannot be opened: no such file or directory$`, lines[i])
	}
}

// FuzzParse: Parse never panics, and neither an error nor the config,
// printed, shows a secret.
func FuzzParse(f *testing.F) {
	valid, err := os.ReadFile("testdata/valid.yml")
	require.NoError(f, err)
	f.Add(valid)
	f.Add([]byte("accounts:\n  - name: a\n    aiops: {email: e, token: " + canary + ", token_file: x}\n"))
	f.Add([]byte("accounts:\n  - name: a\n    vzicloud: {access_key_id: i, access_key_secret: &s " + canary + ", page_size: 0, wheres: [{k: sn, o: in, v: [*s]}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "testdata")
		if !canaryOnlyInSecrets(data) {
			return
		}
		if err != nil {
			require.NotContains(t, err.Error(), canary)
		} else {
			require.NotContains(t, printed(t, cfg), canary)
		}
	})
}

// printed is cfg as fmt and YAML (as --config.check does) show it.
func printed(t testing.TB, cfg *Config) string {
	y, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	return fmt.Sprintf("%v %+v %#v %s", cfg, cfg.Accounts, cfg.Accounts, y)
}

// secretKeys are the keys whose values are secrets.
var secretKeys = map[string]bool{"token": true, "access_key_secret": true, "authkey": true, "appsecret": true}

// canaryOnlyInSecrets reports whether the canary occurs in data only as the
// value of a secret key: elsewhere (as an account name, a key, a value
// reused by an alias) an error may show it, rightly.
func canaryOnlyInSecrets(data []byte) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// A syntax error may quote a token (an unknown alias's name, say);
		// a token that holds the canary is not a secret's value.
		return !strings.Contains(err.Error(), canary)
	}
	var ok func(n *yaml.Node, secret bool) bool
	ok = func(n *yaml.Node, secret bool) bool {
		switch {
		case strings.Contains(n.Anchor, canary) || strings.Contains(n.Tag, canary):
			return false
		case n.Kind == yaml.AliasNode:
			return !strings.Contains(n.Value, canary) && !containsCanary(n.Alias)
		case n.Kind == yaml.ScalarNode:
			return secret || !strings.Contains(n.Value, canary)
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if !ok(k, false) || !ok(v, k.Kind == yaml.ScalarNode && secretKeys[k.Value] && v.Kind == yaml.ScalarNode) {
					return false
				}
			}
			return true
		}
		for _, c := range n.Content {
			if !ok(c, false) {
				return false
			}
		}
		return true
	}
	return ok(&doc, false)
}

func containsCanary(n *yaml.Node) bool {
	out, err := yaml.Marshal(n)
	return err != nil || bytes.Contains(out, []byte(canary))
}
