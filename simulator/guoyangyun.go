package simulator

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// guoyangyunSearchAccountPath is the Guoyang Cloud sub-account endpoint.
const guoyangyunSearchAccountPath = "/api/user/searchAccount.htm"

// GuoyangyunAccount is one (sub-)account as the vendor sends it, with the
// JSON names of vendor_clients/upstream/testdata/vendors/guoyangyun_search_account.json. Mobile, Appkey and
// Appsecret must never reach the exporter's output; tests put canaries there.
type GuoyangyunAccount struct {
	Created     string              `json:"created"`
	Modified    string              `json:"modified"`
	PrimaryName string              `json:"primaryName"`
	Username    string              `json:"username"`
	Mobile      *string             `json:"mobile"`
	Corp        string              `json:"corp"`
	Appkey      string              `json:"appkey"`
	Appsecret   string              `json:"appsecret"`
	Status      Status              `json:"status"`
	ProductList []GuoyangyunProduct `json:"productList"`
}

// GuoyangyunProduct is one opened product of an account.
type GuoyangyunProduct struct {
	ProductName    string `json:"productName"`
	PresentBalance Count  `json:"presentBalance"`
	TotalUsed      Count  `json:"totalUsed"`
	InstanceID     string `json:"instanceId"`
	Status         Status `json:"status"`
}

// Status is a status code with its wire form: the vendor sends "01", "1"
// and 1 alike.
type Status struct {
	Code int
	Wire StatusWire
}

// StatusWire is how a Status goes on the wire.
type StatusWire int

// The encodings of a Status.
const (
	StatusPadded StatusWire = iota // "01", as documented
	StatusString                   // "1"
	StatusNumber                   // 1
)

// MarshalJSON implements json.Marshaler.
func (s Status) MarshalJSON() ([]byte, error) {
	switch s.Wire {
	case StatusPadded:
		return []byte(fmt.Sprintf(`"%02d"`, s.Code)), nil
	case StatusString:
		return []byte(strconv.Quote(strconv.Itoa(s.Code))), nil
	case StatusNumber:
		return []byte(strconv.Itoa(s.Code)), nil
	}
	return nil, fmt.Errorf("simulator: unknown StatusWire %d", s.Wire)
}

// Guoyangyun simulates Guoyang Cloud's sub-account API for one primary
// account, reached with its appkey and appsecret in a form body.
type Guoyangyun struct {
	mux               *http.ServeMux
	appkey, appsecret string

	mu       sync.RWMutex
	accounts []GuoyangyunAccount // replaced, never modified in place
}

// NewGuoyangyun returns a simulator that accepts only appkey and appsecret,
// with no accounts yet.
func NewGuoyangyun(appkey, appsecret string) *Guoyangyun {
	g := &Guoyangyun{mux: http.NewServeMux(), appkey: appkey, appsecret: appsecret, accounts: []GuoyangyunAccount{}}
	g.mux.HandleFunc("POST "+guoyangyunSearchAccountPath, g.serveSearchAccount)
	g.mux.HandleFunc("GET "+guoyangyunSearchAccountPath, g.serveSearchAccount) // documented too
	return g
}

// ServeHTTP answers as the vendor does.
func (g *Guoyangyun) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

// FaultBodies are the vendor's own answers, for a fault injector to send.
func (g *Guoyangyun) FaultBodies() FaultBodies {
	return FaultBodies{
		Unauthorized: guoyangyunError("1002", "appkey或appsecret错误"),
		WrongTypes:   []byte(guoyangyunWrongTypes),
		NoData:       []byte(`{"code":"0","msg":"成功"}`),
		VendorError: func(int) (int, []byte) {
			return http.StatusOK, guoyangyunError("9999", "系统异常，请稍后重试")
		},
	}
}

// SetAccounts replaces the account list with a copy of as.
func (g *Guoyangyun) SetAccounts(as []GuoyangyunAccount) {
	cp := append(make([]GuoyangyunAccount, 0, len(as)), as...)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.accounts = cp
}

// Accounts returns a copy of the account list.
func (g *Guoyangyun) Accounts() []GuoyangyunAccount {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return slices.Clone(g.accounts)
}

func (g *Guoyangyun) serveSearchAccount(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
			writeBody(w, http.StatusOK, jsonType, guoyangyunError("1000", "参数错误"))
			return
		}
	}
	if err := r.ParseForm(); err != nil {
		writeBody(w, http.StatusOK, jsonType, guoyangyunError("1000", "参数错误"))
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Form.Get("appkey")), []byte(g.appkey))&
		subtle.ConstantTimeCompare([]byte(r.Form.Get("appsecret")), []byte(g.appsecret)) != 1 {
		writeBody(w, http.StatusOK, jsonType, guoyangyunError("1002", "appkey或appsecret错误"))
		return
	}
	accounts := g.Accounts()
	if name := r.Form.Get("username"); name != "" {
		accounts = slices.DeleteFunc(accounts, func(a GuoyangyunAccount) bool { return a.Username != name })
	}
	body, err := json.Marshal(struct {
		Code string              `json:"code"`
		Msg  string              `json:"msg"`
		Data []GuoyangyunAccount `json:"data"`
	}{"0", "成功", accounts})
	if err != nil { // a Count with an unknown Wire, set by a test
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, http.StatusOK, jsonType, body)
}

// guoyangyunError is the vendor's failure envelope.
func guoyangyunError(code, msg string) []byte {
	body, _ := json.Marshal(map[string]string{"code": code, "msg": msg}) // cannot fail
	return body
}

// guoyangyunWrongTypes is a success envelope whose account fields have JSON
// types no tolerant reading accepts.
const guoyangyunWrongTypes = `{"code":"0","msg":"成功","data":[{"username":["test11"],"primaryName":{"n":1},` +
	`"corp":[],"status":{"code":"01"},"productList":{"productName":"行业短信"}}]}`

// DemoGuoyangyunAccounts is the demo SMS account: the primary account in
// order, a sub-account frozen by the vendor, and a product whose balance is
// under 100. Its appkeys, appsecrets and mobiles are canaries.
func DemoGuoyangyunAccounts() []GuoyangyunAccount {
	mobile := func(s string) *string { return &s }
	str := func(v int64) Count { return Count{Value: v} }
	num := func(v int64) Count { return Count{Value: v, Wire: WireNumber} }
	return []GuoyangyunAccount{{
		Created: "2019-09-25 16:00:26", Modified: "2026-06-19 10:13:24",
		PrimaryName: "ops-main", Username: "ops-main", Mobile: mobile("13600001111"), Corp: "示例科技有限公司",
		Appkey: "8771711500303127746", Appsecret: "gy-canary-secret-main", Status: Status{Code: 1},
		ProductList: []GuoyangyunProduct{
			{ProductName: "行业短信", PresentBalance: num(12840), TotalUsed: num(48211), InstanceID: "531241234", Status: Status{Code: 1, Wire: StatusNumber}},
			{ProductName: "营销短信", PresentBalance: str(64), TotalUsed: str(9936), InstanceID: "431242155", Status: Status{Code: 1}},
		},
	}, {
		Created: "2021-03-02 09:12:00", Modified: "2026-10-30 18:40:02",
		PrimaryName: "ops-main", Username: "alerts-sub", Mobile: nil, Corp: "示例科技有限公司",
		Appkey: "8771711500303127999", Appsecret: "gy-canary-secret-sub", Status: Status{Code: 2, Wire: StatusString},
		ProductList: []GuoyangyunProduct{
			{ProductName: "行业短信", PresentBalance: num(2300), TotalUsed: num(700), InstanceID: "531249876", Status: Status{Code: 2}},
		},
	}, {
		Created: "2022-07-11 11:00:00", Modified: "2024-01-05 08:00:00",
		PrimaryName: "ops-main", Username: "legacy-sub", Mobile: mobile("13600002222"), Corp: "旧业务",
		Appkey: "8771711500303120000", Appsecret: "gy-canary-secret-legacy", Status: Status{Code: 3},
		ProductList: []GuoyangyunProduct{},
	}}
}
