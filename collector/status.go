package collector

import (
	"time"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// State is an account's condition as a person reads it on the status page.
type State string

// The states of an account.
const (
	StateOK      State = "ok"      // the last refresh succeeded
	StateStale   State = "stale"   // the last refresh failed; the last good data is still served (younger than max_stale)
	StateFailing State = "failing" // the last refresh failed and no vendor data is served
	StateWaiting State = "waiting" // no refresh has finished yet
)

// AccountStatus is what the exporter knows of one account, read from its
// state without calling the vendor. Nothing in it is secret.
type AccountStatus struct {
	Name   string
	Vendor string
	Shard  int // index of the replica that owns the account (this one)
	State  State
	// LastSuccess is the end of the last successful refresh; zero if none.
	LastSuccess time.Time
	// Serving says vendor data is served; DataAge is its age then.
	Serving bool
	DataAge time.Duration
	// NextRefresh is when a scrape will next refresh the account: when the
	// data is old enough to refresh ahead (4/5 of cache_ttl) or the backoff
	// ends. Zero: the next scrape refreshes.
	NextRefresh time.Time
	Failures    int           // consecutive failed refreshes
	Backoff     time.Duration // time left before a refresh is allowed again; 0 when none
	// LastResult and LastError describe the last refresh: the result and,
	// after a failure, its error (safe to show: upstream errors carry
	// redacted URLs and scrubbed vendor messages). "" before any refresh.
	LastResult   upstream.Result
	LastError    string
	LastDuration time.Duration
	// CallsLastHour counts the upstream requests of the refreshes that ended
	// in the last hour (by the minute).
	CallsLastHour int
}

// refreshRecord is how one refresh went.
type refreshRecord struct {
	start, end time.Time
	err        error
	trace      *upstream.Trace
}

// Status returns every account's status, in configuration order.
func (e *Exporter) Status() []AccountStatus {
	e.mu.RLock()
	accounts := e.accounts
	e.mu.RUnlock()
	now := e.opts.Clock()
	out := make([]AccountStatus, len(accounts))
	for i, a := range accounts {
		out[i] = a.status(now)
		out[i].Shard = e.opts.Shard
	}
	return out
}

func (a *account) status(now time.Time) AccountStatus {
	a.mu.Lock()
	st := a.state
	calls := a.calls.total(now)
	a.mu.Unlock()

	s := AccountStatus{
		Name:          a.name,
		Vendor:        a.vendor,
		LastSuccess:   st.dataTime,
		Serving:       a.servable(st, now),
		Failures:      st.failures,
		CallsLastHour: calls,
	}
	if s.Serving {
		s.DataAge = now.Sub(st.dataTime)
	}
	if now.Before(st.retryAt) {
		s.Backoff = st.retryAt.Sub(now)
	}
	if st.data != nil {
		s.NextRefresh = a.refreshDue(st)
	}
	if st.retryAt.After(s.NextRefresh) {
		s.NextRefresh = st.retryAt
	}
	if st.last != nil {
		s.LastResult = upstream.ResultOf(st.last.err)
		s.LastDuration = st.last.end.Sub(st.last.start)
		if st.last.err != nil {
			s.LastError = st.last.err.Error()
		}
	}
	switch {
	case st.last == nil:
		s.State = StateWaiting
	case st.last.err == nil:
		s.State = StateOK
	case s.Serving:
		s.State = StateStale
	default:
		s.State = StateFailing
	}
	return s
}

// ResultMeaning says in words what a refresh's result means for the person
// on call.
func ResultMeaning(r upstream.Result) string {
	return resultMeanings[r]
}

var resultMeanings = map[upstream.Result]string{
	upstream.ResultSuccess:      "the vendor answered in full",
	upstream.ResultTimeout:      "no complete answer within the timeout",
	upstream.ResultNetworkError: "the vendor could not be reached (connection, DNS, TLS or redirect)",
	upstream.ResultHTTPError:    "the vendor answered with an HTTP error status",
	upstream.ResultAuthError:    "the vendor rejected the credentials",
	upstream.ResultRateLimited:  "the vendor's rate limit: backing off further",
	upstream.ResultAPIError:     "the vendor reported an error in its answer",
	upstream.ResultDecodeError:  "the answer is not the documented shape",
	upstream.ResultTooLarge:     "the answer exceeds the size or series limit",
	upstream.ResultSecretError:  "the account's secret file could not be read; nothing was sent",
}

// callWindow counts upstream requests per minute over the last hour, in a
// ring of one bucket per minute.
type callWindow struct {
	minute [60]int64 // Unix minute each bucket counts
	count  [60]int
}

func (w *callWindow) add(t time.Time, n int) {
	m := t.Unix() / 60
	i := m % 60
	if w.minute[i] != m {
		w.minute[i], w.count[i] = m, 0
	}
	w.count[i] += n
}

// total counts the requests of the current minute and the 59 before it.
func (w *callWindow) total(now time.Time) int {
	m := now.Unix() / 60
	sum := 0
	for i := range w.minute {
		if age := m - w.minute[i]; age >= 0 && age < 60 {
			sum += w.count[i]
		}
	}
	return sum
}
