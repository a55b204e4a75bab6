package collector

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// The exporter's own per-account metrics.
var (
	ownSuccess = ownDesc(namespace+"_scrape_success",
		"1 if the most recent upstream refresh of the account succeeded, 0 if it failed or none has finished yet.")
	ownDuration = ownDesc(namespace+"_scrape_duration_seconds",
		"Duration of the most recent upstream refresh of the account, all requests and pages included.")
	ownLastSuccess = ownDesc(namespace+"_last_success_timestamp_seconds",
		"Unix time at which the last successful upstream refresh of the account ended.")
	ownDataAge = ownDesc(namespace+"_data_age_seconds",
		"Age of the vendor data served now for the account: time since the refresh that fetched it. Absent when no data is served.")
	ownDescs = []*metricDesc{ownDataAge, ownLastSuccess, ownDuration, ownSuccess} // by name
)

func ownDesc(name, help string) *metricDesc {
	return &metricDesc{name: &name, help: &help}
}

// Gatherer returns the gatherer of one scrape: every account with its
// upstream request counts, or only the one named (ok is false when none has
// that name), then longLived's families when it is not nil. It waits for refreshes no longer than ctx
// allows.
func (e *Exporter) Gatherer(ctx context.Context, only string, longLived prometheus.Gatherer) (g prometheus.Gatherer, ok bool) {
	e.mu.RLock()
	accounts := e.accounts
	e.mu.RUnlock()
	if only != "" {
		i := slices.IndexFunc(accounts, func(a *account) bool { return a.name == only })
		if i < 0 {
			return nil, false
		}
		accounts = accounts[i : i+1]
	}
	return &scrape{ctx: ctx, clock: e.opts.Clock, accounts: accounts, all: only == "", longLived: longLived}, true
}

// scrape gathers the families each account rendered at its last refresh,
// as they are: they were sorted and checked then. Only the clock-derived
// and the exporter's own series are made at scrape time.
type scrape struct {
	ctx       context.Context
	clock     func() time.Time
	accounts  []*account
	all       bool // every account: their upstream request counts too
	longLived prometheus.Gatherer
}

func (s *scrape) Gather() ([]*dto.MetricFamily, error) {
	// By name, so that series of a family come out sorted when they are
	// concatenated (`account` is their first label, unless a static label
	// sorts before it).
	accounts := slices.SortedFunc(slices.Values(s.accounts), func(a, b *account) int { return strings.Compare(a.name, b.name) })
	states := make([]state, len(accounts))
	// Most accounts' data is fresh: their state is read here. Only those
	// due for a refresh go through current, concurrently, since some may
	// wait for it (until ctx is done).
	start := s.clock()
	var wg sync.WaitGroup
	for i, a := range accounts {
		if st := a.snapshot(); !a.needsRefresh(st, start) {
			states[i] = st
			continue
		}
		wg.Go(func() { states[i] = a.current(s.ctx) })
	}
	wg.Wait()

	now := s.clock()
	own := newBuilder(nil, 0)
	parts := make([][]*dto.MetricFamily, 0, 2*len(accounts)+3)
	var requests []*dto.Metric
	if s.all {
		requests = make([]*dto.Metric, 0, len(accounts)*len(upstream.Results))
	}
	for i, a := range accounts {
		st := states[i]
		servable := a.servable(st, now)
		ownSeries(own, a, st, servable, now)
		if s.all && a.requests != nil {
			requests = a.requests.appendSeries(requests)
		}
		if servable {
			parts = append(parts, st.data.families, st.data.clockedFamilies(now))
		}
	}
	parts = append(parts, own.ownFamilies(), requestsFamily(requests))
	var err error
	if s.longLived != nil {
		var mfs []*dto.MetricFamily
		mfs, err = s.longLived.Gather()
		parts = append(parts, mfs)
	}
	return mergeFamilies(parts), err
}

// ownSeries adds the exporter's own series of an account.
func ownSeries(b *builder, a *account, st state, servable bool, now time.Time) {
	b.ownGauge(ownSuccess, a.ownLabels, boolValue(st.lastOK))
	if st.last != nil { // a refresh has finished
		b.ownGauge(ownDuration, a.ownLabels, st.lastDuration.Seconds())
	}
	if !st.dataTime.IsZero() {
		b.ownGauge(ownLastSuccess, a.ownLabels, unixSeconds(st.dataTime))
	}
	if servable {
		b.ownGauge(ownDataAge, a.ownLabels, now.Sub(st.dataTime).Seconds())
	}
}

func (b *builder) ownGauge(d *metricDesc, labels []*dto.LabelPair, v float64) {
	b.put(d, dto.MetricType_GAUGE, labels, v)
}

// ownFamilies are the own families that have series, sorted by name.
func (b *builder) ownFamilies() []*dto.MetricFamily {
	var mfs []*dto.MetricFamily
	for _, d := range ownDescs {
		if f := b.families[d]; f != nil {
			mfs = append(mfs, b.materialize(f, nil))
		}
	}
	return mfs
}

// mergeFamilies merges lists of families, each sorted by name, into one
// family per name: Prometheus refuses a name that appears twice. Families
// are not changed: a name found in one list only is passed on as it is,
// others get a family of their own whose series are sorted.
func mergeFamilies(parts [][]*dto.MetricFamily) []*dto.MetricFamily {
	byName := map[string][]*dto.MetricFamily{}
	for _, mfs := range parts {
		for _, mf := range mfs {
			byName[mf.GetName()] = append(byName[mf.GetName()], mf)
		}
	}
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, same := range byName {
		if len(same) == 1 {
			out = append(out, same[0])
			continue
		}
		n := 0
		for _, mf := range same {
			n += len(mf.Metric)
		}
		merged := &dto.MetricFamily{Name: same[0].Name, Help: same[0].Help, Type: same[0].Type, Metric: make([]*dto.Metric, 0, n)}
		sorted := true
		for _, mf := range same {
			// Each part is sorted: the whole is when each part starts
			// after the one before ends.
			if len(merged.Metric) > 0 && len(mf.Metric) > 0 && compareLabels(merged.Metric[len(merged.Metric)-1], mf.Metric[0]) > 0 {
				sorted = false
			}
			merged.Metric = append(merged.Metric, mf.Metric...)
		}
		if !sorted {
			slices.SortStableFunc(merged.Metric, compareLabels)
		}
		out = append(out, merged)
	}
	slices.SortFunc(out, func(x, y *dto.MetricFamily) int { return strings.Compare(x.GetName(), y.GetName()) })
	return out
}
