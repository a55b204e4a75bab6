// Command quota_exporter exports the licenses, quotas and balances of vendor
// accounts (CloudAlert, vzicloud, Tingyun, Guoyang Cloud) as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/quotaexporter/quota_exporter/cluster"
	"github.com/quotaexporter/quota_exporter/collector"
	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/logging"
	"github.com/quotaexporter/quota_exporter/server"
	"github.com/quotaexporter/quota_exporter/simulator"
)

const exporterName = "quota_exporter"

// defaultListenAddress is the exporter's port.
const defaultListenAddress = ":9896"

func main() {
	if version.Version == "" {
		// Not built by `make build` (go run, go install): say so rather
		// than report an empty version in build_info and the User-Agent.
		version.Version = "dev"
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, so tests can drive the command line.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New(exporterName, "Exports vendor licenses, quotas and balances as Prometheus metrics.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	var (
		configFile      = app.Flag("config.file", "Configuration file.").Default("exporter.yml").String()
		configCheck     = app.Flag("config.check", "Load and validate the configuration, print the result and exit 0 or 1.").Bool()
		checkAccts      = app.Flag("check-accounts", "Load the configuration, refresh every account once, print one line per account and exit 0 if all succeeded, else 1.").Bool()
		grafanaURL      = app.Flag("web.grafana-url", "URL of the Grafana dashboard the status page links each account to (with var-account and var-vendor set).").String()
		demo            = app.Flag("demo", "Run against built-in simulated vendor APIs; no credentials or network needed.").Bool()
		telemetryPath   = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		enableLifecycle = app.Flag("web.enable-lifecycle", "Allow reloading the configuration with POST /-/reload (SIGHUP always reloads).").Bool()
		logLevel        = app.Flag("log.level", "Only log messages with the given severity or above. "+oneOf(logging.Levels)).Default("info").Enum(logging.Levels...)
		logFormat       = app.Flag("log.format", "Output format of log messages. "+oneOf(logging.Formats)).Default("logfmt").Enum(logging.Formats...)
		storagePath     = app.Flag("storage.path", "Directory where every account's last good answer is kept across restarts; none keeps answers in memory only.").String()
		maxRequests     = app.Flag("web.max-requests", "Renders of /metrics, /probe and the status page in progress at once; past it, 503 at once (0 = no limit).").Default("40").Int()
		webFlags        = kingpinflag.AddFlags(app, defaultListenAddress)

		clusterShards   = app.Flag("cluster.shards", "Number of exporter replicas sharing the accounts; each account belongs to one of them.").Default("1").Int()
		clusterShard    = app.Flag("cluster.shard", "This replica's index, 0 <= shard < --cluster.shards (a StatefulSet passes its pod index).").Default("0").Int()
		clusterTemplate = app.Flag("cluster.address-template", "Where shard i is reached, %d standing for i, e.g. quota-exporter-%d.quota-exporter.monitoring.svc:9896; used by /sd.").PlaceHolder("TEMPLATE").String()
	)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 2
	}

	logger, slogger, err := logging.New(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	shards, err := cluster.New(*clusterShards, *clusterShard, *clusterTemplate)
	if err != nil {
		level.Error(logger).Log("msg", "invalid cluster flags", "err", err)
		return 1
	}
	if shards.Count() > 1 && *clusterTemplate == "" {
		level.Warn(logger).Log("msg", "sharded without --cluster.address-template: /sd points every account at the address it was asked on, so other shards' accounts answer 421 there")
	}

	load := func() (*config.Config, error) { return config.Load(*configFile) }
	if *demo {
		d, err := simulator.StartDemo(time.Now(), nil)
		if err != nil {
			level.Error(logger).Log("msg", "starting the demo simulators failed", "err", err)
			return 1
		}
		defer func() { _ = d.Close() }() // on exit; its servers only listen on loopback
		load = func() (*config.Config, error) { return config.Parse(d.ConfigYAML(), "") }
		level.Info(logger).Log("msg", "demo mode: serving simulated vendor accounts; --config.file is ignored")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	reg.MustRegister(shards.Collectors()...)
	exporter := collector.New(collector.Options{
		Logger:      logger,
		UserAgent:   version.ComponentUserAgent(exporterName),
		Registerer:  reg,
		Owns:        shards.Owns,
		StoragePath: *storagePath,
		Shard:       shards.Index(),
	})

	if *configCheck {
		return checkConfig(load, exporter, stdout, stderr)
	}
	if *checkAccts {
		return checkAccounts(load, exporter, stdout, stderr)
	}

	srv, err := server.New(server.Options{
		Logger:          logger,
		Load:            load,
		Exporter:        exporter,
		Registry:        reg,
		TelemetryPath:   *telemetryPath,
		Landing:         landingConfig(*telemetryPath),
		Cluster:         shards,
		GrafanaURL:      *grafanaURL,
		EnableLifecycle: *enableLifecycle,
		MaxRequests:     *maxRequests,
	})
	if err != nil {
		level.Error(logger).Log("msg", "setting up the server failed", "err", err)
		return 1
	}
	level.Info(logger).Log("msg", "starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	if err := srv.Reload(); err != nil {
		// Reload has logged the reason.
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go reloadOnSIGHUP(ctx, srv)

	httpServer := server.NewHTTPServer(srv.Handler(), slog.NewLogLogger(slogger.Handler(), slog.LevelError))
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(httpServer, webFlags, slogger) }()
	select {
	case err := <-errc:
		level.Error(logger).Log("msg", "serving failed", "err", err)
		return 1
	case <-ctx.Done():
		level.Info(logger).Log("msg", "shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			level.Warn(logger).Log("msg", "shutdown incomplete", "err", err)
		}
		return 0
	}
}

func reloadOnSIGHUP(ctx context.Context, srv *server.Server) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			_ = srv.Reload() // logged by Reload
		case <-ctx.Done():
			return
		}
	}
}

// oneOf lists a flag's allowed values for its help text.
func oneOf(values []string) string {
	return "One of: [" + strings.Join(values, ", ") + "]"
}

func landingConfig(telemetryPath string) web.LandingConfig {
	return web.LandingConfig{
		Name:        "Quota Exporter",
		Description: "Licenses, quotas and balances of vendor accounts, as Prometheus metrics",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: telemetryPath, Text: "Metrics", Description: "All configured accounts and the exporter's own metrics"},
			{Address: "/sd", Text: "Service discovery", Description: "Every account as Prometheus http_sd targets"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness"},
		},
	}
}
