package collector

import (
	"time"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/vendor_clients/aiops"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

var (
	aiopsLicenseInfo = vendorDesc("aiops_license_info",
		"CloudAlert license, always 1; edition is the vendor's `license` field, license_id its `sys_id`.",
		"license_id", "license_type", "edition", "user_id", "contact_name")
	aiopsQuotaUsed = vendorDesc("aiops_license_quota_used",
		"Notifications of the channel used in the current quota period, from the vendor's license list.",
		"license_id", "channel")
	aiopsQuotaLimit = vendorDesc("aiops_license_quota_limit",
		"Notifications of the channel allowed per quota period, from the vendor's license list.",
		"license_id", "channel")
	aiopsExpiry = vendorDesc("aiops_license_expiry_timestamp_seconds",
		"Unix time the license expires: the end of its expired_time day (next day 00:00) in the account's zone.",
		"license_id")
	aiopsDaysUntilExpiry = vendorDesc("aiops_license_days_until_expiry",
		"Days from now until the license expires, fractional, negative once past; computed at scrape time.",
		"license_id")
	aiopsExpired = vendorDesc("aiops_license_expired",
		"1 if the vendor reports the license as expired (isExpired), else 0.",
		"license_id")
	aiopsBound = vendorDesc("aiops_license_bound",
		"1 if the license is bound to a member (is_used), else 0.",
		"license_id")
	aiopsAutoRenew = vendorDesc("aiops_license_auto_renew",
		"1 if the license renews automatically (auto_renew), else 0.",
		"license_id")
	aiopsQuotaReset = vendorDesc("aiops_license_quota_reset_timestamp_seconds",
		"Unix time the notification quotas reset: the vendor's nextDate at 00:00 in the account's zone.",
		"license_id")
)

var aiopsVendor = mapping[*aiops.Snapshot]{
	client: func(acct config.Account, up *upstream.Client) (fetcher[*aiops.Snapshot], error) {
		c := aiops.New(aiops.Config{
			BaseURL:  acct.Effective.BaseURL,
			Email:    acct.AIOps.Email,
			Token:    acct.Secret.Read,
			Location: acct.Effective.Location,
		}, up)
		return c.Fetch, nil
	},
	static: func(s *aiops.Snapshot, b *builder) {
		for _, l := range s.Licenses {
			b.gauge(aiopsLicenseInfo, 1, l.ID, l.Type, l.Edition, l.UserID, l.ContactName)
			for _, q := range l.Quotas {
				b.gauge(aiopsQuotaUsed, q.Used, l.ID, q.Channel)
				b.gauge(aiopsQuotaLimit, q.Total, l.ID, q.Channel)
			}
			b.timestamp(aiopsExpiry, l.Expiry, l.ID)
			b.timestamp(aiopsQuotaReset, l.QuotaReset, l.ID)
			b.flag(aiopsExpired, l.Expired, l.ID)
			b.flag(aiopsBound, l.Bound, l.ID)
			b.flag(aiopsAutoRenew, l.AutoRenew, l.ID)
		}
	},
	clocked: func(_ config.Account, s *aiops.Snapshot, now time.Time, b *builder) {
		for _, l := range s.Licenses {
			if !l.Expiry.IsZero() {
				b.gauge(aiopsDaysUntilExpiry, daysUntil(l.Expiry, now), l.ID)
			}
		}
	},
}
