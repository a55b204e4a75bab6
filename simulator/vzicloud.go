package simulator

import (
	"bufio"
	"cmp"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the vendor's signature is HMAC-SHA1
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// vzicloudConsumesPath is the grant list endpoint, as documented.
const vzicloudConsumesPath = "/openapi/v1/alg/consumes"

// vzicloudMaxExpiresAhead is how far ahead the simulator accepts an
// `expires`; a request signed to stay valid longer is refused (1003).
const vzicloudMaxExpiresAhead = time.Hour

// VZICloudGrant is one grant record as the vendor sends it, with the JSON
// names of vendor_clients/upstream/testdata/vendors/vzicloud_alg_consumes.json.
type VZICloudGrant struct {
	SN               string `json:"sn"`
	Type             int    `json:"type"`
	ProductID        int    `json:"product_id"`
	GrantUserID      int    `json:"grant_user_id"`
	GrantAccessKeyID string `json:"grant_accesskey_id"`
	State            int    `json:"state"`
	OrderNo          string `json:"order_no"`
	PeriodTime       int    `json:"period_time"`
	PeriodUnit       int    `json:"period_unit"`
	ExpireTime       int64  `json:"expire_time"` // Unix seconds; -1 never expires
	Remark           string `json:"remark"`
	CreateTime       string `json:"create_time"`
	UpdateTime       string `json:"update_time"`
}

// VZICloud simulates the grant list API of one account: it checks the
// signature and its expiry as the vendor does, pages, and filters.
type VZICloud struct {
	mux                 *http.ServeMux
	accessKeyID, secret string

	mu      sync.RWMutex
	grants  []VZICloudGrant // replaced, never modified in place
	encoded [][]byte        // grants[i] as JSON, encoded once: serving a page copies bytes
}

// NewVZICloud returns a simulator that accepts requests signed with the
// access key, with no grants yet.
func NewVZICloud(accessKeyID, accessKeySecret string) *VZICloud {
	v := &VZICloud{mux: http.NewServeMux(), accessKeyID: accessKeyID, secret: accessKeySecret, grants: []VZICloudGrant{}}
	v.mux.HandleFunc("GET "+vzicloudConsumesPath, v.serveConsumes)
	return v
}

// ServeHTTP answers as the vendor does.
func (v *VZICloud) ServeHTTP(w http.ResponseWriter, r *http.Request) { v.mux.ServeHTTP(w, r) }

// FaultBodies are the vendor's own answers, for a fault injector to send.
// Its VendorError is the vendor's envelope for the code with the status it
// comes with: 1016 and 1017 (rate limits) with 429, the auth codes with 403
// or 400, and by default 1000, a failure that is neither, with 500.
func (v *VZICloud) FaultBodies() FaultBodies {
	return FaultBodies{
		Unauthorized: vzicloudError(1004, vzicloudMessages[1004]),
		WrongTypes:   []byte(vzicloudWrongTypes),
		NoData:       []byte(`{"total":0}`),
		VendorError: func(code int) (int, []byte) {
			code = cmp.Or(code, 1000) // a failure that is neither auth nor rate limit
			return vzicloudStatus(code), vzicloudError(code, vzicloudMessages[code])
		},
	}
}

// SetGrants replaces the grant list with a copy of gs.
func (v *VZICloud) SetGrants(gs []VZICloudGrant) {
	cp := append(make([]VZICloudGrant, 0, len(gs)), gs...)
	encoded := make([][]byte, len(cp))
	for i := range cp {
		encoded[i], _ = json.Marshal(&cp[i]) // cannot fail: strings and ints
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.grants, v.encoded = cp, encoded
}

// Grants returns a copy of the grant list.
func (v *VZICloud) Grants() []VZICloudGrant {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return slices.Clone(v.grants)
}

// vzicloudMessages are the vendor's messages for the codes it documents.
var vzicloudMessages = map[int]string{
	1000: "System error, please try again later!",
	1001: "Authorization params missing!",
	1002: "Authorization expired!",
	1003: "Authorization params [expires] error!",
	1004: "Authorization params [signature] error!",
	1005: "Authorization params [accesskey_id] error!",
	1006: "AccessKey disabled!",
	1009: "Account disabled!",
	1012: "Access denied!",
	1015: "Access denied!",
	1016: "Request rate exceeds the QPS limit!",
	1017: "Total request count exhausted!",
}

// vzicloudStatus is the HTTP status an error code comes with.
func vzicloudStatus(code int) int {
	switch code {
	case 1016, 1017:
		return http.StatusTooManyRequests
	case 1001, 1003:
		return http.StatusBadRequest
	case 1002, 1004, 1005, 1006, 1009, 1012, 1015:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

func vzicloudError(code int, message string) []byte {
	body, _ := json.Marshal(struct { // cannot fail: an int and a string
		ErrorCode    int    `json:"error_code"`
		ErrorMessage string `json:"error_message"`
	}{code, message})
	return body
}

func (v *VZICloud) refuse(w http.ResponseWriter, code int) {
	writeBody(w, vzicloudStatus(code), jsonType, vzicloudError(code, vzicloudMessages[code]))
}

// authorized checks the three signature parameters the way the vendor
// documents them, with its error codes.
func (v *VZICloud) authorized(r *http.Request) (code int, ok bool) {
	q := r.URL.Query()
	id, expiresText, signature := q.Get("accesskey_id"), q.Get("expires"), q.Get("signature")
	if id == "" || expiresText == "" || signature == "" {
		return 1001, false
	}
	expires, err := strconv.ParseInt(expiresText, 10, 64)
	now := time.Now().Unix()
	switch {
	case err != nil || expires > now+int64(vzicloudMaxExpiresAhead/time.Second):
		return 1003, false
	case expires < now:
		return 1002, false
	case subtle.ConstantTimeCompare([]byte(id), []byte(v.accessKeyID)) != 1:
		return 1005, false
	}
	// The canonical resource: the path, then the other parameters sorted
	// by name, values as decoded.
	var names []string
	for name := range q {
		if name != "accesskey_id" && name != "expires" && name != "signature" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var resource strings.Builder
	resource.WriteString(r.URL.Path)
	for i, name := range names {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		resource.WriteString(sep + name + "=" + strings.Join(q[name], "&"+name+"="))
	}
	mac := hmac.New(sha1.New, []byte(v.secret))
	fmt.Fprintf(mac, "GET\n\n\n%d\n%s", expires, resource.String())
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(signature), []byte(want)) {
		return 1004, false
	}
	return 0, true
}

// vzicloudMaxPageSize is the vendor's documented largest page; a larger
// size is served as this.
const vzicloudMaxPageSize = 10000

func (v *VZICloud) serveConsumes(w http.ResponseWriter, r *http.Request) {
	if code, ok := v.authorized(r); !ok {
		v.refuse(w, code)
		return
	}
	q := r.URL.Query()
	pageNo, err1 := strconv.Atoi(cmp.Or(q.Get("page"), "1"))
	size, err2 := strconv.Atoi(cmp.Or(q.Get("size"), "10"))
	if err1 != nil || err2 != nil || pageNo < 1 || size < 1 {
		writeBody(w, http.StatusBadRequest, jsonType, vzicloudError(1000, "Invalid paging parameters!"))
		return
	}
	size = min(size, vzicloudMaxPageSize)
	v.mu.RLock()
	grants, encoded := v.grants, v.encoded // never modified in place: no copy for each page
	v.mu.RUnlock()
	var conds vzicloudWheres
	total := len(grants)
	if wheres := q.Get("wheres"); wheres != "" {
		var err error
		if conds, err = decodeVZICloudWheres(wheres); err != nil {
			writeBody(w, http.StatusBadRequest, jsonType, vzicloudError(1000, "Invalid wheres!"))
			return
		}
		total = 0
		for i := range grants {
			if conds.match(&grants[i]) {
				total++
			}
		}
	}
	skip := total // past the last page: no items
	if pageNo-1 <= total/size {
		skip = (pageNo - 1) * size
	}
	if conds == nil {
		grants, encoded, skip = grants[skip:], encoded[skip:], 0
	}
	writeVZICloudPage(w, pageNo, size, total, func(yield func([]byte) bool) {
		for i := range grants {
			if conds != nil && !conds.match(&grants[i]) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if !yield(encoded[i]) {
				return
			}
		}
	})
}

// writeVZICloudPage streams a page of records encoded beforehand, so that
// a page of 10,000 costs the simulator neither memory nor encoding: a
// benchmark of the client then measures the client. It takes up to size
// records from items.
func writeVZICloudPage(w http.ResponseWriter, pageNo, size, total int, items iter.Seq[[]byte]) {
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	fmt.Fprintf(bw, `{"page":%d,"size":%d,"total":%d,"items":[`, pageNo, size, total)
	n := 0
	for record := range items {
		if n == size {
			break
		}
		if n > 0 {
			_ = bw.WriteByte(',') // write errors show in Flush
		}
		_, _ = bw.Write(record)
		n++
	}
	_, _ = bw.WriteString("]}")
	_ = bw.Flush() // a client that went away needs no answer
}

// vzicloudWrongTypes is a page whose grant fields have JSON types no
// tolerant reading accepts.
const vzicloudWrongTypes = `{"page":1,"size":10,"total":1,"items":[{"sn":["abc"],"type":{"v":0},` +
	`"product_id":[1],"state":{"code":1},"expire_time":[1626681843]}]}`

// DemoVZICloudGrants is a site's grant list as of now: 3,000 cameras over
// four algorithm products, in every state and type, with permanent grants,
// grants that expired, grants expiring within 7 and 30 days and later ones.
// It is the same for the same now.
func DemoVZICloudGrants(now time.Time) []VZICloudGrant {
	rng := rand.New(rand.NewPCG(2026, 11)) //nolint:gosec // demo data, not secrets
	hour := int64(time.Hour / time.Second)
	day := 24 * hour
	grants := make([]VZICloudGrant, 0, 3000)
	for i := range 3000 {
		g := VZICloudGrant{
			SN:               fmt.Sprintf("VZ%010d", 4200000+i),
			ProductID:        1 + i%4,
			GrantUserID:      1001,
			GrantAccessKeyID: "8d9EsDAD2115Q5PM8tuP6g1IdAglkayp",
			OrderNo:          fmt.Sprintf("ORD2026%06d", i/50),
			PeriodUnit:       1,
			CreateTime:       now.AddDate(0, 0, -200).In(chinaTime).Format("2006-01-02 15:04:05.000000"),
		}
		g.UpdateTime = g.CreateTime
		// States: mostly granted; a share of each other state.
		switch r := rng.IntN(100); {
		case r < 70:
			g.State = 1
		case r < 80:
			g.State, g.Type = 5, 1 // offline grant
		case r < 85:
			g.State = 2
		case r < 90:
			g.State = 3
		case r < 95:
			g.State = 4
		default:
			g.State = 0
		}
		// Expiry: permanent, expired, within 7 days, within 30 days, later.
		switch r := rng.IntN(100); {
		case r < 15:
			g.ExpireTime, g.PeriodTime = -1, 0
		case r < 25:
			g.ExpireTime, g.PeriodTime = now.Unix()-int64(1+rng.IntN(60))*day, 365
		// An hour clear of now and of the window edges, so that counts do not
		// change while the demo runs.
		case r < 35:
			g.ExpireTime, g.PeriodTime = now.Unix()+hour+int64(rng.IntN(int(7*day-2*hour))), 365
		case r < 50:
			g.ExpireTime, g.PeriodTime = now.Unix()+7*day+hour+int64(rng.IntN(int(23*day-2*hour))), 365
		default:
			g.ExpireTime, g.PeriodTime = now.Unix()+30*day+hour+int64(rng.IntN(int(300*day))), 365
		}
		grants = append(grants, g)
	}
	return grants
}
