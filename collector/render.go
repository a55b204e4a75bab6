package collector

import (
	"cmp"
	"fmt"
	"maps"
	"math"
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

// builder renders one account's series into metric families. Label values
// are checked as they come (size, UTF-8) and the number of series is
// bounded: the first violation is kept in err and ends the rendering.
type builder struct {
	shared    accountLabels
	layouts   map[*metricDesc]*layout // read only when frozen
	frozen    bool                    // layouts belong to a published set: do not add to them
	maxSeries int                     // 0 for no bound
	families  map[*metricDesc]*pending
	series    int
	err       error
	// pairs, gauges and counters are set when the families are kept until
	// the next refresh: their series then share equal label pairs and
	// values, which most repeat (states, products, 0 and 1), so that a
	// stored series costs little more than its dto.Metric.
	pairs    map[[2]string]*dto.LabelPair
	gauges   map[uint64]*dto.Gauge
	counters map[uint64]*dto.Counter
}

func newBuilder(shared accountLabels, maxSeries int) *builder {
	return &builder{shared: shared, layouts: map[*metricDesc]*layout{}, maxSeries: maxSeries, families: map[*metricDesc]*pending{}}
}

// newKeptBuilder is a builder whose families are kept: see builder.pairs.
func newKeptBuilder(shared accountLabels, maxSeries int) *builder {
	b := newBuilder(shared, maxSeries)
	b.pairs, b.gauges, b.counters = map[[2]string]*dto.LabelPair{}, map[uint64]*dto.Gauge{}, map[uint64]*dto.Counter{}
	return b
}

// pending is one family's series until the builder finishes: width label
// pairs and a value each. Its protobuf values are then allocated at once.
type pending struct {
	desc   *metricDesc
	typ    dto.MetricType
	width  int
	labels []*dto.LabelPair // sorted by name, width per series
	values []float64
}

func (f *pending) row(i int) []*dto.LabelPair {
	return f.labels[i*f.width : (i+1)*f.width]
}

// ownedPair is a label pair with its value, in one allocation.
type ownedPair struct {
	pair  dto.LabelPair
	value string
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
	f := b.family(d, t, len(l.names))
	for i, name := range l.names {
		p := l.fixed[i]
		if p == nil {
			p = b.pair(name, labels[l.from[i]])
		}
		f.labels = append(f.labels, p)
	}
	f.values = append(f.values, v)
}

// put adds a series whose labels are paired and sorted.
func (b *builder) put(d *metricDesc, t dto.MetricType, labels []*dto.LabelPair, v float64) {
	f := b.family(d, t, len(labels))
	f.labels = append(f.labels, labels...)
	f.values = append(f.values, v)
}

func (b *builder) family(d *metricDesc, t dto.MetricType, width int) *pending {
	f := b.families[d]
	if f == nil {
		f = &pending{desc: d, typ: t, width: width}
		b.families[d] = f
	}
	return f
}

// pair returns the label pair name=value, shared when the families are kept.
func (b *builder) pair(name *string, value string) *dto.LabelPair {
	key := [2]string{*name, value}
	if p := b.pairs[key]; p != nil {
		return p
	}
	p := &ownedPair{value: value}
	p.pair.Name, p.pair.Value = name, &p.value
	if b.pairs != nil {
		b.pairs[key] = &p.pair
	}
	return &p.pair
}

// sharedValue returns the message of kept families that holds v, made by
// wrap the first time. Keyed by v's bits: -0 must not become 0 (they are
// equal as floats), and NaN must find itself (it equals nothing).
func sharedValue[M any](shared map[uint64]*M, v float64, wrap func(*float64) *M) *M {
	key := math.Float64bits(v)
	if m := shared[key]; m != nil {
		return m
	}
	m := wrap(&v)
	shared[key] = m
	return m
}

func newGauge(v *float64) *dto.Gauge     { return &dto.Gauge{Value: v} }
func newCounter(v *float64) *dto.Counter { return &dto.Counter{Value: v} }

// materialize makes the protobuf family of f, its series in order (nil:
// as added), with one allocation for each part of all its series.
func (b *builder) materialize(f *pending, order []int) *dto.MetricFamily {
	n, w := len(f.values), f.width
	mf := &dto.MetricFamily{Name: f.desc.name, Help: f.desc.help, Type: f.typ.Enum(), Metric: make([]*dto.Metric, n)}
	metrics := make([]dto.Metric, n)
	labels := make([]*dto.LabelPair, n*w)
	var gauges []dto.Gauge
	var counters []dto.Counter
	switch {
	case b.gauges != nil:
	case f.typ == dto.MetricType_COUNTER:
		counters = make([]dto.Counter, n)
	default:
		gauges = make([]dto.Gauge, n)
	}
	for j := range n {
		i := j
		if order != nil {
			i = order[j]
		}
		m := &metrics[j]
		m.Label = labels[j*w : (j+1)*w : (j+1)*w]
		copy(m.Label, f.row(i))
		switch {
		case b.gauges != nil && f.typ == dto.MetricType_COUNTER:
			m.Counter = sharedValue(b.counters, f.values[i], newCounter)
		case b.gauges != nil:
			m.Gauge = sharedValue(b.gauges, f.values[i], newGauge)
		case counters != nil:
			counters[j].Value = &f.values[i]
			m.Counter = &counters[j]
		default:
			gauges[j].Value = &f.values[i]
			m.Gauge = &gauges[j]
		}
		mf.Metric[j] = m
	}
	return mf
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
	mfs := make([]*dto.MetricFamily, 0, len(b.families))
	for _, f := range b.families {
		order := make([]int, len(f.values))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return compareRows(f.row(x), f.row(y)) })
		for j := 1; j < len(order); j++ {
			if compareRows(f.row(order[j-1]), f.row(order[j])) == 0 {
				return nil, &upstream.Error{Result: upstream.ResultDecodeError,
					Err: fmt.Errorf("the answer makes the series %s%s twice", *f.desc.name, quote.Text(labelsText(f.row(order[j]))))}
			}
		}
		mfs = append(mfs, b.materialize(f, order))
	}
	slices.SortFunc(mfs, func(x, y *dto.MetricFamily) int { return strings.Compare(x.GetName(), y.GetName()) })
	return mfs, nil
}

// compareLabels orders series of one family as client_golang does: label
// values in label name order (the names are the same within a family).
func compareLabels(x, y *dto.Metric) int {
	return compareRows(x.Label, y.Label)
}

func compareRows(x, y []*dto.LabelPair) int {
	if c := cmp.Compare(len(x), len(y)); c != 0 {
		return c
	}
	for i, p := range x {
		if c := strings.Compare(p.GetValue(), y[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

func labelsText(pairs []*dto.LabelPair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
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
