package validate

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dashboardFile = "../grafana-dashboard.json"

// grafanaForSchema is the first Grafana release that writes each dashboard
// schemaVersion, which is what an export's __requires names.
var grafanaForSchema = map[uint16]string{39: "10.4.0"}

// classicDashboard is the dashboard JSON model that Grafana's import and
// file provisioning read, the format of grafana-dashboard.json. The SDK
// marks it deprecated in favor of dashboardv2, the schema of Grafana 12's
// dashboard resources, which is a different format.
type classicDashboard = dashboard.Dashboard //nolint:staticcheck // see above

func init() {
	// Decode each panel's options and targets into its plugin's own types.
	plugins.RegisterDefaultPlugins()
}

// exportEnvelope is what Grafana's "export for sharing externally" adds
// around a dashboard and its import form reads; the SDK's Dashboard type has
// no fields for it.
type exportEnvelope struct {
	Inputs []struct {
		Name, Label, Description, Type, PluginID, PluginName string
	} `json:"__inputs"`
	Requires []struct {
		Type, ID, Name, Version string
	} `json:"__requires"`
}

// readDashboard splits the file into its export envelope and the dashboard
// proper.
func readDashboard(t *testing.T) (exportEnvelope, []byte) {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields))
	envelope := map[string]json.RawMessage{"__inputs": fields["__inputs"], "__requires": fields["__requires"]}
	delete(fields, "__inputs")
	delete(fields, "__requires")
	var env exportEnvelope
	envRaw, err := json.Marshal(envelope)
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(envRaw)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&env))
	body, err := json.Marshal(fields)
	require.NoError(t, err)
	return env, body
}

// The dashboard decodes strictly into the Grafana Foundation SDK's types:
// no unknown field anywhere the SDK types it, and every field the schema
// requires (as Grafana itself writes them when it saves a dashboard).
func TestDashboardDecodesStrictly(t *testing.T) {
	_, body := readDashboard(t)
	var d classicDashboard
	require.NoError(t, decodeStrictly(&d, body))

	// Field config is typed by the SDK but decoded leniently by the
	// dashboard's decoder; decode each panel's on its own, strictly.
	for _, p := range panels(t, body) {
		if p.FieldConfig != nil {
			var fc dashboard.FieldConfigSource
			assert.NoError(t, decodeStrictly(&fc, p.FieldConfig), p.Title)
		}
	}

	// The strict decoder does reject what it does not know.
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m))
	m["panels"].([]any)[1].(map[string]any)["options"].(map[string]any)["colourMode"] = "value"
	bad, err := json.Marshal(m)
	require.NoError(t, err)
	assert.ErrorContains(t, decodeStrictly(new(classicDashboard), bad), "colourMode", "an unknown option is an error")
}

// The export envelope agrees with the dashboard: its one data source input
// is the datasource variable's default, and __requires names the Grafana
// release of the schemaVersion and every panel type used.
func TestDashboardExportEnvelope(t *testing.T) {
	env, body := readDashboard(t)
	var d classicDashboard
	require.NoError(t, decodeStrictly(&d, body))

	require.Len(t, env.Inputs, 1)
	assert.Equal(t, "DS_PROMETHEUS", env.Inputs[0].Name)
	assert.Equal(t, "prometheus", env.Inputs[0].PluginID)
	require.NotEmpty(t, d.Templating.List)
	dsVar := d.Templating.List[0]
	assert.Equal(t, "datasource", dsVar.Name)
	require.NotNil(t, dsVar.Current)
	require.NotNil(t, dsVar.Current.Value)
	require.NotNil(t, dsVar.Current.Value.String)
	assert.Equal(t, "${DS_PROMETHEUS}", *dsVar.Current.Value.String, "the input picked on import becomes the variable's default")

	required := map[string]string{}
	for _, r := range env.Requires {
		required[r.Type+"/"+r.ID] = r.Version
	}
	assert.Equal(t, grafanaForSchema[d.SchemaVersion], required["grafana/grafana"], "schemaVersion %d", d.SchemaVersion)
	assert.Contains(t, required, "datasource/prometheus")
	used := map[string]bool{}
	for _, p := range panels(t, body) {
		if p.Type != "row" {
			used["panel/"+p.Type] = true
		}
	}
	for kind := range used {
		assert.Contains(t, required, kind)
	}
	for kind := range required {
		if strings.HasPrefix(kind, "panel/") {
			assert.True(t, used[kind], "%s is required but not used", kind)
		}
	}
}

// Every query is a Prometheus query through the datasource variable,
// filtered by the job and instance variables so that two jobs or two
// exporters never count an account twice.
func TestDashboardQueriesUseTheVariables(t *testing.T) {
	_, body := readDashboard(t)
	var d classicDashboard
	require.NoError(t, decodeStrictly(&d, body))
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	assert.Equal(t, []string{"datasource", "job", "instance", "vendor", "account"}, vars)

	selector := regexp.MustCompile(`\b[a-z_]+\{([^}]*)\}`)
	queries := 0
	// Each panel and each query is decoded on its own: the SDK's decoders of
	// a panel union and of a query list check their items strictly but,
	// through the same empty-error quirk, keep none of them.
	for _, raw := range panels(t, body) {
		if raw.Type == "row" {
			continue
		}
		var p dashboard.Panel
		require.NoError(t, decodeStrictly(&p, raw.JSON), raw.Title)
		require.NotNil(t, p.Datasource, raw.Title)
		assert.Equal(t, "${datasource}", *p.Datasource.Uid, raw.Title)
		var targets struct {
			Targets []json.RawMessage `json:"targets"`
		}
		require.NoError(t, json.Unmarshal(raw.JSON, &targets))
		for _, target := range targets.Targets {
			var q prometheus.Dataquery
			require.NoError(t, decodeStrictly(&q, target), raw.Title)
			assert.Equal(t, "${datasource}", *q.Datasource.Uid)
			matches := selector.FindAllStringSubmatch(q.Expr, -1)
			assert.NotEmpty(t, matches, q.Expr)
			for _, m := range matches {
				assert.Contains(t, m[1], `job="$job"`, q.Expr)
				assert.Contains(t, m[1], `instance=~"$instance"`, q.Expr)
			}
			queries++
		}
	}
	assert.Positive(t, queries)
}

// Tables of several queries merge them into one row per object, and every
// timestamp is shown as a date.
func TestDashboardTablesRenderAsOne(t *testing.T) {
	_, body := readDashboard(t)
	dateUnits := []string{"dateTimeAsIso", "dateTimeFromNow"}
	for _, p := range panels(t, body) {
		var ids []string
		for _, tr := range p.Transformations {
			ids = append(ids, tr.ID)
		}
		if p.Type == "table" && len(p.Targets) > 1 {
			assert.True(t, slices.Contains(ids, "merge") || slices.Contains(ids, "joinByField"),
				"%s combines %d queries: %v", p.Title, len(p.Targets), ids)
		}
		var fc struct {
			Overrides []struct {
				Properties []struct {
					ID    string `json:"id"`
					Value any    `json:"value"`
				} `json:"properties"`
			} `json:"overrides"`
		}
		if p.FieldConfig != nil {
			require.NoError(t, json.Unmarshal(p.FieldConfig, &fc))
		}
		dates := 0
		for _, o := range fc.Overrides {
			for _, prop := range o.Properties {
				if unit, ok := prop.Value.(string); ok && prop.ID == "unit" && slices.Contains(dateUnits, unit) {
					dates++
				}
			}
		}
		timestamps := 0
		for _, target := range p.Targets {
			if strings.Contains(target.Expr, "_timestamp_seconds") {
				assert.True(t, strings.HasSuffix(target.Expr, "* 1000"), "%s: Grafana's date units take milliseconds: %s", p.Title, target.Expr)
				timestamps++
			}
		}
		assert.Equal(t, timestamps, dates, "%s: a date unit for each timestamp", p.Title)
	}
}

// decodeStrictly runs the SDK's strict decoder. It returns its error list
// as an error even when the list is empty (a nil slice in a non-nil
// interface), so an empty list is no error.
func decodeStrictly(v interface{ UnmarshalJSONStrict([]byte) error }, raw []byte) error {
	var errs cog.BuildErrors
	if err := v.UnmarshalJSONStrict(raw); err != nil && (!errors.As(err, &errs) || len(errs) > 0) {
		return err
	}
	return nil
}

// rawPanel is the little of a panel the checks above read as plain JSON.
type rawPanel struct {
	Type            string          `json:"type"`
	Title           string          `json:"title"`
	FieldConfig     json.RawMessage `json:"fieldConfig"`
	Transformations []struct {
		ID string `json:"id"`
	} `json:"transformations"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	JSON json.RawMessage `json:"-"`
}

func panels(t *testing.T, body []byte) []rawPanel {
	t.Helper()
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(body, &d))
	require.NotEmpty(t, d.Panels)
	out := make([]rawPanel, len(d.Panels))
	for i, raw := range d.Panels {
		require.NoError(t, json.Unmarshal(raw, &out[i]))
		out[i].JSON = raw
	}
	return out
}
