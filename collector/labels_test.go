package collector

import (
	"context"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/labelrules"
	"github.com/quotaexporter/quota_exporter/simulator"
)

// labelrules.Reserved, which static `labels` may not use, holds every
// label of the exporter's output: the demo's four vendors, the exporter's
// own metrics and the collectors main registers beside them.
func TestReservedLabelsCoverEveryLabel(t *testing.T) {
	demo, err := simulator.StartDemo(time.Now(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, demo.Close()) })
	cfg, err := config.Parse(demo.ConfigYAML(), "")
	require.NoError(t, err)

	reg := prometheus.NewPedanticRegistry()
	e := New(Options{Logger: log.NewNopLogger(), Registerer: reg})
	require.NoError(t, e.Apply(cfg))
	reg.MustRegister(versioncollector.NewCollector("quota_exporter"),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g, _ := e.Gatherer(context.Background(), "", reg)
	mfs, err := g.Gather()
	require.NoError(t, err)

	seen := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				seen[l.GetName()] = true
			}
			if mf.GetType().String() == "HISTOGRAM" {
				seen["le"] = true
			}
		}
	}
	for _, name := range []string{"license_id", "product_id", "user_id", "instance_id", "result"} {
		require.True(t, seen[name], "the demo output has %s: the test sees every vendor", name)
	}
	for name := range seen {
		require.Contains(t, labelrules.Reserved, name)
	}
}
