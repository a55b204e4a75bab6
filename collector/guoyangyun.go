package collector

import (
	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/vendor_clients/guoyangyun"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

var (
	guoyangyunAccountInfo = vendorDesc("guoyangyun_account_info",
		"Guoyang Cloud SMS (sub-)account, always 1; primary_name is the primary account's login name.",
		"username", "primary_name", "corp")
	guoyangyunAccountStatus = vendorDesc("guoyangyun_account_status",
		"State set of the account's status: 1 for the current one of normal, frozen, disabled; unknown codes show as status=\"unknown\".",
		"username", "status")
	guoyangyunProductBalance = vendorDesc("guoyangyun_product_balance",
		"Remaining balance of the product (presentBalance), e.g. SMS messages left.",
		"username", "instance_id", "product")
	guoyangyunProductUsed = vendorDesc("guoyangyun_product_used_total",
		"Cumulative consumption of the product (totalUsed), as the vendor counts it.",
		"username", "instance_id", "product")
	guoyangyunProductStatus = vendorDesc("guoyangyun_product_status",
		"State set of the product's status: 1 for the current one of normal, frozen, disabled; unknown codes show as status=\"unknown\".",
		"username", "instance_id", "product", "status")
)

// guoyangyunStates are the documented status codes, in label order.
var guoyangyunStates = []stateName{
	{guoyangyun.StatusNormal, "normal"},
	{guoyangyun.StatusFrozen, "frozen"},
	{guoyangyun.StatusDisabled, "disabled"},
}

var guoyangyunVendor = mapping[*guoyangyun.Snapshot]{
	client: func(acct config.Account, up *upstream.Client) (fetcher[*guoyangyun.Snapshot], error) {
		return guoyangyun.New(guoyangyun.Config{
			BaseURL:   acct.Effective.BaseURL,
			Appkey:    acct.Guoyangyun.Appkey,
			Appsecret: acct.Secret.Read,
			Username:  acct.Guoyangyun.Username,
		}, up).Fetch, nil
	},
	static: func(s *guoyangyun.Snapshot, b *builder) {
		for _, a := range s.Accounts {
			b.gauge(guoyangyunAccountInfo, 1, a.Username, a.PrimaryName, a.Corp)
			b.stateSet(guoyangyunAccountStatus, guoyangyunStates, a.Status, a.Username)
			for _, p := range a.Products {
				if p.Balance.Valid {
					b.gauge(guoyangyunProductBalance, p.Balance.Value, a.Username, p.InstanceID, p.Name)
				}
				if p.Used.Valid {
					b.counter(guoyangyunProductUsed, p.Used.Value, a.Username, p.InstanceID, p.Name)
				}
				b.stateSet(guoyangyunProductStatus, guoyangyunStates, p.Status, a.Username, p.InstanceID, p.Name)
			}
		}
	},
}
