package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-kit/log/level"

	"github.com/quotaexporter/quota_exporter/cluster"
	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/internal/quote"
)

// fleet is every configured account, this replica's and the others', with
// its owning shard: what /sd lists and what a misdirected /probe is told.
type fleet struct {
	accounts []fleetAccount
	owner    map[string]int // account name → shard
}

type fleetAccount struct {
	name, vendor string
	shard        int
}

func newFleet(cfg *config.Config, shards cluster.Shards) *fleet {
	f := &fleet{owner: make(map[string]int, len(cfg.Accounts))}
	for _, ac := range cfg.Accounts {
		shard := shards.Owner(ac.Name)
		f.accounts = append(f.accounts, fleetAccount{name: ac.Name, vendor: ac.Effective.Vendor, shard: shard})
		f.owner[ac.Name] = shard
	}
	return f
}

// targetGroup is one entry of Prometheus' http_sd answer.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// serveSD answers Prometheus' http_sd_configs (and vmagent's): one target
// group per account of the whole fleet, at its owner's address. The
// discovery labels are __meta_ ones, dropped after relabeling unless a job
// keeps them, so none clashes with the series' own `account` label.
func (s *Server) serveSD(w http.ResponseWriter, r *http.Request) {
	f := s.fleet.Load()
	if f == nil {
		// An empty list would make Prometheus drop every target.
		http.Error(w, "no valid configuration loaded", http.StatusServiceUnavailable)
		return
	}
	groups := make([]targetGroup, 0, len(f.accounts))
	for _, a := range f.accounts {
		address := s.opts.Cluster.Address(a.shard)
		if address == "" {
			address = r.Host
		}
		groups = append(groups, targetGroup{
			Targets: []string{address},
			Labels: map[string]string{
				"__param_account":               a.name,
				"__meta_quota_exporter_account": a.name,
				"__meta_quota_exporter_vendor":  a.vendor,
				"__meta_quota_exporter_shard":   strconv.Itoa(a.shard),
			},
		})
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(groups); err != nil {
		level.Debug(s.opts.Logger).Log("msg", "writing /sd failed", "err", err)
	}
}

// redirectProbe answers 421 Misdirected Request, without any upstream call,
// when the account is configured but belongs to another shard, and says
// where it is served. It reports whether it answered.
func (s *Server) redirectProbe(w http.ResponseWriter, account string) bool {
	f := s.fleet.Load()
	if f == nil {
		return false
	}
	owner, ok := f.owner[account]
	if !ok || owner == s.opts.Cluster.Index() {
		return false
	}
	where := s.opts.Cluster.Address(owner)
	if where == "" {
		where = "an address this replica does not know (no --cluster.address-template)"
	}
	http.Error(w, fmt.Sprintf("account %s belongs to shard %d of %d, served at %s; this replica is shard %d",
		quote.Text(account), owner, s.opts.Cluster.Count(), where, s.opts.Cluster.Index()), http.StatusMisdirectedRequest)
	return true
}
