package collector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/simulator"
	"github.com/quotaexporter/quota_exporter/simulator/faults"
)

const (
	simAuthkey   = "canary-authkey-3c8e"
	simAppkey    = "8771711500303127746"
	simAppsecret = "canary-appsecret-9a1f"
)

func aiopsTelephones() []string {
	var out []string
	for _, l := range simulator.DemoAIOpsLicenses(time.Now()) {
		if l.Telephone != "" {
			out = append(out, l.Telephone)
		}
	}
	return out
}

func tingyunPersonalData() []string {
	var out []string
	for _, u := range simulator.DemoTingyunUsers(time.Now()) {
		for _, s := range []string{u.Password, u.Email, u.Mobile, u.Phone} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func guoyangyunSecretData() []string {
	var out []string
	for _, a := range simulator.DemoGuoyangyunAccounts() {
		out = append(out, a.Appsecret, a.Appkey)
		if a.Mobile != nil {
			out = append(out, *a.Mobile)
		}
	}
	return out
}

// scrapeVendor serves sim to an exporter with one account of the block and
// returns one scrape at the fake clock's time.
func scrapeVendor(t *testing.T, sim *httptest.Server, block string, clock *fakeClock) map[string]float64 {
	t.Helper()
	// No rate limit: the vzicloud case reads hundreds of small pages.
	cfg, err := config.Parse(fmt.Appendf(nil, "limits: {vzicloud: {requests_per_second: 0}}\naccounts:\n  - name: acct\n    base_url: %s\n    %s\n", sim.URL, block), "")
	require.NoError(t, err)
	e := New(Options{Clock: clock.Now, Registerer: prometheus.NewRegistry()})
	require.NoError(t, e.Apply(cfg))
	return scrapeOnce(t, e, context.Background(), "")
}

func TestTingyunMetricsMatchTheVendorData(t *testing.T) {
	clock := newFakeClock()
	users := append(simulator.DemoTingyunUsers(clock.Now()),
		simulator.TingyunUser{ID: 42, Code: "odd", Name: "unknown codes", Type: simulator.Count{Value: 77}, Status: simulator.Count{Value: 9, Wire: simulator.WireNumber}},
		simulator.TingyunUser{ID: 43, Code: "nulls", Type: simulator.Count{Wire: simulator.WireNull}, Status: simulator.Count{Wire: simulator.WireNull}})
	sim := simulator.NewTingyun(simAuthkey)
	sim.SetUsers(users)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)

	want := map[string]float64{}
	label := func(c simulator.Count, names map[int64]string) string {
		if c.Wire == simulator.WireNull {
			return ""
		}
		if n, ok := names[c.Value]; ok {
			return n
		}
		return strconv.FormatInt(c.Value, 10)
	}
	for _, u := range users {
		typ, status := label(u.Type, map[int64]string{11: "task_manager", 4: "report_viewer"}), label(u.Status, nil)
		id := strconv.FormatInt(u.ID, 10)
		want[fmt.Sprintf(`tingyun_user_info{account="acct",code=%q,name=%q,status=%q,type=%q,user_id=%q}`, u.Code, u.Name, status, typ, id)] = 1
		want[fmt.Sprintf(`tingyun_users{account="acct",status=%q,type=%q}`, status, typ)]++
		if u.Ctime != "" {
			created, err := time.ParseInLocation(time.DateTime, u.Ctime, shanghai)
			require.NoError(t, err)
			want[fmt.Sprintf(`tingyun_user_created_timestamp_seconds{account="acct",user_id=%q}`, id)] = float64(created.Unix())
		}
	}
	got := scrapeVendor(t, srv, "tingyun: {authkey: "+simAuthkey+"}", clock)
	assert.Equal(t, want, vendorSeries(got, "tingyun_"))
}

func TestGuoyangyunMetricsMatchTheVendorData(t *testing.T) {
	accounts := append(simulator.DemoGuoyangyunAccounts(), simulator.GuoyangyunAccount{
		Username: "odd", PrimaryName: "ops-main", Status: simulator.Status{Code: 7, Wire: simulator.StatusNumber},
		ProductList: []simulator.GuoyangyunProduct{{
			ProductName: "国际短信", InstanceID: "900", Status: simulator.Status{Code: 9},
			PresentBalance: simulator.Count{Wire: simulator.WireNull}, TotalUsed: simulator.Count{Value: 5},
		}},
	})
	sim := simulator.NewGuoyangyun(simAppkey, simAppsecret)
	sim.SetAccounts(accounts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)

	want := map[string]float64{}
	stateSet := func(prefix string, code int) {
		known := false
		for c, name := range map[int]string{1: "normal", 2: "frozen", 3: "disabled"} {
			want[fmt.Sprintf(prefix, name)] = boolValue(c == code)
			known = known || c == code
		}
		if !known {
			want[fmt.Sprintf(prefix, "unknown")] = 1
		}
	}
	for _, a := range accounts {
		want[fmt.Sprintf(`guoyangyun_account_info{account="acct",corp=%q,primary_name=%q,username=%q}`, a.Corp, a.PrimaryName, a.Username)] = 1
		stateSet(fmt.Sprintf(`guoyangyun_account_status{account="acct",status=%%q,username=%q}`, a.Username), a.Status.Code)
		for _, p := range a.ProductList {
			labels := fmt.Sprintf(`account="acct",instance_id=%q,product=%q`, p.InstanceID, p.ProductName)
			if p.PresentBalance.Wire != simulator.WireNull {
				want[fmt.Sprintf(`guoyangyun_product_balance{%s,username=%q}`, labels, a.Username)] = float64(p.PresentBalance.Value)
			}
			if p.TotalUsed.Wire != simulator.WireNull {
				want[fmt.Sprintf(`guoyangyun_product_used_total{%s,username=%q}`, labels, a.Username)] = float64(p.TotalUsed.Value)
			}
			stateSet(fmt.Sprintf(`guoyangyun_product_status{%s,status=%%q,username=%q}`, labels, a.Username), p.Status.Code)
		}
	}
	got := scrapeVendor(t, srv, fmt.Sprintf("guoyangyun: {appkey: %q, appsecret: %s}", simAppkey, simAppsecret), newFakeClock())
	assert.Equal(t, want, vendorSeries(got, "guoyangyun_"))
}

const (
	simKeyID     = "7ffG6UFo1135QXbK2gVuiJffadN1YXZC"
	simKeySecret = "canary-access-key-secret-51c2"
)

func TestVZICloudMetricsMatchTheVendorData(t *testing.T) {
	clock := newFakeClock()
	grants := append(simulator.DemoVZICloudGrants(clock.Now()),
		simulator.VZICloudGrant{SN: "odd-1", ProductID: 9, Type: 7, State: 9, ExpireTime: clock.Now().Unix() + 3600},
		simulator.VZICloudGrant{SN: "odd-2", ProductID: 9, Type: 1, State: 5, ExpireTime: clock.Now().Unix() + 60*86400})
	sim := simulator.NewVZICloud(simKeyID, simKeySecret)
	sim.SetGrants(grants)
	inj := faults.Wrap(sim)
	srv := httptest.NewServer(inj)
	t.Cleanup(srv.Close)

	windows := map[string]time.Duration{"7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour}
	types := map[int]string{0: "online", 1: "offline"}
	states := map[int]string{0: "granting", 1: "granted", 2: "recalled", 3: "failed", 4: "timeout", 5: "offline"}
	name := func(names map[int]string, code int) string {
		if n, ok := names[code]; ok {
			return n
		}
		return strconv.Itoa(code)
	}
	now := clock.Now()
	want := map[string]float64{}
	next := map[string]int64{}
	for _, g := range grants {
		p := strconv.Itoa(g.ProductID)
		want[fmt.Sprintf(`vzicloud_grants{account="acct",product_id=%q,state=%q,type=%q}`, p, name(states, g.State), name(types, g.Type))]++
		perm := fmt.Sprintf(`vzicloud_grants_permanent{account="acct",product_id=%q}`, p)
		expired := fmt.Sprintf(`vzicloud_grants_expired{account="acct",product_id=%q}`, p)
		want[perm] += 0 // every product has these series, zero or not
		want[expired] += 0
		for w := range windows {
			want[fmt.Sprintf(`vzicloud_grants_expiring{account="acct",product_id=%q,within=%q}`, p, w)] += 0
		}
		if g.State != 1 && g.State != 5 {
			continue
		}
		switch {
		case g.ExpireTime == -1:
			want[perm]++
		case g.ExpireTime < now.Unix():
			want[expired]++
		default:
			for w, d := range windows {
				if g.ExpireTime < now.Add(d).Unix() {
					want[fmt.Sprintf(`vzicloud_grants_expiring{account="acct",product_id=%q,within=%q}`, p, w)]++
				}
			}
			if n, ok := next[p]; !ok || g.ExpireTime < n {
				next[p] = g.ExpireTime
			}
		}
	}
	for p, at := range next {
		want[fmt.Sprintf(`vzicloud_grant_next_expiry_timestamp_seconds{account="acct",product_id=%q}`, p)] = float64(at)
		want[fmt.Sprintf(`vzicloud_grant_days_until_next_expiry{account="acct",product_id=%q}`, p)] = float64(at-now.Unix()) / 86400
	}
	got := scrapeVendor(t, srv, fmt.Sprintf("vzicloud: {access_key_id: %s, access_key_secret: %s, page_size: 7, expiry_windows: [7d, 30d, 90d]}", simKeyID, simKeySecret), clock)
	assert.InDeltaMapValues(t, want, vendorSeries(got, "vzicloud_"), 1e-9)
	assert.Len(t, vendorSeries(got, "vzicloud_"), len(want))
	assert.EqualValues(t, (len(grants)+6)/7, inj.Requests(), "every page, once")
}
