// Package config loads and validates exporter.yml: the schema of the public
// contract, strictly (unknown keys are errors), with errors that name the
// account and key, and secrets that never print.
package config

import (
	"net/url"
	"time"

	promcfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Vendor names, as used in config blocks and in the `vendor` label.
const (
	VendorAIOps      = "aiops"
	VendorVZICloud   = "vzicloud"
	VendorTingyun    = "tingyun"
	VendorGuoyangyun = "guoyangyun"
)

// Defaults applied when neither `defaults` nor the account sets a value.
const (
	DefaultCacheTTL         = 5 * time.Minute
	DefaultTimeout          = 15 * time.Second
	DefaultRefreshTimeout   = 2 * time.Minute
	DefaultMaxSeries        = 100000
	DefaultMaxStale         = time.Hour
	DefaultTimezone         = "Asia/Shanghai"
	DefaultVZICloudPageSize = 1000
	MaxVZICloudPageSize     = 10000

	DefaultMaxConcurrency    = 4
	DefaultRequestsPerSecond = 10
)

// DefaultExpiryWindows is used when a vzicloud block sets no expiry_windows.
var DefaultExpiryWindows = []string{"7d", "30d"}

// DefaultBaseURLs are the public hosts, used when an account sets no base_url.
var DefaultBaseURLs = map[string]string{
	VendorAIOps:      "https://caweb.aiops.com",
	VendorVZICloud:   "https://open.vzicloud.com",
	VendorTingyun:    "https://network.tingyun.com",
	VendorGuoyangyun: "https://api.guoyangyun.com",
}

// Config is the whole file.
type Config struct {
	Defaults Settings         `yaml:"defaults"`
	Limits   map[string]Limit `yaml:"limits"`
	Accounts []Account        `yaml:"accounts"`
}

// Limit is the request budget of one vendor, per API host, shared by all
// its accounts. A nil field is unset.
type Limit struct {
	MaxConcurrency    *int     `yaml:"max_concurrency"`
	RequestsPerSecond *float64 `yaml:"requests_per_second"`
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
	CacheTTL       *model.Duration `yaml:"cache_ttl"`
	Timeout        *model.Duration `yaml:"timeout"`
	RefreshTimeout *model.Duration `yaml:"refresh_timeout"`
	MaxSeries      *int            `yaml:"max_series"`
	MaxStale       *model.Duration `yaml:"max_stale"`
	Timezone       *Location       `yaml:"timezone"`
	// Static labels added to every vendor series of the account; an
	// account's labels are merged over those of `defaults`.
	Labels map[string]string `yaml:"labels"`
	// Proxy and TLS settings for upstream requests, in the standard
	// Prometheus HTTP client format. Authentication keys are refused: each
	// vendor authenticates its own way.
	HTTPClientConfig *promcfg.HTTPClientConfig `yaml:"http_client_config"`
}

// Account is one vendor account: exactly one vendor block is set.
type Account struct {
	Name     string `yaml:"name"`
	BaseURL  string `yaml:"base_url"`
	Settings `yaml:",inline"`

	AIOps      *AIOps      `yaml:"aiops"`
	VZICloud   *VZICloud   `yaml:"vzicloud"`
	Tingyun    *Tingyun    `yaml:"tingyun"`
	Guoyangyun *Guoyangyun `yaml:"guoyangyun"`

	// Resolved by Load and Parse: defaults applied, URL parsed, relative
	// paths joined.
	Effective Effective `yaml:"-"`
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
type AIOps struct {
	Email     string `yaml:"email"`
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

// VZICloud is the Zenith open platform: a signed, paged grant list.
type VZICloud struct {
	AccessKeyID         string   `yaml:"access_key_id"`
	AccessKeySecret     Secret   `yaml:"access_key_secret"`
	AccessKeySecretFile string   `yaml:"access_key_secret_file"`
	PageSize            int      `yaml:"page_size"`
	Wheres              []Where  `yaml:"wheres"`
	ExpiryWindows       []Window `yaml:"expiry_windows"`
}

// Where is one condition of the vzicloud `wheres` filter.
type Where struct {
	K string `yaml:"k"`
	O string `yaml:"o"`
	V any    `yaml:"v"`
}

// Window is an expiry window; Text is kept as written for the `within` label.
type Window struct {
	Text     string
	Duration time.Duration
}

// Tingyun is Tingyun network monitoring: an authkey in the query string.
type Tingyun struct {
	Authkey     Secret `yaml:"authkey"`
	AuthkeyFile string `yaml:"authkey_file"`
}

// Guoyangyun is Guoyang Cloud SMS: appkey and appsecret in a form body.
type Guoyangyun struct {
	Appkey        string `yaml:"appkey"`
	Appsecret     Secret `yaml:"appsecret"`
	AppsecretFile string `yaml:"appsecret_file"`
	Username      string `yaml:"username"`
}

// Location is a time zone name, validated at load.
type Location struct {
	Name string
	*time.Location
}
