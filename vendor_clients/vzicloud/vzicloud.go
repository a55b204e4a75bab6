// Package vzicloud reads the algorithm license grants of a Zenith open
// platform (vzicloud) account: signed requests (HMAC-SHA1), paged answers
// of up to 10,000 records, aggregated while they are read.
package vzicloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// consumesPath is appended to Config.BaseURL.
const consumesPath = "openapi/v1/alg/consumes"

// Defaults for the Config fields left zero.
const (
	DefaultPageSize    = 1000
	MaxPageSize        = 10000
	DefaultConcurrency = 4
	// DefaultMaxPages bounds one refresh, so that a server announcing an
	// absurd total cannot keep us paging forever.
	DefaultMaxPages = 50000
	// expiresAhead is how long a signed request stays valid: short, as the
	// vendor advises, and long enough for a slow page.
	expiresAhead = 2 * time.Minute
)

// Where is one condition of the vendor's wheres filter.
type Where struct {
	K string `json:"k"`
	O string `json:"o"`
	V any    `json:"v"`
}

// Config is one vzicloud account.
type Config struct {
	BaseURL     *url.URL // required: scheme, host and optional path prefix
	AccessKeyID string
	// AccessKeySecret (required) returns the secret. It is called on every
	// Fetch, so that a rotated secret file takes effect without a reload.
	AccessKeySecret func() (string, error)
	PageSize        int     // records per page, 1..MaxPageSize; 0 is DefaultPageSize
	Wheres          []Where // optional filter
	Concurrency     int     // pages in flight after the first; 0 is DefaultConcurrency
	MaxPages        int     // 0 is DefaultMaxPages
	Clock           func() time.Time
}

// Client fetches the grant list of one account.
type Client struct {
	cfg    Config
	base   *url.URL
	wheres string // base64 of the wheres JSON; "" without a filter
	up     *upstream.Client
}

// New returns a client that sends its requests through up. It fails only
// on wheres that cannot be encoded as JSON.
func New(cfg Config, up *upstream.Client) (*Client, error) {
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	cfg.PageSize = min(cfg.PageSize, MaxPageSize)
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	c := &Client{cfg: cfg, base: cfg.BaseURL.JoinPath(consumesPath), up: up}
	if !strings.HasPrefix(c.base.Path, "/") {
		// JoinPath on a host without a path leaves it relative; the server
		// sees, and signs, the absolute path.
		c.base.Path = "/" + c.base.Path
	}
	if len(cfg.Wheres) > 0 {
		js, err := json.Marshal(cfg.Wheres)
		if err != nil {
			return nil, fmt.Errorf("wheres: %w", err)
		}
		c.wheres = base64.StdEncoding.EncodeToString(js)
	}
	return c, nil
}

type page struct {
	Page         upstream.Number `json:"page"`
	Size         upstream.Number `json:"size"`
	Total        upstream.Number `json:"total"`
	Items        json.RawMessage `json:"items"`
	ErrorCode    upstream.Code   `json:"error_code"`
	ErrorMessage upstream.Text   `json:"error_message"`
}

// grant holds the fields the exporter counts by.
type grant struct {
	ProductID  upstream.Text `json:"product_id"`
	Type       upstream.Code `json:"type"`
	State      upstream.Code `json:"state"`
	ExpireTime upstream.Code `json:"expire_time"`
}

// Fetch reads every page and aggregates the grants. Any page that fails
// fails the whole refresh: partial counts are never returned. Its error is
// an *upstream.Error whose message never holds the secret or signature.
func (c *Client) Fetch(ctx context.Context) (*Snapshot, error) {
	secret, err := c.cfg.AccessKeySecret()
	if err != nil {
		return nil, &upstream.Error{Result: upstream.ResultAuthError, Err: fmt.Errorf("reading the access key secret: %w", err)}
	}
	first, total, err := c.fetchPage(ctx, secret, 1, -1)
	if err != nil {
		return nil, err
	}
	pages := int((total + int64(c.cfg.PageSize) - 1) / int64(c.cfg.PageSize))
	if pages > c.cfg.MaxPages {
		return nil, upstream.Errorf(upstream.ResultDecodeError, "total %d needs %d pages of %d, more than the limit of %d", total, pages, c.cfg.PageSize, c.cfg.MaxPages)
	}

	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	for p := 2; p <= pages; p++ {
		g.Go(func() error {
			agg, _, err := c.fetchPage(gctx, secret, p, total)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			first.merge(agg)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if int64(first.processed) != total {
		return nil, upstream.Errorf(upstream.ResultDecodeError, "read %d grants, the vendor announced %d", first.processed, total)
	}
	return first.snapshot(), nil
}

// fetchPage reads page n. want is the total announced by page 1, or -1 on
// page 1 itself; a page whose total differs, or that holds fewer or more
// records than its place implies, fails.
func (c *Client) fetchPage(ctx context.Context, secret string, n int, want int64) (*aggregate, int64, error) {
	query := url.Values{"page": {strconv.Itoa(n)}, "size": {strconv.Itoa(c.cfg.PageSize)}}
	if c.wheres != "" {
		query.Set("wheres", c.wheres)
	}
	expires := c.cfg.Clock().Add(expiresAhead).Unix()
	signature := Sign(secret, http.MethodGet, "", "", expires, CanonicalResource(c.base.Path, query))
	query.Set(paramAccessKeyID, c.cfg.AccessKeyID)
	query.Set(paramExpires, strconv.FormatInt(expires, 10))
	query.Set(paramSignature, signature)
	u := *c.base
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, upstream.Errorf(upstream.ResultNetworkError, "building the request: %w", err)
	}
	req.Header.Set("Accept", "application/json")

	var agg *aggregate
	var total int64
	secrets := []string{secret, signature}
	err = c.up.Do(ctx, req, func(resp *http.Response) error {
		var err error
		agg, total, err = c.decodePage(resp, n, want, secrets)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return agg, total, nil
}

func (c *Client) decodePage(resp *http.Response, n int, want int64, secrets []string) (*aggregate, int64, error) {
	var p page
	err := upstream.DecodeAnswer(resp, &p, func() string { return string(p.ErrorMessage) }, secrets)
	if p.ErrorCode.Valid && p.ErrorCode.Value != 0 {
		f := upstream.VendorFailure(resultOf(p.ErrorCode.Value), strconv.FormatInt(p.ErrorCode.Value, 10),
			upstream.VendorMessage(string(p.ErrorMessage), secrets...))
		f.RetryAfter = upstream.RetryAfterOf(err)
		return nil, 0, f
	}
	if err != nil {
		return nil, 0, err
	}
	if !p.Total.Valid || p.Total.Value < 0 || p.Total.Value != float64(int64(p.Total.Value)) {
		return nil, 0, fmt.Errorf("page %d: total is missing or not a count", n)
	}
	total := int64(p.Total.Value)
	if want >= 0 && total != want {
		return nil, 0, fmt.Errorf("page %d: total changed from %d to %d while paging", n, want, total)
	}
	var items []grant
	if err := upstream.Unmarshal(p.Items, &items); err != nil && len(p.Items) > 0 {
		return nil, 0, fmt.Errorf("page %d: items: %w", n, err)
	}
	size := int64(c.cfg.PageSize)
	expected := min(size, max(total-int64(n-1)*size, 0))
	if int64(len(items)) != expected {
		return nil, 0, fmt.Errorf("page %d holds %d grants, expected %d of %d in pages of %d", n, len(items), expected, total, size)
	}
	agg := newAggregate()
	for i := range items {
		agg.add(&items[i])
	}
	return agg, total, nil
}

// resultOf classifies the vendor's error codes.
func resultOf(code int64) upstream.Result {
	switch code {
	case 1001, 1002, 1003, 1004, 1005, 1006, 1009, 1012, 1015:
		// Missing or bad signature parameters, bad or disabled keys, denied access.
		return upstream.ResultAuthError
	case 1016, 1017:
		// Over the QPS limit, or the request allowance used up: back off.
		return upstream.ResultRateLimited
	}
	return upstream.ResultAPIError
}
