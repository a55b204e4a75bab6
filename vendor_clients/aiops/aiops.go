// Package aiops reads the license list of a CloudAlert (睿象云, aiops.com)
// team: per license its edition, bound member, expiry and per-channel
// notification quotas. It returns plain Go values and knows nothing about
// Prometheus.
package aiops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quotaexporter/quota_exporter/internal/quote"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// licenseListPath is appended to Config.BaseURL.
const licenseListPath = "api/alert/rest/api/v1/ca/getLicenseList"

// Config is one CloudAlert account.
type Config struct {
	BaseURL *url.URL // required: scheme, host and optional path prefix
	Email   string   // the user's registered email, the Basic auth user name
	// Token (required) returns the API token. It is called on every Fetch,
	// so that a rotated token file takes effect without a reload.
	Token    func() (string, error)
	Location *time.Location // zone of the vendor's dates; nil means UTC+8
}

// Client fetches the license list of one account.
type Client struct {
	endpoint string
	email    string
	token    func() (string, error)
	loc      *time.Location
	up       *upstream.Client
}

// New returns a client that sends its requests through up.
func New(cfg Config, up *upstream.Client) *Client {
	loc := cfg.Location
	if loc == nil {
		loc = upstream.ChinaTime
	}
	return &Client{
		endpoint: cfg.BaseURL.JoinPath(licenseListPath).String(),
		email:    cfg.Email,
		token:    cfg.Token,
		loc:      loc,
		up:       up,
	}
}

// Snapshot is the license list at one point in time.
type Snapshot struct {
	Licenses []License
}

// License is one license of the team. Fields the vendor left out or sent
// as null are zero values; for the 0/1 flags, Valid is false.
type License struct {
	ID          string // sys_id, unique and never empty
	Type        string // license_type, the edition code, e.g. "lite"
	Edition     string // license, the edition name, e.g. "基础版"
	UserID      string // user, the bound member's id as decimal text
	ContactName string // contact_name, the bound member's name

	Quotas []Quota // one per channel the vendor gave both used and total for

	Expiry     time.Time     // end of the expired_time day: the next day, 00:00
	QuotaReset time.Time     // nextDate, 00:00
	Expired    upstream.Flag // isExpired: the vendor considers it expired
	Bound      upstream.Flag // is_used: bound to a member
	AutoRenew  upstream.Flag // auto_renew
}

// Quota is the notification quota of one channel.
type Quota struct {
	Channel string // phone, sms, wechat, email, intl_phone or intl_sms
	Used    float64
	Total   float64
}

// envelope is the vendor's answer around the license list.
type envelope struct {
	Success upstream.Flag `json:"success"`
	Code    upstream.Code `json:"code"`
	Message upstream.Text `json:"message"`
	// Data is decoded only on success: an error answer may put anything
	// there (the vendor's token test puts the email).
	Data upstream.Raw `json:"data"`
}

// license is one element of data as sent. The member's phone number
// (telephone) is deliberately absent: it must never be decoded, let alone
// exported.
type license struct {
	SysID       upstream.Text   `json:"sys_id"`
	LicenseType upstream.Text   `json:"license_type"`
	License     upstream.Text   `json:"license"`
	User        upstream.Text   `json:"user"`
	ContactName upstream.Text   `json:"contact_name"`
	IsUsed      upstream.Flag   `json:"is_used"`
	AutoRenew   upstream.Flag   `json:"auto_renew"`
	IsExpired   upstream.Flag   `json:"isExpired"`
	ExpiredTime upstream.Text   `json:"expired_time"`
	NextDate    upstream.Text   `json:"nextDate"`
	TelNum      upstream.Number `json:"telNum"`
	TelTotal    upstream.Number `json:"telTotal"`
	MsgNum      upstream.Number `json:"msgNum"`
	MsgTotal    upstream.Number `json:"msgTotal"`
	WeChatNum   upstream.Number `json:"weChatNum"`
	WeChatTotal upstream.Number `json:"weChatTotal"`
	EmailNum    upstream.Number `json:"emailNum"`
	EmailTotal  upstream.Number `json:"emailTotal"`
	IntTelNum   upstream.Number `json:"intTelNum"`
	IntTelTotal upstream.Number `json:"intTelTotal"`
	IntMsgNum   upstream.Number `json:"intMsgNum"`
	IntMsgTotal upstream.Number `json:"intMsgTotal"`
}

// Fetch reads the license list. Its error is an *upstream.Error whose
// message never holds the email or the token.
func (c *Client) Fetch(ctx context.Context) (*Snapshot, error) {
	token, err := c.up.ReadSecret("API token", c.token)
	if err != nil {
		return nil, err
	}
	req, err := upstream.NewRequest(ctx, http.MethodGet, c.endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.email, token)
	// Vendors and gateways echo requests, the Authorization header included.
	secrets := []string{c.email, token, strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")}

	return upstream.Fetch(ctx, c.up, req, func(resp *http.Response) (*Snapshot, error) { return c.decode(resp, secrets) })
}

// decode reads one answer. The body of a non-2xx answer is read too, for
// the vendor's message.
func (c *Client) decode(resp *http.Response, secrets []string) (*Snapshot, error) {
	var env envelope
	if err := upstream.DecodeAnswer(resp, &env, func() string { return string(env.Message) }, secrets); err != nil {
		return nil, err
	}
	if !env.Success.Value { // false, absent or null
		return nil, failure(env.Code, upstream.VendorMessage(string(env.Message), secrets...))
	}
	return c.parse(env.Data)
}

// failure classifies an HTTP 200 answer without success: true.
func failure(code upstream.Code, msg string) error {
	result := upstream.ResultAPIError
	if code.Valid && (code.Value == http.StatusUnauthorized || code.Value == http.StatusForbidden) {
		// 401 is the vendor's documented code for bad credentials; 403 as
		// upstream.CheckStatus has it.
		result = upstream.ResultAuthError
	}
	codeText := ""
	if code.Valid {
		codeText = strconv.FormatInt(code.Value, 10)
	}
	return upstream.VendorFailure(result, codeText, msg)
}

// parse validates the license list: every license has an id, and no two
// share one, since the id is what tells their series apart.
func (c *Client) parse(data upstream.Raw) (*Snapshot, error) {
	raw, err := upstream.List[license](data, "license list")
	if err != nil {
		return nil, err
	}
	ids, err := upstream.UniqueIDs(len(raw), func(i int) string { return string(raw[i].SysID) }, "license", "sys_id")
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Licenses: make([]License, 0, len(raw))}
	for i, r := range raw {
		l, err := r.toLicense(ids[i], c.loc)
		if err != nil {
			return nil, fmt.Errorf("license %s: %w", quote.Text(ids[i]), err)
		}
		snap.Licenses = append(snap.Licenses, l)
	}
	return snap, nil
}

func (r *license) toLicense(id string, loc *time.Location) (License, error) {
	l := License{
		ID:          id,
		Type:        string(r.LicenseType),
		Edition:     string(r.License),
		UserID:      string(r.User),
		ContactName: string(r.ContactName),
		Expired:     r.IsExpired,
		Bound:       r.IsUsed,
		AutoRenew:   r.AutoRenew,
	}
	var err error
	if l.Expiry, err = date(r.ExpiredTime, "expired_time", loc); err != nil {
		return License{}, err
	}
	if !l.Expiry.IsZero() {
		l.Expiry = l.Expiry.AddDate(0, 0, 1) // the license is valid through its expiry date
	}
	if l.QuotaReset, err = date(r.NextDate, "nextDate", loc); err != nil {
		return License{}, err
	}
	for _, q := range []struct {
		channel     string
		used, total upstream.Number
	}{
		{"phone", r.TelNum, r.TelTotal},
		{"sms", r.MsgNum, r.MsgTotal},
		{"wechat", r.WeChatNum, r.WeChatTotal},
		{"email", r.EmailNum, r.EmailTotal},
		{"intl_phone", r.IntTelNum, r.IntTelTotal},
		{"intl_sms", r.IntMsgNum, r.IntMsgTotal},
	} {
		// Half a quota would make a misleading ratio: both or nothing.
		if q.used.Valid && q.total.Valid {
			l.Quotas = append(l.Quotas, Quota{Channel: q.channel, Used: q.used.Value, Total: q.total.Value})
		}
	}
	return l, nil
}

// date reads a date field; its error names the field, never the value.
func date(v upstream.Text, field string, loc *time.Location) (time.Time, error) {
	t, err := upstream.ParseDate(string(v), loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}
