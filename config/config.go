package config

import (
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zone names must load in a scratch or distroless image too

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/quotaexporter/quota_exporter/internal/quote"
	"github.com/quotaexporter/quota_exporter/internal/secret"
	"github.com/quotaexporter/quota_exporter/internal/strictyaml"
	"github.com/quotaexporter/quota_exporter/vendor_clients/aiops"
	"github.com/quotaexporter/quota_exporter/vendor_clients/guoyangyun"
	"github.com/quotaexporter/quota_exporter/vendor_clients/tingyun"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

// Load reads and checks the configuration file at path. Relative file paths
// in it (secret files, http_client_config files) are taken relative to the
// file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, filepath.Dir(path))
}

// Parse checks a configuration and resolves each account's Effective
// settings. Relative file paths are joined to dir; "" leaves them relative to
// the working directory. The error lists every problem found, one a line.
// Secret files are not read: see CheckSecretFiles.
func Parse(data []byte, dir string) (*Config, error) {
	root, err := strictyaml.Parse(data)
	if err != nil {
		return nil, err
	}
	var errs strictyaml.Errors
	cfg := decode(errs.Root(root), root, dir)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// account is an account being decoded, with what its checks need.
type account struct {
	*Account
	o      *strictyaml.Object
	blocks map[string]*strictyaml.Object // the vendor blocks' mappings by name
}

// decode reads the file. Settings are decoded over what they inherit: the
// package defaults, then `defaults`, then the account's own; so accounts
// are decoded last, wherever `defaults` stands.
func decode(top strictyaml.At, n *yaml.Node, dir string) *Config {
	c := &Config{Limits: map[string]Limit{}}
	defaults := builtin
	var decodeAccounts []func() account
	o := top.Mapping(n, strictyaml.Fields{
		"defaults": func(a strictyaml.At, v *yaml.Node) { settings(a.Mapping(v, defaults.fields(dir)), defaults) },
		"limits":   c.decodeLimits,
		"accounts": func(a strictyaml.At, v *yaml.Node) {
			if v = strictyaml.Resolve(v); v.Kind == yaml.SequenceNode {
				c.Accounts = make([]Account, len(v.Content))
			}
			a.List(v, func(i int, e strictyaml.At, v *yaml.Node) {
				decodeAccounts = append(decodeAccounts, func() account { return c.decodeAccount(&c.Accounts[i], e, v, defaults, dir) })
			})
		},
	})
	if o == nil {
		return c
	}
	if len(c.Accounts) == 0 {
		o.Errorf("accounts", "must list at least one account")
	}
	firstLine := map[string]int{}
	for _, decode := range decodeAccounts {
		switch a := decode(); {
		case a.o == nil || a.Name == "":
		case firstLine[a.Name] > 0:
			a.o.Errorf("name", "duplicate: account %s is already defined on line %d", quote.Text(a.Name), firstLine[a.Name])
		default:
			firstLine[a.Name] = a.o.Keys["name"].Line
		}
	}
	return c
}

func (c *Config) decodeAccount(acct *Account, e strictyaml.At, n *yaml.Node, defaults Effective, dir string) account {
	acct.Effective = defaults
	acct.Effective.Labels = maps.Clone(defaults.Labels)
	a := account{Account: acct, blocks: map[string]*strictyaml.Object{}}
	f := acct.Effective.fields(dir)
	f["name"] = strictyaml.Scalar(&a.Name)
	f["base_url"] = strictyaml.Scalar(&a.BaseURL)
	f[VendorAIOps] = block(&a.AIOps, a)
	f[VendorVZICloud] = block(&a.VZICloud, a)
	f[VendorTingyun] = block(&a.Tingyun, a)
	f[VendorGuoyangyun] = block(&a.Guoyangyun, a)
	if a.o = e.InAccount(accountLabel(n, e.Path)).Mapping(n, f); a.o != nil {
		settings(a.o, a.Effective)
		a.check(c, dir)
	}
	return a
}

// accountLabel names an account in messages: by its name, else by its
// position (`accounts[3]`).
func accountLabel(n *yaml.Node, position string) string {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], strictyaml.Resolve(n.Content[i+1])
		if k.Value == "name" && v.Kind == yaml.ScalarNode && !strictyaml.IsNull(v) && v.Value != "" {
			return "account " + quote.Text(v.Value)
		}
	}
	return position
}

// fields are the settings an account inherits from `defaults`, decoded
// over e, which holds what is inherited.
func (e *Effective) fields(dir string) strictyaml.Fields {
	return strictyaml.Fields{
		"cache_ttl":          strictyaml.Parsed(&e.CacheTTL, parseDuration),
		"timeout":            strictyaml.Parsed(&e.Timeout, parseDuration),
		"refresh_timeout":    strictyaml.Parsed(&e.RefreshTimeout, parseDuration),
		"max_series":         strictyaml.Optional(&e.MaxSeries),
		"max_stale":          strictyaml.Parsed(&e.MaxStale, parseDuration),
		"timezone":           strictyaml.Parsed(&e.Location, loadLocation),
		"labels":             labels(&e.Labels),
		"http_client_config": httpClientConfig(&e.HTTPClientConfig, dir),
	}
}

func parseDuration(text string) (time.Duration, error) {
	d, err := model.ParseDuration(text)
	return time.Duration(d), err
}

// settings checks the settings o sets, e being them with what they inherit;
// a rule between two keys is checked where one of them is set, so that a
// violation inherited from `defaults` is reported once, there.
func settings(o *strictyaml.Object, e Effective) {
	if o == nil {
		return
	}
	for _, d := range []struct {
		key string
		val time.Duration
	}{{"cache_ttl", e.CacheTTL}, {"timeout", e.Timeout}, {"refresh_timeout", e.RefreshTimeout}, {"max_stale", e.MaxStale}} {
		if o.Has(d.key) && d.val <= 0 {
			o.Errorf(d.key, "must be greater than 0")
		}
	}
	if o.Has("max_series") && e.MaxSeries <= 0 {
		o.Errorf("max_series", "must be greater than 0")
	}
	atLeast(o, "max_stale", e.MaxStale, "cache_ttl", e.CacheTTL)
	// A refresh makes at least one request: a shorter refresh_timeout would
	// silently cut the timeout down.
	atLeast(o, "refresh_timeout", e.RefreshTimeout, "timeout", e.Timeout)
}

// atLeast reports big < small when o sets either.
func atLeast(o *strictyaml.Object, bigKey string, big time.Duration, smallKey string, small time.Duration) {
	if !o.Has(bigKey) && !o.Has(smallKey) || big <= 0 || small <= 0 || big >= small {
		return
	}
	key := bigKey
	if !o.Has(bigKey) {
		key = smallKey
	}
	o.Errorf(key, "%s (%s) must be at least %s (%s)", bigKey, model.Duration(big), smallKey, model.Duration(small))
}

// block decodes a vendor block, its secret into the account's; a null is
// an empty block, so that `aiops:` alone is reported as an incomplete aiops
// block rather than a missing one.
func block[T any, P interface {
	*T
	vendorBlock
}](p *P, acct account) strictyaml.Field {
	return func(a strictyaml.At, v *yaml.Node) {
		*p = new(T)
		acct.vendor = *p
		if o := a.Mapping(v, (*p).fields(&acct.Secret)); o != nil {
			acct.blocks[a.Path] = o
		}
	}
}

func (c *Config) decodeLimits(a strictyaml.At, v *yaml.Node) {
	a.Entries(v, func(k, v *yaml.Node) {
		if !slices.Contains(Vendors, k.Value) {
			a.KeyErrorf(k.Line, "unknown vendor %s in limits: must be one of %s", quote.Text(k.Value), strings.Join(Vendors, ", "))
			return
		}
		l := c.LimitFor(k.Value)
		o := a.Key(k.Value, k.Line).Mapping(v, strictyaml.Fields{
			"max_concurrency":     strictyaml.Optional(&l.MaxConcurrency),
			"requests_per_second": strictyaml.Optional(&l.RequestsPerSecond),
		})
		if o == nil {
			return
		}
		if l.MaxConcurrency < 1 {
			o.Errorf("max_concurrency", "must be at least 1, got %d", l.MaxConcurrency)
		}
		if r := l.RequestsPerSecond; r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			o.Errorf("requests_per_second", "must be a number of at least 0 (0: no limit), got %v", r)
		}
		c.Limits[k.Value] = l
	})
}

// builtin is the last link of the defaults chain: account, `defaults`, this.
var builtin = Effective{
	CacheTTL:         DefaultCacheTTL,
	Timeout:          DefaultTimeout,
	RefreshTimeout:   DefaultRefreshTimeout,
	MaxSeries:        DefaultMaxSeries,
	MaxStale:         DefaultMaxStale,
	Location:         defaultLocation(),
	HTTPClientConfig: DefaultHTTPClientConfig,
}

// defaultLocation is DefaultTimezone, which always loads: time/tzdata is
// linked in.
func defaultLocation() *time.Location {
	l, err := loadLocation(DefaultTimezone)
	if err != nil {
		panic(err)
	}
	return l
}

// loadLocation loads a zone. An empty name is refused: time.LoadLocation
// would take it as UTC.
func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		return nil, errors.New("must be a zone name such as Asia/Shanghai or UTC")
	}
	return time.LoadLocation(name)
}

// defaultBaseURLs are the public hosts, used when an account sets no base_url.
var defaultBaseURLs = map[string]string{
	VendorAIOps:      aiops.DefaultBaseURL,
	VendorVZICloud:   vzicloud.DefaultBaseURL,
	VendorTingyun:    tingyun.DefaultBaseURL,
	VendorGuoyangyun: guoyangyun.DefaultBaseURL,
}

// check validates the account and resolves its vendor and base URL.
func (a account) check(c *Config, dir string) {
	o := a.o
	o.Require("name", a.Name)
	var vendors []string
	for _, v := range Vendors {
		if _, set := o.Keys[v]; set {
			vendors = append(vendors, v)
		}
	}
	switch len(vendors) {
	case 0:
		o.KeyErrorf(o.Line, "no vendor block: set one of %s, %s, %s or %s", VendorAIOps, VendorVZICloud, VendorTingyun, VendorGuoyangyun)
	case 1:
		a.Effective.Vendor = vendors[0]
		if bo := a.blocks[vendors[0]]; bo != nil {
			// A missing or unreadable file fails the account's refreshes
			// with secret_error, not the load: CheckSecretFiles reports it.
			if at, isFile := a.Secret.Check(bo, dir); isFile {
				c.secretFiles = append(c.secretFiles, secretFile{at, a.Secret.File})
			}
			a.vendor.check(bo)
		}
	default:
		o.Errorf(vendors[1], "more than one vendor block (%s): an account has exactly one", strings.Join(vendors, ", "))
	}

	raw, explicit := defaultBaseURLs[a.Effective.Vendor], o.Has("base_url")
	if explicit {
		raw = a.BaseURL
	}
	if raw != "" || explicit {
		u, err := upstream.ParseBaseURL(raw)
		if err != nil {
			o.Errorf("base_url", "%v", err)
		}
		a.Effective.BaseURL = u
	}
}

// CheckSecretFiles reads every *_file secret once and returns an error
// naming the account, the key and the line of each that cannot be read,
// for --config.check.
func (c *Config) CheckSecretFiles() error {
	var errs []error
	for _, f := range c.secretFiles {
		if _, err := secret.ReadFile(f.path, nil); err != nil {
			f.at.Msg = err.Error()
			errs = append(errs, f.at)
		}
	}
	return errors.Join(errs...)
}
