package config

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	promcfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	yaml2 "go.yaml.in/yaml/v2"
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
	for _, b := range a.vendorBlocks() {
		lines = append(lines, "  "+strings.Join(append(b.block.describe(), b.block.secret().String()), ", "))
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
		fmt.Sprintf("  cache_ttl %s, timeout %s, max_stale %s, timezone %s",
			model.Duration(e.CacheTTL), model.Duration(e.Timeout), model.Duration(e.MaxStale), e.Location),
	}
	if !reflect.DeepEqual(e.HTTPClientConfig, promcfg.DefaultHTTPClientConfig) {
		lines = append(lines, "  http_client_config:")
		out, err := yaml2.Marshal(e.HTTPClientConfig)
		if err != nil {
			out = []byte("(cannot be shown)")
		}
		for l := range strings.Lines(strings.TrimSpace(string(out))) {
			lines = append(lines, "    "+strings.TrimSuffix(l, "\n"))
		}
	}
	return strings.Join(lines, "\n")
}

// Format prints String whatever the verb, for the reason given on Account.
func (e Effective) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }
