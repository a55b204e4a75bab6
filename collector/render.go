package collector

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/quotaexporter/quota_exporter/internal/labelrules"
	"github.com/quotaexporter/quota_exporter/internal/quote"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// cacheNote ends the HELP of every vendor metric.
const cacheNote = " May be served from cache, up to cache_ttl old."

// metricDesc describes a vendor metric: its name, HELP and the labels
// beyond `account` (and the account's static labels).
type metricDesc struct {
	name, help *string
	labels     []string
}

func vendorDesc(name, help string, labels ...string) *metricDesc {
	help += cacheNote
	return &metricDesc{name: &name, help: &help, labels: labels}
}

// accountLabels are the labels every vendor series of an account carries:
// `account` and the static `labels`, as pairs shared by all its series.
type accountLabels []*dto.LabelPair

func newAccountLabels(name string, static map[string]string) accountLabels {
	pairs := accountLabels{labelPair("account", name)}
	for _, k := range slices.Sorted(maps.Keys(static)) {
		pairs = append(pairs, labelPair(k, static[k]))
	}
	return pairs
}

func labelPair(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: &name, Value: &value}
}

// layout is where each label of a metric's series comes from, in the
// order Prometheus sorts label names: a pair shared by the account's series
// (fixed), or the value at index from of the series' own labels.
type layout struct {
	names []*string
	fixed []*dto.LabelPair
	from  []int
}

func newLayout(d *metricDesc, shared accountLabels) *layout {
	type source struct {
		name  *string
		fixed *dto.LabelPair
		from  int
	}
	sources := make([]source, 0, len(shared)+len(d.labels))
	for _, p := range shared {
		sources = append(sources, source{p.Name, p, -1})
	}
	for i := range d.labels {
		sources = append(sources, source{&d.labels[i], nil, i})
	}
	slices.SortFunc(sources, func(a, b source) int { return strings.Compare(*a.name, *b.name) })
	l := &layout{}
	for _, s := range sources {
		l.names, l.fixed, l.from = append(l.names, s.name), append(l.fixed, s.fixed), append(l.from, s.from)
	}
	return l
}

// series is one sample with its protobuf parts in a single allocation.
type series struct {
	metric  dto.Metric
	gauge   dto.Gauge
	counter dto.Counter
	value   float64
}

// builder renders one account's series into metric families. Label values
// are checked as they come (size, UTF-8) and the number of series is
// bounded: the first violation is kept in err and ends the rendering.
type builder struct {
	shared    accountLabels
	layouts   map[*metricDesc]*layout // read only when frozen
	frozen    bool                    // layouts belong to a published set: do not add to them
	maxSeries int                     // 0 for no bound
	families  map[*metricDesc]*dto.MetricFamily
	series    int
	err       error
}

func newBuilder(shared accountLabels, maxSeries int) *builder {
	return &builder{shared: shared, layouts: map[*metricDesc]*layout{}, maxSeries: maxSeries, families: map[*metricDesc]*dto.MetricFamily{}}
}

func (b *builder) gauge(d *metricDesc, v float64, labels ...string) {
	b.add(d, dto.MetricType_GAUGE, v, labels)
}

func (b *builder) counter(d *metricDesc, v float64, labels ...string) {
	b.add(d, dto.MetricType_COUNTER, v, labels)
}

// stateName is one state of a state set: the vendor's code and its label.
type stateName struct {
	code int64
	name string
}

// stateSet emits one series per state, 1 for the current and 0 for the
// others, with the state as the last label. A code outside states (or
// none) sets them all to 0 and adds status="unknown" with 1, so that the
// account is never silently "not normal" without saying why.
func (b *builder) stateSet(d *metricDesc, states []stateName, current upstream.Code, labels ...string) {
	known := false
	for _, s := range states {
		is := current.Valid && current.Value == s.code
		known = known || is
		b.gauge(d, boolValue(is), append(slices.Clip(labels), s.name)...)
	}
	if !known {
		b.gauge(d, 1, append(slices.Clip(labels), "unknown")...)
	}
}

// timestamp emits t as Unix seconds, or nothing for the zero time (the
// vendor did not say), since 0 would read as 1970.
func (b *builder) timestamp(d *metricDesc, t time.Time, labels ...string) {
	if !t.IsZero() {
		b.gauge(d, unixSeconds(t), labels...)
	}
}

// flag emits a 0/1 vendor flag, or nothing when the vendor did not send it.
func (b *builder) flag(d *metricDesc, f upstream.Flag, labels ...string) {
	if f.Valid {
		b.gauge(d, boolValue(f.Value), labels...)
	}
}

func (b *builder) add(d *metricDesc, t dto.MetricType, v float64, labels []string) {
	if b.err != nil {
		return
	}
	if len(labels) != len(d.labels) {
		b.err = fmt.Errorf("%s: %d label values for %d labels", *d.name, len(labels), len(d.labels))
		return
	}
	b.series++
	if b.maxSeries > 0 && b.series > b.maxSeries {
		b.err = &upstream.Error{Result: upstream.ResultTooLarge, Err: fmt.Errorf("the answer makes more than %d series (max_series)", b.maxSeries)}
		return
	}
	for i, value := range labels {
		if err := labelrules.CheckValue(value); err != nil {
			b.err = &upstream.Error{Result: upstream.ResultDecodeError, Err: fmt.Errorf("%s label %s: value %w: %s", *d.name, d.labels[i], err, quote.Text(value))}
			return
		}
	}
	l := b.layout(d)
	pairs := make([]*dto.LabelPair, len(l.names))
	own := make([]dto.LabelPair, len(labels))
	for i, name := range l.names {
		if l.fixed[i] != nil {
			pairs[i] = l.fixed[i]
			continue
		}
		p := &own[l.from[i]]
		p.Name, p.Value = name, &labels[l.from[i]]
		pairs[i] = p
	}
	b.put(d, t, pairs, v)
}

// put adds a series whose labels are paired and sorted.
func (b *builder) put(d *metricDesc, t dto.MetricType, labels []*dto.LabelPair, v float64) {
	s := &series{value: v}
	s.metric.Label = labels
	if t == dto.MetricType_COUNTER {
		s.counter.Value = &s.value
		s.metric.Counter = &s.counter
	} else {
		s.gauge.Value = &s.value
		s.metric.Gauge = &s.gauge
	}
	mf := b.families[d]
	if mf == nil {
		mf = &dto.MetricFamily{Name: d.name, Help: d.help, Type: t.Enum()}
		b.families[d] = mf
	}
	mf.Metric = append(mf.Metric, &s.metric)
}

func (b *builder) layout(d *metricDesc) *layout {
	if l := b.layouts[d]; l != nil {
		return l
	}
	l := newLayout(d, b.shared)
	if !b.frozen {
		b.layouts[d] = l
	}
	return l
}

// finish returns the families sorted by name, each family's series sorted
// by label values as Prometheus' registry sorts them, and fails on a series
// that appears twice: once checked here, the families are served as they
// are.
func (b *builder) finish() ([]*dto.MetricFamily, error) {
	if b.err != nil {
		return nil, b.err
	}
	mfs := slices.SortedFunc(maps.Values(b.families), func(x, y *dto.MetricFamily) int {
		return strings.Compare(x.GetName(), y.GetName())
	})
	for _, mf := range mfs {
		slices.SortStableFunc(mf.Metric, compareLabels)
		for i := 1; i < len(mf.Metric); i++ {
			if compareLabels(mf.Metric[i-1], mf.Metric[i]) == 0 {
				return nil, &upstream.Error{Result: upstream.ResultDecodeError,
					Err: fmt.Errorf("the answer makes the series %s%s twice", mf.GetName(), quote.Text(labelsText(mf.Metric[i])))}
			}
		}
	}
	return mfs, nil
}

// compareLabels orders series of one family as client_golang does: label
// values in label name order (the names are the same within a family).
func compareLabels(x, y *dto.Metric) int {
	if c := cmp.Compare(len(x.Label), len(y.Label)); c != 0 {
		return c
	}
	for i, p := range x.Label {
		if c := strings.Compare(p.GetValue(), y.Label[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

func labelsText(m *dto.Metric) string {
	parts := make([]string, len(m.Label))
	for i, p := range m.Label {
		parts[i] = fmt.Sprintf("%s=%q", p.GetName(), p.GetValue())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// daysUntil is the fractional number of days from now to t, negative once past.
func daysUntil(t, now time.Time) float64 {
	return (unixSeconds(t) - unixSeconds(now)) / 86400
}
