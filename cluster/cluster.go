// Package cluster decides which replica of a fleet owns an account.
//
// Ownership is rendezvous (highest-random-weight) hashing: each account
// scores every shard index and belongs to the highest score. Growing from
// N to N+1 shards therefore moves only the accounts whose new top score is
// the new shard, about 1/(N+1) of them, and shrinking moves only the
// accounts of the removed shard.
//
// The score is fixed, because a change would move accounts between
// replicas on upgrade: xxHash64 (seed 0) of the account name's bytes, one
// zero byte, then the shard index as 8 bytes big-endian. On equal scores
// the lower index wins.
package cluster

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Shards is one replica's place in the fleet. The zero value counts no
// shards; use New or Unsharded.
type Shards struct {
	count, index    int
	addressTemplate string
}

// Unsharded is a lone exporter: it owns every account.
var Unsharded = Shards{count: 1}

// New checks the --cluster.* flags: 1 ≤ count, 0 ≤ index < count, and a
// template, when given, with exactly one %d.
func New(count, index int, addressTemplate string) (Shards, error) {
	if count < 1 {
		return Shards{}, fmt.Errorf("--cluster.shards must be at least 1, got %d", count)
	}
	if index < 0 || index >= count {
		return Shards{}, fmt.Errorf("--cluster.shard must be between 0 and %d (--cluster.shards less one), got %d", count-1, index)
	}
	if addressTemplate != "" {
		// Exactly one verb, and it is %d; %% is a literal percent sign.
		verbs := strings.ReplaceAll(addressTemplate, "%%", "")
		if strings.Count(verbs, "%") != 1 || !strings.Contains(verbs, "%d") {
			return Shards{}, fmt.Errorf("--cluster.address-template must contain %%d exactly once (where the shard index goes) and no other %% verb, got %q", addressTemplate)
		}
	}
	return Shards{count: count, index: index, addressTemplate: addressTemplate}, nil
}

// Count is the number of shards.
func (s Shards) Count() int { return s.count }

// Index is this replica's shard.
func (s Shards) Index() int { return s.index }

// Owner is the shard that owns the account.
func (s Shards) Owner(account string) int { return Owner(account, s.count) }

// Owns reports whether this replica owns the account.
func (s Shards) Owns(account string) bool { return s.Owner(account) == s.index }

// Address is where shard i is reached, from the address template; "" when
// no template was given.
func (s Shards) Address(shard int) string {
	if s.addressTemplate == "" {
		return ""
	}
	return fmt.Sprintf(s.addressTemplate, shard)
}

// Owner is the shard, of count, that owns the account.
func Owner(account string, count int) int {
	best, bestScore := 0, uint64(0)
	for i := range count {
		if score := weight(account, i); i == 0 || score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

func weight(account string, shard int) uint64 {
	buf := make([]byte, 0, len(account)+9)
	buf = append(buf, account...)
	buf = append(buf, 0)
	buf = binary.BigEndian.AppendUint64(buf, uint64(shard))
	return xxhash.Sum64(buf)
}

// Collectors are the replica's self metrics: its shard and the shard count
// it was started with, so that replicas disagreeing on the count show.
func (s Shards) Collectors() []prometheus.Collector {
	shard := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "quota_exporter_cluster_shard",
		Help: "This replica's shard index, from --cluster.shard (0 when unsharded).",
	})
	shard.Set(float64(s.index))
	shards := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "quota_exporter_cluster_shards",
		Help: "Number of shards this replica was started with, from --cluster.shards; replicas of one fleet must agree.",
	})
	shards.Set(float64(s.count))
	return []prometheus.Collector{shard, shards}
}
