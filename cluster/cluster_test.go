package cluster

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func accountNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("account-%04d", i)
	}
	return names
}

// The hash is part of the interface: a change would move accounts between
// replicas on upgrade. These owners were computed once and must not change.
func TestOwnerIsStableAcrossVersions(t *testing.T) {
	for _, tc := range []struct {
		account string
		count   int
		owner   int
	}{
		{"ops-team", 1, 0},
		{"ops-team", 3, 0},
		{"cameras", 7, 0},
		{"netmon", 2, 0},
		{"sms", 8, 5},
		{"demo-aiops", 3, 2},
		{"demo-vzicloud", 3, 1},
		{"demo-tingyun", 3, 2},
		{"demo-guoyangyun", 3, 0},
		{"", 4, 2},
	} {
		assert.Equal(t, tc.owner, Owner(tc.account, tc.count), "%q over %d shards", tc.account, tc.count)
	}
}

func TestOwnerSpreadsAccountsEvenly(t *testing.T) {
	const accounts, count = 10000, 4
	perShard := make([]int, count)
	for _, name := range accountNames(accounts) {
		perShard[Owner(name, count)]++
	}
	for shard, n := range perShard {
		// 2,500 expected; 5 standard deviations (about 217) either side.
		assert.InDelta(t, accounts/count, n, 220, "shard %d owns %d accounts", shard, n)
	}
}

// Going from N to N+1 shards moves only accounts to the new shard, and
// about 1/(N+1) of them; going back moves them home.
func TestResizeMovesOnlyAccountsOfTheNewShard(t *testing.T) {
	const accounts = 6000
	names := accountNames(accounts)
	for n := 1; n <= 8; n++ {
		moved := 0
		for _, name := range names {
			before, after := Owner(name, n), Owner(name, n+1)
			if before != after {
				moved++
				require.Equal(t, n, after, "%s moved from shard %d to %d, not to the new shard %d", name, before, after, n)
			}
		}
		expected := float64(accounts) / float64(n+1)
		// 5 standard deviations of a binomial(accounts, 1/(n+1)).
		p := 1 / float64(n+1)
		assert.InDelta(t, expected, moved, 5*math.Sqrt(accounts*p*(1-p)), "%d → %d shards", n, n+1)
	}
}

func TestNewChecksTheFlags(t *testing.T) {
	for _, tc := range []struct {
		count, index int
		template     string
		err          string
	}{
		{0, 0, "", "--cluster.shards must be at least 1, got 0"},
		{-2, 0, "", "--cluster.shards must be at least 1, got -2"},
		{3, 3, "", "--cluster.shard must be between 0 and 2"},
		{3, -1, "", "--cluster.shard must be between 0 and 2"},
		{3, 0, "exporter.svc:9896", "must contain %d exactly once"},
		{3, 0, "exporter-%d-%d:9896", "must contain %d exactly once"},
		{3, 0, "exporter-%s:9896", "must contain %d exactly once"},
		{3, 0, "exporter-%d-%s:9896", "must contain %d exactly once"},
		{3, 0, "exporter-%%d:9896", "must contain %d exactly once"},
	} {
		_, err := New(tc.count, tc.index, tc.template)
		require.Error(t, err, "%d %d %q", tc.count, tc.index, tc.template)
		assert.Contains(t, err.Error(), tc.err)
	}

	s, err := New(3, 2, "quota-exporter-%d.quota-exporter.monitoring.svc:9896")
	require.NoError(t, err)
	assert.Equal(t, 3, s.Count())
	assert.Equal(t, 2, s.Index())
	assert.Equal(t, "quota-exporter-1.quota-exporter.monitoring.svc:9896", s.Address(1))

	s, err = New(2, 0, "10%%-%d:9896")
	require.NoError(t, err)
	assert.Equal(t, "10%-1:9896", s.Address(1), "%% is a literal percent sign")

	s, err = New(2, 1, "")
	require.NoError(t, err)
	assert.Empty(t, s.Address(0), "no template, no address")
}

func TestOwnsAgreesWithOwner(t *testing.T) {
	names := accountNames(300)
	owned := 0
	for index := range 3 {
		s, err := New(3, index, "")
		require.NoError(t, err)
		for _, name := range names {
			assert.Equal(t, s.Owner(name) == index, s.Owns(name))
			if s.Owns(name) {
				owned++
			}
		}
	}
	assert.Equal(t, len(names), owned, "every account has exactly one owner")
	for _, name := range names {
		assert.True(t, Unsharded.Owns(name))
	}
}

func TestCollectors(t *testing.T) {
	s, err := New(5, 3, "")
	require.NoError(t, err)
	collectors := s.Collectors()
	require.Len(t, collectors, 2)
	require.NoError(t, testutil.CollectAndCompare(collectors[0], strings.NewReader(`
# HELP quota_exporter_cluster_shard This replica's shard index, from --cluster.shard (0 when unsharded).
# TYPE quota_exporter_cluster_shard gauge
quota_exporter_cluster_shard 3
`)))
	require.NoError(t, testutil.CollectAndCompare(collectors[1], strings.NewReader(`
# HELP quota_exporter_cluster_shards Number of shards this replica was started with, from --cluster.shards; replicas of one fleet must agree.
# TYPE quota_exporter_cluster_shards gauge
quota_exporter_cluster_shards 5
`)))
}
