package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Summary describes every account for --config.check, one block each.
func (c *Config) Summary() string {
	var b strings.Builder
	for _, a := range c.Accounts {
		b.WriteString(a.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// String describes the account: name, vendor, base URL, vendor settings and
// effective settings. It never shows a secret: a secret file shows as its
// path, an inline secret as <secret>.
func (a Account) String() string {
	head, rest, _ := strings.Cut(a.Effective.String(), "\n")
	lines := []string{fmt.Sprintf("account %q: %s", a.Name, head)}
	if a.vendor != nil {
		lines = append(lines, "  "+strings.Join(append(a.vendor.describe(), a.Secret.String()), ", "))
	}
	return strings.Join(append(lines, rest), "\n")
}

// Format prints String whatever the verb: fmt's own rendering (%#v, %d...)
// would show http_client_config's secrets, promcfg.Secret being a plain
// string to fmt.
func (a Account) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, a.String()) }

// String describes the settings, http_client_config the way Prometheus
// marshals it (secrets as <secret>, URL passwords redacted) and only when it
// is not the default.
func (e Effective) String() string {
	lines := []string{
		fmt.Sprintf("%s %s", e.Vendor, e.BaseURL),
		fmt.Sprintf("  cache_ttl %s, timeout %s, refresh_timeout %s, max_stale %s, max_series %d, timezone %s",
			model.Duration(e.CacheTTL), model.Duration(e.Timeout), model.Duration(e.RefreshTimeout),
			model.Duration(e.MaxStale), e.MaxSeries, e.Location),
	}
	if len(e.Labels) > 0 {
		labels := make([]string, 0, len(e.Labels))
		for _, name := range slices.Sorted(maps.Keys(e.Labels)) {
			labels = append(labels, name+"="+strconv.Quote(e.Labels[name]))
		}
		lines = append(lines, "  labels "+strings.Join(labels, ", "))
	}
	if !reflect.DeepEqual(e.HTTPClientConfig, DefaultHTTPClientConfig) {
		lines = append(lines, "  http_client_config:")
		var out bytes.Buffer
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(2)
		if err := errors.Join(enc.Encode(e.HTTPClientConfig), enc.Close()); err != nil {
			out.Reset()
			out.WriteString("(cannot be shown)")
		}
		for l := range strings.Lines(strings.TrimSpace(out.String())) {
			lines = append(lines, "    "+strings.TrimSuffix(l, "\n"))
		}
	}
	return strings.Join(lines, "\n")
}

// Format prints String whatever the verb, for the reason given on Account.
func (e Effective) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }
