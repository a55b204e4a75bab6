package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	promcfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/quotaexporter/quota_exporter/internal/quote"
	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

// vendorBlock is what the decoder, the checks and the summary need of a
// vendor block.
type vendorBlock interface {
	fields() map[string]decodeFunc
	secret() secretRef
	// check validates the block, its secret aside, and fills in its defaults.
	check(o *object)
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
	var set []namedBlock
	for _, b := range []struct {
		namedBlock
		set bool
	}{
		{namedBlock{VendorAIOps, a.AIOps}, a.AIOps != nil},
		{namedBlock{VendorVZICloud, a.VZICloud}, a.VZICloud != nil},
		{namedBlock{VendorTingyun, a.Tingyun}, a.Tingyun != nil},
		{namedBlock{VendorGuoyangyun, a.Guoyangyun}, a.Guoyangyun != nil},
	} {
		if b.set {
			set = append(set, b.namedBlock)
		}
	}
	return set
}

// WithSecretWarning returns a whose secret source tells warn, once per file
// and process, of a secret file that every user of the machine may read.
// It is for building the account's client: the account itself, to compare
// across reloads, is a without it.
func (a Account) WithSecretWarning(warn func(file string)) Account {
	switch {
	case a.AIOps != nil:
		b := *a.AIOps
		b.warn, a.AIOps = warn, &b
	case a.VZICloud != nil:
		b := *a.VZICloud
		b.warn, a.VZICloud = warn, &b
	case a.Tingyun != nil:
		b := *a.Tingyun
		b.warn, a.Tingyun = warn, &b
	case a.Guoyangyun != nil:
		b := *a.Guoyangyun
		b.warn, a.Guoyangyun = warn, &b
	}
	return a
}

// TokenSource returns where the API token comes from.
func (a *AIOps) TokenSource() SecretSource { return a.secret().source() }

func (a *AIOps) fields() map[string]decodeFunc {
	return a.secret().fields(map[string]decodeFunc{"email": scalar(&a.Email)})
}

func (a *AIOps) secret() secretRef { return secretRef{"token", &a.Token, &a.TokenFile, a.warn} }

func (a *AIOps) check(o *object) { o.require("email", a.Email) }

func (a *AIOps) describe() []string { return []string{"email " + a.Email} }

// SecretSource returns where the access key secret comes from.
func (v *VZICloud) SecretSource() SecretSource { return v.secret().source() }

func (v *VZICloud) fields() map[string]decodeFunc {
	return v.secret().fields(map[string]decodeFunc{
		"access_key_id":  scalar(&v.AccessKeyID),
		"page_size":      scalar(&v.PageSize),
		"wheres":         wheres(&v.Wheres),
		"expiry_windows": windows(&v.ExpiryWindows),
	})
}

func (v *VZICloud) secret() secretRef {
	return secretRef{"access_key_secret", &v.AccessKeySecret, &v.AccessKeySecretFile, v.warn}
}

func (v *VZICloud) check(o *object) {
	o.require("access_key_id", v.AccessKeyID)
	// Absent means the default; an explicit 0 is a mistake, not a default.
	switch {
	case !o.has("page_size"):
		v.PageSize = vzicloud.DefaultPageSize
	case v.PageSize < 1 || v.PageSize > vzicloud.MaxPageSize:
		o.errorf("page_size", "must be between 1 and %d, got %d", vzicloud.MaxPageSize, v.PageSize)
	}
	switch {
	case !o.has("expiry_windows"):
		v.ExpiryWindows = defaultWindows()
	case len(v.ExpiryWindows) == 0:
		o.errorf("expiry_windows", "must list at least one window; leave it out for the default %v", DefaultExpiryWindows)
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

// windows decodes expiry windows: positive durations, no two alike.
func windows(p *[]Window) decodeFunc {
	return func(a at, v *yaml.Node) {
		seen := map[time.Duration]string{}
		a.list(v, func(_ int, e at, v *yaml.Node) {
			var w *Window
			switch parsed(&w, parseWindow)(e, v); {
			case w == nil:
			case w.Duration <= 0:
				e.errorf("must be greater than 0")
			case seen[w.Duration] != "":
				e.errorf("duplicate window: %s is the same as %s", w.Text, seen[w.Duration])
			default:
				seen[w.Duration] = w.Text
				*p = append(*p, *w)
			}
		})
		if *p == nil && !isNull(v) {
			*p = []Window{} // set, and empty: the check says so
		}
	}
}

// parseWindow parses a Prometheus duration (7d, 12h) and keeps its text for
// the `within` label.
func parseWindow(text string) (Window, error) {
	d, err := model.ParseDuration(text)
	return Window{Text: text, Duration: time.Duration(d)}, err
}

// wheres decodes the vzicloud filter: documented keys and operators, a
// single value, or a list of them for the list operators.
func wheres(p *[]vzicloud.Where) decodeFunc {
	return func(a at, v *yaml.Node) {
		a.list(v, func(_ int, e at, v *yaml.Node) {
			var w vzicloud.Where
			var value *yaml.Node
			o := e.mapping(v, map[string]decodeFunc{
				"k": scalar(&w.K),
				"o": scalar(&w.O),
				"v": func(a at, v *yaml.Node) {
					value = v
					if v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode && slices.ContainsFunc(v.Content, func(e *yaml.Node) bool { return resolve(e).Kind != yaml.ScalarNode }) {
						a.errorf("must be a single value or a list of them")
					} else if err := v.Decode(&w.V); err != nil {
						a.errorf("%s", typeErrors(err))
					}
				},
			})
			if o == nil {
				return
			}
			o.oneOf("k", w.K, vzicloud.WhereKeys)
			o.oneOf("o", w.O, vzicloud.WhereOps)
			switch isList := value != nil && value.Kind == yaml.SequenceNode; {
			case !o.has("v"):
				o.errorf("v", "is required")
			case !slices.Contains(vzicloud.WhereOps, w.O) || isList == vzicloud.ListOp(w.O):
			case isList:
				o.errorf("v", "must be a single value for %s", w.O)
			default:
				o.errorf("v", "must be a list for %s", w.O)
			}
			*p = append(*p, w)
		})
	}
}

// AuthkeySource returns where the authkey comes from.
func (t *Tingyun) AuthkeySource() SecretSource { return t.secret().source() }

func (t *Tingyun) fields() map[string]decodeFunc {
	return t.secret().fields(map[string]decodeFunc{})
}

func (t *Tingyun) secret() secretRef { return secretRef{"authkey", &t.Authkey, &t.AuthkeyFile, t.warn} }

// check has nothing to do: the authkey is all there is.
func (t *Tingyun) check(*object) {}

func (t *Tingyun) describe() []string { return nil }

// AppsecretSource returns where the appsecret comes from.
func (g *Guoyangyun) AppsecretSource() SecretSource { return g.secret().source() }

func (g *Guoyangyun) fields() map[string]decodeFunc {
	return g.secret().fields(map[string]decodeFunc{"appkey": scalar(&g.Appkey), "username": scalar(&g.Username)})
}

func (g *Guoyangyun) secret() secretRef {
	return secretRef{"appsecret", &g.Appsecret, &g.AppsecretFile, g.warn}
}

func (g *Guoyangyun) check(o *object) { o.require("appkey", g.Appkey) }

func (g *Guoyangyun) describe() []string {
	if g.Username == "" {
		return []string{"all sub-accounts"}
	}
	return []string{"username " + g.Username}
}

// maxLabelValue is the longest label value, static or from a vendor.
const maxLabelValue = 1024

func checkLabelValue(a at, value string) {
	switch {
	case !utf8.ValidString(value):
		a.errorf("must be valid UTF-8")
	case len(value) > maxLabelValue:
		a.errorf("must be at most %d bytes, got %d", maxLabelValue, len(value))
	}
}

// labels decodes static labels: Prometheus label names that are neither
// reserved nor the exporter's own, with values of at most 1,024 bytes of
// UTF-8 (the limit vendor label values have).
func labels(p *map[string]string) decodeFunc {
	return func(a at, v *yaml.Node) {
		a.entries(v, func(k, v *yaml.Node) {
			name := quote.Text(k.Value) + in(a.path)
			switch {
			case !model.LegacyValidation.IsValidLabelName(k.Value):
				a.keyErrorf(k.Line, "label name %s is not valid: letters, digits and _, not starting with a digit", name)
			case strings.HasPrefix(k.Value, "__"):
				a.keyErrorf(k.Line, "label name %s is reserved: names starting with __ are Prometheus' own", name)
			case slices.Contains(ReservedLabels, k.Value):
				a.keyErrorf(k.Line, "label name %s is reserved: the exporter or Prometheus sets it", name)
			default:
				var value string
				if va := a.key(k.Value, k.Line); decodeText(va, v, &value) {
					checkLabelValue(va, value)
				}
				if *p == nil {
					*p = map[string]string{}
				}
				(*p)[k.Value] = value
			}
		})
	}
}

// authKeys are refused in http_client_config: each vendor client
// authenticates its own way, and a second authentication would clash.
var authKeys = []string{"basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file"}

// httpClientConfig decodes the standard Prometheus block the way Prometheus
// does (strictly; its UnmarshalYAML applies the defaults and validates),
// minus the authentication keys, which are refused, and with
// follow_redirects false unless set.
func httpClientConfig(p **promcfg.HTTPClientConfig) decodeFunc {
	return func(a at, v *yaml.Node) {
		// Decoding into a map resolves aliases and merge keys, so the
		// re-marshaled text stands alone.
		var raw map[string]any
		switch {
		case isNull(v):
			return
		case v.Kind != yaml.MappingNode:
			a.errorf("must be a mapping, got %s", kindName(v))
			return
		}
		if err := v.Decode(&raw); err != nil {
			a.errorf("%s", typeErrors(err))
			return
		}
		refused := false
		for _, key := range authKeys {
			if _, set := raw[key]; set { // merge keys (<<) included
				line := a.line
				for i := 0; i+1 < len(v.Content); i += 2 {
					if v.Content[i].Value == key {
						line = v.Content[i].Line
					}
				}
				a.key(key, line).errorf("not allowed: each vendor client authenticates itself")
				delete(raw, key)
				refused = true
			}
		}
		cfg := promcfg.HTTPClientConfig{}
		text, err := yaml.Marshal(raw)
		if err == nil {
			dec := yaml.NewDecoder(bytes.NewReader(text))
			dec.KnownFields(true)
			err = dec.Decode(&cfg)
		}
		if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
			err = fmt.Errorf("proxy_url: %w", urlError(err))
		}
		switch {
		case err != nil:
			a.errorf("%s", typeErrors(err))
		case !refused:
			if _, set := raw["follow_redirects"]; !set {
				cfg.FollowRedirects = false
			}
			*p = &cfg
		}
	}
}
