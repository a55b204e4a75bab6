// Package config loads and validates exporter.yml (the schema is in the
// README's Configuration section), strictly: unknown keys are errors, every
// error names the account, the key and the line, and secrets never print.
package config

import (
	"fmt"
	"io"
	"net/url"
	"time"

	promcfg "github.com/prometheus/common/config"

	"github.com/quotaexporter/quota_exporter/internal/secret"
	"github.com/quotaexporter/quota_exporter/internal/strictyaml"
	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

// Vendor names, as used in config blocks and in the `vendor` label.
const (
	VendorAIOps      = "aiops"
	VendorVZICloud   = "vzicloud"
	VendorTingyun    = "tingyun"
	VendorGuoyangyun = "guoyangyun"
)

// Vendors lists the vendor names in the order messages give them.
var Vendors = []string{VendorAIOps, VendorVZICloud, VendorTingyun, VendorGuoyangyun}

// Defaults applied when neither `defaults` nor the account sets a value.
const (
	DefaultCacheTTL       = 5 * time.Minute
	DefaultTimeout        = 15 * time.Second
	DefaultRefreshTimeout = 2 * time.Minute
	DefaultMaxSeries      = 100000
	DefaultMaxStale       = time.Hour
	DefaultTimezone       = "Asia/Shanghai"

	DefaultMaxConcurrency    = 4
	DefaultRequestsPerSecond = 10
)

// DefaultExpiryWindows is used when a vzicloud block sets no expiry_windows.
var DefaultExpiryWindows = []Window{{"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

// DefaultHTTPClientConfig is Prometheus' default, except that redirects are
// not followed: a vendor answering with a redirect is an error unless
// follow_redirects is set.
var DefaultHTTPClientConfig = func() promcfg.HTTPClientConfig {
	c := promcfg.DefaultHTTPClientConfig
	c.FollowRedirects = false
	return c
}()

// Config is the whole file.
type Config struct {
	Limits   map[string]Limit // by vendor name, as set; see LimitFor
	Accounts []Account

	secretFiles []secretFile // for CheckSecretFiles
}

// secretFile is a *_file secret and where it is set.
type secretFile struct {
	at   strictyaml.Error // without a message
	path string
}

// Limit is the request budget of one vendor, per API host, shared by all
// its accounts; a RequestsPerSecond of 0 means no rate limit.
type Limit struct {
	MaxConcurrency    int
	RequestsPerSecond float64
}

// LimitFor returns the budget of the vendor's hosts.
func (c *Config) LimitFor(vendor string) Limit {
	if l, ok := c.Limits[vendor]; ok {
		return l
	}
	return Limit{MaxConcurrency: DefaultMaxConcurrency, RequestsPerSecond: DefaultRequestsPerSecond}
}

// Account is one vendor account: exactly one vendor block is set.
type Account struct {
	Name    string
	BaseURL string // as written; see Effective.BaseURL
	// Secret is the vendor block's credential: aiops' token, vzicloud's
	// access_key_secret, tingyun's authkey or guoyangyun's appsecret.
	Secret secret.Source

	AIOps      *AIOps
	VZICloud   *VZICloud
	Tingyun    *Tingyun
	Guoyangyun *Guoyangyun
	vendor     vendorBlock // the one set, for the checks and the summary

	// The account's settings, over those of `defaults`, over the package
	// defaults; URL parsed, relative paths joined.
	Effective Effective
}

// Effective holds an account's settings after defaults are applied: the
// account's value, else the one in `defaults`, else the package default.
// http_client_config is taken as a whole, not merged key by key.
type Effective struct {
	Vendor           string // one of the Vendor* constants
	BaseURL          *url.URL
	CacheTTL         time.Duration
	Timeout          time.Duration
	RefreshTimeout   time.Duration
	MaxSeries        int
	MaxStale         time.Duration
	Location         *time.Location
	Labels           map[string]string // defaults' labels with the account's over them; nil when none
	HTTPClientConfig promcfg.HTTPClientConfig
}

// AIOps is CloudAlert: HTTP Basic with the email and an API token.
type AIOps struct{ Email string }

// VZICloud is the Zenith open platform: a signed, paged grant list.
type VZICloud struct {
	AccessKeyID   string
	PageSize      int
	Wheres        []vzicloud.Where
	ExpiryWindows []Window
}

// Window is an expiry window; Text is kept as written for the `within` label.
type Window struct {
	Text     string
	Duration time.Duration
}

func (w Window) String() string { return w.Text }

// Tingyun is Tingyun network monitoring: an authkey in the query string.
type Tingyun struct{}

// Guoyangyun is Guoyang Cloud SMS: appkey and appsecret in a form body.
type Guoyangyun struct {
	Appkey   string
	Username string
}

// String names the account; --config.check prints more.
func (a Account) String() string {
	return fmt.Sprintf("account %q: %s %s", a.Name, a.Effective.Vendor, a.Effective.BaseURL)
}

// Format prints String whatever the verb: fmt's own rendering (%#v, %d...)
// would show http_client_config's secrets, promcfg.Secret being a plain
// string to fmt.
func (a Account) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, a.String()) }

// Format prints the vendor and base URL whatever the verb, for the reason
// given on Account.
func (e Effective) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "%s %s", e.Vendor, e.BaseURL)
}
