package server

import (
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/quotaexporter/quota_exporter/collector"
)

// serveDebug answers /probe?account=NAME&debug=true: how the account's
// refresh went, request by request, then the metrics the probe serves, as
// text for a person (like blackbox_exporter's debug output).
func (s *Server) serveDebug(w http.ResponseWriter, r *http.Request, name string) {
	ctx, cancel := scrapeContext(r)
	defer cancel()
	d, ok := s.opts.Exporter.Debug(ctx, name)
	if !ok {
		// Removed by a reload since serveProbe looked.
		http.Error(w, "unknown account: give the name of a configured account", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	writeDebug(w, d, s.opts.Clock())
}

func writeDebug(w io.Writer, d collector.Debug, now time.Time) {
	st := d.Status
	fmt.Fprintf(w, "Account %s (vendor %s, shard %d)\n", st.Name, st.Vendor, st.Shard)
	fmt.Fprintf(w, "Decision: %s\n", d.Decision)
	writeRefresh(w, d)
	fmt.Fprintf(w, "\nState: %s; %s; consecutive failures: %d", st.State, dataLine(st), st.Failures)
	if st.Backoff > 0 {
		fmt.Fprintf(w, "; backoff: %s left", st.Backoff.Round(time.Second))
	}
	fmt.Fprintf(w, "; next refresh: %s; upstream requests in the last hour: %d\n", nextRefresh(st, now), st.CallsLastHour)

	fmt.Fprintln(w, "\nMetrics:")
	mfs, err := d.Metrics.Gather()
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if encErr := enc.Encode(mf); encErr != nil && err == nil {
			err = encErr
		}
	}
	if err != nil {
		fmt.Fprintf(w, "# error gathering metrics: %v\n", err)
	}
}

func writeRefresh(w io.Writer, d collector.Debug) {
	rf := d.Refresh
	switch {
	case rf == nil:
		fmt.Fprintln(w, "Refresh: none has finished yet")
		return
	case d.Ran:
		fmt.Fprintln(w, "Refresh: run by this request")
	default:
		fmt.Fprintln(w, "Refresh: the account's last one (this request made no upstream call)")
	}
	fmt.Fprintf(w, "  started %s, took %s, result %s (%s)\n",
		rf.Start.UTC().Format(time.RFC3339), rf.End.Sub(rf.Start).Round(time.Millisecond), rf.Result, collector.ResultMeaning(rf.Result))
	if rf.Err != nil {
		fmt.Fprintf(w, "  error: %v\n", rf.Err)
	}
	for _, n := range rf.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "Upstream requests: %d\n", len(rf.Requests))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, q := range rf.Requests {
		status := "-"
		if q.StatusCode != 0 {
			status = fmt.Sprint(q.StatusCode)
		}
		fmt.Fprintf(tw, "  #%d\t%s\t%s\t%s\t%.1fms\t%d bytes\t%s\n",
			i+1, q.Method, q.URL, status, float64(q.Elapsed)/float64(time.Millisecond), q.Bytes, q.Result)
	}
	_ = tw.Flush() // w is the response; a failed write has nobody to tell
	for i, q := range rf.Requests {
		if q.Err != nil {
			fmt.Fprintf(w, "  #%d failed: %v\n", i+1, q.Err)
		}
	}
}

// dataLine says what vendor data is served.
func dataLine(st collector.AccountStatus) string {
	if !st.Serving {
		return "no vendor data served"
	}
	return fmt.Sprintf("serving data %s old (last success %s)", st.DataAge.Round(time.Second), st.LastSuccess.UTC().Format(time.RFC3339))
}

// nextRefresh says when a scrape next refreshes the account.
func nextRefresh(st collector.AccountStatus, now time.Time) string {
	if !st.NextRefresh.After(now) {
		return "at the next scrape"
	}
	return fmt.Sprintf("at the first scrape after %s (in %s)", st.NextRefresh.UTC().Format(time.RFC3339), st.NextRefresh.Sub(now).Round(time.Second))
}
