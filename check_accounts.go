package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/quotaexporter/quota_exporter/collector"
	"github.com/quotaexporter/quota_exporter/config"
)

// checkAccounts (--check-accounts) refreshes every account once and prints
// one aligned line per account: what a person runs after editing
// credentials, and a deploy pipeline before a rollout. It exits 0 when every
// refresh succeeded, else 1. Errors are upstream's safe messages: never a
// secret.
func checkAccounts(load func() (*config.Config, error), exporter *collector.Exporter, stdout, stderr io.Writer) int {
	if _, ok := loadAndApply(load, exporter, stderr); !ok {
		return 1
	}
	checks := exporter.CheckAccounts()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tVENDOR\tSHARD\tRESULT\tDURATION\tSERIES\tERROR")
	failed := 0
	for _, c := range checks {
		problem := "-"
		if c.Err != nil {
			failed++
			problem = fmt.Sprintf("%s: %v", collector.ResultMeaning(c.Result), c.Err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%s\n", c.Name, c.Vendor, c.Shard, c.Result, c.Duration.Round(time.Millisecond), c.Series, problem)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "writing the results: %v\n", err)
		return 1
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%d of %d accounts failed\n", failed, len(checks))
		return 1
	}
	fmt.Fprintf(stderr, "all %d accounts succeeded\n", len(checks))
	return 0
}

// loadAndApply loads the configuration and builds every account's client, as
// a start would; it reports an invalid configuration on stderr.
func loadAndApply(load func() (*config.Config, error), exporter *collector.Exporter, stderr io.Writer) (*config.Config, bool) {
	cfg, err := load()
	if err == nil {
		err = exporter.Apply(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "configuration is invalid:\n%v\n", err)
		return nil, false
	}
	return cfg, true
}
