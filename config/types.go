// Package config loads and validates exporter.yml (the schema is in the
// README's Configuration section), strictly: unknown keys are errors, every
// error names the account, the key and the line, and secrets never print.
package config

import (
	"net/url"
	"time"

	promcfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

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
var DefaultExpiryWindows = []string{"7d", "30d"}

// DefaultHTTPClientConfig is Prometheus' default, except that redirects are
// not followed: a vendor answering with a redirect is an error unless
// follow_redirects is set.
var DefaultHTTPClientConfig = func() promcfg.HTTPClientConfig {
	c := promcfg.DefaultHTTPClientConfig
	c.FollowRedirects = false
	return c
}()

// ReservedLabels are every label the exporter, the client library and
// Prometheus set on the exporter's series; static `labels` must not use
// them. collector's tests prove it covers every label the collector emits.
var ReservedLabels = []string{
	// vendor series
	"account", "license_id", "license_type", "edition", "user_id", "contact_name", "channel",
	"product_id", "type", "state", "within", "code", "name", "status",
	"username", "primary_name", "corp", "instance_id", "product",
	// the exporter's own series, build_info and the Go collector
	"vendor", "result", "le", "quantile", "version", "revision", "branch", "goversion",
	"goos", "goarch", "tags",
	// set by Prometheus on every scraped series
	"instance", "job",
}

// Config is the whole file.
type Config struct {
	Defaults Settings
	Limits   map[string]Limit // by vendor name
	Accounts []Account

	secretFiles []secretFile // for CheckSecretFiles
}

// secretFile is a *_file secret and where it is set.
type secretFile struct {
	at   strictyaml.Error // without a message
	path string
}

// Limit is the request budget of one vendor, per API host, shared by all
// its accounts. A nil field is unset.
type Limit struct {
	MaxConcurrency    *int
	RequestsPerSecond *float64
}

// EffectiveLimit is a vendor's Limit with defaults applied; a
// RequestsPerSecond of 0 means no rate limit.
type EffectiveLimit struct {
	MaxConcurrency    int
	RequestsPerSecond float64
}

// LimitFor returns the budget of the vendor's hosts.
func (c *Config) LimitFor(vendor string) EffectiveLimit {
	l := EffectiveLimit{MaxConcurrency: DefaultMaxConcurrency, RequestsPerSecond: DefaultRequestsPerSecond}
	if set, ok := c.Limits[vendor]; ok {
		if set.MaxConcurrency != nil {
			l.MaxConcurrency = *set.MaxConcurrency
		}
		if set.RequestsPerSecond != nil {
			l.RequestsPerSecond = *set.RequestsPerSecond
		}
	}
	return l
}

// Settings may be given in `defaults` and overridden per account. A nil
// field is unset.
type Settings struct {
	CacheTTL       *model.Duration
	Timeout        *model.Duration
	RefreshTimeout *model.Duration
	MaxSeries      *int
	MaxStale       *model.Duration
	Timezone       *Location
	// Static labels added to every vendor series of the account; an
	// account's labels are merged over those of `defaults`.
	Labels map[string]string
	// Proxy and TLS settings for upstream requests, in the standard
	// Prometheus HTTP client format. Authentication keys are refused: each
	// vendor authenticates its own way.
	HTTPClientConfig *promcfg.HTTPClientConfig
}

// Account is one vendor account: exactly one vendor block is set.
type Account struct {
	Name    string
	BaseURL string
	Settings
	// Secret is the vendor block's credential: aiops' token, vzicloud's
	// access_key_secret, tingyun's authkey or guoyangyun's appsecret.
	Secret secret.Source

	AIOps      *AIOps
	VZICloud   *VZICloud
	Tingyun    *Tingyun
	Guoyangyun *Guoyangyun

	// Resolved by Load and Parse: defaults applied, URL parsed, relative
	// paths joined.
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

// Tingyun is Tingyun network monitoring: an authkey in the query string.
type Tingyun struct{}

// Guoyangyun is Guoyang Cloud SMS: appkey and appsecret in a form body.
type Guoyangyun struct {
	Appkey   string
	Username string
}

// Location is a time zone name, validated at load.
type Location struct {
	Name string
	*time.Location
}
