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
}

func newRequestCounts(account, vendor string) *requestCounts {
	c := &requestCounts{n: make([]atomic.Uint64, len(upstream.Results)), labels: make([][]*dto.LabelPair, len(upstream.Results))}
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

// add adds the counts as series.
func (c *requestCounts) add(b *builder) {
	for _, i := range resultOrder {
		b.put(ownRequests, dto.MetricType_COUNTER, c.labels[i], float64(c.n[i].Load()))
	}
}
