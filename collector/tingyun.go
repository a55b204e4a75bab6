package collector

import (
	"strconv"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/vendor_clients/tingyun"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

var (
	tingyunUsers = vendorDesc("tingyun_users",
		"Users of the Tingyun monitoring account, by type and status, from the vendor's user list.",
		"type", "status")
	tingyunUserInfo = vendorDesc("tingyun_user_info",
		"Tingyun user, always 1; code is the login name.",
		"user_id", "code", "name", "type", "status")
	tingyunUserCreated = vendorDesc("tingyun_user_created_timestamp_seconds",
		"Unix time the Tingyun user was created (ctime, in the account's zone).",
		"user_id")
)

// tingyunTypes names the documented user types; others keep their number.
var tingyunTypes = map[int64]string{11: "task_manager", 4: "report_viewer"}

var tingyunVendor = mapping[*tingyun.Snapshot]{
	client: func(acct config.Account, up *upstream.Client) (fetcher[*tingyun.Snapshot], error) {
		return tingyun.New(tingyun.Config{
			BaseURL:  acct.Effective.BaseURL,
			Authkey:  acct.Secret.Read,
			Location: acct.Effective.Location,
		}, up).Fetch, nil
	},
	static: func(s *tingyun.Snapshot, b *builder) {
		type typeStatus struct{ typ, status string }
		counts := map[typeStatus]int{}
		var order []typeStatus
		for _, u := range s.Users {
			key := typeStatus{codeLabel(u.Type, tingyunTypes), codeLabel(u.Status, nil)}
			if counts[key] == 0 {
				order = append(order, key)
			}
			counts[key]++
			b.gauge(tingyunUserInfo, 1, u.ID, u.Code, u.Name, key.typ, key.status)
			b.timestamp(tingyunUserCreated, u.Created, u.ID)
		}
		for _, key := range order {
			b.gauge(tingyunUsers, float64(counts[key]), key.typ, key.status)
		}
	},
}

// codeLabel is a vendor code as a label value: its documented name, else
// the number, else "" when the vendor did not send one.
func codeLabel(c upstream.Code, names map[int64]string) string {
	if !c.Valid {
		return ""
	}
	if name, ok := names[c.Value]; ok {
		return name
	}
	return strconv.FormatInt(c.Value, 10)
}
