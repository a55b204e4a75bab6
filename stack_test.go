package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/quotaexporter/quota_exporter/internal/syncbuf"
)

// The stack test runs what users run: the exporter in demo mode, a real
// Prometheus scraping it with deploy/alerts.yml, and a real Alertmanager.

// startProcess runs a program until the test ends and waits until ready
// answers 200.
func startProcess(t *testing.T, ready string, name string, args ...string) *syncbuf.Buffer {
	t.Helper()
	logs := &syncbuf.Buffer{}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	require.Eventually(t, func() bool {
		code, _ := get(ready)
		return code == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "%s did not become ready:\n%s", filepath.Base(name), logs)
	return logs
}

// promQuery runs an instant query and returns its result vector.
func promQuery(t *testing.T, promURL, query string) []struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
} {
	t.Helper()
	code, body := get(promURL + "/api/v1/query?query=" + url.QueryEscape(query))
	require.Equal(t, http.StatusOK, code, "query %s: %s", query, body)
	var answer struct {
		Data struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &answer))
	return answer.Data.Result
}

// dashboardQueries are the expressions of every panel of the dashboard,
// nested rows included, with the Grafana variables replaced as a user
// viewing all accounts would have them.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("deploy/grafana-dashboard.json")
	require.NoError(t, err)
	var dashboard struct {
		Panels []dashboardPanel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &dashboard))
	vars := strings.NewReplacer(
		"$job", stackJob, "$instance", ".*",
		"$account", ".*", "${account}", ".*", "$vendor", ".*", "${vendor}", ".*",
		"$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h",
	)
	queries := map[string]string{}
	var walk func([]dashboardPanel)
	walk = func(panels []dashboardPanel) {
		for _, p := range panels {
			for _, target := range p.Targets {
				if strings.TrimSpace(target.Expr) != "" {
					queries[fmt.Sprintf("%s [%s]", p.Title, target.RefID)] = vars.Replace(target.Expr)
				}
			}
			walk(p.Panels)
		}
	}
	walk(dashboard.Panels)
	return queries
}

type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

// stackJob is the stack's scrape job, not named quota_exporter: neither the
// rules nor the dashboard may depend on the job's name.
const stackJob = "qe-demo"

// alertRule is a rule of deploy/alerts.yml.
type alertRule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	data, err := os.ReadFile("deploy/alerts.yml")
	require.NoError(t, err)
	var file struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(data, &file))
	var rules []alertRule
	for _, g := range file.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules
}

func TestStackWithPrometheusAndAlertmanager(t *testing.T) {
	prometheus := requireTool(t, "prometheus")
	alertmanager := findAlertmanager(t)
	dir := t.TempDir()
	// With --storage.path, so that its own metric is scraped too.
	exporter := startExporter(t, "--demo", "--storage.path="+filepath.Join(dir, "answers"))

	amAddr := freeAddress(t)
	startProcess(t, "http://"+amAddr+"/-/ready", alertmanager,
		"--config.file=deploy/alertmanager.yml", "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")

	rules, err := filepath.Abs("deploy/alerts.yml")
	require.NoError(t, err)
	promConfig := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(promConfig, fmt.Appendf(nil, `
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
alerting:
  alertmanagers: [{static_configs: [{targets: [%q]}]}]
scrape_configs:
  - job_name: %s
    scrape_timeout: 1s
    static_configs: [{targets: [%q]}]
`, rules, amAddr, stackJob, strings.TrimPrefix(exporter.url, "http://")), 0o600))
	promAddr := freeAddress(t)
	promURL := "http://" + promAddr
	startProcess(t, promURL+"/-/ready", prometheus,
		"--config.file="+promConfig, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr)

	require.Eventually(t, func() bool {
		up := promQuery(t, promURL, `up{job="`+stackJob+`"}`)
		return len(up) == 1 && up[0].Value[1] == "1"
	}, 30*time.Second, 200*time.Millisecond, "the exporter is scraped and up")
	// Enough samples for rate() over the dashboards' 1m windows.
	time.Sleep(5 * time.Second)

	t.Run("every metric family of the contract", func(t *testing.T) {
		for _, name := range readmeMetricNames(t) {
			assert.NotEmpty(t, promQuery(t, promURL, name), name)
		}
	})

	t.Run("every recording rule the alerts read has data", func(t *testing.T) {
		for _, r := range alertRules(t) {
			if r.Record != "" {
				assert.Eventually(t, func() bool { return len(promQuery(t, promURL, r.Record)) > 0 },
					10*time.Second, 200*time.Millisecond, r.Record)
			}
		}
	})

	t.Run("every dashboard query returns data", func(t *testing.T) {
		queries := dashboardQueries(t)
		require.NotEmpty(t, queries)
		for panel, query := range queries {
			assert.NotEmpty(t, promQuery(t, promURL, query), "%s: %s", panel, query)
		}
	})

	t.Run("the demo's alerts, and only those", func(t *testing.T) {
		var active map[string]bool
		require.Eventually(t, func() bool {
			active = map[string]bool{}
			for _, s := range promQuery(t, promURL, `ALERTS`) {
				active[s.Metric["alertname"]] = true
			}
			return len(active) >= len(demoAlerts)
		}, 30*time.Second, 500*time.Millisecond)
		assert.ElementsMatch(t, demoAlerts, slices.Sorted(maps.Keys(active)), "active alerts")

		// Those without a long `for` fire at once and reach Alertmanager.
		var immediate []string
		for _, r := range alertRules(t) {
			if slices.Contains(demoAlerts, r.Alert) && (r.For == "" || r.For == "0s" || r.For == "0m") {
				immediate = append(immediate, r.Alert)
			}
		}
		require.NotEmpty(t, immediate, "some demo alerts fire without delay")
		assert.Eventually(t, func() bool {
			_, body := get("http://" + amAddr + "/api/v2/alerts")
			return !slices.ContainsFunc(immediate, func(a string) bool { return !strings.Contains(body, `"alertname":"`+a+`"`) })
		}, 60*time.Second, 500*time.Millisecond, "alerts %v reach Alertmanager", immediate)
	})
}

func findAlertmanager(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return requireTool(t, "prometheus-alertmanager") // skips, or fails in CI
}

// readmeMetricNames are the metrics the README's tables document, as
// Prometheus stores them (a histogram by its _count).
func readmeMetricNames(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	var names []string
	for _, m := range readmeMetricRow.FindAllStringSubmatch(string(readme), -1) {
		if m[2] == "histogram" {
			m[1] += "_count"
		}
		names = append(names, m[1])
	}
	return names
}

// demoAlerts are the alerts the demo's data justifies, pending or firing:
// a license expiring tomorrow and one expired, an SMS quota 94 % used,
// grants expiring within 7 days and past their expiry, an SMS product with
// 64 messages left, a frozen and a disabled sub-account, a frozen product.
var demoAlerts = []string{
	"QuotaGrantsExpired",
	"QuotaGrantsExpiringSoon",
	"QuotaLicenseExpired",
	"QuotaLicenseExpiringSoon",
	"QuotaNotificationQuotaLow",
	"QuotaSMSAccountNotNormal",
	"QuotaSMSBalanceLow",
	"QuotaSMSProductNotNormal",
}
