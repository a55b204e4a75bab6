package main

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

	"github.com/quotaexporter/quota_exporter/collector"
	"github.com/quotaexporter/quota_exporter/config"
)

// checkConfig loads the configuration and builds every account's client, as
// a start would, without serving.
func checkConfig(load func() (*config.Config, error), exporter *collector.Exporter, stdout, stderr io.Writer) int {
	cfg, ok := loadAndApply(load, exporter, stderr)
	if !ok {
		return 1
	}
	fmt.Fprintf(stdout, "configuration is valid: %d accounts\n%s", len(cfg.Accounts), summary(cfg))
	if err := cfg.CheckSecretFiles(); err != nil {
		// Not a load error (those accounts fail with secret_error), but
		// the check must say so.
		fmt.Fprintf(stderr, "secret files cannot be read:\n%v\n", err)
		return 1
	}
	return 0
}

// summary describes every account for --config.check, one block each:
// name, vendor, base URL, vendor settings and effective settings. It never
// shows a secret (a secret file shows as its path, an inline secret as
// <secret>), nor the public half of a credential (access_key_id, appkey);
// http_client_config shows the way Prometheus marshals it (secrets as
// <secret>, URL passwords redacted), and only when it is not the default.
func summary(cfg *config.Config) string {
	var b strings.Builder
	for _, a := range cfg.Accounts {
		e := a.Effective
		fmt.Fprintf(&b, "account %q: %s %s\n", a.Name, e.Vendor, e.BaseURL)
		fmt.Fprintf(&b, "  %s\n", strings.Join(append(vendorSettings(a), a.Secret.String()), ", "))
		fmt.Fprintf(&b, "  cache_ttl %s, timeout %s, refresh_timeout %s, max_stale %s, max_series %d, timezone %s\n",
			model.Duration(e.CacheTTL), model.Duration(e.Timeout), model.Duration(e.RefreshTimeout),
			model.Duration(e.MaxStale), e.MaxSeries, e.Location)
		if len(e.Labels) > 0 {
			labels := make([]string, 0, len(e.Labels))
			for _, name := range slices.Sorted(maps.Keys(e.Labels)) {
				labels = append(labels, name+"="+strconv.Quote(e.Labels[name]))
			}
			fmt.Fprintf(&b, "  labels %s\n", strings.Join(labels, ", "))
		}
		if !reflect.DeepEqual(e.HTTPClientConfig, config.DefaultHTTPClientConfig) {
			b.WriteString("  http_client_config:\n")
			var out bytes.Buffer
			enc := yaml.NewEncoder(&out)
			enc.SetIndent(2)
			if err := errors.Join(enc.Encode(e.HTTPClientConfig), enc.Close()); err != nil {
				out.Reset()
				out.WriteString("(cannot be shown)")
			}
			for l := range strings.Lines(strings.TrimSpace(out.String())) {
				b.WriteString("    " + strings.TrimSuffix(l, "\n") + "\n")
			}
		}
	}
	return b.String()
}

// vendorSettings lists the vendor block's settings worth showing.
func vendorSettings(a config.Account) []string {
	switch {
	case a.AIOps != nil:
		return []string{"email " + a.AIOps.Email}
	case a.VZICloud != nil:
		v := a.VZICloud
		windows := make([]string, len(v.ExpiryWindows))
		for i, w := range v.ExpiryWindows {
			windows[i] = w.Text
		}
		d := []string{fmt.Sprintf("page_size %d", v.PageSize), "expiry_windows [" + strings.Join(windows, ", ") + "]"}
		for _, w := range v.Wheres {
			d = append(d, fmt.Sprintf("where %s %s %v", w.K, w.O, w.V))
		}
		return d
	case a.Guoyangyun != nil && a.Guoyangyun.Username != "":
		return []string{"username " + a.Guoyangyun.Username}
	case a.Guoyangyun != nil:
		return []string{"all sub-accounts"}
	}
	return nil
}
