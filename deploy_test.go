package main

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The deploy artifacts are checked by the tools their users run.
func TestDeployArtifactsPassTheirTools(t *testing.T) {
	for _, tc := range []struct {
		tool string
		args []string
	}{
		{"promtool", []string{"check", "rules", "deploy/alerts.yml"}},
		{"promtool", []string{"test", "rules", "deploy/alerts_test.yml", "deploy/alerts_outage_test.yml"}},
		{"promtool", []string{"check", "config", "deploy/prometheus.yml"}},
		{"amtool", []string{"check-config", "deploy/alertmanager.yml"}},
	} {
		t.Run(tc.tool+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := exec.Command(requireTool(t, tc.tool), tc.args...).CombinedOutput()
			assert.NoError(t, err, "%s", out)
		})
	}
}

// runbookBase is where every alert's runbook_url points, as the rules file's
// header says.
const runbookBase = "https://github.com/quotaexporter/quota_exporter/blob/main/docs/runbooks.md"

// contractAlerts are the alert names the contract fixes.
var contractAlerts = []string{
	"QuotaLicenseExpiringSoon", "QuotaLicenseExpired", "QuotaNotificationQuotaLow",
	"QuotaNotificationQuotaExhausted", "QuotaNotificationQuotaDepleting", "QuotaGrantsExpiringSoon",
	"QuotaGrantsExpired", "QuotaSMSBalanceLow", "QuotaSMSBalanceDepleting",
	"QuotaSMSAccountNotNormal", "QuotaSMSProductNotNormal", "QuotaUpstreamRefreshFailing",
	"QuotaDataStale", "QuotaExporterDown",
}

// Every alert of the contract is there, and every alert has a severity, a
// summary, a description and a runbook_url that points at its own section
// of docs/runbooks.md.
func TestEveryAlertHasItsRunbook(t *testing.T) {
	rulesFile, err := os.ReadFile("deploy/alerts.yml")
	require.NoError(t, err)
	assert.Contains(t, string(rulesFile), "#   "+runbookBase+"\n", "the header names the runbook base URL")
	runbooks, err := os.ReadFile("docs/runbooks.md")
	require.NoError(t, err)
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)$`).FindAllStringSubmatch(string(runbooks), -1) {
		headings[m[1]] = true
	}
	seen := map[string]bool{}
	for _, r := range alertRules(t) {
		if r.Alert == "" {
			continue // a recording rule
		}
		seen[r.Alert] = true
		assert.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], r.Alert)
		assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
		assert.NotEmpty(t, r.Annotations["description"], r.Alert)
		assert.Equal(t, runbookBase+"#"+strings.ToLower(r.Alert), r.Annotations["runbook_url"], r.Alert)
		assert.True(t, headings[r.Alert], "docs/runbooks.md has a section ## %s", r.Alert)
	}
	assert.Subset(t, slices.Sorted(maps.Keys(seen)), contractAlerts, "every alert of the contract is there")
}

// selector finds the metric names a PromQL expression selects.
var selector = regexp.MustCompile(`\b([a-z_][a-z0-9_]*)\s*\{`)

// The dashboard imports as is, through the UI and by provisioning, and asks
// only for metrics of the contract.
func TestDashboardIsImportable(t *testing.T) {
	data, err := os.ReadFile("deploy/grafana-dashboard.json")
	require.NoError(t, err)
	var d struct {
		ID     *int   `json:"id"`
		UID    string `json:"uid"`
		Inputs []struct {
			Name, Type, PluginID string
		} `json:"__inputs"`
		Templating struct {
			List []struct {
				Name, Type string
				Query      any `json:"query"`
				Current    struct {
					Value any `json:"value"`
				} `json:"current"`
			} `json:"list"`
		} `json:"templating"`
		Panels []json.RawMessage `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &d))
	assert.Nil(t, d.ID, "id is null, so an import never overwrites another dashboard")
	assert.Equal(t, "quota-exporter", d.UID)
	require.Len(t, d.Inputs, 1)
	assert.Equal(t, "DS_PROMETHEUS", d.Inputs[0].Name)
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	assert.Equal(t, map[string]string{"datasource": "datasource", "job": "query", "instance": "query", "vendor": "query", "account": "query"}, vars)
	// The import form's data source becomes the datasource variable's
	// default; panels use the variable, so provisioning the file as is works
	// too (the variable then falls back to the default Prometheus).
	assert.Equal(t, 2, strings.Count(string(data), `"${DS_PROMETHEUS}"`), "the input is used only as the datasource variable's text and value")
	assert.Equal(t, "${DS_PROMETHEUS}", d.Templating.List[0].Current.Value)

	documented := map[string]bool{"quota_exporter_upstream_request_duration_seconds_bucket": true}
	for _, name := range readmeMetricNames(t) {
		documented[name] = true
	}
	queries := dashboardQueries(t)
	require.NotEmpty(t, queries)
	for panel, expr := range queries {
		names := selector.FindAllStringSubmatch(expr, -1)
		assert.NotEmpty(t, names, "%s: %s", panel, expr)
		for _, m := range names {
			assert.True(t, documented[m[1]], "%s uses %s, not a metric of the contract", panel, m[1])
		}
	}
}
