package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
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
		{"promtool", []string{"test", "rules", "deploy/alerts_test.yml"}},
		{"promtool", []string{"check", "config", "deploy/prometheus.yml"}},
		{"amtool", []string{"check-config", "deploy/alertmanager.yml"}},
	} {
		t.Run(tc.tool+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := exec.Command(requireTool(t, tc.tool), tc.args...).CombinedOutput()
			assert.NoError(t, err, "%s", out)
		})
	}
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
	assert.Equal(t, map[string]string{"datasource": "datasource", "vendor": "query", "account": "query"}, vars)
	assert.NotContains(t, string(data), "${DS_PROMETHEUS}", "panels use the datasource variable, so provisioning works too")

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
