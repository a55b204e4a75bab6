package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	promcfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"

	"github.com/quotaexporter/quota_exporter/internal/labelrules"
	"github.com/quotaexporter/quota_exporter/internal/quote"
	"github.com/quotaexporter/quota_exporter/internal/secret"
	"github.com/quotaexporter/quota_exporter/internal/strictyaml"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

// vendorBlock is what the decoder and the checks need of a vendor block.
type vendorBlock interface {
	// fields are the block's keys, its secret's two (decoded into s) included.
	fields(s *secret.Source) strictyaml.Fields
	// check validates the block, its secret aside, and fills in its defaults.
	check(o *strictyaml.Object)
}

func (a *AIOps) fields(s *secret.Source) strictyaml.Fields {
	return s.Fields("token", strictyaml.Fields{"email": strictyaml.Scalar(&a.Email)})
}

func (a *AIOps) check(o *strictyaml.Object) { o.Require("email", a.Email) }

func (v *VZICloud) fields(s *secret.Source) strictyaml.Fields {
	return s.Fields("access_key_secret", strictyaml.Fields{
		"access_key_id":  strictyaml.Scalar(&v.AccessKeyID),
		"page_size":      strictyaml.Scalar(&v.PageSize),
		"wheres":         wheres(&v.Wheres),
		"expiry_windows": windows(&v.ExpiryWindows),
	})
}

func (v *VZICloud) check(o *strictyaml.Object) {
	o.Require("access_key_id", v.AccessKeyID)
	// Absent means the default; an explicit 0 is a mistake, not a default.
	switch {
	case !o.Has("page_size"):
		v.PageSize = vzicloud.DefaultPageSize
	case v.PageSize < 1 || v.PageSize > vzicloud.MaxPageSize:
		o.Errorf("page_size", "must be between 1 and %d, got %d", vzicloud.MaxPageSize, v.PageSize)
	}
	switch {
	case !o.Has("expiry_windows"):
		v.ExpiryWindows = slices.Clone(DefaultExpiryWindows)
	case len(v.ExpiryWindows) == 0:
		o.Errorf("expiry_windows", "must list at least one window; leave it out for the default %v", DefaultExpiryWindows)
	}
}

// windows decodes expiry windows: positive durations, no two alike.
func windows(p *[]Window) strictyaml.Field {
	return func(a strictyaml.At, v *yaml.Node) {
		seen := map[time.Duration]string{}
		a.List(v, func(_ int, e strictyaml.At, v *yaml.Node) {
			var w Window
			switch strictyaml.Parsed(&w, parseWindow)(e, v); {
			case w.Text == "": // null, or reported
			case w.Duration <= 0:
				e.Errorf("must be greater than 0")
			case seen[w.Duration] != "":
				e.Errorf("duplicate window: %s is the same as %s", w.Text, seen[w.Duration])
			default:
				seen[w.Duration] = w.Text
				*p = append(*p, w)
			}
		})
		if *p == nil && !strictyaml.IsNull(v) {
			*p = []Window{} // set, and empty: the check says so
		}
	}
}

// parseWindow parses a Prometheus duration (7d, 12h) and keeps its text for
// the `within` label.
func parseWindow(text string) (Window, error) {
	d, err := parseDuration(text)
	return Window{Text: text, Duration: d}, err
}

// wheres decodes the vzicloud filter: documented keys and operators, a
// single value, or a list of them for the list operators.
func wheres(p *[]vzicloud.Where) strictyaml.Field {
	return func(a strictyaml.At, v *yaml.Node) {
		a.List(v, func(_ int, e strictyaml.At, v *yaml.Node) {
			var w vzicloud.Where
			var value *yaml.Node
			o := e.Mapping(v, strictyaml.Fields{
				"k": strictyaml.Scalar(&w.K),
				"o": strictyaml.Scalar(&w.O),
				"v": func(a strictyaml.At, v *yaml.Node) {
					value = v
					if v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode && slices.ContainsFunc(v.Content, func(e *yaml.Node) bool { return strictyaml.Resolve(e).Kind != yaml.ScalarNode }) {
						a.Errorf("must be a single value or a list of them")
					} else if err := v.Decode(&w.V); err != nil {
						a.Errorf("%s", strictyaml.TypeErrors(err))
					}
				},
			})
			if o == nil {
				return
			}
			o.OneOf("k", w.K, vzicloud.WhereKeys)
			o.OneOf("o", w.O, vzicloud.WhereOps)
			switch isList := value != nil && value.Kind == yaml.SequenceNode; {
			case !o.Has("v"):
				o.Errorf("v", "is required")
			case !slices.Contains(vzicloud.WhereOps, w.O) || isList == vzicloud.ListOp(w.O):
			case isList:
				o.Errorf("v", "must be a single value for %s", w.O)
			default:
				o.Errorf("v", "must be a list for %s", w.O)
			}
			*p = append(*p, w)
		})
	}
}

func (t *Tingyun) fields(s *secret.Source) strictyaml.Fields {
	return s.Fields("authkey", strictyaml.Fields{})
}

// check has nothing to do: the authkey is all there is.
func (t *Tingyun) check(*strictyaml.Object) {}

func (g *Guoyangyun) fields(s *secret.Source) strictyaml.Fields {
	return s.Fields("appsecret", strictyaml.Fields{"appkey": strictyaml.Scalar(&g.Appkey), "username": strictyaml.Scalar(&g.Username)})
}

func (g *Guoyangyun) check(o *strictyaml.Object) { o.Require("appkey", g.Appkey) }

// labels decodes static labels: names and values as labelrules has them.
func labels(p *map[string]string) strictyaml.Field {
	return func(a strictyaml.At, v *yaml.Node) {
		a.Entries(v, func(k, v *yaml.Node) {
			if err := labelrules.CheckName(k.Value); err != nil {
				a.KeyErrorf(k.Line, "label name %s%s %v", quote.Text(k.Value), strictyaml.In(a.Path), err)
				return
			}
			var value string
			if va := a.Key(k.Value, k.Line); strictyaml.Text(va, v, &value) {
				if err := labelrules.CheckValue(value); err != nil {
					va.Errorf("%v", err)
				}
			}
			if *p == nil {
				*p = map[string]string{}
			}
			(*p)[k.Value] = value
		})
	}
}

// authKeys are refused in http_client_config: each vendor client
// authenticates its own way, and a second authentication would clash.
var authKeys = []string{"basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file"}

// httpClientConfig decodes the standard Prometheus block the way Prometheus
// does (strictly; its UnmarshalYAML applies the defaults and validates),
// minus the authentication keys, which are refused, and with
// follow_redirects false unless set; relative file paths are joined to dir.
func httpClientConfig(p *promcfg.HTTPClientConfig, dir string) strictyaml.Field {
	return func(a strictyaml.At, v *yaml.Node) {
		var raw map[string]any
		switch {
		case strictyaml.IsNull(v):
			return
		case v.Kind != yaml.MappingNode:
			a.Errorf("must be a mapping, got %s", strictyaml.KindName(v))
			return
		}
		if err := v.Decode(&raw); err != nil {
			a.Errorf("%s", strictyaml.TypeErrors(err))
			return
		}
		refused := false
		for _, key := range authKeys {
			if _, set := raw[key]; set { // merge keys (<<) included
				line := a.Line
				for i := 0; i+1 < len(v.Content); i += 2 {
					if v.Content[i].Value == key {
						line = v.Content[i].Line
					}
				}
				a.Key(key, line).Errorf("not allowed: each vendor client authenticates itself")
				delete(raw, key)
				refused = true
			}
		}
		cfg := promcfg.HTTPClientConfig{}
		err := strictyaml.Foreign(raw, &cfg)
		if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
			err = fmt.Errorf("proxy_url: %w", upstream.URLParseError(err))
		}
		switch {
		case err != nil:
			a.Errorf("%s", strictyaml.TypeErrors(err))
		case !refused:
			if _, set := raw["follow_redirects"]; !set {
				cfg.FollowRedirects = false
			}
			cfg.SetDirectory(dir)
			*p = cfg
		}
	}
}
