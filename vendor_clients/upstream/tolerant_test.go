package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tolerantCase is one JSON value for the field v and what it decodes to.
type tolerantCase[T any] struct {
	in      string // JSON text of the value; "" leaves the field out
	want    T
	wantErr bool
}

// testTolerant decodes each case as the field of an object, the way the
// vendor clients use these types, and checks the error names the field and
// what was expected but never the value.
func testTolerant[T any](t *testing.T, cases []tolerantCase[T]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			doc := `{"other": 1}`
			if c.in != "" {
				doc = `{"other": 1, "v": ` + c.in + `}`
			}
			var got struct {
				V T `json:"v"`
			}
			err := Unmarshal([]byte(doc), &got)
			if !c.wantErr {
				require.NoError(t, err)
				require.Equal(t, c.want, got.V)
				return
			}
			require.Error(t, err)
			msg := err.Error()
			require.Contains(t, msg, "struct field .v of type upstream.")
			require.Contains(t, msg, "(expected ")
			require.NotContains(t, msg, strings.Trim(c.in, `" `))
		})
	}
}

func TestNumber(t *testing.T) {
	testTolerant(t, []tolerantCase[Number]{
		{in: `100`, want: Number{100, true}},
		{in: `"100"`, want: Number{100, true}},
		{in: `" 100 "`, want: Number{100, true}},
		{in: `"\t7\n"`, want: Number{7, true}},
		{in: `0`, want: Number{0, true}},
		{in: `"0"`, want: Number{0, true}},
		{in: `-3.5`, want: Number{-3.5, true}},
		{in: `"1.5e3"`, want: Number{1500, true}},
		{in: `100004605132`, want: Number{100004605132, true}},
		{in: `"100004605132"`, want: Number{100004605132, true}},
		{in: `9007199254740992`, want: Number{1 << 53, true}},
		{in: `null`, want: Number{}},
		{in: `""`, want: Number{}},
		{in: `"   "`, want: Number{}},
		{in: ``, want: Number{}},
		{in: `"SECRET-abc"`, wantErr: true},
		{in: `"NaN"`, wantErr: true},
		{in: `"Inf"`, wantErr: true},
		{in: `"0x10"`, wantErr: true},
		{in: `"1_000"`, wantErr: true},
		{in: `"1,000"`, wantErr: true},
		{in: `"+5"`, wantErr: true},
		{in: `"12 34"`, wantErr: true},
		{in: `1e400`, wantErr: true},
		{in: `"-1e400"`, wantErr: true},
		{in: `true`, wantErr: true},
		{in: `{"SECRET": 1}`, wantErr: true},
		{in: `["SECRET"]`, wantErr: true},
	})
}

func TestNumberKeepsIntegerPrecision(t *testing.T) {
	var n Number
	require.NoError(t, json.Unmarshal([]byte(`"100004605132"`), &n))
	require.Equal(t, int64(100004605132), int64(n.Value))
	require.Equal(t, "100004605132", fmt.Sprintf("%.0f", n.Value))
}

func TestCode(t *testing.T) {
	testTolerant(t, []tolerantCase[Code]{
		{in: `1`, want: Code{1, true}},
		{in: `"1"`, want: Code{1, true}},
		{in: `"01"`, want: Code{1, true}},
		{in: `" 02 "`, want: Code{2, true}},
		{in: `"0"`, want: Code{0, true}},
		{in: `0`, want: Code{0, true}},
		{in: `1004`, want: Code{1004, true}},
		{in: `-1`, want: Code{-1, true}},
		{in: `null`, want: Code{}},
		{in: `""`, want: Code{}},
		{in: ``, want: Code{}},
		// Not a code the caller can know: unknown, not an error.
		{in: `"XXXX"`, want: Code{}},
		{in: `"1.5"`, want: Code{}},
		{in: `1.5`, want: Code{}},
		{in: `99999999999999999999`, want: Code{}},
		{in: `true`, wantErr: true},
		{in: `{"SECRET": 1}`, wantErr: true},
		{in: `["SECRET"]`, wantErr: true},
	})
}

func TestText(t *testing.T) {
	testTolerant(t, []tolerantCase[Text]{
		{in: `"manman01"`, want: "manman01"},
		{in: `" spaced "`, want: " spaced "},
		{in: `"基础版"`, want: "基础版"},
		{in: `"\u57fa"`, want: "基"},
		{in: `100004605132`, want: "100004605132"},
		{in: `"100004605132"`, want: "100004605132"},
		{in: `123456789012345678901234567890`, want: "123456789012345678901234567890"},
		{in: `-7`, want: "-7"},
		{in: `1.5`, want: "1.5"},
		{in: `null`, want: ""},
		{in: `""`, want: ""},
		{in: ``, want: ""},
		{in: `true`, wantErr: true},
		{in: `{"SECRET": 1}`, wantErr: true},
		{in: `["SECRET"]`, wantErr: true},
	})
}

func TestFlag(t *testing.T) {
	testTolerant(t, []tolerantCase[Flag]{
		{in: `1`, want: Flag{true, true}},
		{in: `0`, want: Flag{false, true}},
		{in: `"1"`, want: Flag{true, true}},
		{in: `"0"`, want: Flag{false, true}},
		{in: `" 1 "`, want: Flag{true, true}},
		{in: `1.0`, want: Flag{true, true}},
		{in: `true`, want: Flag{true, true}},
		{in: `false`, want: Flag{false, true}},
		{in: `"true"`, want: Flag{true, true}},
		{in: `"false"`, want: Flag{false, true}},
		{in: `null`, want: Flag{}},
		{in: `""`, want: Flag{}},
		{in: ``, want: Flag{}},
		{in: `2`, wantErr: true},
		{in: `"-1"`, wantErr: true},
		{in: `"yes"`, wantErr: true},
		{in: `"True"`, wantErr: true},
		{in: `"SECRET"`, wantErr: true},
		{in: `{"SECRET": 1}`, wantErr: true},
		{in: `["SECRET"]`, wantErr: true},
	})
}

// A value decoded over an older one does not keep any part of it.
func TestTolerantResets(t *testing.T) {
	n, c, x, f := Number{5, true}, Code{5, true}, Text("old"), Flag{true, true}
	for _, v := range []json.Unmarshaler{&n, &c, &x, &f} {
		require.NoError(t, v.UnmarshalJSON([]byte("null")))
	}
	require.Equal(t, Number{}, n)
	require.Equal(t, Code{}, c)
	require.Equal(t, Text(""), x)
	require.Equal(t, Flag{}, f)
}

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	return loc
}

func TestParseDate(t *testing.T) {
	loc := shanghai(t)
	for _, c := range []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "2027-01-06", want: time.Date(2027, 1, 6, 0, 0, 0, 0, loc)},
		{in: " 2026-04-11 ", want: time.Date(2026, 4, 11, 0, 0, 0, 0, loc)},
		{in: "2024-02-29", want: time.Date(2024, 2, 29, 0, 0, 0, 0, loc)},
		{in: ""},
		{in: "  "},
		{in: "2027/01/06", wantErr: true},
		{in: "2027-1-6", wantErr: true},
		{in: "2027-13-01", wantErr: true},
		{in: "2027-02-30", wantErr: true},
		{in: "2027-01-06 10:00:00", wantErr: true},
		{in: "SECRET-token", wantErr: true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseDate(c.in, loc)
			if c.wantErr {
				require.EqualError(t, err, "expected a date YYYY-MM-DD")
				return
			}
			require.NoError(t, err)
			require.True(t, c.want.Equal(got), "got %v, want %v", got, c.want)
			if !got.IsZero() {
				require.Equal(t, loc, got.Location())
			}
		})
	}
	// The day the aiops fixture's license expires starts at 16:00 UTC the day before.
	d, err := ParseDate("2027-01-07", loc)
	require.NoError(t, err)
	require.Equal(t, int64(1799251200), d.Unix())
}

func TestParseLocalTime(t *testing.T) {
	loc := shanghai(t)
	for _, c := range []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "2015-05-21 14:42:09", want: time.Date(2015, 5, 21, 14, 42, 9, 0, loc)},
		{in: "2021-06-18 11:44:03.575794", want: time.Date(2021, 6, 18, 11, 44, 3, 575794000, loc)},
		{in: "2021-06-18 11:44:03.5", want: time.Date(2021, 6, 18, 11, 44, 3, 500000000, loc)},
		{in: " 2019-09-25 16:00:26\n", want: time.Date(2019, 9, 25, 16, 0, 26, 0, loc)},
		{in: ""},
		{in: "2015-05-21", wantErr: true},
		{in: "2015-05-21T14:42:09", wantErr: true},
		{in: "2015-05-21 14:42:09+08:00", wantErr: true},
		{in: "2015-05-21 24:00:00", wantErr: true},
		{in: "SECRET-token", wantErr: true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseLocalTime(c.in, loc)
			if c.wantErr {
				require.EqualError(t, err, "expected a time YYYY-MM-DD HH:MM:SS")
				return
			}
			require.NoError(t, err)
			require.True(t, c.want.Equal(got), "got %v, want %v", got, c.want)
		})
	}
}

// readSample decodes one of the vendors' published samples.
func readSample(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vendors", name))
	require.NoError(t, err)
	require.NoError(t, Unmarshal(data, v))
}

// The vendors' own samples decode into the tolerant types with the values
// they show, whatever mix of strings and numbers each uses.
func TestVendorSamples(t *testing.T) {
	loc := shanghai(t)

	t.Run("aiops", func(t *testing.T) {
		var doc struct {
			Success Flag `json:"success"`
			Data    []struct {
				SysID       Text   `json:"sys_id"`
				User        Text   `json:"user"`
				IsUsed      Flag   `json:"is_used"`
				AutoRenew   Flag   `json:"auto_renew"`
				IsExpired   Flag   `json:"isExpired"`
				TelTotal    Number `json:"telTotal"`
				IntMsgTotal Number `json:"intMsgTotal"`
				ExpiredTime Text   `json:"expired_time"`
			} `json:"data"`
		}
		readSample(t, "aiops_license_list.json", &doc)
		require.Equal(t, Flag{true, true}, doc.Success)
		require.Len(t, doc.Data, 1)
		l := doc.Data[0]
		require.Equal(t, Text("07c89bcf-7cd6-45ea-98f4-2ef9dd408b99"), l.SysID)
		require.Equal(t, Text("100004605132"), l.User)
		require.Equal(t, Flag{true, true}, l.IsUsed)
		require.Equal(t, Flag{false, true}, l.AutoRenew)
		require.Equal(t, Flag{false, true}, l.IsExpired)
		require.Equal(t, Number{100, true}, l.TelTotal)
		require.Equal(t, Number{0, true}, l.IntMsgTotal)
		exp, err := ParseDate(string(l.ExpiredTime), loc)
		require.NoError(t, err)
		require.Equal(t, time.Date(2027, 1, 6, 0, 0, 0, 0, loc).Unix(), exp.Unix())
	})

	t.Run("vzicloud", func(t *testing.T) {
		var doc struct {
			Page  Number `json:"page"`
			Size  Number `json:"size"`
			Total Number `json:"total"`
			Items []struct {
				SN         Text   `json:"sn"`
				Type       Code   `json:"type"`
				ProductID  Text   `json:"product_id"`
				State      Code   `json:"state"`
				ExpireTime Number `json:"expire_time"`
				CreateTime Text   `json:"create_time"`
			} `json:"items"`
		}
		readSample(t, "vzicloud_alg_consumes.json", &doc)
		require.Equal(t, Number{1, true}, doc.Page)
		require.Equal(t, Number{10000, true}, doc.Size)
		require.Equal(t, Number{2, true}, doc.Total)
		require.Len(t, doc.Items, 2)
		it := doc.Items[1]
		require.Equal(t, Text("def123456789"), it.SN)
		require.Equal(t, Code{0, true}, it.Type)
		require.Equal(t, Text("2"), it.ProductID)
		require.Equal(t, Code{1, true}, it.State)
		require.Equal(t, Number{1631779500, true}, it.ExpireTime)
		created, err := ParseLocalTime(string(it.CreateTime), loc)
		require.NoError(t, err)
		require.Equal(t, time.Date(2021, 6, 19, 11, 45, 0, 123456000, loc).UnixNano(), created.UnixNano())

		var fail struct {
			ErrorCode    Code `json:"error_code"`
			ErrorMessage Text `json:"error_message"`
		}
		readSample(t, "vzicloud_error.json", &fail)
		require.Equal(t, Code{1004, true}, fail.ErrorCode)
		require.Equal(t, Text("Authorization params [signature] error!"), fail.ErrorMessage)
	})

	t.Run("tingyun", func(t *testing.T) {
		var doc struct {
			Status    Code `json:"status"`
			ErrorCode Code `json:"error_code"`
			Message   Text `json:"message"`
			Data      []struct {
				ID        Text `json:"id"`
				Code      Text `json:"code"`
				Type      Code `json:"type"`
				Status    Code `json:"status"`
				DetailIDs Text `json:"detail_ids"`
				CTime     Text `json:"ctime"`
			} `json:"data"`
		}
		readSample(t, "tingyun_user_list.json", &doc)
		require.Equal(t, Code{200, true}, doc.Status)
		require.Equal(t, Code{0, true}, doc.ErrorCode)
		require.Equal(t, Text(""), doc.Message)
		require.Len(t, doc.Data, 3)
		var types []int64
		for _, u := range doc.Data {
			types = append(types, u.Type.Value)
		}
		require.Equal(t, []int64{3, 11, 4}, types)
		u := doc.Data[1]
		require.Equal(t, Text("1594480"), u.ID)
		require.Equal(t, Text("#1594480"), u.Code)
		require.Equal(t, Code{0, true}, u.Status)
		require.Equal(t, Text(""), u.DetailIDs)
		created, err := ParseLocalTime(string(u.CTime), loc)
		require.NoError(t, err)
		require.Equal(t, time.Date(2017, 2, 28, 14, 21, 33, 0, loc).Unix(), created.Unix())
	})

	t.Run("guoyangyun", func(t *testing.T) {
		type product struct {
			ProductName    Text   `json:"productName"`
			PresentBalance Number `json:"presentBalance"`
			TotalUsed      Number `json:"totalUsed"`
			InstanceID     Text   `json:"instanceId"`
			Status         Code   `json:"status"`
		}
		var doc struct {
			Code Code `json:"code"`
			Msg  Text `json:"msg"`
			Data []struct {
				Created     Text      `json:"created"`
				Username    Text      `json:"username"`
				Corp        Text      `json:"corp"`
				Status      Code      `json:"status"`
				ProductList []product `json:"productList"`
			} `json:"data"`
		}
		readSample(t, "guoyangyun_search_account.json", &doc)
		require.Equal(t, Code{0, true}, doc.Code)
		require.Len(t, doc.Data, 1)
		a := doc.Data[0]
		require.Equal(t, Text("test11"), a.Username)
		require.Equal(t, Code{1, true}, a.Status) // "01"
		require.Equal(t, []product{
			{"行业短信", Number{364, true}, Number{69, true}, "531241234", Code{1, true}}, // status 1
			{"营销短信", Number{224, true}, Number{23, true}, "431242155", Code{1, true}}, // status "01"
		}, a.ProductList)
		created, err := ParseLocalTime(string(a.Created), loc)
		require.NoError(t, err)
		require.Equal(t, time.Date(2019, 9, 25, 16, 0, 26, 0, loc).Unix(), created.Unix())

		// The error sample's code is a placeholder: not a known code, so
		// not success either, and the message survives for the error.
		var fail struct {
			Code Code `json:"code"`
			Msg  Text `json:"msg"`
		}
		readSample(t, "guoyangyun_error.json", &fail)
		require.False(t, fail.Code.Valid)
		require.Equal(t, Text("错误提示内容"), fail.Msg)
	})
}

// messagesOf lists every error message T can produce: fixed text that
// depends only on the JSON kind received.
func messagesOf[T any](want string) map[string]bool {
	m := map[string]bool{}
	for _, got := range []string{"invalid JSON", "null", "bool", "number", "string", "object", "array", "out-of-range number"} {
		m[fmt.Sprintf("json: cannot unmarshal %s (expected %s) into Go value of type %s", got, want, reflect.TypeFor[T]())] = true
	}
	return m
}

// fuzzTolerant feeds arbitrary bytes to T's UnmarshalJSON: it must not
// panic, and an error message must be one of T's fixed messages, so the
// input can never appear in it.
func fuzzTolerant[T any, P interface {
	*T
	json.Unmarshaler
}](f *testing.F, want string, seeds ...string) {
	allowed := messagesOf[T](want)
	for _, s := range append(seeds, `null`, `""`, `true`, `{"a":1}`, `[1]`, `"SECRET-TOKEN-1234"`, `1e400`, ` 7 `, `"`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := P(new(T)).UnmarshalJSON(raw)
		if err != nil && !allowed[err.Error()] {
			t.Fatalf("input %q: error %q is not one of the fixed messages", raw, err)
		}
	})
}

func FuzzNumber(f *testing.F) {
	fuzzTolerant[Number](f, wantNumber, `100`, `"100"`, `" 1.5 "`, `"0x10"`, `-0`, `"NaN"`)
}

func FuzzCode(f *testing.F) {
	fuzzTolerant[Code](f, wantCode, `1`, `"01"`, `"XXXX"`, `1.5`, `99999999999999999999`)
}

func FuzzText(f *testing.F) {
	fuzzTolerant[Text](f, wantText, `"manman01"`, `100004605132`, `"\u57fa"`)
}

func FuzzFlag(f *testing.F) {
	fuzzTolerant[Flag](f, wantFlag, `1`, `"0"`, `1.0`, `2`, `"true"`)
}

// FuzzParseDates: no panic; a failure is the fixed message, a success is
// the input read back.
func FuzzParseDates(f *testing.F) {
	for _, s := range []string{"2027-01-06", " 2026-04-11", "2021-06-18 11:44:03.575794", "2027-02-30", "SECRET", ""} {
		f.Add(s)
	}
	loc := shanghai(f)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s, loc)
		if err != nil {
			require.Equal(t, errDate, err)
		} else if !d.IsZero() {
			require.Equal(t, strings.TrimSpace(s), d.Format(time.DateOnly))
		}
		lt, err := ParseLocalTime(s, loc)
		if err != nil {
			require.Equal(t, errLocalTime, err)
		} else if !lt.IsZero() {
			require.Equal(t, loc, lt.Location())
		}
	})
}

// FuzzFastPaths: the fast readings of plain strings and integers agree
// with the general reading of any JSON.
func FuzzFastPaths(f *testing.F) {
	for _, s := range []string{`1`, `-12`, `"01"`, `"-"`, `01`, `"a\"b"`, `"\u00e9"`, "\"\xff\"", `" 7"`, `-0`, `1234567890123456789`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b := bytes.TrimSpace(raw)
		kind, text := scalarOf(raw)
		wantKind, wantText := scalarOfAny(b)
		require.Equal(t, wantKind, kind)
		require.Equal(t, wantText, text)
		if v, ok := plainInteger(b); ok {
			require.Contains(t, []jsonKind{kindNumber, kindString}, wantKind)
			want, err := strconv.ParseInt(wantText, 10, 64)
			require.NoError(t, err)
			require.Equal(t, want, v)
		}
	})
}
