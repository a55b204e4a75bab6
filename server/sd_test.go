package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/cluster"
)

var fleetAccounts = []string{"ops", "sms", "cameras", "netmon", "billing", "edge"}

func TestSDListsEveryAccountOfTheFleetAtItsOwner(t *testing.T) {
	shards, err := cluster.New(3, 1, "quota-exporter-%d.quota-exporter.monitoring.svc:9896")
	require.NoError(t, err)
	f := newShardFixture(t, shards, fleetAccounts...)

	code, _ := f.do(t, http.MethodGet, "/sd", nil)
	assert.Equal(t, http.StatusServiceUnavailable, code, "before a config is loaded: not an empty list, which would drop every target")

	require.NoError(t, f.srv.Reload())
	resp, err := http.Get(f.http.URL + "/sd")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var groups []targetGroup
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&groups))

	require.Len(t, groups, len(fleetAccounts))
	for i, name := range fleetAccounts {
		owner := cluster.Owner(name, 3)
		assert.Equal(t, targetGroup{
			Targets: []string{fmt.Sprintf("quota-exporter-%d.quota-exporter.monitoring.svc:9896", owner)},
			Labels: map[string]string{
				"__param_account":               name,
				"__meta_quota_exporter_account": name,
				"__meta_quota_exporter_vendor":  "aiops",
				"__meta_quota_exporter_shard":   strconv.Itoa(owner),
			},
		}, groups[i])
	}
	for name, sim := range f.sims {
		assert.Zero(t, sim.Requests(), "/sd calls no vendor (%s)", name)
	}
}

// Unsharded, or without a template, the targets are the address the
// scraper used.
func TestSDWithoutTemplateUsesTheRequestHost(t *testing.T) {
	f := newFixture(t, "ops", "sms")
	require.NoError(t, f.srv.Reload())
	code, body := f.do(t, http.MethodGet, "/sd", nil)
	require.Equal(t, http.StatusOK, code)
	host := strings.TrimPrefix(f.http.URL, "http://")
	assert.JSONEq(t, fmt.Sprintf(`[
		{"targets": [%q], "labels": {"__param_account": "ops", "__meta_quota_exporter_account": "ops", "__meta_quota_exporter_vendor": "aiops", "__meta_quota_exporter_shard": "0"}},
		{"targets": [%q], "labels": {"__param_account": "sms", "__meta_quota_exporter_account": "sms", "__meta_quota_exporter_vendor": "aiops", "__meta_quota_exporter_shard": "0"}}
	]`, host, host), body)
}

// A probe of another replica's account is answered 421 naming the owner,
// with no upstream call; a probe of its own account is served; a reload
// keeps the rule.
func TestProbeOfAnotherShardsAccountIsMisdirected(t *testing.T) {
	shards, err := cluster.New(3, 0, "qe-%d.qe:9896")
	require.NoError(t, err)
	f := newShardFixture(t, shards, fleetAccounts...)
	var mine, theirs []string
	for _, name := range fleetAccounts {
		if shards.Owns(name) {
			mine = append(mine, name)
		} else {
			theirs = append(theirs, name)
		}
	}
	require.NotEmpty(t, mine)
	require.NotEmpty(t, theirs)

	for range 2 { // the first load, then a reload
		require.NoError(t, f.srv.Reload())
		for _, name := range theirs {
			owner := shards.Owner(name)
			code, body := f.do(t, http.MethodGet, "/probe?account="+name, nil)
			assert.Equal(t, http.StatusMisdirectedRequest, code, name)
			assert.Equal(t, fmt.Sprintf("account %q belongs to shard %d of 3, served at qe-%d.qe:9896; this replica is shard 0\n", name, owner, owner), body)
			assert.Zero(t, f.sims[name].Requests(), "no upstream call for %s", name)
		}
		for _, name := range mine {
			code, body := f.do(t, http.MethodGet, "/probe?account="+name, nil)
			assert.Equal(t, http.StatusOK, code, name)
			assert.Contains(t, body, fmt.Sprintf(`quota_exporter_scrape_success{account=%q,vendor="aiops"} 1`, name))
		}
		code, _ := f.do(t, http.MethodGet, "/probe?account=nobody", nil)
		assert.Equal(t, http.StatusBadRequest, code, "an unknown account is still a 400")

		_, body := f.do(t, http.MethodGet, "/metrics", nil)
		for _, name := range theirs {
			assert.NotContains(t, body, fmt.Sprintf("account=%q", name))
		}
		assert.Contains(t, body, fmt.Sprintf("quota_exporter_accounts %d\n", len(mine)))
	}
}

func TestMisdirectedProbeWithoutTemplate(t *testing.T) {
	shards, err := cluster.New(2, 1, "")
	require.NoError(t, err)
	f := newShardFixture(t, shards, fleetAccounts...)
	require.NoError(t, f.srv.Reload())
	misdirected := 0
	for _, name := range fleetAccounts {
		if shards.Owns(name) {
			continue
		}
		misdirected++
		code, body := f.do(t, http.MethodGet, "/probe?account="+name, nil)
		assert.Equal(t, http.StatusMisdirectedRequest, code)
		assert.Equal(t, fmt.Sprintf("account %q belongs to shard 0 of 2, served at an address this replica does not know (no --cluster.address-template); this replica is shard 1\n", name), body)
	}
	assert.NotZero(t, misdirected, "shard 0 owns some of the accounts")
}
