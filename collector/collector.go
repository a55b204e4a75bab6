// Package collector turns vendor snapshots into Prometheus metrics. It owns
// the per-account cache (cache_ttl, one refresh in flight, stale data,
// backoff) and the exporter's own metrics. One mechanism serves every vendor
// (mapping.go, render.go); a vendor adds only its snapshot-to-metrics mapping
// (see aiops.go).
package collector

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/limits"
	"github.com/quotaexporter/quota_exporter/storage"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

const namespace = "quota_exporter"

// vendors lists the vendors whose clients are built; an account of any other
// vendor is refused at load.
var vendors = map[string]vendor{
	config.VendorAIOps:      aiopsVendor,
	config.VendorVZICloud:   vzicloudVendor,
	config.VendorTingyun:    tingyunVendor,
	config.VendorGuoyangyun: guoyangyunVendor,
}

// Options configures an Exporter.
type Options struct {
	Logger    log.Logger
	Clock     func() time.Time // time.Now when nil; tests inject a fake clock
	UserAgent string
	// Shard is this replica's index (--cluster.shard), shown on the status
	// page: every account this exporter refreshes belongs to it.
	Shard int
	// Registerer receives the exporter's long-lived metrics (upstream request
	// counters and latencies, the number of accounts).
	Registerer prometheus.Registerer
	// Owns says whether this replica owns an account (see package cluster);
	// nil owns every account. Accounts of other replicas are neither built
	// nor refreshed.
	Owns func(account string) bool
	// StoragePath is where answers are kept across restarts; "" keeps them
	// in memory only.
	StoragePath string
}

// Exporter holds the configured accounts and their caches.
type Exporter struct {
	opts    Options
	latency *prometheus.HistogramVec
	limits  *limits.Limits
	store   *storage.Store // nil without StoragePath

	mu       sync.RWMutex
	accounts []*account
}

// New creates an Exporter with no accounts; Apply gives it a config.
func New(opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Owns == nil {
		opts.Owns = func(string) bool { return true }
	}
	e := &Exporter{
		opts: opts,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "upstream_request_duration_seconds",
			Help:      "Duration of upstream HTTP requests to vendor APIs, body read included.",
			Buckets:   []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"vendor"}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(e.latency, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "accounts",
			Help:      "Configured accounts this replica owns, refreshes and serves (all of them unless --cluster.shards is over 1).",
		}, e.ownedAccounts))
	}
	e.limits = limits.New(opts.Registerer)
	if opts.StoragePath != "" {
		e.store = storage.New(opts.StoragePath, opts.Logger, opts.Registerer)
	}
	return e
}

func (e *Exporter) ownedAccounts() float64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return float64(len(e.accounts))
}

// Apply replaces the configured accounts, keeping only those this replica
// owns. An account whose configuration is unchanged keeps its cache (so a
// reload does not cause a burst of upstream calls) and its HTTP client. On
// error nothing changes.
//
// The client of an account dropped or replaced needs no closing: it holds no
// idle connection once the refreshes in flight on it end (sharedClient.end).
func (e *Exporter) Apply(cfg *config.Config) error {
	e.mu.RLock()
	old := e.accounts
	e.mu.RUnlock()
	clients := clientsOf(old)

	var errs []error
	next := make([]*account, 0, len(cfg.Accounts))
	for _, ac := range cfg.Accounts {
		if !e.opts.Owns(ac.Name) {
			continue
		}
		i := slices.IndexFunc(old, func(a *account) bool { return a.name == ac.Name })
		if i >= 0 && sameAccount(old[i].cfg, ac) {
			next = append(next, old[i])
			continue
		}
		// A changed account keeps counting its requests where it was.
		counts := newRequestCounts(ac.Name, ac.Effective.Vendor)
		if i >= 0 && old[i].vendor == ac.Effective.Vendor && old[i].requests != nil {
			counts = old[i].requests
		}
		a, err := e.newAccount(ac, counts, &clients)
		if err != nil {
			errs = append(errs, fmt.Errorf("account %q: %w", ac.Name, err))
			continue
		}
		next = append(next, a)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.limits.Configure(cfg)
	if e.store != nil {
		names := make([]string, len(next))
		for i, a := range next {
			names[i] = a.name
		}
		e.store.Prune(names)
	}

	e.mu.Lock()
	e.accounts = next
	e.mu.Unlock()
	return nil
}

// newAccount builds an account, on the client of clients with its
// http_client_config or a new one added to clients.
func (e *Exporter) newAccount(ac config.Account, counts *requestCounts, clients *[]*sharedClient) (*account, error) {
	v, ok := vendors[ac.Effective.Vendor]
	if !ok {
		return nil, fmt.Errorf("vendor %q is not supported by this version", ac.Effective.Vendor)
	}
	client, err := clientFor(clients, ac.Effective.HTTPClientConfig)
	if err != nil {
		return nil, fmt.Errorf("http_client_config: %w", err)
	}
	up := &upstream.Client{
		HTTP:      client.http,
		UserAgent: e.opts.UserAgent,
		Timeout:   ac.Effective.Timeout,
		Observe:   e.observer(counts, ac.Effective.Vendor),
		Limit:     e.limits.For(ac.Effective.Vendor, ac.Effective.BaseURL.Host),
		// upstream installs its redirect guard, which never lets the
		// credentials leave their origin, over the client's own policy.
		FollowRedirects: ac.Effective.HTTPClientConfig.FollowRedirects,
	}
	logger := log.With(e.opts.Logger, "account", ac.Name, "vendor", ac.Effective.Vendor)
	// The warning is set on the client's copy only: the account itself is
	// compared across reloads, and funcs never compare equal.
	withWarning := ac
	withWarning.Secret.Warn = func(file string) {
		level.Warn(logger).Log("msg", "the secret file is readable by every user of the machine; make it readable by the exporter only (e.g. mode 0400)", "file", file)
	}
	src, err := v.newSource(withWarning, up)
	if err != nil {
		return nil, err
	}
	a := newAccount(ac, src, e.opts.Clock, e.opts.Logger)
	a.client, a.requests = client, counts
	if e.store != nil {
		if a.identity, err = identityOf(ac); err != nil {
			return nil, err
		}
		a.store = e.store
		a.load()
	}
	return a, nil
}

// observer counts requests per result and observes their latency.
func (e *Exporter) observer(counts *requestCounts, vendorName string) upstream.Observer {
	latency := e.latency.WithLabelValues(vendorName)
	return func(r upstream.Request) {
		counts.inc(r.Result)
		if r.Method != "" { // a secret_error sent no request to time
			latency.Observe(r.Elapsed.Seconds())
		}
	}
}
