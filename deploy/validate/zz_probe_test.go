package validate

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func TestProbe(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	raw, _ := os.ReadFile("../grafana-dashboard.json")
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	delete(m, "__inputs")
	delete(m, "__requires")
	raw, _ = json.Marshal(m)
	var d dashboard.Dashboard
	t.Log(d.UnmarshalJSONStrict(raw))
}
