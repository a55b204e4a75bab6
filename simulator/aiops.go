package simulator

import (
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
)

// The aiops (CloudAlert) endpoints, as documented.
const (
	aiopsLicenseListPath = "/api/alert/rest/api/v1/ca/getLicenseList"
	aiopsTestPath        = "/api/alert/rest/api/v1/test"
)

// AIOpsLicense is one license as the vendor sends it: the JSON names, types
// and order of vendor_clients/upstream/testdata/vendors/aiops_license_list.json. Dates are the vendor's
// "YYYY-MM-DD" text in China time, kept as text so a test can send a bad
// one.
type AIOpsLicense struct {
	SysID        string `json:"sys_id"`
	LicenseType  string `json:"license_type"` // edition code, e.g. "lite"
	User         int64  `json:"user"`         // bound member's id; 0 when unbound
	Telephone    string `json:"telephone"`    // personal data: must never reach the exporter's output
	IsUsed       int    `json:"is_used"`
	SysCreatedOn string `json:"sys_created_on"`
	ExpiredTime  string `json:"expired_time"`
	ContactName  string `json:"contact_name"`
	AutoRenew    int    `json:"auto_renew"`
	TelNum       Count  `json:"telNum"`
	TelTotal     Count  `json:"telTotal"`
	MsgNum       Count  `json:"msgNum"`
	MsgTotal     Count  `json:"msgTotal"`
	WeChatNum    Count  `json:"weChatNum"`
	WeChatTotal  Count  `json:"weChatTotal"`
	EmailNum     Count  `json:"emailNum"`
	EmailTotal   Count  `json:"emailTotal"`
	IntTelNum    Count  `json:"intTelNum"`
	IntTelTotal  Count  `json:"intTelTotal"`
	IntMsgNum    Count  `json:"intMsgNum"`
	IntMsgTotal  Count  `json:"intMsgTotal"`
	License      string `json:"license"` // edition name, e.g. "基础版"
	IsExpired    int    `json:"isExpired"`
	NextDate     string `json:"nextDate"`
}

// AIOps simulates CloudAlert's license list API for one team, reached with
// HTTP Basic email:token. It is an http.Handler; its licenses can be changed
// while it serves.
type AIOps struct {
	mux          *http.ServeMux
	email, token string

	mu       sync.RWMutex
	licenses []AIOpsLicense // replaced, never modified in place
}

// NewAIOps returns a simulator that accepts only email and token, with no
// licenses yet.
func NewAIOps(email, token string) *AIOps {
	a := &AIOps{mux: http.NewServeMux(), email: email, token: token, licenses: []AIOpsLicense{}}
	// The mux answers 404 for other paths, 405 for other methods.
	a.mux.HandleFunc("GET "+aiopsLicenseListPath, a.authorized(a.serveLicenseList))
	a.mux.HandleFunc("GET "+aiopsTestPath, a.authorized(a.serveTest))
	return a
}

// ServeHTTP answers as the vendor does.
func (a *AIOps) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// FaultBodies are the vendor's own answers, for a fault injector to send.
func (a *AIOps) FaultBodies() FaultBodies {
	return FaultBodies{
		Unauthorized: aiopsUnauthorized,
		WrongTypes:   []byte(aiopsWrongTypes),
		NoData:       []byte(`{"success":true}`),
		VendorError: func(code int) (int, []byte) {
			// The vendor reports its errors inside an HTTP 200.
			return http.StatusOK, aiopsError(cmp.Or(code, http.StatusInternalServerError))
		},
	}
}

// SetLicenses replaces the license list with a copy of ls.
func (a *AIOps) SetLicenses(ls []AIOpsLicense) {
	cp := append(make([]AIOpsLicense, 0, len(ls)), ls...) // never nil: "data": [], not null
	a.mu.Lock()
	defer a.mu.Unlock()
	a.licenses = cp
}

// Licenses returns a copy of the license list.
func (a *AIOps) Licenses() []AIOpsLicense {
	return slices.Clone(a.list())
}

func (a *AIOps) list() []AIOpsLicense {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.licenses
}

// authorized lets through only the right Basic credentials, compared in
// constant time as a real server should.
func (a *AIOps) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		email, token, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(email), []byte(a.email))&
			subtle.ConstantTimeCompare([]byte(token), []byte(a.token)) != 1 {
			writeBody(w, http.StatusUnauthorized, jsonType, aiopsUnauthorized)
			return
		}
		next(w, r)
	}
}

func (a *AIOps) serveLicenseList(w http.ResponseWriter, r *http.Request) {
	body, err := json.Marshal(struct {
		Success bool           `json:"success"`
		Data    []AIOpsLicense `json:"data"`
	}{true, a.list()})
	if err != nil { // a Count with an unknown Wire, set by a test
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, http.StatusOK, jsonType, body)
}

// serveTest is the token test endpoint; as documented, it echoes the email.
func (a *AIOps) serveTest(w http.ResponseWriter, r *http.Request) {
	body, _ := json.Marshal(struct { // cannot fail: strings and ints
		Result     string `json:"result"`
		Message    string `json:"message"`
		Data       string `json:"data"`
		TotalCount int    `json:"totalCount"`
		Code       int    `json:"code"`
	}{"success", "test ok", a.email, 0, http.StatusOK})
	writeBody(w, http.StatusOK, jsonType, body)
}

// aiopsMessages are the vendor's messages by code; others get the default.
var aiopsMessages = map[int]string{
	http.StatusBadRequest:   "参数错误",
	http.StatusUnauthorized: "认证失败，请检查邮箱和 access token",
}

const aiopsDefaultMessage = "系统繁忙，请稍后再试"

// aiopsError is the vendor's failure envelope. It never holds what the
// client sent.
func aiopsError(code int) []byte {
	body, _ := json.Marshal(struct { // cannot fail: a bool, an int, a string
		Success bool   `json:"success"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{false, code, cmp.Or(aiopsMessages[code], aiopsDefaultMessage)})
	return body
}

var aiopsUnauthorized = aiopsError(http.StatusUnauthorized)

// aiopsWrongTypes is a success envelope whose license has every field but
// the telephone as a JSON type no tolerant reading accepts: an object, an
// array or a boolean where a string or a number belongs.
const aiopsWrongTypes = `{"success":true,"data":[{` +
	`"sys_id":["3b1f0d52-8c4e-4d7a-b6f1-0e9a2c5d7f31"],"license_type":{"code":"lite"},` +
	`"user":{"id":100004605132},"is_used":[1],` +
	`"sys_created_on":{"date":"2025-11-06"},"expired_time":["2027-01-06"],` +
	`"contact_name":{"name":"manman01"},"auto_renew":{"on":false},` +
	`"telNum":[0],"telTotal":{"value":"100"},"msgNum":true,"msgTotal":["300"],` +
	`"weChatNum":{},"weChatTotal":[],"emailNum":false,"emailTotal":{"n":300},` +
	`"intTelNum":[],"intTelTotal":{},"intMsgNum":[null],"intMsgTotal":true,` +
	`"license":{"name":"基础版"},"isExpired":{"value":0},"nextDate":[2026,4,11]}]}`
