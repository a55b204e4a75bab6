package vzicloud

import (
	"crypto/md5" //nolint:gosec // CONTENT-MD5 is the vendor's choice
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The vendor's published test vector: a POST with a JSON body, which pins
// down every line of the string to sign.
func TestSignTestVector(t *testing.T) {
	const (
		secret  = "m4b4gQc0hur8okz7rsR7pLJkoH4OMLYj"
		body    = `{"name":"测试应用","remark":"无"}`
		expires = 1561463558
	)
	sum := md5.Sum([]byte(body)) //nolint:gosec // as documented
	contentMD5 := base64.StdEncoding.EncodeToString(sum[:])
	assert.Equal(t, "J2bREIXRh58BwcSkG9YNQQ==", contentMD5)

	signature := Sign(secret, "POST", contentMD5, "application/json", expires, "/v2/prs/user/apps")
	assert.Equal(t, "8CXL+bRJ+WaDQrwg7wWxkdEok0Y=", signature)

	// On the wire, the signature is URL-encoded like any value.
	q := url.Values{paramAccessKeyID: {"7ffG6UFo1135QXbK2gVuiJffadN1YXZC"}, paramExpires: {"1561463558"}, paramSignature: {signature}}
	assert.Equal(t, "accesskey_id=7ffG6UFo1135QXbK2gVuiJffadN1YXZC&expires=1561463558&signature=8CXL%2BbRJ%2BWaDQrwg7wWxkdEok0Y%3D", q.Encode())

	// Any other secret, line or resource gives another signature.
	for _, other := range []string{
		Sign(secret+"x", "POST", contentMD5, "application/json", expires, "/v2/prs/user/apps"),
		Sign(secret, "GET", contentMD5, "application/json", expires, "/v2/prs/user/apps"),
		Sign(secret, "POST", "", "application/json", expires, "/v2/prs/user/apps"),
		Sign(secret, "POST", contentMD5, "", expires, "/v2/prs/user/apps"),
		Sign(secret, "POST", contentMD5, "application/json", expires+1, "/v2/prs/user/apps"),
		Sign(secret, "POST", contentMD5, "application/json", expires, "/v2/prs/user/app"),
	} {
		assert.NotEqual(t, signature, other)
	}
}

func TestCanonicalResource(t *testing.T) {
	const path = "/openapi/v1/alg/consumes"
	// The README's example; the signature's own parameters are left out.
	assert.Equal(t, path+"?page=1&size=1000",
		CanonicalResource(path, url.Values{"size": {"1000"}, "page": {"1"}, "signature": {"x"}, "expires": {"1"}, "accesskey_id": {"k"}}))
	assert.Equal(t, path, CanonicalResource(path, url.Values{"expires": {"1"}}), "no other parameters: no ?")
	assert.Equal(t, path, CanonicalResource(path, nil))
	// Sorted by name; values as they are, not URL-encoded.
	assert.Equal(t, path+"?page=2&size=7&wheres=W3siayI6InN0YXRlIn1d+/==",
		CanonicalResource(path, url.Values{"wheres": {"W3siayI6InN0YXRlIn1d+/=="}, "size": {"7"}, "page": {"2"}}))
	assert.Equal(t, "/p?a=x y&a=z%", CanonicalResource("/p", url.Values{"a": {"x y", "z%"}}), "repeated names in order")
}
