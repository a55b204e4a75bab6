// Command perf measures the exporter against the targets of its
// performance issue and prints two tables: a sizing table (accounts →
// series, RSS, warm scrape against its floor, CPU per scrape, cold scrape,
// a burst of concurrent scrapes) and the cache's savings. Each size is
// measured in a child process of its own, so that its RSS is its own; that
// child runs the exporter and starts the simulated vendors in a grandchild,
// on loopback, so that the memory measured is the exporter's.
//
//	go run ./bench/perf
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/quotaexporter/quota_exporter/config"
)

// options are what a measuring child is given.
type options struct {
	PerVendor   int
	Grants      int
	Latency     time.Duration
	WarmRuns    int
	Burst       int
	MaxRequests int
	// SteadyConcurrency is every vendor's max_concurrency during the
	// steady hour and the burst.
	SteadyConcurrency int
	Cache             bool // measure the cache's savings too (the smallest size)
	ColdProfile       string
	WarmProfile       string
}

func main() {
	sizes := flag.String("accounts", "25,250,2500", "accounts per vendor, comma-separated: one measured size each")
	var o options
	flag.IntVar(&o.Grants, "grants", 200, "vzicloud grants per account (at most the demo's 3,000)")
	flag.DurationVar(&o.Latency, "latency", 300*time.Millisecond, "vendor latency for the cold scrape")
	flag.IntVar(&o.WarmRuns, "warm-runs", 60, "warm scrapes measured, and as many of the floor, interleaved")
	flag.IntVar(&o.Burst, "burst", 200, "concurrent scrapes of the burst")
	flag.IntVar(&o.MaxRequests, "max-requests", 8, "--web.max-requests during the burst")
	flag.IntVar(&o.SteadyConcurrency, "steady-concurrency", config.DefaultMaxConcurrency, "every vendor's max_concurrency during the steady hour and the burst (no rate limit); warm and cold scrapes let every account through")
	flag.StringVar(&o.ColdProfile, "cpuprofile", "", "write a CPU profile of the cold scrapes of the first size to this file")
	flag.StringVar(&o.WarmProfile, "warm-cpuprofile", "", "write a CPU profile of warm scrapes of the first size (after the measured ones) to this file")
	simulators := flag.Bool("simulators", false, "internal: serve the demo simulators for the measuring process")
	measureOne := flag.String("measure", "", "internal: measure one size, given as JSON options, and print the figures as JSON")
	flag.Parse()

	var err error
	switch {
	case *simulators:
		err = serveSimulators(os.Stdin, os.Stdout, o.Grants)
	case *measureOne != "":
		err = runChild(*measureOne)
	default:
		err = runAll(*sizes, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

func runChild(optionsJSON string) error {
	var o options
	if err := json.Unmarshal([]byte(optionsJSON), &o); err != nil {
		return err
	}
	f, err := measure(o)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(f)
}

// runAll measures every size, each in a child process, and prints the tables.
func runAll(sizes string, o options) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	printSizingHeader(o)
	var all []figures
	for i, field := range strings.Split(sizes, ",") {
		perVendor, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			return fmt.Errorf("-accounts: %w", err)
		}
		c := o
		c.PerVendor, c.Cache = perVendor, i == 0
		if i > 0 {
			c.ColdProfile, c.WarmProfile = "", ""
		}
		arg, err := json.Marshal(c)
		if err != nil {
			return err
		}
		cmd := exec.Command(self, "-measure", string(arg))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("measuring %d accounts per vendor: %w", perVendor, err)
		}
		var f figures
		if err := json.Unmarshal(out, &f); err != nil {
			return err
		}
		all = append(all, f)
		printSizingRow(f)
	}
	printTargets(all, o)
	return nil
}

// printSizingHeader starts the sizing table; each size prints its row as
// soon as it is measured.
func printSizingHeader(o options) {
	fmt.Printf("Sizing: %d vzicloud grants per account; warm and floor interleaved in one process per size (ratios are within one run)\n\n", o.Grants)
	fmt.Printf("%8s %8s %8s %10s %10s %7s %10s %10s %7s %9s %9s %9s %9s %9s %6s %10s %10s %14s %s\n",
		"accounts", "series", "KiB", "warm", "floor", "ratio", "CPU/warm", "CPU/floor", "ratio",
		"RSS MiB", "MiB/acct", "after GC", "peak", "heap MiB", "gorout",
		"cold", "CPU/cold", "burst peak MiB", "burst answers")
	fmt.Printf("(RSS: at rest, 20s after the steady hour of scrapes 20s apart, max_concurrency %d per vendor; after GC: right after that hour; peak: its highest, refreshes included)\n", o.SteadyConcurrency)
}

func printSizingRow(f figures) {
	fmt.Printf("%8d %8d %8d %10s %10s %6.2fx %10s %10s %6.2fx %9.1f %9.3f %9.1f %9.1f %9.1f %6d %10s %10s %14.1f %s\n",
		f.Accounts, f.Series, f.BodyKiB, f.Warm.Round(10*time.Microsecond), f.Floor.Round(10*time.Microsecond), f.ratio(),
		f.WarmCPU.Round(10*time.Microsecond), f.FloorCPU.Round(10*time.Microsecond), float64(f.WarmCPU)/float64(f.FloorCPU),
		f.SteadyRSS, f.SteadyRSS/float64(f.Accounts), f.SteadyRSSAfter, f.SteadyPeakRSS, f.SteadyHeap, f.Goroutines,
		f.Cold.Round(time.Millisecond), f.ColdCPU.Round(time.Millisecond), f.BurstPeakRSS, f.burstAnswers())
}

// printTargets prints every target with its verdict.
func printTargets(all []figures, o options) {
	fmt.Println()
	var rows []row
	for _, f := range all {
		target := ""
		if f.Accounts <= 1000 {
			target = "<= 1.5x"
		}
		rows = append(rows, row{fmt.Sprintf("warm / floor (medians), %d accounts", f.Accounts), fmt.Sprintf("%.2fx", f.ratio()), target, verdict(target == "" || f.ratio() <= 1.5)})
		if f.Accounts == 1000 {
			rows = append(rows,
				row{fmt.Sprintf("steady RSS at rest, 1000 accounts, max_concurrency %d", o.SteadyConcurrency), fmt.Sprintf("%.1f MiB", f.SteadyRSS), "<= 96 MiB", verdict(f.SteadyRSS <= 96)},
				row{"  right after the steady hour / its peak", fmt.Sprintf("%.1f / %.1f MiB", f.SteadyRSSAfter, f.SteadyPeakRSS), "", ""},
				row{fmt.Sprintf("burst of %d scrapes, --web.max-requests=%d: peak RSS / steady", o.Burst, o.MaxRequests),
					fmt.Sprintf("%.2fx", f.BurstPeakRSS/f.SteadyRSS), "<= 2x", verdict(f.BurstPeakRSS <= 2*f.SteadyRSS)},
				row{"  its answers: every one 200 or 503, none hung", f.burstAnswers(), "", verdict(f.BurstOther == 0 && f.BurstOK+f.BurstRefused == o.Burst)},
				row{fmt.Sprintf("cold scrape, 1000 accounts answering after %s", o.Latency), f.Cold.Round(time.Millisecond).String(), "no worse than before", ""})
		}
	}
	rows = append(rows, all[0].CacheRows...)
	fmt.Printf("%-80s %-22s %-24s %s\n", "measure", "value", "target", "")
	for _, x := range rows {
		fmt.Printf("%-80s %-22s %-24s %s\n", x.Measure, x.Value, x.Target, x.Verdict)
	}
	fmt.Printf("\n%s, %d CPUs, %s\n", runtime.Version(), runtime.NumCPU(), runtime.GOARCH)
}

type row struct{ Measure, Value, Target, Verdict string }

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}
