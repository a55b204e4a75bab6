// Package guoyangyun reads the SMS sub-accounts of a Guoyang Cloud account:
// their status and, per product, the remaining balance. The appkey and
// appsecret go in a form body, never in a URL; the answer's per-account
// appkey, appsecret and mobile are never decoded.
package guoyangyun

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/quotaexporter/quota_exporter/internal/quote"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// searchAccountPath is appended to Config.BaseURL.
const searchAccountPath = "api/user/searchAccount.htm"

// The status codes the vendor documents, for accounts and products alike.
const (
	StatusNormal   = 1 // "01"
	StatusFrozen   = 2 // "02"
	StatusDisabled = 3 // "03"
)

// Config is one Guoyang Cloud account.
type Config struct {
	BaseURL *url.URL // required: scheme, host and optional path prefix
	Appkey  string
	// Appsecret (required) returns the app secret. It is called on every
	// Fetch, so that a rotated secret file takes effect without a reload.
	Appsecret func() (string, error)
	Username  string // one sub-account; empty for all
}

// Client fetches the sub-accounts of one account.
type Client struct {
	endpoint  string
	appkey    string
	appsecret func() (string, error)
	username  string
	up        *upstream.Client
}

// New returns a client that sends its requests through up.
func New(cfg Config, up *upstream.Client) *Client {
	return &Client{
		endpoint: cfg.BaseURL.JoinPath(searchAccountPath).String(),
		appkey:   cfg.Appkey, appsecret: cfg.Appsecret, username: cfg.Username, up: up,
	}
}

// Snapshot is the sub-account list at one point in time.
type Snapshot struct {
	Accounts []Account
}

// Account is one (sub-)account.
type Account struct {
	Username    string        // login name, unique and never empty
	PrimaryName string        // login name of the primary account
	Corp        string        // person or company name
	Status      upstream.Code // StatusNormal, StatusFrozen, StatusDisabled or another code
	Products    []Product
}

// Product is one opened product of an account, e.g. industry SMS.
type Product struct {
	InstanceID string // product account id, unique within the account
	Name       string // productName, e.g. 行业短信
	Balance    upstream.Number
	Used       upstream.Number // cumulative consumption
	Status     upstream.Code
}

type envelope struct {
	Code upstream.Text `json:"code"`
	Msg  upstream.Text `json:"msg"`
	Data upstream.Raw  `json:"data"`
}

// account holds the fields the exporter uses: appkey, appsecret and mobile
// are deliberately absent.
type account struct {
	Username    upstream.Text `json:"username"`
	PrimaryName upstream.Text `json:"primaryName"`
	Corp        upstream.Text `json:"corp"`
	Status      upstream.Code `json:"status"`
	ProductList []product     `json:"productList"`
}

type product struct {
	InstanceID     upstream.Text   `json:"instanceId"`
	ProductName    upstream.Text   `json:"productName"`
	PresentBalance upstream.Number `json:"presentBalance"`
	TotalUsed      upstream.Number `json:"totalUsed"`
	Status         upstream.Code   `json:"status"`
}

// Fetch reads the sub-accounts. Its error is an *upstream.Error whose
// message never holds the appkey or appsecret.
func (c *Client) Fetch(ctx context.Context) (*Snapshot, error) {
	secret, err := c.up.ReadSecret("appsecret", c.appsecret)
	if err != nil {
		return nil, err
	}
	form := url.Values{"appkey": {c.appkey}, "appsecret": {secret}}
	if c.username != "" {
		form.Set("username", c.username)
	}
	req, err := upstream.NewRequest(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	return upstream.Fetch(ctx, c.up, req, func(resp *http.Response) (*Snapshot, error) {
		return decode(resp, []string{c.appkey, secret})
	})
}

func decode(resp *http.Response, secrets []string) (*Snapshot, error) {
	var env envelope
	if err := upstream.DecodeAnswer(resp, &env, func() string { return string(env.Msg) }, secrets); err != nil {
		return nil, err
	}
	if code := strings.TrimSpace(string(env.Code)); code != "0" {
		// The vendor documents no code for wrong credentials, so every
		// failure is an API error; its message says which.
		if code == "" {
			code = "none" // an answer without a code is not a success either
		}
		return nil, upstream.VendorFailure(upstream.ResultAPIError, upstream.VendorMessage(code, secrets...), upstream.VendorMessage(string(env.Msg), secrets...))
	}
	return parse(env.Data)
}

// parse validates the account list: usernames and, within an account,
// instance ids are unique and present, since they tell series apart.
func parse(data upstream.Raw) (*Snapshot, error) {
	raw, err := upstream.List[account](data, "account list")
	if err != nil {
		return nil, err
	}
	names, err := upstream.UniqueIDs(len(raw), func(i int) string { return string(raw[i].Username) }, "account", "username")
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Accounts: make([]Account, 0, len(raw))}
	for i, r := range raw {
		a := Account{Username: names[i], PrimaryName: string(r.PrimaryName), Corp: string(r.Corp), Status: r.Status}
		products := r.ProductList
		ids, err := upstream.UniqueIDs(len(products), func(j int) string { return string(products[j].InstanceID) }, "product", "instanceId")
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", quote.Text(names[i]), err)
		}
		for j, p := range products {
			a.Products = append(a.Products, Product{
				InstanceID: ids[j], Name: string(p.ProductName),
				Balance: p.PresentBalance, Used: p.TotalUsed, Status: p.Status,
			})
		}
		snap.Accounts = append(snap.Accounts, a)
	}
	return snap, nil
}
