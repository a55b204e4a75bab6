package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/quotaexporter/quota_exporter/simulator/faults"
)

// The fleet test runs what users run to share accounts between replicas:
// sharded exporters against the simulated vendors, a real Prometheus
// finding the accounts through /sd, and two vmagent members in cluster mode
// writing to a single-node VictoriaMetrics.

// copiesPerDemoAccount makes 4 × 6 accounts, enough for every shard to own
// some and for a resize to move some.
const copiesPerDemoAccount = 6

func TestFleet(t *testing.T) {
	prometheus := requireTool(t, "prometheus")
	vmagent := requireTool(t, "vmagent")
	victoriaMetrics := requireTool(t, "victoria-metrics")
	bin := buildBinary(t)
	start := time.Now()
	defer func() { t.Logf("the fleet test took %v", time.Since(start)) }()

	demo, injectors, err := faults.StartDemo(time.Now())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, demo.Close()) })
	dir := t.TempDir()
	configFile, accounts := writeFleetConfig(t, dir, demo.ConfigYAML())
	upstreamCalls := func() map[string]int64 {
		calls := map[string]int64{}
		for vendor, inj := range injectors {
			calls[vendor] = inj.Requests()
		}
		return calls
	}

	// One unsharded exporter: the reference for series and upstream calls.
	single := startExporter(t, "--config.file="+configFile)
	before := upstreamCalls()
	_, singleMetrics := get(single.url + "/metrics")
	onePass := subtractCalls(upstreamCalls(), before)
	require.Equal(t, accounts, servedAccounts(singleMetrics), "the unsharded exporter serves every account")
	singleSeries := vendorSeries(singleMetrics)
	require.NotEmpty(t, singleSeries)

	before = upstreamCalls()
	three := startFleet(t, bin, configFile, 3)
	owners3 := map[string]int{}
	var unionSeries []string
	for shard, member := range three.members {
		_, metrics := get(member + "/metrics")
		served := servedAccounts(metrics)
		assert.Contains(t, metrics, fmt.Sprintf("quota_exporter_cluster_shard %d\n", shard))
		assert.Contains(t, metrics, "quota_exporter_cluster_shards 3\n")
		assert.Contains(t, metrics, fmt.Sprintf("quota_exporter_accounts %d\n", len(served)))
		assert.NotEmpty(t, served, "shard %d owns accounts", shard)
		for _, account := range served {
			other, twice := owners3[account]
			assert.False(t, twice, "%s is served by shards %d and %d", account, other, shard)
			owners3[account] = shard
		}
		unionSeries = append(unionSeries, vendorSeries(metrics)...)
	}
	assert.Equal(t, accounts, slices.Sorted(maps.Keys(owners3)), "every account in exactly one shard")
	slices.Sort(unionSeries)
	assert.Equal(t, singleSeries, unionSeries, "the union of the shards' vendor series is the unsharded exporter's")
	assert.Equal(t, onePass, subtractCalls(upstreamCalls(), before), "one upstream refresh per account, fleet-wide")

	t.Run("a probe of another shard's account is misdirected", func(t *testing.T) {
		account := accounts[0]
		owner := owners3[account]
		notOwner := (owner + 1) % 3
		code, body := get(three.members[notOwner] + "/probe?account=" + account)
		assert.Equal(t, http.StatusMisdirectedRequest, code)
		assert.Contains(t, body, fmt.Sprintf("belongs to shard %d of 3, served at %s;", owner, three.address(owner)))
	})

	// scrapeFleet starts a scraper with the jobs of deploy/prometheus.yml,
	// pointed at one replica's /sd, at short intervals. vmagent takes the
	// /sd refresh interval from a flag, Prometheus from its config.
	scrapeFleet := func(t *testing.T, ready, scraper, configFlag string, sdOptions map[string]any, jobs []string, args ...string) {
		t.Helper()
		path := filepath.Join(dir, filepath.Base(scraper)+".yml")
		require.NoError(t, os.WriteFile(path, exampleJobs(t, jobs, three.members[1]+"/sd", sdOptions), 0o600))
		startProcess(t, ready, scraper, append(args, configFlag+"="+path)...)
	}

	t.Run("Prometheus discovers every account through /sd and scrapes each once", func(t *testing.T) {
		addr := freeAddress(t)
		promURL := "http://" + addr
		scrapeFleet(t, promURL+"/-/ready", prometheus, "--config.file", map[string]any{"refresh_interval": "1s"},
			[]string{"quota_exporter_fleet", "quota_exporter_replicas"},
			"--web.listen-address="+addr, "--storage.tsdb.path="+filepath.Join(dir, "prometheus"))
		requireEveryAccountOnce(t, promURL, accounts)

		// The replicas job: each replica once, its own metrics only.
		require.Eventually(t, func() bool {
			return len(promQuery(t, promURL, `quota_exporter_cluster_shards{job="quota_exporter_replicas"} == 3`)) == 3
		}, 20*time.Second, 250*time.Millisecond, "every replica is scraped for its own metrics")
		assert.Equal(t, map[string]int{"quota_exporter_fleet": len(accounts), "quota_exporter_replicas": 3}, activeTargets(t, promURL))
		assert.Empty(t, promQuery(t, promURL, `{job="quota_exporter_replicas", account!="", __name__!="quota_exporter_upstream_requests_total"}`),
			"no account's series comes from the replicas job: the fleet job has them")
	})

	t.Run("two vmagent members in cluster mode scrape each account once", func(t *testing.T) {
		vmAddr := freeAddress(t)
		startProcess(t, "http://"+vmAddr+"/health", victoriaMetrics,
			"-httpListenAddr="+vmAddr, "-storageDataPath="+filepath.Join(dir, "vm"), "-search.latencyOffset=0s", "-search.disableCache")
		for member := range 2 {
			addr := freeAddress(t)
			scrapeFleet(t, "http://"+addr+"/health", vmagent, "-promscrape.config", nil, []string{"quota_exporter_fleet"}, "-httpListenAddr="+addr, "-remoteWrite.url=http://"+vmAddr+"/api/v1/write",
				"-remoteWrite.tmpDataPath="+filepath.Join(dir, fmt.Sprintf("vmagent-%d", member)), "-remoteWrite.flushInterval=200ms",
				"-remoteWrite.label=member="+strconv.Itoa(member), "-promscrape.httpSDCheckInterval=1s",
				"-promscrape.cluster.membersCount=2", "-promscrape.cluster.memberNum="+strconv.Itoa(member))
		}
		requireEveryAccountOnce(t, "http://"+vmAddr, accounts)
		members := map[string]bool{}
		for _, s := range promQuery(t, "http://"+vmAddr, `count by (member) (up{job="quota_exporter_fleet"})`) {
			members[s.Metric["member"]] = true
		}
		assert.Len(t, members, 2, "both members scrape a share of the accounts")
	})

	assert.Equal(t, onePass, subtractCalls(upstreamCalls(), before), "the scrapers' many scrapes cost no upstream call beyond one per account")

	t.Run("going to 4 shards moves only the accounts that go to the new one", func(t *testing.T) {
		four := startFleet(t, bin, configFile, 4)
		moved := 0
		for shard, member := range four.members {
			_, metrics := get(member + "/metrics")
			for _, account := range servedAccounts(metrics) {
				if owners3[account] != shard {
					moved++
					assert.Equal(t, 3, shard, "%s moved from shard %d to %d, not to the new shard", account, owners3[account], shard)
				}
			}
		}
		assert.NotZero(t, moved, "the new shard takes some accounts")
		assert.Less(t, moved, len(accounts)/2, "about a quarter of the accounts move, not most")
	})
}

// exampleJobs are the named jobs of deploy/prometheus.yml as a scraper
// config, finding the accounts at sdURL, scraping every second.
func exampleJobs(t *testing.T, names []string, sdURL string, sdOptions map[string]any) []byte {
	t.Helper()
	data, err := os.ReadFile("deploy/prometheus.yml")
	require.NoError(t, err)
	var example struct {
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &example))
	var jobs []map[string]any
	for _, job := range example.ScrapeConfigs {
		if !slices.Contains(names, job["job_name"].(string)) {
			continue
		}
		job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
		sd := map[string]any{"url": sdURL}
		maps.Copy(sd, sdOptions)
		job["http_sd_configs"] = []any{sd}
		jobs = append(jobs, job)
	}
	require.Len(t, jobs, len(names), "deploy/prometheus.yml has the jobs %v", names)
	out, err := yaml.Marshal(map[string]any{"scrape_configs": jobs})
	require.NoError(t, err)
	return out
}

// activeTargets counts Prometheus' targets by job.
func activeTargets(t *testing.T, promURL string) map[string]int {
	t.Helper()
	code, body := get(promURL + "/api/v1/targets?state=active")
	require.Equal(t, http.StatusOK, code, body)
	var answer struct {
		Data struct {
			ActiveTargets []struct {
				ScrapePool string `json:"scrapePool"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &answer))
	counts := map[string]int{}
	for _, target := range answer.Data.ActiveTargets {
		counts[target.ScrapePool]++
	}
	return counts
}

// writeFleetConfig writes the demo's accounts, each copied under several
// names, with a cache_ttl longer than the test, and returns the file and
// the sorted account names.
func writeFleetConfig(t *testing.T, dir string, demoConfig []byte) (string, []string) {
	t.Helper()
	var cfg struct {
		Defaults map[string]any   `yaml:"defaults"`
		Accounts []map[string]any `yaml:"accounts"`
	}
	require.NoError(t, yaml.Unmarshal(demoConfig, &cfg))
	cfg.Defaults["cache_ttl"] = "1h"
	var copies []map[string]any
	var names []string
	for _, account := range cfg.Accounts {
		for i := range copiesPerDemoAccount {
			c := maps.Clone(account)
			c["name"] = fmt.Sprintf("%s-%d", account["name"], i)
			copies = append(copies, c)
			names = append(names, c["name"].(string))
		}
	}
	cfg.Accounts = copies
	data, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(dir, "exporter.yml")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	slices.Sort(names)
	return path, names
}

// fleet is a set of sharded exporters; shard i listens on 127.0.i.1, all on
// one port, so that one --cluster.address-template names them all.
type fleet struct {
	port    int
	members []string // base URLs by shard
}

func (f fleet) address(shard int) string {
	return fmt.Sprintf("127.0.%d.1:%d", shard, f.port)
}

func startFleet(t *testing.T, bin, configFile string, shards int) fleet {
	t.Helper()
	f := fleet{port: freeFleetPort(t, shards)}
	for shard := range shards {
		f.members = append(f.members, "http://"+f.address(shard))
		startProcess(t, f.members[shard]+"/-/ready", bin, "--config.file="+configFile, "--web.listen-address="+f.address(shard),
			"--cluster.shards="+strconv.Itoa(shards), "--cluster.shard="+strconv.Itoa(shard),
			"--cluster.address-template="+fmt.Sprintf("127.0.%%d.1:%d", f.port))
	}
	return f
}

// freeFleetPort finds a port free on 127.0.i.1 for every shard i.
func freeFleetPort(t *testing.T, shards int) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		listeners := []net.Listener{l}
		for shard := 1; shard < shards && err == nil; shard++ {
			l, err = net.Listen("tcp", fmt.Sprintf("127.0.%d.1:%d", shard, port))
			if err == nil {
				listeners = append(listeners, l)
			}
		}
		for _, l := range listeners {
			require.NoError(t, l.Close())
		}
		if err == nil {
			return port
		}
	}
	t.Fatal("no port is free on every shard's loopback address")
	return 0
}

// requireEveryAccountOnce waits until the scraper's storage has every
// account from exactly one target, then checks that no target failed (a
// 421 would be up 0).
func requireEveryAccountOnce(t *testing.T, apiURL string, accounts []string) {
	t.Helper()
	var perAccount map[string]string
	require.Eventually(t, func() bool {
		perAccount = map[string]string{}
		for _, s := range promQuery(t, apiURL, `count by (account) (quota_exporter_scrape_success)`) {
			perAccount[s.Metric["account"]] = s.Value[1].(string)
		}
		return len(perAccount) == len(accounts)
	}, 30*time.Second, 250*time.Millisecond, "every account is scraped")
	for _, account := range accounts {
		assert.Equal(t, "1", perAccount[account], "%s is stored once", account)
	}
	targets := map[string]string{}
	for _, s := range promQuery(t, apiURL, `count by (instance) (up{job="quota_exporter_fleet"} == 1)`) {
		targets[s.Metric["instance"]] = s.Value[1].(string)
	}
	assert.Len(t, targets, len(accounts), "one target per account, each up")
	for _, account := range accounts {
		assert.Equal(t, "1", targets[account], "%s is one target", account)
	}
	assert.Empty(t, promQuery(t, apiURL, `up{job="quota_exporter_fleet"} == 0`), "no scrape fails (a misdirected one answers 421)")
}

var servedAccount = regexp.MustCompile(`(?m)^quota_exporter_scrape_success\{account="([^"]+)"`)

// servedAccounts are the accounts an exposition has, sorted.
func servedAccounts(metrics string) []string {
	var accounts []string
	for _, m := range servedAccount.FindAllStringSubmatch(metrics, -1) {
		accounts = append(accounts, m[1])
	}
	slices.Sort(accounts)
	return accounts
}

// vendorSeries are the vendor series of an exposition, volatile values
// replaced, sorted.
func vendorSeries(metrics string) []string {
	var series []string
	for line := range strings.Lines(normalize(metrics)) {
		if !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "quota_exporter_") && strings.TrimSpace(line) != "" {
			series = append(series, line)
		}
	}
	slices.Sort(series)
	return series
}

func subtractCalls(after, before map[string]int64) map[string]int64 {
	diff := map[string]int64{}
	for vendor, n := range after {
		diff[vendor] = n - before[vendor]
	}
	return diff
}

func TestClusterFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{"--cluster.shards=0"},
		{"--cluster.shards=3", "--cluster.shard=3"},
		{"--cluster.shard=-1"},
		{"--cluster.shards=2", "--cluster.address-template=quota-exporter.svc:9896"},
		{"--cluster.shards=2", "--cluster.address-template=quota-exporter-%d-%d.svc:9896"},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 1, run(append(args, "--config.check"), &stdout, &stderr), "%v", args)
		assert.Contains(t, stderr.String(), "--cluster.", "%v: %s", args, stderr.String())
	}
}
