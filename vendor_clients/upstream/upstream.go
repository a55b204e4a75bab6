// Package upstream is the HTTP layer shared by every vendor client: it bounds
// each request in time and size, names the exporter in User-Agent, classifies
// the outcome for the exporter's own metrics and keeps credentials out of
// error messages. It knows nothing about Prometheus.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Result classifies the outcome of one upstream request. The set is fixed: it
// is the `result` label of quota_exporter_upstream_requests_total.
type Result string

// The results, each with when it applies.
const (
	ResultSuccess      Result = "success"       // a complete, valid answer
	ResultTimeout      Result = "timeout"       // no complete answer within the request timeout
	ResultNetworkError Result = "network_error" // connection refused, DNS, TLS, redirect loop
	ResultHTTPError    Result = "http_error"    // a non-2xx status that is none of the below
	ResultAuthError    Result = "auth_error"    // the vendor rejected the credentials
	ResultRateLimited  Result = "rate_limited"  // HTTP 429 or the vendor's own rate-limit code
	ResultAPIError     Result = "api_error"     // the vendor's error envelope, other codes
	ResultDecodeError  Result = "decode_error"  // the body is not the documented shape
	ResultTooLarge     Result = "too_large"     // the body exceeds the size limit
	ResultSecretError  Result = "secret_error"  // the account's *_file secret could not be read; no request was sent
)

// Results lists every Result, so metrics can be initialized to zero.
var Results = []Result{
	ResultSuccess, ResultTimeout, ResultNetworkError, ResultHTTPError, ResultAuthError,
	ResultRateLimited, ResultAPIError, ResultDecodeError, ResultTooLarge, ResultSecretError,
}

// DefaultMaxBodyBytes bounds a response body when the client sets no limit.
const DefaultMaxBodyBytes = 32 << 20

// Error is a classified upstream failure. Its message never contains a query
// string, userinfo or a response body, so it is safe to log.
type Error struct {
	Result     Result
	Op         string        // method and redacted URL, e.g. "GET https://host/path"
	StatusCode int           // HTTP status, 0 if none was received
	RetryAfter time.Duration // from a Retry-After header, 0 if none
	Err        error
}

func (e *Error) Error() string {
	msg := string(e.Result)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Op != "" {
		return e.Op + ": " + msg
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a classified error for a vendor client's own checks.
func Errorf(result Result, format string, args ...any) *Error {
	return &Error{Result: result, Err: fmt.Errorf(format, args...)}
}

// ResultOf classifies err: nil is success, an *Error carries its own result,
// anything else is a decode error (the vendor answered, we could not read it).
func ResultOf(err error) Result {
	if err == nil {
		return ResultSuccess
	}
	if ue, ok := errors.AsType[*Error](err); ok {
		return ue.Result
	}
	return ResultDecodeError
}

// RetryAfterOf returns the Retry-After the vendor asked for, or 0.
func RetryAfterOf(err error) time.Duration {
	if ue, ok := errors.AsType[*Error](err); ok {
		return ue.RetryAfter
	}
	return 0
}

// RedactURL keeps scheme, host and path; userinfo and the query string may
// carry credentials (three of the four vendors put them there), so they go.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// Request is what an Observer learns of one request: nothing in it is a
// secret (the URL is redacted). A secret_error has no Method and no URL:
// without its secret, the request was never sent.
type Request struct {
	Method     string
	URL        string // RedactURL of the request's URL
	StatusCode int    // 0 when no answer arrived
	Result     Result
	Elapsed    time.Duration
	Err        error // nil on success; safe to log
}

// Observer is told the outcome of every request.
type Observer func(Request)

// Client sends requests for one vendor account.
type Client struct {
	HTTP         *http.Client
	UserAgent    string
	Timeout      time.Duration // per request, including reading the body; 0 = none
	MaxBodyBytes int64         // 0 = DefaultMaxBodyBytes
	Observe      Observer      // may be nil
	// FollowRedirects allows redirects within the request's origin; none
	// is followed otherwise, and none ever leaves the origin.
	FollowRedirects bool
	// Limit, when set, holds each request until the vendor host's budget
	// allows it and returns the release to call once the answer is read.
	// The wait ends with the caller's ctx, before the request's own
	// Timeout starts.
	Limit func(ctx context.Context) (release func(), err error)
}

// BodyLimit is the most bytes one response may have.
func (c *Client) BodyLimit() int64 {
	if c.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return c.MaxBodyBytes
}

// DecodeFunc reads one response. The body is size-bounded; reading past the
// limit fails with a too_large error. It returns an *Error to classify a
// failure itself (auth, rate limit, API error); any other error counts as a
// decode error.
type DecodeFunc func(resp *http.Response) error

// Do sends req with the client's timeout and User-Agent and hands the
// response to decode. The returned error is always an *Error or nil.
func (c *Client) Do(ctx context.Context, req *http.Request, decode DecodeFunc) error {
	if c.Limit != nil {
		start := time.Now()
		release, err := c.Limit(ctx)
		if err != nil {
			return c.observe(ctx, req, start, &Error{Result: ResultTimeout, Err: err}, 0)
		}
		defer release()
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req = req.WithContext(ctx)
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	start := time.Now()
	var read int64
	err := c.do(ctx, req, decode, &read)
	return c.observe(ctx, req, start, err, read)
}

// observe completes err with the request it is about and tells the Observer.
func (c *Client) observe(ctx context.Context, req *http.Request, start time.Time, err *Error, read int64) error {
	redacted := RedactURL(req.URL)
	if err != nil && err.Op == "" {
		err.Op = req.Method + " " + redacted
	}
	r := Request{Method: req.Method, URL: redacted, Result: ResultSuccess, StatusCode: http.StatusOK, Elapsed: time.Since(start)}
	if err != nil {
		r.StatusCode, r.Result, r.Err = err.StatusCode, err.Result, err
	}
	if c.Observe != nil {
		c.Observe(r)
	}
	if t := traceOf(ctx); t != nil {
		t.add(TracedRequest{Request: r, Start: start, Bytes: read})
	}
	return errOrNil(err)
}

// errOrNil avoids returning a typed nil pointer inside a non-nil error.
func errOrNil(err *Error) error {
	if err == nil {
		return nil
	}
	return err
}

// do sets *read to the number of body bytes read.
func (c *Client) do(ctx context.Context, req *http.Request, decode DecodeFunc, read *int64) *Error {
	httpClient := http.Client{}
	if c.HTTP != nil {
		httpClient = *c.HTTP
	}
	// Installed here, whoever built the client: credentials must never
	// follow a redirect out of their origin.
	httpClient.CheckRedirect = redirectPolicy(c.FollowRedirects)
	resp, err := httpClient.Do(req)
	if err != nil {
		return transportError(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }() // the body was read to the limit; nothing to report

	limit := c.BodyLimit()
	if resp.ContentLength > limit && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		// Refused before reading a byte. An error status is read only up
		// to its vendor message, whatever its length.
		return &Error{Result: ResultTooLarge, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("response body declared as %d bytes exceeds %d", resp.ContentLength, limit)}
	}
	body := &limitedBody{r: resp.Body, left: limit, shared: budgetOf(ctx)}
	defer body.release()
	resp.Body = io.NopCloser(body)
	defer func() { *read = body.read }()

	err = decode(resp)
	if err == nil {
		return nil
	}
	var ue *Error
	switch {
	case body.exceeded:
		return &Error{Result: ResultTooLarge, StatusCode: resp.StatusCode, Err: fmt.Errorf("response body exceeds %d bytes", limit)}
	case body.sharedExceeded:
		return &Error{Result: ResultTooLarge, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("responses read at once exceed %d bytes together", body.shared.limit)}
	case ctx.Err() != nil:
		return &Error{Result: ResultTimeout, StatusCode: resp.StatusCode, Err: fmt.Errorf("reading response: %w", ctx.Err())}
	case errors.As(err, &ue):
		if ue.StatusCode == 0 {
			ue.StatusCode = resp.StatusCode
		}
		return ue
	default:
		return &Error{Result: ResultDecodeError, StatusCode: resp.StatusCode, Err: err}
	}
}

// transportError classifies an error from http.Client.Do and strips the URL
// that *url.Error would print.
func transportError(ctx context.Context, err error) *Error {
	if urlErr, ok := errors.AsType[*url.Error](err); ok {
		err = urlErr.Err
	}
	if refused := refusedRedirect(err); refused != nil {
		return refused
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Result: ResultTimeout, Err: err}
	}
	var netTimeout interface{ Timeout() bool }
	if errors.As(err, &netTimeout) && netTimeout.Timeout() {
		return &Error{Result: ResultTimeout, Err: err}
	}
	return &Error{Result: ResultNetworkError, Err: err}
}

// CheckStatus turns a non-2xx status into a classified error: 401 and 403
// are auth errors, 429 a rate limit (with Retry-After), others HTTP errors.
// The body is not quoted: gateways echo requests, credentials included.
func CheckStatus(resp *http.Response) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	e := &Error{Result: ResultHTTPError, StatusCode: code, Err: fmt.Errorf("HTTP status %d", code)}
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Result = ResultAuthError
	case http.StatusTooManyRequests:
		e.Result = ResultRateLimited
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// parseRetryAfter accepts both forms of RFC 9110: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// ReadSecret reads the credential named what with read. A failure is a
// secret_error, told to the Observer like a request's outcome (with no
// method or URL: none was sent), and the caller makes no request. The
// error names what, never the content; read's own error must not quote it
// either.
func (c *Client) ReadSecret(what string, read func() (string, error)) (string, error) {
	start := time.Now()
	secret, err := read()
	if err == nil {
		return secret, nil
	}
	e := &Error{Result: ResultSecretError, Err: fmt.Errorf("reading the %s: %w", what, err)}
	if c.Observe != nil {
		c.Observe(Request{Result: e.Result, Elapsed: time.Since(start), Err: e})
	}
	return "", e
}

// NewRequest is http.NewRequestWithContext for a URL the client built, so
// only a nil ctx makes it fail; it asks for JSON.
func NewRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, Errorf(ResultNetworkError, "building the request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// Fetch sends req through c and returns what decode makes of the answer.
func Fetch[T any](ctx context.Context, c *Client, req *http.Request, decode func(*http.Response) (T, error)) (T, error) {
	var v T
	err := c.Do(ctx, req, func(resp *http.Response) error {
		var err error
		v, err = decode(resp)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}
