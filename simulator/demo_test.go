package simulator

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quotaexporter/quota_exporter/config"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// demoNows are instants the demo data must keep its promises at: around
// midnight in China, where the calendar day differs from UTC's, and at the
// end of a month and a year.
var demoNows = []time.Time{
	time.Date(2026, 3, 15, 10, 0, 0, 0, chinaTime),
	time.Date(2026, 3, 15, 0, 0, 0, 0, chinaTime),
	time.Date(2026, 3, 15, 23, 59, 59, 0, chinaTime),
	time.Date(2026, 3, 15, 17, 30, 0, 0, time.UTC), // 01:30 on the 16th in China
	time.Date(2026, 12, 31, 23, 0, 0, 0, chinaTime),
	time.Date(2028, 2, 29, 12, 0, 0, 0, time.FixedZone("PST", -8*60*60)),
}

// expiry is when a license stops being valid, as the contract defines it:
// the end of its expired_time day in China.
func expiry(t *testing.T, l AIOpsLicense) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, l.ExpiredTime, chinaTime)
	require.NoError(t, err)
	return d.AddDate(0, 0, 1)
}

func TestDemoAIOpsLicensesKeepTheirPromises(t *testing.T) {
	for _, now := range demoNows {
		t.Run(now.Format(time.RFC3339), func(t *testing.T) {
			ls := DemoAIOpsLicenses(now)
			assert.Equal(t, ls, DemoAIOpsLicenses(now), "deterministic")
			require.GreaterOrEqual(t, len(ls), 4)

			var expiring, expired, smsOver90, unbound, autoRenew, asNumber, asNull int
			editions := map[string]string{}
			ids := map[string]bool{}
			for _, l := range ls {
				assert.False(t, ids[l.SysID], "duplicate sys_id %s", l.SysID)
				ids[l.SysID] = true
				editions[l.LicenseType] = l.License

				left := expiry(t, l).Sub(now)
				if left > 0 && left <= 3*24*time.Hour {
					expiring++
					assert.Zero(t, l.IsExpired)
				}
				if l.IsExpired == 1 {
					expired++
					assert.Negative(t, left, "an expired license has its expiry in the past")
				} else {
					assert.Positive(t, left, "%s is past its expiry but not marked expired", l.SysID)
				}
				if l.MsgNum.Wire != WireNull && l.MsgTotal.Wire != WireNull && float64(l.MsgNum.Value) > 0.9*float64(l.MsgTotal.Value) {
					smsOver90++
				}
				if l.IsUsed == 0 {
					unbound++
					assert.Zero(t, l.User)
					assert.Empty(t, l.ContactName)
					assert.Empty(t, l.Telephone)
				} else {
					assert.NotZero(t, l.User)
					assert.NotEmpty(t, l.ContactName)
					assert.Regexp(t, `^1[3-9][0-9]{9}$`, l.Telephone, "shaped like a mobile number")
				}
				autoRenew += l.AutoRenew
				for _, c := range []Count{l.TelNum, l.TelTotal, l.MsgNum, l.MsgTotal, l.WeChatNum, l.WeChatTotal,
					l.EmailNum, l.EmailTotal, l.IntTelNum, l.IntTelTotal, l.IntMsgNum, l.IntMsgTotal} {
					switch c.Wire {
					case WireNumber:
						asNumber++
					case WireNull:
						asNull++
					}
				}
				for _, date := range []string{l.SysCreatedOn, l.NextDate} {
					_, err := time.Parse(time.DateOnly, date)
					assert.NoError(t, err)
				}
			}
			assert.Equal(t, 1, expiring, "licenses expiring within 3 days")
			assert.Equal(t, 1, expired, "expired licenses")
			assert.Equal(t, 1, smsOver90, "licenses with more than 90% of SMS used")
			assert.Equal(t, 1, unbound, "unbound licenses")
			assert.Equal(t, 1, autoRenew, "licenses renewing automatically")
			assert.Equal(t, map[string]string{"lite": "基础版", "standard": "标准版", "pro": "专业版"}, editions)
			assert.Positive(t, asNumber, "counts sent as numbers")
			assert.Equal(t, 1, asNull, "null fields")
		})
	}
}

// A test that finds no telephone in the exporter's output proves something
// only if the telephones occur nowhere else in the answer.
func TestDemoTelephonesAreDistinctive(t *testing.T) {
	for _, now := range demoNows {
		masked := DemoAIOpsLicenses(now)
		var phones []string
		for i := range masked {
			if masked[i].Telephone != "" {
				phones = append(phones, masked[i].Telephone)
			}
			masked[i].Telephone = ""
		}
		rest, err := json.Marshal(masked)
		require.NoError(t, err)
		require.NotEmpty(t, phones)
		for _, phone := range phones {
			assert.NotContains(t, string(rest), phone)
		}
	}
}

// The demo answer changes only when the demo data is changed on purpose:
// run `go test ./simulator -update` then, and review the diff.
func TestDemoAIOpsGolden(t *testing.T) {
	sim, srv := newAIOpsServer(t)
	sim.SetLicenses(DemoAIOpsLicenses(demoNows[0]))
	a := aiopsGet(t, srv, aiopsLicenseListPath, rightAuth)
	var pretty bytes.Buffer // one field a line, for a readable diff
	require.NoError(t, json.Indent(&pretty, a.body, "", "  "))
	pretty.WriteByte('\n')

	const golden = "testdata/demo_aiops_license_list.golden.json"
	if *update {
		require.NoError(t, os.WriteFile(golden, pretty.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), pretty.String())
}

func TestStartDemo(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	now := demoNows[0]

	// In front of each simulator: a request count and, once hold is set, a
	// wait until the request is cut, as a long fault does.
	type front struct {
		requests atomic.Int64
		hold     atomic.Bool
	}
	fronts := map[string]*front{}
	d, err := StartDemo(now, func(vendor string, sim Vendor) http.Handler {
		f := &front{}
		fronts[vendor] = f
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.requests.Add(1)
			if f.hold.Load() {
				<-r.Context().Done()
				return
			}
			sim.ServeHTTP(w, r)
		})
	})
	require.NoError(t, err)
	defer func() { assert.NoError(t, d.Close(), "a second Close") }()

	cfg, err := config.Parse(d.ConfigYAML(), "")
	require.NoError(t, err, "%s", d.ConfigYAML())
	require.Len(t, cfg.Accounts, len(fronts), "one account per simulator")
	for _, a := range cfg.Accounts {
		assert.Contains(t, fronts, a.Effective.Vendor)
		assert.Equal(t, "demo-"+a.Effective.Vendor, a.Name)
	}
	acct := cfg.Accounts[0]
	assert.Equal(t, "demo-aiops", acct.Name)
	assert.Equal(t, config.VendorAIOps, acct.Effective.Vendor)
	assert.Equal(t, time.Minute, acct.Effective.CacheTTL)
	assert.Equal(t, 5*time.Second, acct.Effective.Timeout)
	assert.Equal(t, "127.0.0.1", acct.Effective.BaseURL.Hostname())
	assert.Empty(t, acct.Secret.File, "demo credentials are inline")
	token, err := acct.Secret.Read()
	require.NoError(t, err)

	// The exporter's request, with what the config says.
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	request := func() *http.Request {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
			acct.Effective.BaseURL.JoinPath(aiopsLicenseListPath).String(), nil)
		require.NoError(t, err)
		req.SetBasicAuth(acct.AIOps.Email, token)
		return req
	}

	resp, err := client.Do(request())
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	var got struct{ Data []json.RawMessage }
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Len(t, got.Data, len(DemoAIOpsLicenses(now)))
	assert.Equal(t, DemoAIOpsLicenses(now), d.aiops.Licenses())
	assert.EqualValues(t, 1, fronts["aiops"].requests.Load())
	for _, l := range d.aiops.Licenses() {
		assert.NotContains(t, string(d.ConfigYAML()), l.SysID, "the config holds no demo data")
	}

	// Close cuts a held request, and leaves no goroutine.
	fronts["aiops"].hold.Store(true)
	held, failed := request(), make(chan error, 1)
	go func() {
		resp, err := client.Do(held)
		if err == nil {
			_ = resp.Body.Close()
		}
		failed <- err
	}()
	for fronts["aiops"].requests.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	require.NoError(t, d.Close())
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Error(t, <-failed)
}
