package server

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/quotaexporter/quota_exporter/collector"
)

//go:embed status.html.tmpl
var statusHTML string

// statusTemplate is parsed once; html/template escapes every value (account
// names and vendor error messages included).
var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// statusPage is the data of the status page.
type statusPage struct {
	web.LandingConfig
	Now     string
	Summary []stateCount
	Total   int
	Rows    []statusRow
}

type stateCount struct {
	State collector.State
	N     int
}

// statusRow is one account, its times already in words.
type statusRow struct {
	collector.AccountStatus
	LastSuccessText, LastSuccessAgo string
	DataAgeText                     string
	NextRefreshText                 string
	BackoffText                     string
	Meaning                         string
	ProbeURL, DebugURL              string
	DashboardURL                    string // "" without --web.grafana-url
}

// statesInOrder is the summary's order: what needs a person first.
var statesInOrder = []collector.State{collector.StateFailing, collector.StateStale, collector.StateWaiting, collector.StateOK}

// parseGrafanaURL checks --web.grafana-url: an absolute http(s) URL.
func parseGrafanaURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Error would print the URL, which may hold credentials.
		return nil, fmt.Errorf("the Grafana dashboard URL must be an absolute http or https URL")
	}
	return u, nil
}

// serveStatus renders the status page from the accounts' state: it never
// calls a vendor.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	now := s.opts.Clock()
	page := statusPage{LandingConfig: s.opts.Landing, Now: now.UTC().Format(time.DateTime + " MST")}
	counts := map[collector.State]int{}
	for _, st := range s.opts.Exporter.Status() {
		counts[st.State]++
		page.Rows = append(page.Rows, s.statusRow(st, now))
	}
	page.Total = len(page.Rows)
	for _, state := range statesInOrder {
		page.Summary = append(page.Summary, stateCount{State: state, N: counts[state]})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // a state page: always read it anew
	if err := statusTemplate.Execute(w, page); err != nil {
		level.Error(s.opts.Logger).Log("msg", "rendering the status page failed", "err", err)
	}
}

func (s *Server) statusRow(st collector.AccountStatus, now time.Time) statusRow {
	account := url.Values{"account": {st.Name}}
	row := statusRow{
		AccountStatus:   st,
		LastSuccessText: "never",
		DataAgeText:     "no data served",
		NextRefreshText: nextRefreshShort(st, now),
		Meaning:         collector.ResultMeaning(st.LastResult),
		ProbeURL:        "/probe?" + account.Encode(),
	}
	account.Set("debug", "true")
	row.DebugURL = "/probe?" + account.Encode()
	if !st.LastSuccess.IsZero() {
		row.LastSuccessText = st.LastSuccess.UTC().Format(time.DateTime + " MST")
		row.LastSuccessAgo = humanDuration(now.Sub(st.LastSuccess)) + " ago"
	}
	if st.Serving {
		row.DataAgeText = humanDuration(st.DataAge)
	}
	if st.Backoff > 0 {
		row.BackoffText = humanDuration(st.Backoff) + " left"
	}
	if s.grafana != nil {
		u := *s.grafana
		q := u.Query()
		q.Set("var-account", st.Name)
		q.Set("var-vendor", st.Vendor)
		u.RawQuery = q.Encode()
		row.DashboardURL = u.String()
	}
	return row
}

// nextRefreshShort is nextRefresh for a table cell.
func nextRefreshShort(st collector.AccountStatus, now time.Time) string {
	if !st.NextRefresh.After(now) {
		return "next scrape"
	}
	return "in " + humanDuration(st.NextRefresh.Sub(now))
}

// humanDuration rounds d to what a person needs: "45s", "5m", "3h 5m", "2d 4h".
func humanDuration(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}
