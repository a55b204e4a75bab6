package vzicloud

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

func code(v int64) upstream.Code { return upstream.Code{Value: v, Valid: true} }

// snapshotOf aggregates grants split over pages of two, merged in the
// order the pages arrive, as Fetch does.
func snapshotOf(grants ...grant) *Snapshot {
	agg := newAggregate()
	for i := 0; i < len(grants); i += 2 {
		page := newAggregate()
		for j := i; j < min(i+2, len(grants)); j++ {
			page.add(&grants[j])
		}
		agg.merge(page)
	}
	return agg.snapshot()
}

func TestSnapshotCounts(t *testing.T) {
	const t0 = 1_800_000_000
	g := func(product string, typ, state upstream.Code, expire int64) grant {
		return grant{ProductID: upstream.Text(product), Type: typ, State: state, ExpireTime: code(expire)}
	}
	s := snapshotOf(
		g("1", code(TypeOnline), code(StateGranted), NeverExpires),
		g("1", code(TypeOffline), code(StateOffline), NeverExpires),
		g("1", code(TypeOnline), code(StateGranted), t0-1),
		g("1", code(TypeOnline), code(StateGranted), t0),
		g("1", code(TypeOnline), code(StateGranted), t0),
		g("1", code(TypeOnline), code(StateGranted), t0+86400),
		g("1", code(TypeOnline), code(StateRecalled), t0+10), // not active: counted, never expiring
		g("1", code(TypeOnline), code(StateFailed), NeverExpires),
		g("2", code(7), code(9), t0+5), // unknown codes: kept, not active
		g("2", upstream.Code{}, upstream.Code{}, t0+5),
		g("3", code(TypeOnline), code(StateGranting), t0),
		grant{ProductID: "4", State: code(StateGranted)}, // no expire_time: counted, not in expiries
	)
	assert.Equal(t, map[GrantKey]int{
		{"1", code(0), code(1)}:                 5,
		{"1", code(1), code(5)}:                 1,
		{"1", code(0), code(2)}:                 1,
		{"1", code(0), code(3)}:                 1,
		{"2", code(7), code(9)}:                 1,
		{"2", upstream.Code{}, upstream.Code{}}: 1,
		{"3", code(0), code(0)}:                 1,
		{"4", upstream.Code{}, code(1)}:         1,
	}, s.Grants)
	assert.Equal(t, []string{"1", "2", "3", "4"}, slices.Sorted(maps.Keys(s.Products)), "every product, active grants or not")

	now := time.Unix(t0, 0)
	assert.Equal(t, 2, expiriesOf(s, "1").Permanent)
	assert.Equal(t, 1, expiriesOf(s, "1").Expired(now), "expire_time < now")
	assert.Equal(t, 2, expiriesOf(s, "1").Expiring(now, time.Second), "now <= expire_time < now+1s")
	assert.Equal(t, 2, expiriesOf(s, "1").Expiring(now, 86400*time.Second), "the end of the window is excluded")
	assert.Equal(t, 3, expiriesOf(s, "1").Expiring(now, 86401*time.Second))
	next, ok := expiriesOf(s, "1").NextExpiry(now)
	require.True(t, ok)
	assert.Equal(t, time.Unix(t0, 0), next, "an expiry at now is the next one")

	// Half a second later, the grants of t0 have expired.
	later := now.Add(500 * time.Millisecond)
	assert.Equal(t, 3, expiriesOf(s, "1").Expired(later))
	assert.Equal(t, 0, expiriesOf(s, "1").Expiring(later, 86399*time.Second))
	assert.Equal(t, 1, expiriesOf(s, "1").Expiring(later, 86400*time.Second), "t0+1d is before later+1d")
	next, ok = expiriesOf(s, "1").NextExpiry(later)
	require.True(t, ok)
	assert.Equal(t, time.Unix(t0+86400, 0), next)

	// Long after: all expired, no next expiry; permanence does not change.
	never := now.Add(365 * 24 * time.Hour)
	assert.Equal(t, 4, expiriesOf(s, "1").Expired(never))
	_, ok = expiriesOf(s, "1").NextExpiry(never)
	assert.False(t, ok)
	assert.Equal(t, 2, expiriesOf(s, "1").Permanent)

	for _, p := range []string{"2", "3", "4", "no such product"} {
		assert.Zero(t, expiriesOf(s, p).Permanent, p)
		assert.Zero(t, expiriesOf(s, p).Expired(never), p)
		assert.Zero(t, expiriesOf(s, p).Expiring(now, 1000*time.Hour), p)
		_, ok := expiriesOf(s, p).NextExpiry(now)
		assert.False(t, ok, p)
	}
	assert.Equal(t, 3, len(s.Products["1"].at), "t0-1, t0 and t0+1d")
}

// Distinct expiry instants, not grants, size the snapshot.
func TestSnapshotHoldsDistinctExpiries(t *testing.T) {
	agg := newAggregate()
	for i := range 100000 {
		agg.add(&grant{ProductID: "1", State: code(StateGranted), ExpireTime: code(int64(1_800_000_000 + i%10))})
	}
	s := agg.snapshot()
	assert.Equal(t, 10, len(s.Products["1"].at))
	assert.Equal(t, 100000, expiriesOf(s, "1").Expiring(time.Unix(1_800_000_000, 0), time.Minute))
	assert.Equal(t, 50000, expiriesOf(s, "1").Expired(time.Unix(1_800_000_005, 0)))
}

// expiriesOf is the product's expiries; an unknown product has none.
func expiriesOf(s *Snapshot, product string) *Expiries {
	if e := s.Products[product]; e != nil {
		return e
	}
	return &Expiries{}
}
