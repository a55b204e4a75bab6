package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tyAuthkey = "ty-authkey-CANARY-3c9e"

func newTingyunServer(t *testing.T, users []TingyunUser) (*Tingyun, *httptest.Server) {
	t.Helper()
	sim := NewTingyun(tyAuthkey)
	sim.SetUsers(users)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

// tingyunGet sends method to the user list with the query q.
func tingyunGet(t *testing.T, srv *httptest.Server, method string, q url.Values) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+tingyunUserListPath+"?"+q.Encode(), nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// tingyunEnv is the vendor's envelope with data left raw.
type tingyunEnv struct {
	Status    int             `json:"status"`
	Data      json.RawMessage `json:"data"`
	Message   string          `json:"message"`
	ErrorCode any             `json:"error_code"`
	Request   string          `json:"request"`
	Time      string          `json:"time"`
}

func decodeTingyun(t *testing.T, a answer) tingyunEnv {
	t.Helper()
	assert.Equal(t, jsonType, a.header.Get("Content-Type"))
	var env tingyunEnv
	require.NoError(t, json.Unmarshal(a.body, &env), "%s", a.body)
	return env
}

// A wrong or missing authkey gets the vendor's refusal inside an HTTP 200,
// and the refusal does not echo what was sent.
func TestTingyunAuth(t *testing.T) {
	_, srv := newTingyunServer(t, DemoTingyunUsers(demoNows[0]))
	for name, q := range map[string]url.Values{
		"none":         {},
		"empty":        {"authkey": {""}},
		"wrong":        {"authkey": {"wrong-authkey"}},
		"prefix":       {"authkey": {tyAuthkey[:len(tyAuthkey)-1]}},
		"other case":   {"authkey": {strings.ToUpper(tyAuthkey)}},
		"other name":   {"authKey": {tyAuthkey}},
		"second value": {"authkey": {"wrong-authkey", tyAuthkey}},
	} {
		t.Run(name, func(t *testing.T) {
			a := tingyunGet(t, srv, http.MethodGet, q)
			assert.Equal(t, http.StatusOK, a.status)
			env := decodeTingyun(t, a)
			assert.Equal(t, http.StatusForbidden, env.Status)
			assert.Equal(t, "PermissionDeniedError", env.ErrorCode)
			assert.Equal(t, "授权码无效", env.Message)
			assert.Equal(t, "null", string(env.Data))
			assert.NotContains(t, string(a.body), "wrong-authkey")
			assert.NotContains(t, string(a.body), tyAuthkey)
			assert.NotContains(t, string(a.body), "CANARY", "no user data")
		})
	}

	t.Run("right", func(t *testing.T) {
		before := time.Now().In(chinaTime).Truncate(time.Second)
		env := decodeTingyun(t, tingyunGet(t, srv, http.MethodGet, url.Values{"authkey": {tyAuthkey}}))
		assert.Equal(t, http.StatusOK, env.Status)
		assert.EqualValues(t, 0, env.ErrorCode)
		assert.Empty(t, env.Message)
		var users []map[string]any
		require.NoError(t, json.Unmarshal(env.Data, &users))
		assert.Len(t, users, len(DemoTingyunUsers(demoNows[0])))
		at, err := time.ParseInLocation(time.DateTime, env.Time, chinaTime)
		require.NoError(t, err, "time is China time YYYY-MM-DD HH:MM:SS")
		assert.WithinRange(t, at, before, time.Now().Add(time.Second))
	})
}

// With the users of the documented sample, the answer has the sample's
// values for every field the simulator models, in the sample's order. The
// sample has no password, and its task_ids, change_task_ids_creator and
// new_create (null throughout) are not modeled.
func TestTingyunAnswersLikeTheFixture(t *testing.T) {
	fixture, err := os.ReadFile("../vendor_clients/upstream/testdata/vendors/tingyun_user_list.json")
	require.NoError(t, err)
	var sample struct{ Data []map[string]any }
	require.NoError(t, json.Unmarshal(fixture, &sample))
	num := func(v int64) Count { return Count{Value: v, Wire: WireNumber} }
	users := []TingyunUser{
		{ID: 1230664, Code: "sihy000", Name: "1122", Type: num(3), Email: "sihy@tingyun.com", Phone: "111111", Status: num(1), Ctime: "2015-05-21 14:42:09"},
		{ID: 1594480, Code: "#1594480", Name: "sihy", Type: num(11), Email: "1320416083@qq.com", Status: num(0), Ctime: "2017-02-28 14:21:33"},
		{ID: 1594507, Code: "shy000_bb", Name: "baobiao", Type: num(4), Email: "sihy@tingyun.com", Status: num(1), IfNewTaskView: 1, Ctime: "2017-03-01 00:36:46"},
	}
	_, srv := newTingyunServer(t, users)
	env := decodeTingyun(t, tingyunGet(t, srv, http.MethodGet, url.Values{"authkey": {tyAuthkey}}))
	var got []map[string]any
	require.NoError(t, json.Unmarshal(env.Data, &got))
	require.Len(t, got, len(sample.Data))
	for i, g := range got {
		assert.Equal(t, "", g["password"], "the sample has none")
		delete(g, "password")
		want := sample.Data[i]
		for _, unmodeled := range []string{"task_ids", "change_task_ids_creator", "new_create"} {
			assert.Nil(t, want[unmodeled])
			delete(want, unmodeled)
		}
		assert.Equal(t, want, g)
	}
	// The order of fields, for a reader comparing answer and sample.
	var raw []json.RawMessage
	require.NoError(t, json.Unmarshal(env.Data, &raw))
	assert.Equal(t, []string{"id", "code", "name", "password", "mobile", "type", "email", "detail_ids", "phone", "status", "if_newtask_view", "ctime"},
		objectKeys(t, raw[0]))
}

// objectKeys returns the keys of the JSON object raw in their order.
func objectKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

func TestTingyunUnknownPathsAndMethods(t *testing.T) {
	_, srv := newTingyunServer(t, nil)
	q := url.Values{"authkey": {tyAuthkey}}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		assert.Equal(t, http.StatusMethodNotAllowed, tingyunGet(t, srv, method, q).status, method)
	}
	for _, path := range []string{"/", "/network-report-data/user-config/list-json", tingyunUserListPath + "/x"} {
		resp, err := srv.Client().Get(srv.URL + path + "?" + q.Encode())
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}
}

func TestTingyunFaultBodies(t *testing.T) {
	sim, srv := newTingyunServer(t, DemoTingyunUsers(demoNows[0]))
	bodies := sim.FaultBodies()

	// Unauthorized is the vendor's real refusal.
	refused := tingyunGet(t, srv, http.MethodGet, url.Values{"authkey": {"wrong"}})
	assert.Equal(t, string(refused.body), string(bodies.Unauthorized))

	status, body := bodies.VendorError(0)
	assert.Equal(t, http.StatusOK, status)
	var env tingyunEnv
	require.NoError(t, json.Unmarshal(body, &env))
	assert.Equal(t, http.StatusInternalServerError, env.Status)
	assert.Equal(t, "InternalServerError", env.ErrorCode)
	assert.Equal(t, "服务器内部错误", env.Message)

	env = tingyunEnv{}
	require.NoError(t, json.Unmarshal(bodies.WrongTypes, &env))
	assert.Equal(t, http.StatusOK, env.Status)
	var users []map[string]any
	require.NoError(t, json.Unmarshal(env.Data, &users))
	require.NotEmpty(t, users)
	for _, field := range []string{"id", "code", "name", "type", "status", "ctime"} {
		switch users[0][field].(type) {
		case []any, map[string]any: // no tolerant reading takes these
		default:
			t.Errorf("%s is a scalar", field)
		}
	}
}

func TestTingyunUsersAreCopies(t *testing.T) {
	sim := NewTingyun(tyAuthkey)
	assert.Empty(t, sim.Users())
	in := DemoTingyunUsers(demoNows[0])
	want := slices.Clone(in)
	sim.SetUsers(in)
	in[0].Name = "changed by the caller"
	out := sim.Users()
	assert.Equal(t, want, out)
	out[0].Name = "changed by the caller"
	assert.Equal(t, want, sim.Users())

	// No users is "data": [], never null.
	sim.SetUsers(nil)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	env := decodeTingyun(t, tingyunGet(t, srv, http.MethodGet, url.Values{"authkey": {tyAuthkey}}))
	assert.Equal(t, "[]", string(env.Data))
}

// The demo users show what the dashboards need: both documented types, one
// undocumented, a disabled user; codes on the wire as numbers and strings;
// creation times in the past that move with now and nothing else.
func TestDemoTingyunUsers(t *testing.T) {
	for _, now := range demoNows {
		t.Run(now.String(), func(t *testing.T) {
			users := DemoTingyunUsers(now)
			assert.Equal(t, users, DemoTingyunUsers(now), "deterministic")
			require.Len(t, users, 4)
			types, statuses, wires := map[int64]int{}, map[int64]int{}, map[Wire]int{}
			ids, codes := map[int64]bool{}, map[string]bool{}
			for _, u := range users {
				assert.False(t, ids[u.ID], "id %d twice", u.ID)
				assert.False(t, codes[u.Code], "code %s twice", u.Code)
				ids[u.ID], codes[u.Code] = true, true
				types[u.Type.Value]++
				statuses[u.Status.Value]++
				wires[u.Type.Wire]++
				wires[u.Status.Wire]++
				assert.NotEmpty(t, u.Name)
				assert.NotEmpty(t, u.Password, "every user has a canary password")
				created, err := time.ParseInLocation(time.DateTime, u.Ctime, chinaTime)
				require.NoError(t, err)
				assert.True(t, created.Before(now), "%s is in the past", u.Ctime)
				assert.True(t, created.After(now.AddDate(-5, 0, 0)), "%s is recent enough to be plausible", u.Ctime)
			}
			assert.Equal(t, map[int64]int{11: 1, 4: 2, 3: 1}, types, "task manager, report viewers, one undocumented")
			assert.Equal(t, map[int64]int{1: 3, 0: 1}, statuses, "one disabled user")
			assert.Positive(t, wires[WireNumber])
			assert.Positive(t, wires[WireString])
		})
	}
	// Only the creation times depend on now.
	a, b := DemoTingyunUsers(demoNows[0]), DemoTingyunUsers(demoNows[0].AddDate(0, 1, 0))
	for i := range a {
		assert.NotEqual(t, a[i].Ctime, b[i].Ctime)
		a[i].Ctime, b[i].Ctime = "", ""
	}
	assert.Equal(t, a, b)
}

// A test that finds no password, email or phone number in the exporter's
// output proves something only if they occur nowhere else in the answer.
func TestDemoTingyunPersonalDataIsDistinctive(t *testing.T) {
	users := DemoTingyunUsers(demoNows[0])
	var personal []string
	masked := slices.Clone(users)
	for i := range masked {
		for _, s := range []*string{&masked[i].Password, &masked[i].Email, &masked[i].Mobile, &masked[i].Phone} {
			if *s != "" {
				personal = append(personal, *s)
			}
			*s = ""
		}
	}
	assert.Len(t, personal, 11) // 4 passwords, 3 emails, 3 mobiles, 1 phone
	rest, err := json.Marshal(masked)
	require.NoError(t, err)
	for _, p := range personal {
		assert.NotContains(t, string(rest), p)
		assert.NotContains(t, tyAuthkey, p)
	}
}
