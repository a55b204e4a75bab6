// Package tingyun reads the user list of a Tingyun network monitoring
// account. Passwords, emails and phone numbers in the answer are never
// decoded: the snapshot has no field that could hold them.
package tingyun

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/quotaexporter/quota_exporter/internal/quote"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// userListPath is appended to Config.BaseURL.
const userListPath = "network-report-data/user-config/list-json-authkey"

// permissionDenied is the vendor's error for a wrong authkey.
const permissionDenied = "PermissionDeniedError"

// Config is one Tingyun account.
type Config struct {
	BaseURL *url.URL // required: scheme, host and optional path prefix
	// Authkey (required) returns the authorization code. It is called on
	// every Fetch, so that a rotated authkey file takes effect without a reload.
	Authkey  func() (string, error)
	Location *time.Location // zone of ctime; nil means UTC+8
}

// Client fetches the user list of one account.
type Client struct {
	endpoint *url.URL
	authkey  func() (string, error)
	loc      *time.Location
	up       *upstream.Client
}

// New returns a client that sends its requests through up.
func New(cfg Config, up *upstream.Client) *Client {
	loc := cfg.Location
	if loc == nil {
		loc = upstream.ChinaTime
	}
	return &Client{endpoint: cfg.BaseURL.JoinPath(userListPath), authkey: cfg.Authkey, loc: loc, up: up}
}

// Snapshot is the user list at one point in time.
type Snapshot struct {
	Users []User
}

// User is one user (sub-account) of the monitoring account.
type User struct {
	ID      string        // id, unique and never empty
	Code    string        // login name
	Name    string        // display name
	Type    upstream.Code // 11 task management, 4 report viewing, others occur
	Status  upstream.Code // 0 or 1 in practice
	Created time.Time     // ctime in the account's zone; zero when not given
}

type envelope struct {
	Status    upstream.Code `json:"status"`
	ErrorCode upstream.Text `json:"error_code"`
	Message   upstream.Text `json:"message"`
	Data      upstream.Raw  `json:"data"`
}

// user holds the fields the exporter uses; the vendor's password, email,
// mobile and phone are deliberately absent.
type user struct {
	ID     upstream.Text `json:"id"`
	Code   upstream.Text `json:"code"`
	Name   upstream.Text `json:"name"`
	Type   upstream.Code `json:"type"`
	Status upstream.Code `json:"status"`
	Ctime  upstream.Text `json:"ctime"`
}

// Fetch reads the user list. Its error is an *upstream.Error whose message
// never holds the authkey.
func (c *Client) Fetch(ctx context.Context) (*Snapshot, error) {
	authkey, err := c.up.ReadSecret("authkey", c.authkey)
	if err != nil {
		return nil, err
	}
	u := *c.endpoint
	u.RawQuery = url.Values{"authkey": {authkey}}.Encode()
	req, err := upstream.NewRequest(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	return upstream.Fetch(ctx, c.up, req, func(resp *http.Response) (*Snapshot, error) { return c.decode(resp, []string{authkey}) })
}

func (c *Client) decode(resp *http.Response, secrets []string) (*Snapshot, error) {
	var env envelope
	if err := upstream.DecodeAnswer(resp, &env, func() string { return string(env.Message) }, secrets); err != nil {
		return nil, err
	}
	errorCode := strings.TrimSpace(string(env.ErrorCode))
	if env.Status.Value != http.StatusOK || (errorCode != "" && errorCode != "0") {
		result := upstream.ResultAPIError
		if errorCode == permissionDenied {
			result = upstream.ResultAuthError
		}
		code := errorCode
		if code == "" || code == "0" {
			code = fmt.Sprintf("status %d", env.Status.Value)
		}
		return nil, upstream.VendorFailure(result, upstream.VendorMessage(code, secrets...), upstream.VendorMessage(string(env.Message), secrets...))
	}
	return c.parse(env.Data)
}

// parse validates the user list: every user has an id, and no two share
// one, since the id tells their series apart.
func (c *Client) parse(data upstream.Raw) (*Snapshot, error) {
	raw, err := upstream.List[user](data, "user list")
	if err != nil {
		return nil, err
	}
	ids, err := upstream.UniqueIDs(len(raw), func(i int) string { return string(raw[i].ID) }, "user", "id")
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Users: make([]User, 0, len(raw))}
	for i, r := range raw {
		created, err := upstream.ParseLocalTime(string(r.Ctime), c.loc)
		if err != nil {
			return nil, fmt.Errorf("user %s: ctime: %w", quote.Text(ids[i]), err)
		}
		snap.Users = append(snap.Users, User{
			ID: ids[i], Code: string(r.Code), Name: string(r.Name),
			Type: r.Type, Status: r.Status, Created: created,
		})
	}
	return snap, nil
}
