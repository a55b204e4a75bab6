package vzicloud

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the vendor's signature is HMAC-SHA1
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The signature parameters, which the canonical resource leaves out.
const (
	paramAccessKeyID = "accesskey_id"
	paramExpires     = "expires"
	paramSignature   = "signature"
)

// Sign is the vendor's request signature: base64 of the HMAC-SHA1, keyed
// with the access key secret, of the verb, body MD5, body type, expiry and
// canonical resource, one per line.
func Sign(secret, verb, contentMD5, contentType string, expires int64, resource string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(verb + "\n" + contentMD5 + "\n" + contentType + "\n" + strconv.FormatInt(expires, 10) + "\n" + resource))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// CanonicalResource is the path and, when there are any, the query
// parameters other than the signature's own, sorted by name and joined as
// name=value with their values not URL-encoded.
func CanonicalResource(path string, query url.Values) string {
	var pairs []string
	for _, name := range slices.Sorted(maps.Keys(query)) {
		if name == paramAccessKeyID || name == paramExpires || name == paramSignature {
			continue
		}
		for _, v := range query[name] {
			pairs = append(pairs, name+"="+v)
		}
	}
	if len(pairs) == 0 {
		return path
	}
	return path + "?" + strings.Join(pairs, "&")
}
