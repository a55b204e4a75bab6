package collector

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

var (
	vzicloudGrants = vendorDesc("vzicloud_grants",
		"Algorithm license grant records, by product, type and state, over every page of the vendor's grant list.",
		"product_id", "type", "state")
	vzicloudPermanent = vendorDesc("vzicloud_grants_permanent",
		"Active grants (state granted or offline) that never expire (expire_time -1).",
		"product_id")
	vzicloudExpired = vendorDesc("vzicloud_grants_expired",
		"Active grants, not permanent, whose expire_time has passed; computed at scrape time.",
		"product_id")
	vzicloudExpiring = vendorDesc("vzicloud_grants_expiring",
		"Active grants, not permanent, expiring from now to now + the window `within`; computed at scrape time.",
		"product_id", "within")
	vzicloudNextExpiry = vendorDesc("vzicloud_grant_next_expiry_timestamp_seconds",
		"Unix time of the earliest future expire_time among the product's active grants; absent when none.",
		"product_id")
	vzicloudDaysUntilNext = vendorDesc("vzicloud_grant_days_until_next_expiry",
		"Days from now until the product's next grant expiry, fractional; computed at scrape time.",
		"product_id")
)

var (
	vzicloudTypes  = map[int64]string{vzicloud.TypeOnline: "online", vzicloud.TypeOffline: "offline"}
	vzicloudStates = map[int64]string{
		vzicloud.StateGranting: "granting", vzicloud.StateGranted: "granted", vzicloud.StateRecalled: "recalled",
		vzicloud.StateFailed: "failed", vzicloud.StateTimeout: "timeout", vzicloud.StateOffline: "offline",
	}
)

var vzicloudVendor = mapping[*vzicloud.Snapshot]{
	client: func(acct config.Account, up *upstream.Client) (fetcher[*vzicloud.Snapshot], error) {
		v := acct.VZICloud
		c, err := vzicloud.New(vzicloud.Config{
			BaseURL:         acct.Effective.BaseURL,
			AccessKeyID:     v.AccessKeyID,
			AccessKeySecret: acct.Secret.Read,
			PageSize:        v.PageSize,
			Wheres:          v.Wheres,
		}, up)
		if err != nil {
			return nil, err
		}
		return c.Fetch, nil
	},
	static: func(s *vzicloud.Snapshot, b *builder) {
		keys := slices.SortedFunc(maps.Keys(s.Grants), func(a, b vzicloud.GrantKey) int {
			return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Type.Value, b.Type.Value), cmp.Compare(a.State.Value, b.State.Value))
		})
		for _, k := range keys {
			b.gauge(vzicloudGrants, float64(s.Grants[k]), k.ProductID, codeLabel(k.Type, vzicloudTypes), codeLabel(k.State, vzicloudStates))
		}
		for _, product := range slices.Sorted(maps.Keys(s.Products)) {
			b.gauge(vzicloudPermanent, float64(s.Products[product].Permanent), product)
		}
	},
	clocked: func(acct config.Account, s *vzicloud.Snapshot, now time.Time, b *builder) {
		for _, product := range slices.Sorted(maps.Keys(s.Products)) {
			e := s.Products[product]
			b.gauge(vzicloudExpired, float64(e.Expired(now)), product)
			for _, w := range acct.VZICloud.ExpiryWindows {
				b.gauge(vzicloudExpiring, float64(e.Expiring(now, w.Duration)), product, w.Text)
			}
			if next, ok := e.NextExpiry(now); ok {
				b.timestamp(vzicloudNextExpiry, next, product)
				b.gauge(vzicloudDaysUntilNext, daysUntil(next, now), product)
			}
		}
	},
}
