package upstream

import (
	"errors"
	"net/url"
	"strings"

	"github.com/quotaexporter/quota_exporter/internal/quote"
)

// ParseBaseURL accepts a vendor API base URL: a scheme, a host and an
// optional path prefix, to which the client appends the documented paths.
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, URLParseError(err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("must start with http:// or https://")
	case u.User != nil:
		return nil, errors.New("must not hold credentials: the vendor client authenticates itself")
	case u.Host == "":
		return nil, errors.New("must have a host")
	case strings.ContainsAny(raw, "?#"):
		return nil, errors.New("must not have a query or fragment")
	}
	u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// URLParseError is url.Parse's complaint without the URL, which may hold a
// password; when the URL has credentials (an @), not even the part the
// complaint quotes, which may be a piece of the password; nor for a long
// URL, whose quoted part may be long.
func URLParseError(err error) error {
	uerr := &url.Error{}
	switch {
	case !errors.As(err, &uerr):
		return err
	case strings.Contains(uerr.URL, "@") || len(uerr.URL) > quote.MaxChars:
		return errors.New("not a valid URL")
	}
	return uerr.Err
}
