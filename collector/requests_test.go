package collector

import (
	"slices"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// A scrape reuses a result's series while its count stays; a new count gets
// a new series, and the one an earlier scrape got keeps its value.
func TestRequestSeriesAreReusedWhileTheirCountStays(t *testing.T) {
	c := newRequestCounts("ops", "aiops")
	first := c.appendSeries(nil)
	require.Len(t, first, len(upstream.Results))
	require.Same(t, first[0].GetCounter(), first[1].GetCounter(), "the zeros share their value")
	c.inc(upstream.ResultSuccess)
	c.inc(upstream.ResultSuccess)
	second := c.appendSeries(nil)
	require.Len(t, second, len(upstream.Results))
	for i, m := range second {
		result := m.GetLabel()[1].GetValue()
		if result != string(upstream.ResultSuccess) {
			require.Same(t, first[i], m, result)
			require.Equal(t, 0.0, m.GetCounter().GetValue(), result)
			continue
		}
		require.NotSame(t, first[i], m)
		require.Equal(t, 2.0, m.GetCounter().GetValue())
		require.Equal(t, 0.0, first[i].GetCounter().GetValue(), "what the first scrape got")
	}
}

// Scrapes encode the series while refreshes count requests and other
// scrapes render new series: `go test -race` checks none is changed.
func TestRequestSeriesAreSafeToEncodeWhileCounting(t *testing.T) {
	c := newRequestCounts("ops", "aiops")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				c.inc(upstream.ResultSuccess)
				var text strings.Builder
				_, err := expfmt.MetricFamilyToText(&text, requestsFamily(c.appendSeries(nil))[0])
				require.NoError(t, err)
			}
		})
	}
	wg.Wait()
	last := c.appendSeries(nil)
	i := slices.IndexFunc(last, func(m *dto.Metric) bool { return m.GetLabel()[1].GetValue() == string(upstream.ResultSuccess) })
	require.Equal(t, 400.0, last[i].GetCounter().GetValue())
}
