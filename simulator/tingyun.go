package simulator

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"
)

// tingyunUserListPath is the Tingyun user list endpoint, as documented.
const tingyunUserListPath = "/network-report-data/user-config/list-json-authkey"

// TingyunUser is one user as the vendor sends it, with the JSON names of
// vendor_clients/upstream/testdata/vendors/tingyun_user_list.json. Password, Email, Mobile and Phone are
// personal data that must never reach the exporter's output; tests put
// canaries there.
type TingyunUser struct {
	ID            int64   `json:"id"`
	Code          string  `json:"code"`
	Name          string  `json:"name"`
	Password      string  `json:"password"`
	Mobile        string  `json:"mobile"`
	Type          Count   `json:"type"`
	Email         string  `json:"email"`
	DetailIDs     *string `json:"detail_ids"`
	Phone         string  `json:"phone"`
	Status        Count   `json:"status"`
	IfNewTaskView int     `json:"if_newtask_view"`
	Ctime         string  `json:"ctime"` // YYYY-MM-DD HH:MM:SS, China time
}

// Tingyun simulates Tingyun's user list API for one account, reached with
// its authkey in the query string.
type Tingyun struct {
	mux     *http.ServeMux
	authkey string

	mu    sync.RWMutex
	users []TingyunUser // replaced, never modified in place
}

// NewTingyun returns a simulator that accepts only authkey, with no users yet.
func NewTingyun(authkey string) *Tingyun {
	t := &Tingyun{mux: http.NewServeMux(), authkey: authkey, users: []TingyunUser{}}
	t.mux.HandleFunc("GET "+tingyunUserListPath, t.serveUserList)
	return t
}

// ServeHTTP answers as the vendor does.
func (t *Tingyun) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.mux.ServeHTTP(w, r) }

// FaultBodies are the vendor's own answers, for a fault injector to send.
func (t *Tingyun) FaultBodies() FaultBodies {
	return FaultBodies{
		Unauthorized: tingyunPermissionDenied,
		WrongTypes:   []byte(tingyunWrongTypes),
		NoData:       []byte(`{"status":200}`),
		VendorError: func(int) (int, []byte) {
			return http.StatusOK, tingyunEnvelope(http.StatusInternalServerError, "InternalServerError", "服务器内部错误", nil)
		},
	}
}

// SetUsers replaces the user list with a copy of us.
func (t *Tingyun) SetUsers(us []TingyunUser) {
	cp := append(make([]TingyunUser, 0, len(us)), us...)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.users = cp
}

// Users returns a copy of the user list.
func (t *Tingyun) Users() []TingyunUser {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.users)
}

func (t *Tingyun) serveUserList(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("authkey")), []byte(t.authkey)) != 1 {
		// The vendor answers a wrong authkey inside an HTTP 200.
		writeBody(w, http.StatusOK, jsonType, tingyunPermissionDenied)
		return
	}
	body := tingyunEnvelope(http.StatusOK, 0, "", t.Users())
	writeBody(w, http.StatusOK, jsonType, body)
}

// tingyunEnvelope is the vendor's answer around data; errorCode is 0 on
// success and an error name otherwise.
func tingyunEnvelope(status int, errorCode any, message string, data any) []byte {
	body, _ := json.Marshal(struct { // cannot fail: Counts with known Wires, strings, ints
		Status    int    `json:"status"`
		Data      any    `json:"data"`
		Message   string `json:"message"`
		ErrorCode any    `json:"error_code"`
		Request   string `json:"request"`
		Time      string `json:"time"`
	}{status, data, message, errorCode, "", time.Now().In(chinaTime).Format(time.DateTime)})
	return body
}

var tingyunPermissionDenied = tingyunEnvelope(http.StatusForbidden, "PermissionDeniedError", "授权码无效", nil)

// tingyunWrongTypes is a success envelope whose user fields have JSON types
// no tolerant reading accepts.
const tingyunWrongTypes = `{"status":200,"error_code":0,"message":"","data":[{` +
	`"id":{"value":1230664},"code":["sihy000"],"name":{"n":"1122"},"type":[3],` +
	`"status":{"on":1},"ctime":["2015-05-21 14:42:09"]}]}`

// DemoTingyunUsers is the demo monitoring account's users: a task manager,
// report viewers (one disabled) and a user of an undocumented type. Only
// the creation times depend on now.
func DemoTingyunUsers(now time.Time) []TingyunUser {
	at := func(daysAgo int, clock string) string {
		y, m, d := now.In(chinaTime).AddDate(0, 0, -daysAgo).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, chinaTime).Format(time.DateOnly) + " " + clock
	}
	num := func(v int64) Count { return Count{Value: v, Wire: WireNumber} }
	return []TingyunUser{{
		ID: 1230664, Code: "noc-admin", Name: "值班主管", Password: "Tingyun#Canary-1",
		Email: "noc-admin@example.com", Mobile: "13812345670", Phone: "010-88886666",
		Type: num(11), Status: num(1), Ctime: at(900, "14:42:09"),
	}, {
		ID: 1594480, Code: "report-ops", Name: "运维报表", Password: "Tingyun#Canary-2",
		Email: "report-ops@example.com", Mobile: "13912345671",
		Type: num(4), Status: num(1), Ctime: at(600, "09:21:33"),
	}, {
		ID: 1594507, Code: "report-old", Name: "离职员工", Password: "Tingyun#Canary-3",
		Email: "former@example.com", Mobile: "13712345672",
		Type: Count{Value: 4}, Status: Count{Value: 0}, Ctime: at(540, "00:36:46"), // sent as strings
	}, {
		ID: 1600021, Code: "legacy", Name: "旧版账号", Password: "Tingyun#Canary-4",
		Type: num(3), Status: num(1), Ctime: at(1500, "18:05:00"),
	}}
}
