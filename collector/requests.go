package collector

import (
	"slices"
	"strings"
	"sync/atomic"

	dto "github.com/prometheus/client_model/go"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

var ownRequests = ownDesc(namespace+"_upstream_requests_total",
	"Upstream HTTP requests to vendor APIs (every page counts), by outcome.")

// requestCounts counts one account's upstream requests by result, every
// result from zero so that rate() and increase() work from the first
// failure on. The scrape renders them from labels paired once: as a
// registered CounterVec, their gathering and checking cost more than any
// other series of a warm scrape.
type requestCounts struct {
	n      []atomic.Uint64    // by index in upstream.Results
	labels [][]*dto.LabelPair // account, result, vendor
	// series holds each result's last rendered series, which scrapes reuse
	// while its count stays: counts change only with refreshes. A series is
	// never changed once rendered, since concurrent scrapes encode it; a
	// new count gets a new one.
	series []atomic.Pointer[dto.Metric]
}

func newRequestCounts(account, vendor string) *requestCounts {
	c := &requestCounts{n: make([]atomic.Uint64, len(upstream.Results)), labels: make([][]*dto.LabelPair, len(upstream.Results)),
		series: make([]atomic.Pointer[dto.Metric], len(upstream.Results))}
	accountPair, vendorPair := labelPair("account", account), labelPair("vendor", vendor)
	for i, r := range upstream.Results {
		c.labels[i] = []*dto.LabelPair{accountPair, labelPair("result", string(r)), vendorPair}
	}
	return c
}

func (c *requestCounts) inc(r upstream.Result) {
	if i := slices.Index(upstream.Results, r); i >= 0 {
		c.n[i].Add(1)
	}
}

// resultOrder lists the indexes of upstream.Results in the order of their
// names, the order of the series.
var resultOrder = slices.SortedFunc(func(yield func(int) bool) {
	for i := range upstream.Results {
		if !yield(i) {
			return
		}
	}
}, func(a, b int) int { return strings.Compare(string(upstream.Results[a]), string(upstream.Results[b])) })

// zeroRequests is the value of every result an account has not had yet,
// most of them: never changed, it is shared.
var zeroRequests = &dto.Counter{Value: new(float64)}

// appendSeries appends the counts as series, in the order of their labels.
func (c *requestCounts) appendSeries(ms []*dto.Metric) []*dto.Metric {
	for _, i := range resultOrder {
		n := float64(c.n[i].Load())
		m := c.series[i].Load()
		if m == nil || m.GetCounter().GetValue() != n {
			m = &dto.Metric{Label: c.labels[i], Counter: zeroRequests}
			if n != 0 {
				m.Counter = &dto.Counter{Value: &n}
			}
			c.series[i].Store(m)
		}
		ms = append(ms, m)
	}
	return ms
}

// requestsFamily is the family of the request counts' series, if any.
func requestsFamily(ms []*dto.Metric) []*dto.MetricFamily {
	if len(ms) == 0 {
		return nil
	}
	return []*dto.MetricFamily{{Name: ownRequests.name, Help: ownRequests.help, Type: dto.MetricType_COUNTER.Enum(), Metric: ms}}
}
