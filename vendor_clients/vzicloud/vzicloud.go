// Package vzicloud reads the algorithm license grants of a Zenith open
// platform (臻云极致, vzicloud) account: signed requests (HMAC-SHA1), paged
// answers of up to 10,000 records, aggregated while they are decoded so
// that memory does not grow with the number of grants. It returns plain Go
// values and knows nothing about Prometheus.
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
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// consumesPath is appended to Config.BaseURL.
const consumesPath = "openapi/v1/alg/consumes"

// Defaults and limits for the Config fields.
const (
	DefaultConcurrency = 4
	// DefaultMaxPages bounds one refresh, so that a server announcing an
	// absurd total cannot keep us paging forever.
	DefaultMaxPages = 50000
	// ExpiresAhead is how long a signed request stays valid: short, as the
	// vendor advises, yet long enough for a slow page.
	ExpiresAhead = 2 * time.Minute
)

// Config is one vzicloud account.
type Config struct {
	BaseURL     *url.URL // required: scheme, host and optional path prefix
	AccessKeyID string
	// AccessKeySecret (required) returns the secret. It is called on every
	// Fetch, so that a rotated secret file takes effect without a reload.
	AccessKeySecret func() (string, error)
	PageSize        int     // records per page, 1..MaxPageSize; 0 is DefaultPageSize
	Wheres          []Where // optional filter, ANDed by the vendor
	Concurrency     int     // pages in flight after the first; 0 is DefaultConcurrency
	MaxPages        int     // 0 is DefaultMaxPages
	// Clock gives the time each request's expires is counted from; nil is
	// time.Now.
	Clock func() time.Time
}

// Client fetches the grant list of one account. It is safe for concurrent
// use.
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

// Fetch reads every page and aggregates the grants. Page 1 gives the
// total; the other pages are read with at most Concurrency in flight. Any
// page that fails fails the whole refresh: partial counts are never
// returned. Its error is an *upstream.Error whose message never holds the
// secret or a signature.
func (c *Client) Fetch(ctx context.Context) (*Snapshot, error) {
	secret, err := c.up.ReadSecret("access key secret", c.cfg.AccessKeySecret)
	if err != nil {
		return nil, err
	}
	// Pages in flight count together against the body limit: each holds
	// a read buffer as large as the longest value it has read.
	ctx = upstream.WithBodyBudget(ctx, upstream.NewBodyBudget(c.up.BodyLimit()))
	first, total, err := c.fetchPage(ctx, secret, 1, -1)
	if err != nil {
		return nil, err
	}
	pages := (total + int64(c.cfg.PageSize) - 1) / int64(c.cfg.PageSize)
	upstream.Notef(ctx, "the vendor announced %d grant records: %d pages of %d", total, pages, c.cfg.PageSize)
	if pages > int64(c.cfg.MaxPages) {
		return nil, upstream.Errorf(upstream.ResultDecodeError, "total %d needs %d pages of %d, more than the limit of %d",
			total, pages, c.cfg.PageSize, c.cfg.MaxPages)
	}

	// Pages in flight are not canceled when one fails: each ends with its
	// own result, so the request counters stay true (a canceled sibling
	// would count as a timeout). No page starts after a failure.
	var (
		mu     sync.Mutex // guards first
		failed atomic.Bool
		g      errgroup.Group
	)
	g.SetLimit(c.cfg.Concurrency)
	for p := 2; p <= int(pages) && !failed.Load() && ctx.Err() == nil; p++ {
		// Go blocks while Concurrency pages are in flight.
		g.Go(func() error {
			if failed.Load() {
				return nil
			}
			agg, _, err := c.fetchPage(ctx, secret, p, total)
			if err != nil {
				failed.Store(true)
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
	if err := ctx.Err(); err != nil {
		// Canceled between pages: the loop stopped early without an error.
		return nil, &upstream.Error{Result: upstream.ResultTimeout, Err: err}
	}
	if int64(first.processed) != total {
		// Unreachable while every page holds exactly its share; kept as the
		// last guard against publishing partial counts.
		return nil, upstream.Errorf(upstream.ResultDecodeError, "read %d grants, the vendor announced %d", first.processed, total)
	}
	return first.snapshot(), nil
}

// fetchPage reads page n. want is the total announced by page 1, or -1 on
// page 1 itself.
func (c *Client) fetchPage(ctx context.Context, secret string, n int, want int64) (*aggregate, int64, error) {
	query := url.Values{"page": {strconv.Itoa(n)}, "size": {strconv.Itoa(c.cfg.PageSize)}}
	if c.wheres != "" {
		query.Set("wheres", c.wheres)
	}
	// Signed per page, so a long refresh never outlives its signatures.
	expires := c.cfg.Clock().Add(ExpiresAhead).Unix()
	signature := Sign(secret, http.MethodGet, "", "", expires, CanonicalResource(c.base.Path, query))
	query.Set(paramAccessKeyID, c.cfg.AccessKeyID)
	query.Set(paramExpires, strconv.FormatInt(expires, 10))
	query.Set(paramSignature, signature)
	u := *c.base
	u.RawQuery = query.Encode()
	req, err := upstream.NewRequest(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}

	var agg *aggregate
	var total int64
	// Vendors and gateways echo requests; the signature would let anyone
	// replay this request until it expires.
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

// resultOf classifies the vendor's error codes.
func resultOf(code int64) upstream.Result {
	switch code {
	case 1001, 1002, 1003, 1004, 1005, 1006, 1009, 1012, 1015:
		// Missing, bad or expired signature parameters, a bad or disabled
		// key or account, denied access: the credentials' fault.
		return upstream.ResultAuthError
	case 1016, 1017:
		// Over the QPS limit, or the request allowance used up: back off.
		return upstream.ResultRateLimited
	}
	return upstream.ResultAPIError
}
