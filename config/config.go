package config

import (
	"errors"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zone names must load in a scratch or distroless image too

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/quotaexporter/quota_exporter/internal/quote"
	"github.com/quotaexporter/quota_exporter/vendor_clients/aiops"
	"github.com/quotaexporter/quota_exporter/vendor_clients/guoyangyun"
	"github.com/quotaexporter/quota_exporter/vendor_clients/tingyun"
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
	root, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	d := &decoder{dir: dir}
	cfg := d.config(root)
	if err := d.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// account is an account being decoded, with what its checks need.
type account struct {
	*Account
	o      *object
	blocks map[string]*object // the vendor blocks' mappings by name
}

func (d *decoder) config(n *yaml.Node) *Config {
	c := &Config{}
	var defaults *object
	var accounts []account
	top := at{d: d, line: n.Line}
	o := top.mapping(n, map[string]decodeFunc{
		"defaults": func(a at, v *yaml.Node) { defaults = a.mapping(v, c.Defaults.fields()) },
		"limits":   c.decodeLimits,
		"accounts": func(a at, v *yaml.Node) {
			if v = resolve(v); v.Kind == yaml.SequenceNode {
				c.Accounts = make([]Account, len(v.Content))
			}
			a.list(v, func(i int, e at, v *yaml.Node) {
				acct := account{Account: &c.Accounts[i], blocks: map[string]*object{}}
				e = at{d: d, account: accountLabel(v, e.path), line: e.line}
				if acct.o = e.mapping(v, acct.fields(acct.blocks)); acct.o != nil {
					accounts = append(accounts, acct)
				}
			})
		},
	})
	if o == nil {
		return c
	}
	if len(c.Accounts) == 0 {
		o.errorf("accounts", "must list at least one account")
	}
	if defaults != nil {
		c.Defaults.check(defaults, c.Defaults.or(builtin), d.dir)
	}
	firstLine := map[string]int{}
	for _, a := range accounts {
		if line, dup := firstLine[a.Name]; dup {
			a.o.errorf("name", "duplicate: account %s is already defined on line %d", quote.Text(a.Name), line)
		} else if a.Name != "" {
			firstLine[a.Name] = a.o.keys["name"].Line
		}
		a.check(c, d.dir)
	}
	return c
}

// accountLabel names an account in messages: by its name, else by its
// position (`accounts[3]`).
func accountLabel(n *yaml.Node, position string) string {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Value == "name" && v.Kind == yaml.ScalarNode && !isNull(v) && v.Value != "" {
			return "account " + quote.Text(v.Value)
		}
	}
	return position
}

func (s *Settings) fields() map[string]decodeFunc {
	return map[string]decodeFunc{
		"cache_ttl":          parsed(&s.CacheTTL, model.ParseDuration),
		"timeout":            parsed(&s.Timeout, model.ParseDuration),
		"refresh_timeout":    parsed(&s.RefreshTimeout, model.ParseDuration),
		"max_series":         optional(&s.MaxSeries),
		"max_stale":          parsed(&s.MaxStale, model.ParseDuration),
		"timezone":           parsed(&s.Timezone, loadLocation),
		"labels":             labels(&s.Labels),
		"http_client_config": httpClientConfig(&s.HTTPClientConfig),
	}
}

func (a account) fields(blocks map[string]*object) map[string]decodeFunc {
	f := a.Settings.fields()
	f["name"] = scalar(&a.Name)
	f["base_url"] = scalar(&a.BaseURL)
	f[VendorAIOps] = block(&a.AIOps, blocks)
	f[VendorVZICloud] = block(&a.VZICloud, blocks)
	f[VendorTingyun] = block(&a.Tingyun, blocks)
	f[VendorGuoyangyun] = block(&a.Guoyangyun, blocks)
	return f
}

// block decodes a vendor block; a null is an empty block, so that `aiops:`
// alone is reported as an incomplete aiops block rather than a missing one.
func block[T any, P interface {
	*T
	vendorBlock
}](p *P, objects map[string]*object) decodeFunc {
	return func(a at, v *yaml.Node) {
		*p = new(T)
		if o := a.mapping(v, (*p).fields()); o != nil {
			objects[a.path] = o
		}
	}
}

func (c *Config) decodeLimits(a at, v *yaml.Node) {
	a.entries(v, func(k, v *yaml.Node) {
		if !slices.Contains(Vendors, k.Value) {
			a.keyErrorf(k.Line, "unknown vendor %s in limits: must be one of %s", quote.Text(k.Value), strings.Join(Vendors, ", "))
			return
		}
		var l Limit
		o := a.key(k.Value, k.Line).mapping(v, map[string]decodeFunc{
			"max_concurrency":     optional(&l.MaxConcurrency),
			"requests_per_second": optional(&l.RequestsPerSecond),
		})
		if o == nil {
			return
		}
		if n := l.MaxConcurrency; n != nil && *n < 1 {
			o.errorf("max_concurrency", "must be at least 1, got %d", *n)
		}
		if r := l.RequestsPerSecond; r != nil && (*r < 0 || math.IsInf(*r, 0) || math.IsNaN(*r)) {
			o.errorf("requests_per_second", "must be a number of at least 0 (0: no limit), got %v", *r)
		}
		if c.Limits == nil {
			c.Limits = map[string]Limit{}
		}
		c.Limits[k.Value] = l
	})
}

// builtin is the last link of the defaults chain: account, `defaults`, this.
var builtin = Settings{
	CacheTTL:         new(model.Duration(DefaultCacheTTL)),
	Timeout:          new(model.Duration(DefaultTimeout)),
	RefreshTimeout:   new(model.Duration(DefaultRefreshTimeout)),
	MaxSeries:        new(DefaultMaxSeries),
	MaxStale:         new(model.Duration(DefaultMaxStale)),
	Timezone:         mustLocation(DefaultTimezone),
	HTTPClientConfig: &DefaultHTTPClientConfig,
}

func mustLocation(name string) *Location {
	l, err := loadLocation(name)
	if err != nil {
		panic(err) // cannot happen: time/tzdata is linked in
	}
	return &l
}

// loadLocation loads a zone. An empty name is refused: time.LoadLocation
// would take it as UTC.
func loadLocation(name string) (Location, error) {
	if name == "" {
		return Location{}, errors.New("must be a zone name such as Asia/Shanghai or UTC")
	}
	l, err := time.LoadLocation(name)
	return Location{Name: name, Location: l}, err
}

// or fills the unset fields of s from d.
func (s Settings) or(d Settings) Settings {
	s.CacheTTL = firstSet(s.CacheTTL, d.CacheTTL)
	s.Timeout = firstSet(s.Timeout, d.Timeout)
	s.RefreshTimeout = firstSet(s.RefreshTimeout, d.RefreshTimeout)
	s.MaxSeries = firstSet(s.MaxSeries, d.MaxSeries)
	s.MaxStale = firstSet(s.MaxStale, d.MaxStale)
	s.Timezone = firstSet(s.Timezone, d.Timezone)
	s.HTTPClientConfig = firstSet(s.HTTPClientConfig, d.HTTPClientConfig)
	return s
}

// firstSet is the first of its arguments that is set.
func firstSet[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// check validates the settings st sets and joins its relative file paths to
// dir; m is st with everything it inherits, for the rules between two keys.
func (st *Settings) check(o *object, m Settings, dir string) {
	if st.HTTPClientConfig != nil {
		st.HTTPClientConfig.SetDirectory(dir)
	}
	for _, d := range []struct {
		key string
		val *model.Duration
	}{{"cache_ttl", st.CacheTTL}, {"timeout", st.Timeout}, {"refresh_timeout", st.RefreshTimeout}, {"max_stale", st.MaxStale}} {
		if d.val != nil && *d.val <= 0 {
			o.errorf(d.key, "must be greater than 0")
		}
	}
	if st.MaxSeries != nil && *st.MaxSeries <= 0 {
		o.errorf("max_series", "must be greater than 0")
	}
	atLeast(o, "max_stale", st.MaxStale, *m.MaxStale, "cache_ttl", st.CacheTTL, *m.CacheTTL)
	// A refresh makes at least one request: a shorter refresh_timeout would
	// silently cut the timeout down.
	atLeast(o, "refresh_timeout", st.RefreshTimeout, *m.RefreshTimeout, "timeout", st.Timeout, *m.Timeout)
}

// atLeast reports big < small, where one of the two is set in o, so that a
// violation inherited from `defaults` is reported once, there, not in every
// account.
func atLeast(o *object, bigKey string, bigSet *model.Duration, big model.Duration, smallKey string, smallSet *model.Duration, small model.Duration) {
	if (bigSet == nil && smallSet == nil) || big <= 0 || small <= 0 || big >= small {
		return
	}
	key := bigKey
	if bigSet == nil {
		key = smallKey
	}
	o.errorf(key, "%s (%s) must be at least %s (%s)", bigKey, big, smallKey, small)
}

// defaultBaseURLs are the public hosts, used when an account sets no base_url.
var defaultBaseURLs = map[string]string{
	VendorAIOps:      aiops.DefaultBaseURL,
	VendorVZICloud:   vzicloud.DefaultBaseURL,
	VendorTingyun:    tingyun.DefaultBaseURL,
	VendorGuoyangyun: guoyangyun.DefaultBaseURL,
}

// check validates the account and resolves its Effective settings.
func (a account) check(c *Config, dir string) {
	o := a.o
	o.require("name", a.Name)
	m := a.Settings.or(c.Defaults).or(builtin)
	a.Settings.check(o, m, dir)

	var vendors []string
	for _, v := range Vendors {
		if _, set := o.keys[v]; set {
			vendors = append(vendors, v)
		}
	}
	switch len(vendors) {
	case 0:
		o.keyErrorf(o.line, "no vendor block: set one of %s, %s, %s or %s", VendorAIOps, VendorVZICloud, VendorTingyun, VendorGuoyangyun)
	case 1:
		a.Effective.Vendor = vendors[0]
	default:
		o.errorf(vendors[1], "more than one vendor block (%s): an account has exactly one", strings.Join(vendors, ", "))
	}
	for _, b := range a.vendorBlocks() {
		if bo := a.blocks[b.name]; bo != nil {
			ref := b.block.secret()
			if ref.check(bo, dir) {
				key := ref.key + "_file"
				c.secretFiles = append(c.secretFiles, secretFile{fieldError{o.account, bo.name(key), bo.keys[key].Line, ""}, ref})
			}
			b.block.check(bo)
		}
	}

	a.Effective = Effective{
		Vendor:           a.Effective.Vendor,
		CacheTTL:         time.Duration(*m.CacheTTL),
		Timeout:          time.Duration(*m.Timeout),
		RefreshTimeout:   time.Duration(*m.RefreshTimeout),
		MaxSeries:        *m.MaxSeries,
		MaxStale:         time.Duration(*m.MaxStale),
		Location:         m.Timezone.Location,
		Labels:           mergeLabels(c.Defaults.Labels, a.Labels),
		HTTPClientConfig: *m.HTTPClientConfig,
	}
	raw, explicit := defaultBaseURLs[a.Effective.Vendor], o.has("base_url")
	if explicit {
		raw = a.BaseURL
	}
	if raw != "" || explicit {
		u, err := parseBaseURL(raw)
		if err != nil {
			o.errorf("base_url", "%v", err)
		}
		a.Effective.BaseURL = u
	}
}

// mergeLabels returns the defaults' labels with the account's over them.
func mergeLabels(defaults, account map[string]string) map[string]string {
	if len(defaults)+len(account) == 0 {
		return nil
	}
	merged := make(map[string]string, len(defaults)+len(account))
	maps.Copy(merged, defaults)
	maps.Copy(merged, account)
	return merged
}

// parseBaseURL accepts a scheme, a host and an optional path prefix, to
// which the client appends the documented paths.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, urlError(err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("must start with http:// or https://")
	case u.User != nil:
		return nil, errors.New("must not hold credentials: the vendor client authenticates itself")
	case u.Host == "":
		return nil, errors.New("must have a host")
	case strings.ContainsAny(raw, "?#"):
		return nil, errors.New("must not have a query or fragment")
	}
	u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// urlError is url.Parse's complaint without the URL, which may hold a
// password; when the URL has credentials (an @), not even the part the
// complaint quotes, which may be a piece of the password; nor for a long
// URL, whose quoted part may be long.
func urlError(err error) error {
	uerr := &url.Error{}
	switch {
	case !errors.As(err, &uerr):
		return err
	case strings.Contains(uerr.URL, "@") || len(uerr.URL) > quote.MaxChars:
		return errors.New("not a valid URL")
	}
	return uerr.Err
}
