// Package simulator holds working imitations of the vendor APIs the exporter
// reads. `--demo` runs the exporter against them (StartDemo), and tests use
// them as upstreams whose data they control and whose failures they inject
// (Fault) while the exporter scrapes.
//
// Every vendor simulator embeds a harness: it counts requests and applies
// the fault in force before the vendor's own handler runs. A vendor
// simulator supplies only its handler and the few bodies only it knows
// (FaultBodies).
package simulator

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FaultKind is one way an upstream misbehaves.
type FaultKind int

// The fault kinds. Each answers every request (any path) while in force.
const (
	// FaultNone: the vendor answers normally.
	FaultNone FaultKind = iota
	// FaultLatency waits Fault.Delay, then the vendor answers normally; a
	// request canceled meanwhile gets no answer.
	FaultLatency
	// FaultStatus answers Fault.Status (500 if unset) with a web
	// framework's small JSON error body, not the vendor's envelope.
	FaultStatus
	// FaultHTML answers 502 with nginx's HTML error page, as a gateway in
	// front of the vendor does.
	FaultHTML
	// FaultUnauthorized answers 401 with the vendor's own body for
	// rejected credentials, even to the right ones (a revoked token).
	FaultUnauthorized
	// FaultRateLimited answers 429 with Retry-After: Fault.RetryAfter in
	// whole seconds, rounded up.
	FaultRateLimited
	// FaultMalformed answers 200 with a JSON content type and a body that
	// is not JSON.
	FaultMalformed
	// FaultTruncated answers 200 with the first half of the vendor's
	// normal body: complete HTTP framing around incomplete JSON.
	FaultTruncated
	// FaultEmpty answers 200 with an empty body.
	FaultEmpty
	// FaultOversized answers 200 with exactly Fault.Size bytes of a JSON
	// object, generated while it is sent.
	FaultOversized
	// FaultDrip sends the vendor's normal answer: the header at once, then
	// the body a few bytes at a time, spread evenly over Fault.Delay, so
	// the whole takes at least Delay.
	FaultDrip
	// FaultWrongTypes answers 200 with the vendor's success envelope whose
	// fields have the wrong JSON types (objects, arrays, booleans).
	FaultWrongTypes
	// FaultRedirectLoop answers 302 to the request's own URL.
	FaultRedirectLoop
	// FaultVendorError answers the vendor's own error envelope for
	// Fault.Code (0: the vendor's default code), with the HTTP status the
	// vendor sends it with.
	FaultVendorError
	// FaultRedirect answers Fault.Status (307 if unset) with a Location on
	// Fault.Target, another origin, keeping the request's path and query:
	// a hostile or misconfigured upstream sending the credentials elsewhere.
	FaultRedirect
	// FaultNoData answers 200 with the vendor's success envelope without
	// its data field: an answer that must not read as an empty account.
	FaultNoData
	// FaultDeclaredLength answers 200 declaring a Content-Length of
	// Fault.Size and sends only the first bytes of a JSON object: a client
	// must refuse the length before reading, not wait for the rest.
	FaultDeclaredLength

	faultKinds // the number of kinds, for validation
)

var faultNames = [faultKinds]string{
	FaultNone:           "none",
	FaultLatency:        "latency",
	FaultStatus:         "status",
	FaultHTML:           "html",
	FaultUnauthorized:   "unauthorized",
	FaultRateLimited:    "rate_limited",
	FaultMalformed:      "malformed",
	FaultTruncated:      "truncated",
	FaultEmpty:          "empty",
	FaultOversized:      "oversized",
	FaultDrip:           "drip",
	FaultWrongTypes:     "wrong_types",
	FaultRedirectLoop:   "redirect_loop",
	FaultVendorError:    "vendor_error",
	FaultRedirect:       "redirect",
	FaultNoData:         "no_data",
	FaultDeclaredLength: "declared_length",
}

func (k FaultKind) String() string {
	if k >= 0 && k < faultKinds {
		return faultNames[k]
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is what a simulator does instead of, or on top of, answering
// normally. The zero value is no fault. Each parameter applies to the kinds
// named on it and is ignored by the others.
type Fault struct {
	Kind FaultKind
	// Delay is how long latency waits and how long drip spreads the body over.
	Delay time.Duration
	// Status is the HTTP status of FaultStatus (0 means 500) and of
	// FaultRedirect (0 means 307).
	Status int
	// Target is the scheme and host FaultRedirect sends the client to.
	Target string
	// RetryAfter is the Retry-After of FaultRateLimited.
	RetryAfter time.Duration
	// Size is the body length of FaultOversized and the declared length of
	// FaultDeclaredLength, in bytes.
	Size int64
	// Code selects the vendor's error for FaultVendorError; 0 means the
	// vendor's default.
	Code int
	// After, if positive, is how many requests are answered normally
	// before the fault starts: the first page of a paged answer, say.
	After int
	// Times, if positive, limits the fault to the next Times requests,
	// after which the simulator answers normally again. Otherwise the
	// fault stays until replaced.
	Times int
}

// harness is the part every vendor simulator shares, embedded in each so
// that its methods are the simulator's: a request counter and fault
// injection in front of the vendor's handler. Its methods are safe for
// concurrent use, so tests can change faults while the exporter scrapes.
type harness struct {
	vendor   http.Handler
	bodies   FaultBodies
	requests atomic.Int64

	mu    sync.Mutex
	fault Fault
}

func newHarness(vendor http.Handler, bodies FaultBodies) *harness {
	return &harness{vendor: vendor, bodies: bodies}
}

// Requests is the number of requests received so far, faulted or not, on
// any path.
func (h *harness) Requests() int64 { return h.requests.Load() }

// SetFault puts f in force from the next request on; Fault{} clears it. It
// panics on an unknown kind, a mistake in the calling test.
func (h *harness) SetFault(f Fault) {
	if f.Kind < 0 || f.Kind >= faultKinds {
		panic(fmt.Sprintf("simulator: unknown fault kind %d", f.Kind))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fault = f
}

// Fault returns the fault in force; its Times is what remains of it.
func (h *harness) Fault() Fault {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fault
}

// take returns the fault for one request and uses up one of its Times.
func (h *harness) take() Fault {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fault.After > 0 {
		h.fault.After--
		return Fault{}
	}
	f := h.fault
	if h.fault.Times > 0 {
		h.fault.Times--
		if h.fault.Times == 0 {
			h.fault = Fault{}
		}
	}
	return f
}

const (
	jsonType = "application/json;charset=UTF-8"
	htmlType = "text/html"
	// dripChunk is how many bytes drip sends at a time.
	dripChunk = 4
)

// nginxBadGateway is nginx's own 502 page, byte for byte.
const nginxBadGateway = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
	"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

// malformedJSON looks like JSON to a glance, a content type or a first byte
// check, and is not.
const malformedJSON = `{"success": true, "data": [{'id': 1, "total": NaN,}]}`

// The oversized body is this head, padding and tail: one valid JSON object.
const (
	oversizedHead = `{"padding":"`
	oversizedTail = `"}`
)

// ServeHTTP counts the request and answers it as the fault in force says.
func (h *harness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	f := h.take()
	switch f.Kind {
	case FaultNone:
		h.vendor.ServeHTTP(w, r)
	case FaultLatency:
		if sleep(r.Context(), f.Delay) {
			h.vendor.ServeHTTP(w, r)
		}
	case FaultStatus:
		status := cmp.Or(f.Status, http.StatusInternalServerError)
		writeBody(w, status, jsonType, frameworkError(status, r))
	case FaultHTML:
		writeBody(w, http.StatusBadGateway, htmlType, []byte(nginxBadGateway))
	case FaultUnauthorized:
		writeBody(w, http.StatusUnauthorized, jsonType, h.bodies.Unauthorized)
	case FaultRateLimited:
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		writeBody(w, http.StatusTooManyRequests, jsonType, frameworkError(http.StatusTooManyRequests, r))
	case FaultMalformed:
		writeBody(w, http.StatusOK, jsonType, []byte(malformedJSON))
	case FaultTruncated:
		rec := h.record(r)
		writeBody(w, http.StatusOK, rec.header.Get("Content-Type"), rec.body.Bytes()[:rec.body.Len()/2])
	case FaultEmpty:
		writeBody(w, http.StatusOK, jsonType, nil)
	case FaultOversized:
		oversized(w, f.Size)
	case FaultDrip:
		drip(w, r, h.record(r), f.Delay)
	case FaultWrongTypes:
		writeBody(w, http.StatusOK, jsonType, h.bodies.WrongTypes)
	case FaultRedirectLoop:
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
	case FaultVendorError:
		status, body := h.bodies.VendorError(f.Code)
		writeBody(w, status, jsonType, body)
	case FaultRedirect:
		http.Redirect(w, r, f.Target+r.URL.RequestURI(), cmp.Or(f.Status, http.StatusTemporaryRedirect))
	case FaultNoData:
		writeBody(w, http.StatusOK, jsonType, h.bodies.NoData)
	case FaultDeclaredLength:
		w.Header().Set("Content-Type", jsonType)
		w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, oversizedHead) // net/http closes the connection short of the length
	}
}

// writeBody sends a complete answer.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that went away needs no answer
}

// frameworkError is the generic JSON error body a web framework (Spring
// Boot's shape) sends before the vendor's own code runs: not the vendor's
// envelope. The path is echoed without the query, which may hold a secret.
func frameworkError(status int, r *http.Request) []byte {
	body, _ := json.Marshal(struct {
		Status int    `json:"status"`
		Error  string `json:"error"`
		Path   string `json:"path"`
	}{status, http.StatusText(status), r.URL.Path}) // cannot fail: strings and an int
	return body
}

// sleep waits d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// oversized streams size bytes of {"padding":"xxx…"} (its first size bytes
// when size is below 14), never holding more than a copy buffer.
func oversized(w http.ResponseWriter, size int64) {
	// No Content-Length: a client must enforce its limit while reading, not
	// only trust a declared length.
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(http.StatusOK)
	pad := max(size-int64(len(oversizedHead)+len(oversizedTail)), 0)
	body := io.MultiReader(strings.NewReader(oversizedHead), io.LimitReader(fill('x'), pad), strings.NewReader(oversizedTail))
	_, _ = io.CopyN(w, body, size) // stops early only when the client went away
}

// fill is an endless reader of one byte.
type fill byte

func (f fill) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f)
	}
	return len(p), nil
}

// drip sends rec slowly: the header at once, then each chunk of the body
// once its share of total has passed since the start, so that the whole
// takes at least total however long the writes themselves take.
func drip(w http.ResponseWriter, r *http.Request, rec *recorder, total time.Duration) {
	body := rec.body.Bytes()
	w.Header().Set("Content-Type", rec.header.Get("Content-Type"))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	chunks := time.Duration((len(body) + dripChunk - 1) / dripChunk)
	start := time.Now()
	var sent time.Duration // chunks sent, a Duration to scale total by
	for chunk := range slices.Chunk(body, dripChunk) {
		sent++
		if !sleep(r.Context(), time.Until(start.Add(total*sent/chunks))) {
			return
		}
		if _, err := w.Write(chunk); err != nil || rc.Flush() != nil {
			return
		}
	}
}

// recorder keeps the vendor handler's answer, for the faults that deliver
// the real answer altered.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// record runs the vendor handler on r into a recorder.
func (h *harness) record(r *http.Request) *recorder {
	rec := &recorder{header: http.Header{}}
	h.vendor.ServeHTTP(rec, r)
	rec.status = cmp.Or(rec.status, http.StatusOK) // a handler that wrote nothing
	return rec
}

func (rec *recorder) Header() http.Header { return rec.header }

// WriteHeader keeps the first status, as net/http does.
func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(p []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.Write(p)
}
