package collector

import (
	"cmp"
	"context"
	"reflect"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// metricSet is one refresh's data as metric families, built and checked once
// per refresh and served as they are. Clock-derived values (countdowns,
// expiry windows) are rendered at each scrape so cached data never shows a
// stale countdown.
type metricSet struct {
	families []*dto.MetricFamily // sorted by name; never changed once published
	series   int                 // static and clock-derived, as of the refresh
	shared   accountLabels
	layouts  map[*metricDesc]*layout // read only
	clocked  func(now time.Time, b *builder)
}

// clockedFamilies renders the clock-derived families as of now.
func (s *metricSet) clockedFamilies(now time.Time) []*dto.MetricFamily {
	if s.clocked == nil {
		return nil
	}
	b := &builder{shared: s.shared, layouts: s.layouts, frozen: true, families: map[*metricDesc]*pending{}}
	s.clocked(now, b)
	mfs, err := b.finish()
	if err != nil {
		// Its labels passed at the refresh; only a programming error gets here.
		return nil
	}
	return mfs
}

type fetchFunc func(ctx context.Context) (answer, error)

// vendor builds the source of one account of a vendor.
type vendor interface {
	newSource(acct config.Account, up *upstream.Client) (source, error)
}

// mapping is a vendor's part: how to build its client from the config and
// how its snapshot S becomes metrics. Everything else is shared.
type mapping[S any] struct {
	client  func(acct config.Account, up *upstream.Client) (fetcher[S], error)
	static  func(s S, b *builder)
	clocked func(acct config.Account, s S, now time.Time, b *builder) // nil when nothing depends on the clock
}

func (m mapping[S]) newSource(acct config.Account, up *upstream.Client) (source, error) {
	fetch, err := m.client(acct, up)
	if err != nil {
		return source{}, err
	}
	wrap := func(snap S) answer { return vendorAnswer[S]{mapping: m, acct: acct, snapshot: snap} }
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
	acct     config.Account
	snapshot S
}

// render builds the answer's metric set, failing as the refresh would on
// too many series or a bad label value.
func (a vendorAnswer[S]) render() (*metricSet, error) {
	return a.mapping.render(a.acct, a.snapshot, time.Now())
}

// render builds a snapshot's metric set for the account, failing as the
// refresh would on too many series or a bad label value. The clock-derived
// series are rendered once as of now, so that they count and are checked too.
func (m mapping[S]) render(acct config.Account, snap S, now time.Time) (*metricSet, error) {
	b := newKeptBuilder(newAccountLabels(acct.Name, acct.Effective.Labels), cmp.Or(acct.Effective.MaxSeries, config.DefaultMaxSeries))
	m.static(snap, b)
	families, err := b.finish()
	if err != nil {
		return nil, err
	}
	set := &metricSet{families: families, shared: b.shared, layouts: b.layouts}
	if m.clocked != nil {
		set.clocked = func(now time.Time, b *builder) { m.clocked(acct, snap, now, b) }
		b.families = map[*metricDesc]*pending{}
		set.clocked(now, b)
		if _, err := b.finish(); err != nil {
			return nil, err
		}
	}
	set.series = b.series
	return set, nil
}

// fetcher is a vendor client's Fetch method.
type fetcher[S any] func(context.Context) (S, error)

// sameAccount reports whether a reload left an account's configuration as it
// was, so its cache can be kept.
func sameAccount(a, b config.Account) bool {
	return reflect.DeepEqual(a, b)
}
