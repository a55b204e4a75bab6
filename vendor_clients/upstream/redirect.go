package upstream

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/quotaexporter/quota_exporter/internal/quote"
)

// maxRedirects is how many redirects within the origin are followed, as
// many as net/http's own default.
const maxRedirects = 10

// RedirectRefused is a redirect the client did not follow: the request is
// an http_error naming the target's host, never its path or query (a
// hostile Location may copy the credentials there).
type RedirectRefused struct {
	Host       string // host[:port] of the Location
	Reason     string
	StatusCode int // the redirect's status
}

func (e *RedirectRefused) Error() string {
	return fmt.Sprintf("redirect (HTTP %d) to host %s refused: %s", e.StatusCode, quote.Text(e.Host), e.Reason)
}

// redirectPolicy is an http.Client CheckRedirect. Every vendor request
// carries its credentials (Authorization header, form body, secret or
// signature in the query, and net/http adds the query to Referer), so a
// redirect is followed only when follow is set, and then only within the
// origin (scheme, host and port) of the first request: https → http and
// any other host are refused.
func redirectPolicy(follow bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		refuse := func(reason string) error {
			e := &RedirectRefused{Host: req.URL.Host, Reason: reason}
			if req.Response != nil {
				e.StatusCode = req.Response.StatusCode
			}
			return e
		}
		switch {
		case !follow:
			return refuse("follow_redirects is off")
		case strings.EqualFold(via[0].URL.Scheme, "https") && strings.EqualFold(req.URL.Scheme, "http"):
			return refuse("https to http would send the credentials in clear text")
		case origin(req.URL) != origin(via[0].URL):
			return refuse("another origin than " + quote.Text(via[0].URL.Host) + " would receive the credentials")
		case len(via) >= maxRedirects:
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
}

// origin is scheme://host:port with the default port made explicit, so
// that https://h and https://h:443 are one origin.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// refusedRedirect classifies a transport error that is a refused redirect.
func refusedRedirect(err error) *Error {
	var rr *RedirectRefused
	if !errors.As(err, &rr) {
		return nil
	}
	return &Error{Result: ResultHTTPError, StatusCode: rr.StatusCode, Err: rr}
}
