package simulator

import "time"

// chinaTime is Asia/Shanghai, the zone of the vendors' dates. China has kept
// UTC+8 without DST since 1991, so a fixed zone is exact for any date a
// license can have, and needs no zoneinfo.
var chinaTime = time.FixedZone("Asia/Shanghai", 8*60*60)

// DemoAIOpsLicenses is the demo team's license list as of now: every case a
// dashboard and the alert rules should show. Only the dates depend on now,
// and only through its calendar day in China; nothing is random.
//
//   - a healthy pro license with auto-renewal, using every channel;
//   - a standard license whose last day is tomorrow: it expires within 3 days;
//   - a basic license that expired 12 days ago (isExpired 1);
//   - a standard license with 93.6% of its SMS quota used, its counts sent
//     as JSON numbers instead of strings;
//   - a spare basic license bound to nobody, with one quota field null.
//
// The telephones are fake but shaped like real mobile numbers, and occur in
// no other field, so a test can search the exporter's output for them.
func DemoAIOpsLicenses(now time.Time) []AIOpsLicense {
	y, m, d := now.In(chinaTime).Date()
	day := func(offset int) string {
		return time.Date(y, m, d+offset, 0, 0, 0, 0, chinaTime).Format(time.DateOnly)
	}
	// Quotas reset monthly, on the first.
	nextReset := time.Date(y, m+1, 1, 0, 0, 0, 0, chinaTime).Format(time.DateOnly)
	str := func(v int64) Count { return Count{Value: v} }
	num := func(v int64) Count { return Count{Value: v, Wire: WireNumber} }

	return []AIOpsLicense{{
		SysID:       "a6f3c2d1-5b7e-4c89-9f21-3d4e5a6b7c80",
		LicenseType: "pro", License: "专业版",
		User: 100004605201, Telephone: "13911826457", ContactName: "王磊",
		SysCreatedOn: day(-130), ExpiredTime: day(235), NextDate: nextReset,
		IsUsed: 1, AutoRenew: 1, IsExpired: 0,
		TelNum: str(37), TelTotal: str(2000),
		MsgNum: str(1204), MsgTotal: str(5000),
		WeChatNum: str(2311), WeChatTotal: str(5000),
		EmailNum: str(5120), EmailTotal: str(10000),
		IntTelNum: str(3), IntTelTotal: str(50),
		IntMsgNum: str(12), IntMsgTotal: str(100),
	}, {
		SysID:       "0d9b7e42-1c3a-4f6e-8b5d-7a2c9e1f4b63",
		LicenseType: "standard", License: "标准版",
		User: 100004605318, Telephone: "15820374916", ContactName: "li.na",
		SysCreatedOn: day(-364), ExpiredTime: day(1), NextDate: nextReset,
		IsUsed: 1, AutoRenew: 0, IsExpired: 0,
		TelNum: str(212), TelTotal: str(500),
		MsgNum: str(301), MsgTotal: str(500),
		WeChatNum: str(640), WeChatTotal: str(1000),
		EmailNum: str(88), EmailTotal: str(1000),
		IntTelNum: str(0), IntTelTotal: str(0),
		IntMsgNum: str(0), IntMsgTotal: str(0),
	}, {
		SysID:       "5c1e8a37-9d2f-4b60-a4e8-2f7d3b9c0a15",
		LicenseType: "lite", License: "基础版",
		User: 100004605427, Telephone: "18637104452", ContactName: "运维值班",
		SysCreatedOn: day(-377), ExpiredTime: day(-12), NextDate: nextReset,
		IsUsed: 1, AutoRenew: 0, IsExpired: 1,
		TelNum: str(100), TelTotal: str(100),
		MsgNum: str(120), MsgTotal: str(300),
		WeChatNum: str(300), WeChatTotal: str(300),
		EmailNum: str(41), EmailTotal: str(300),
		IntTelNum: str(0), IntTelTotal: str(0),
		IntMsgNum: str(0), IntMsgTotal: str(0),
	}, {
		SysID:       "e27b4f90-6a1d-4c3e-9b8f-5d0a7c2e6f48",
		LicenseType: "standard", License: "标准版",
		User: 100004605536, Telephone: "17708213396", ContactName: "manman01",
		SysCreatedOn: day(-307), ExpiredTime: day(58), NextDate: nextReset,
		IsUsed: 1, AutoRenew: 0, IsExpired: 0,
		TelNum: num(95), TelTotal: num(500),
		MsgNum: num(468), MsgTotal: num(500),
		WeChatNum: num(512), WeChatTotal: num(1000),
		EmailNum: str(230), EmailTotal: str(1000),
		IntTelNum: str(0), IntTelTotal: str(0),
		IntMsgNum: str(0), IntMsgTotal: str(0),
	}, {
		SysID:       "9f4a6c13-2e8b-4d71-b0c5-8e3f1a7d2b96",
		LicenseType: "lite", License: "基础版",
		SysCreatedOn: day(-290), ExpiredTime: day(75), NextDate: nextReset,
		IsUsed: 0, AutoRenew: 0, IsExpired: 0, // spare: no member, so no user, name or telephone
		TelNum: str(0), TelTotal: str(100),
		MsgNum: str(0), MsgTotal: str(300),
		WeChatNum: str(0), WeChatTotal: str(300),
		EmailNum: str(0), EmailTotal: str(300),
		IntTelNum: str(0), IntTelTotal: str(0),
		IntMsgNum: Count{Wire: WireNull}, IntMsgTotal: str(0),
	}}
}
