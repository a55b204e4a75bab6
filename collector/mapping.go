package collector

import (
	"context"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// cacheNote ends the HELP of every vendor metric.
const cacheNote = " May be served from cache, up to cache_ttl old."

// vendorDesc describes a vendor metric; `account` is always the first label.
func vendorDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help+cacheNote, append([]string{"account"}, labels...), nil)
}

// mapping is a vendor's part: how to build its client from the config and
// how its snapshot S becomes metrics. Everything else is shared.
type mapping[S any] struct {
	client  func(acct config.Account, up *upstream.Client) (fetcher[S], error)
	static  func(s S, b *builder)
	clocked func(s S, now time.Time, b *builder) // nil when nothing depends on the clock
}

func (m mapping[S]) newSource(acct config.Account, up *upstream.Client) (source, error) {
	fetch, err := m.client(acct, up)
	if err != nil {
		return source{}, err
	}
	wrap := func(snap S) answer { return vendorAnswer[S]{mapping: m, account: acct.Name, snapshot: snap} }
	return source{
		fetch: func(ctx context.Context) (answer, error) {
			snap, err := fetch(ctx)
			if err != nil {
				return nil, err
			}
			return wrap(snap), nil
		},
		decode: decodeAnswer(wrap),
		schema: schemaOf(reflect.TypeFor[S]()),
	}, nil
}

// vendorAnswer is one vendor snapshot of an account.
type vendorAnswer[S any] struct {
	mapping  mapping[S]
	account  string
	snapshot S
}

// render builds the metrics that do not depend on the clock once, and keeps
// the snapshot for those that do.
func (a vendorAnswer[S]) render() *metricSet {
	set := &metricSet{}
	a.mapping.static(a.snapshot, &builder{account: a.account, emit: func(x prometheus.Metric) { set.static = append(set.static, x) }})
	if a.mapping.clocked != nil {
		set.clocked = func(now time.Time, b *builder) { a.mapping.clocked(a.snapshot, now, b) }
	}
	return set
}

// fetcher is a vendor client's Fetch method.
type fetcher[S any] func(context.Context) (S, error)

// builder makes const metrics of one account.
type builder struct {
	account string
	emit    func(prometheus.Metric)
}

func (b *builder) gauge(d *prometheus.Desc, v float64, labels ...string) {
	b.add(d, prometheus.GaugeValue, v, labels)
}

func (b *builder) counter(d *prometheus.Desc, v float64, labels ...string) {
	b.add(d, prometheus.CounterValue, v, labels)
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
func (b *builder) stateSet(d *prometheus.Desc, states []stateName, current upstream.Code, labels ...string) {
	known := false
	for _, s := range states {
		is := current.Valid && current.Value == s.code
		known = known || is
		b.gauge(d, boolValue(is), append(labels[:len(labels):len(labels)], s.name)...)
	}
	if !known {
		b.gauge(d, 1, append(labels[:len(labels):len(labels)], "unknown")...)
	}
}

// timestamp emits t as Unix seconds, or nothing for the zero time (the
// vendor did not say), since 0 would read as 1970.
func (b *builder) timestamp(d *prometheus.Desc, t time.Time, labels ...string) {
	if !t.IsZero() {
		b.gauge(d, unixSeconds(t), labels...)
	}
}

// flag emits a 0/1 vendor flag, or nothing when the vendor did not send it.
func (b *builder) flag(d *prometheus.Desc, f upstream.Flag, labels ...string) {
	if f.Valid {
		b.gauge(d, boolValue(f.Value), labels...)
	}
}

func (b *builder) add(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	values := make([]string, 0, len(labels)+1)
	values = append(values, b.account)
	values = append(values, labels...)
	m, err := prometheus.NewConstMetric(d, t, v, values...)
	if err != nil {
		// Only a programming error gets here (decoded JSON is valid UTF-8);
		// the handler reports it without failing the whole scrape.
		m = prometheus.NewInvalidMetric(d, err)
	}
	b.emit(m)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is exact to the year 9999: UnixNano and Sub overflow after 2262.
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// daysUntil is the fractional number of days from now to t, negative once past.
func daysUntil(t, now time.Time) float64 {
	return (unixSeconds(t) - unixSeconds(now)) / 86400
}

// sameAccount reports whether a reload left an account's configuration as it
// was, so its cache can be kept.
func sameAccount(a, b config.Account) bool {
	return reflect.DeepEqual(a, b)
}
