package vzicloud

import (
	"bytes"
	"encoding/gob"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// A Snapshot survives gob (how --storage.path keeps it) with every count
// and expiry intact.
func TestSnapshotGobRoundTrip(t *testing.T) {
	const t0 = 1_800_000_000
	g := func(product string, state, expire int64) grant {
		return grant{ProductID: upstream.Text("p" + product), Type: code(TypeOnline), State: code(state), ExpireTime: code(expire)}
	}
	want := snapshotOf(
		g("1", StateGranted, NeverExpires), g("1", StateGranted, t0-86400), g("1", StateGranted, t0+5),
		g("1", StateGranted, t0+5), g("1", StateOffline, t0+30*86400), g("2", StateRecalled, t0),
		g("3", StateGranted, -7), // a negative time other than -1 is an expiry like any other
	)
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(want))
	var got *Snapshot
	require.NoError(t, gob.NewDecoder(&buf).Decode(&got))
	assert.Equal(t, want, got)
	now := time.Unix(t0, 0)
	for p, e := range want.Products {
		assert.Equal(t, e.Expired(now), got.Products[p].Expired(now), p)
		assert.Equal(t, e.Expiring(now, 7*24*time.Hour), got.Products[p].Expiring(now, 7*24*time.Hour), p)
	}
}

// Stored expiries that GobEncode could not have written are refused.
func TestExpiriesGobDecodeRefusesMalformed(t *testing.T) {
	good, err := newExpiries(1, []int64{10, 20}, func(int) int { return 2 }).GobEncode()
	require.NoError(t, err)
	var e Expiries
	require.NoError(t, e.GobDecode(good))
	assert.Equal(t, 2, e.Expired(time.Unix(15, 0)))
	for name, b := range map[string][]byte{
		"empty":         nil,
		"cut":           good[:len(good)-1],
		"extra":         append(append([]byte(nil), good...), 0),
		"huge count":    {0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"not ascending": {0, 2, 20, 1, 0, 1}, // second delta 0
	} {
		assert.ErrorIs(t, new(Expiries).GobDecode(b), errBadExpiries, name)
	}
}
