package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zone names must load in a scratch or distroless image too

	promcfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
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
func Parse(data []byte, dir string) (*Config, error) {
	root, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	cfg := &Config{}
	w := newWalker()
	w.walk(root, reflect.ValueOf(cfg).Elem(), loc{line: root.Line})
	if s, ok := w.scopes[cfg]; ok {
		cfg.check(s, dir)
	}
	if err := w.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseYAML returns the root node of the file's only document; an empty file
// is an empty mapping.
func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}, nil
	case err != nil:
		return nil, errors.New(decodeMessage(err))
	}
	// A second document would be ignored silently, which strict parsing
	// must not do.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("line %d: a second YAML document is not allowed", next.Line)
	case !errors.Is(err, io.EOF):
		return nil, errors.New(decodeMessage(err))
	}
	return doc.Content[0], nil
}

// builtin is the last link of the defaults chain: account, `defaults`, this.
var builtin = Settings{
	CacheTTL:         new(model.Duration(DefaultCacheTTL)),
	Timeout:          new(model.Duration(DefaultTimeout)),
	RefreshTimeout:   new(model.Duration(DefaultRefreshTimeout)),
	MaxSeries:        new(DefaultMaxSeries),
	MaxStale:         new(model.Duration(DefaultMaxStale)),
	Timezone:         mustLocation(DefaultTimezone),
	HTTPClientConfig: &promcfg.DefaultHTTPClientConfig,
}

func mustLocation(name string) *Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // cannot happen: time/tzdata is linked in
	}
	return &Location{Name: name, Location: l}
}

// or fills the unset fields of s from d.
func (s Settings) or(d Settings) Settings {
	if s.CacheTTL == nil {
		s.CacheTTL = d.CacheTTL
	}
	if s.Timeout == nil {
		s.Timeout = d.Timeout
	}
	if s.RefreshTimeout == nil {
		s.RefreshTimeout = d.RefreshTimeout
	}
	if s.MaxSeries == nil {
		s.MaxSeries = d.MaxSeries
	}
	if s.MaxStale == nil {
		s.MaxStale = d.MaxStale
	}
	if s.Timezone == nil {
		s.Timezone = d.Timezone
	}
	if s.HTTPClientConfig == nil {
		s.HTTPClientConfig = d.HTTPClientConfig
	}
	return s
}

// check validates the settings st sets and joins its relative file paths to
// dir; m is st with everything it inherits, for the max_stale rule.
func (st *Settings) check(s *scope, m Settings, dir string) {
	st.HTTPClientConfig.SetDirectory(dir)
	for _, d := range []struct {
		key string
		val *model.Duration
	}{{"cache_ttl", st.CacheTTL}, {"timeout", st.Timeout}, {"refresh_timeout", st.RefreshTimeout}, {"max_stale", st.MaxStale}} {
		if d.val != nil && *d.val <= 0 {
			s.errorf(d.key, "must be greater than 0")
		}
	}
	// Reported where one of the two is set, so that a violation inherited
	// from `defaults` is reported once, there, not in every account.
	ttl, stale := *m.CacheTTL, *m.MaxStale
	if (st.CacheTTL != nil || st.MaxStale != nil) && ttl > 0 && stale > 0 && stale < ttl {
		key := "max_stale"
		if st.MaxStale == nil {
			key = "cache_ttl"
		}
		s.errorf(key, "max_stale (%s) must be at least cache_ttl (%s)", stale, ttl)
	}
	if st.MaxSeries != nil && *st.MaxSeries <= 0 {
		s.errorf("max_series", "must be greater than 0")
	}
}

// check validates the decoded file and resolves each account.
func (c *Config) check(s *scope, dir string) {
	if len(c.Accounts) == 0 {
		s.errorf("accounts", "must list at least one account")
	}
	if ds, ok := s.sub(&c.Defaults); ok {
		c.Defaults.check(ds, c.Defaults.or(builtin), dir)
	}
	firstLine := map[string]int{}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		as, ok := s.sub(a)
		if !ok {
			continue
		}
		if line, dup := firstLine[a.Name]; dup {
			as.errorf("name", "duplicate: account %q is already defined on line %d", a.Name, line)
		} else if a.Name != "" {
			firstLine[a.Name] = as.line("name")
		}
		a.check(as, c.Defaults, dir)
	}
}

// check validates the account and resolves its Effective settings.
func (a *Account) check(s *scope, defaults Settings, dir string) {
	s.require("name", a.Name)
	m := a.Settings.or(defaults).or(builtin)
	a.Settings.check(s, m, dir)

	blocks := a.vendorBlocks()
	switch len(blocks) {
	case 0:
		s.fail("no vendor block: set one of %s, %s, %s or %s", VendorAIOps, VendorVZICloud, VendorTingyun, VendorGuoyangyun)
	case 1:
	default:
		names := make([]string, len(blocks))
		for i, b := range blocks {
			names[i] = b.name
		}
		s.errorf(blocks[1].name, "more than one vendor block (%s): an account has exactly one", strings.Join(names, ", "))
	}
	for _, b := range blocks {
		if bs, ok := s.sub(b.block); ok {
			checkSecret(bs, b.block.secret(), dir)
			b.block.check(bs)
		}
	}

	a.Effective = Effective{
		CacheTTL:         time.Duration(*m.CacheTTL),
		Timeout:          time.Duration(*m.Timeout),
		RefreshTimeout:   time.Duration(*m.RefreshTimeout),
		MaxSeries:        *m.MaxSeries,
		MaxStale:         time.Duration(*m.MaxStale),
		Location:         m.Timezone.Location,
		Labels:           mergeLabels(defaults.Labels, a.Labels),
		HTTPClientConfig: *m.HTTPClientConfig,
	}
	if len(blocks) == 1 {
		a.Effective.Vendor = blocks[0].name
	}
	raw, explicit := DefaultBaseURLs[a.Effective.Vendor], s.has("base_url")
	if explicit {
		raw = a.BaseURL
	}
	if raw != "" || explicit {
		u, err := parseBaseURL(raw)
		if err != nil {
			s.errorf("base_url", "%v", err)
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
// which the client appends the documented paths. Errors never quote the URL:
// it could hold a password.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, err
	}
	switch {
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

// vendorBlock is what the checks and the summary need of a vendor block.
type vendorBlock interface {
	secret() secretRef
	// check validates the block, its secret aside, and fills in its defaults.
	check(s *scope)
	// describe lists settings worth showing in the summary, never a secret
	// nor the public half of a credential (access_key_id, appkey).
	describe() []string
}

type namedBlock struct {
	name  string
	block vendorBlock
}

// vendorBlocks lists the vendor blocks the account sets.
func (a *Account) vendorBlocks() []namedBlock {
	all := []struct {
		name  string
		set   bool
		block vendorBlock
	}{
		{VendorAIOps, a.AIOps != nil, a.AIOps},
		{VendorVZICloud, a.VZICloud != nil, a.VZICloud},
		{VendorTingyun, a.Tingyun != nil, a.Tingyun},
		{VendorGuoyangyun, a.Guoyangyun != nil, a.Guoyangyun},
	}
	var set []namedBlock
	for _, b := range all {
		if b.set {
			set = append(set, namedBlock{b.name, b.block})
		}
	}
	return set
}

// TokenSource returns where the API token comes from.
func (a *AIOps) TokenSource() SecretSource { return a.secret().source() }

func (a *AIOps) secret() secretRef { return secretRef{"token", &a.Token, &a.TokenFile} }

func (a *AIOps) check(s *scope) { s.require("email", a.Email) }

func (a *AIOps) describe() []string { return []string{"email " + a.Email} }

// SecretSource returns where the access key secret comes from.
func (v *VZICloud) SecretSource() SecretSource { return v.secret().source() }

func (v *VZICloud) secret() secretRef {
	return secretRef{"access_key_secret", &v.AccessKeySecret, &v.AccessKeySecretFile}
}

func (v *VZICloud) check(s *scope) {
	s.require("access_key_id", v.AccessKeyID)
	// Absent means the default; an explicit 0 is a mistake, not a default.
	switch {
	case !s.has("page_size"):
		v.PageSize = DefaultVZICloudPageSize
	case v.PageSize < 1 || v.PageSize > MaxVZICloudPageSize:
		s.errorf("page_size", "must be between 1 and %d, got %d", MaxVZICloudPageSize, v.PageSize)
	}
	for i := range v.Wheres {
		if ws, ok := s.sub(&v.Wheres[i]); ok {
			v.Wheres[i].check(ws)
		}
	}
	if !s.has("expiry_windows") {
		v.ExpiryWindows = defaultWindows()
		return
	}
	if len(v.ExpiryWindows) == 0 {
		s.errorf("expiry_windows", "must list at least one window; leave it out for the default %v", DefaultExpiryWindows)
	}
	seen := map[time.Duration]string{}
	for i, w := range v.ExpiryWindows {
		prev, dup := seen[w.Duration]
		switch {
		case w.Duration <= 0:
			s.elemErrorf("expiry_windows", i, "must be greater than 0")
		case dup:
			s.elemErrorf("expiry_windows", i, "duplicate window: %s is the same as %s", w.Text, prev)
		default:
			seen[w.Duration] = w.Text
		}
	}
}

func (v *VZICloud) describe() []string {
	d := []string{fmt.Sprintf("page_size %d", v.PageSize)}
	windows := make([]string, len(v.ExpiryWindows))
	for i, w := range v.ExpiryWindows {
		windows[i] = w.Text
	}
	d = append(d, "expiry_windows ["+strings.Join(windows, ", ")+"]")
	for _, w := range v.Wheres {
		d = append(d, fmt.Sprintf("where %s %s %v", w.K, w.O, w.V))
	}
	return d
}

func defaultWindows() []Window {
	ws := make([]Window, len(DefaultExpiryWindows))
	for i, text := range DefaultExpiryWindows {
		w, err := parseWindow(text)
		if err != nil {
			panic(err) // a bad constant, caught by any test
		}
		ws[i] = w
	}
	return ws
}

// The vzicloud filter's documented fields and operators.
var (
	whereKeys = []string{
		"sn", "type", "order_no", "product_id", "state", "period_time", "period_unit",
		"grant_user_id", "grant_accesskey_id", "remark", "create_time", "update_time",
	}
	whereOps = []string{"eq", "ne", "lt", "lte", "gt", "gte", "like", "in", "ni"}
)

func (w *Where) check(s *scope) {
	s.oneOf("k", w.K, whereKeys)
	s.oneOf("o", w.O, whereOps)
	if !s.has("v") {
		s.errorf("v", "is required")
		return
	}
	wantList := w.O == "in" || w.O == "ni"
	_, isList := w.V.([]any)
	switch {
	case !slices.Contains(whereOps, w.O) || isList == wantList:
	case wantList:
		s.errorf("v", "must be a list for %s", w.O)
	default:
		s.errorf("v", "must be a single value for %s", w.O)
	}
}

// AuthkeySource returns where the authkey comes from.
func (t *Tingyun) AuthkeySource() SecretSource { return t.secret().source() }

func (t *Tingyun) secret() secretRef { return secretRef{"authkey", &t.Authkey, &t.AuthkeyFile} }

// check has nothing to do: the authkey is all there is.
func (t *Tingyun) check(*scope) {}

func (t *Tingyun) describe() []string { return nil }

// AppsecretSource returns where the appsecret comes from.
func (g *Guoyangyun) AppsecretSource() SecretSource { return g.secret().source() }

func (g *Guoyangyun) secret() secretRef {
	return secretRef{"appsecret", &g.Appsecret, &g.AppsecretFile}
}

func (g *Guoyangyun) check(s *scope) { s.require("appkey", g.Appkey) }

func (g *Guoyangyun) describe() []string {
	if g.Username == "" {
		return []string{"all sub-accounts"}
	}
	return []string{"username " + g.Username}
}

// UnmarshalYAML loads the zone, so a bad name is a load error. An empty name
// is refused: time.LoadLocation would take it as UTC.
func (l *Location) UnmarshalYAML(n *yaml.Node) error {
	var name string
	if err := n.Decode(&name); err != nil {
		return err
	}
	if name == "" {
		return errors.New("must be a zone name such as Asia/Shanghai or UTC")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return err
	}
	*l = Location{Name: name, Location: loc}
	return nil
}

// UnmarshalYAML parses a Prometheus duration (7d, 12h) and keeps its text
// for the `within` label.
func (w *Window) UnmarshalYAML(n *yaml.Node) error {
	var text string
	if err := n.Decode(&text); err != nil {
		return err
	}
	parsed, err := parseWindow(text)
	if err != nil {
		return err
	}
	*w = parsed
	return nil
}

func parseWindow(text string) (Window, error) {
	d, err := model.ParseDuration(text)
	if err != nil {
		return Window{}, err
	}
	return Window{Text: text, Duration: time.Duration(d)}, nil
}
