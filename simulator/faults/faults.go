// Package faults makes a simulated vendor (package simulator) fail the way
// real upstreams do: slow, refusing, answering gateway pages, broken,
// oversized or dripped bodies, redirecting. Tests and benchmarks put an
// Injector in front of a simulator and change its fault while the exporter
// scrapes. It is a package of its own so that the exporter binary, which
// links package simulator for `--demo`, does not carry it.
package faults

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quotaexporter/quota_exporter/simulator"
)

// Kind is one way an upstream misbehaves.
type Kind int

// The fault kinds. Each answers every request (any path) while in force.
const (
	// None: the vendor answers normally.
	None Kind = iota
	// Latency waits Fault.Delay, then the vendor answers normally; a
	// request canceled meanwhile gets no answer.
	Latency
	// Status answers Fault.Status (500 if unset) with a web framework's
	// small JSON error body, not the vendor's envelope.
	Status
	// HTML answers 502 with nginx's HTML error page, as a gateway in
	// front of the vendor does.
	HTML
	// Unauthorized answers 401 with the vendor's own body for rejected
	// credentials, even to the right ones (a revoked token).
	Unauthorized
	// RateLimited answers 429 with Retry-After: Fault.RetryAfter in
	// whole seconds, rounded up.
	RateLimited
	// Malformed answers 200 with a JSON content type and a body that is
	// not JSON.
	Malformed
	// Truncated answers 200 with the first half of the vendor's normal
	// body: complete HTTP framing around incomplete JSON.
	Truncated
	// Empty answers 200 with an empty body.
	Empty
	// Oversized answers 200 with exactly Fault.Size bytes of a JSON
	// object, generated while it is sent.
	Oversized
	// Drip sends the vendor's normal answer: the header at once, then the
	// body a few bytes at a time, spread evenly over Fault.Delay, so the
	// whole takes at least Delay.
	Drip
	// WrongTypes answers 200 with the vendor's success envelope whose
	// fields have the wrong JSON types (objects, arrays, booleans).
	WrongTypes
	// RedirectLoop answers 302 to the request's own URL.
	RedirectLoop
	// VendorError answers the vendor's own error envelope for Fault.Code
	// (0: the vendor's default code), with the HTTP status the vendor
	// sends it with.
	VendorError
	// Redirect answers Fault.Status (307 if unset) with a Location on
	// Fault.Target, another origin, keeping the request's path and query:
	// a hostile or misconfigured upstream sending the credentials elsewhere.
	Redirect
	// NoData answers 200 with the vendor's success envelope without its
	// data field: an answer that must not read as an empty account.
	NoData
	// DeclaredLength answers 200 declaring a Content-Length of Fault.Size
	// and sends only the first bytes of a JSON object: a client must
	// refuse the length before reading, not wait for the rest.
	DeclaredLength

	kinds // the number of kinds, for validation
)

var names = [kinds]string{
	None:           "none",
	Latency:        "latency",
	Status:         "status",
	HTML:           "html",
	Unauthorized:   "unauthorized",
	RateLimited:    "rate_limited",
	Malformed:      "malformed",
	Truncated:      "truncated",
	Empty:          "empty",
	Oversized:      "oversized",
	Drip:           "drip",
	WrongTypes:     "wrong_types",
	RedirectLoop:   "redirect_loop",
	VendorError:    "vendor_error",
	Redirect:       "redirect",
	NoData:         "no_data",
	DeclaredLength: "declared_length",
}

func (k Kind) String() string {
	if k >= 0 && k < kinds {
		return names[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is what an Injector does instead of, or on top of, letting the
// vendor answer normally. The zero value is no fault. Each parameter applies to the kinds
// named on it and is ignored by the others.
type Fault struct {
	Kind Kind
	// Delay is how long latency waits and how long drip spreads the body over.
	Delay time.Duration
	// Status is the HTTP status of Status (0 means 500) and of Redirect (0
	// means 307).
	Status int
	// Target is the scheme and host Redirect sends the client to.
	Target string
	// RetryAfter is the Retry-After of RateLimited.
	RetryAfter time.Duration
	// Size is the body length of Oversized and the declared length of
	// DeclaredLength, in bytes.
	Size int64
	// Code selects the vendor's error for VendorError; 0 means the vendor's
	// default.
	Code int
	// After, if positive, is how many requests are answered normally
	// before the fault starts: the first page of a paged answer, say.
	After int
	// Times, if positive, limits the fault to the next Times requests,
	// after which the vendor answers normally again. Otherwise the
	// fault stays until replaced.
	Times int
}

// Injector serves a simulated vendor with the fault in force in front of
// it, and counts requests. Its methods are safe for concurrent use, so a
// test can change the fault while the exporter scrapes.
type Injector struct {
	vendor   http.Handler
	bodies   simulator.FaultBodies
	requests atomic.Int64

	mu    sync.Mutex
	fault Fault
}

// Wrap returns an Injector in front of vendor, with no fault in force.
func Wrap(vendor simulator.Vendor) *Injector {
	return &Injector{vendor: vendor, bodies: vendor.FaultBodies()}
}

// Requests is the number of requests received so far, faulted or not, on
// any path.
func (inj *Injector) Requests() int64 { return inj.requests.Load() }

// SetFault puts f in force from the next request on; Fault{} clears it. It
// panics on an unknown kind, a mistake in the calling test.
func (inj *Injector) SetFault(f Fault) {
	if f.Kind < 0 || f.Kind >= kinds {
		panic(fmt.Sprintf("faults: unknown kind %d", f.Kind))
	}
	inj.mu.Lock()
	defer inj.mu.Unlock()
	inj.fault = f
}

// Fault returns the fault in force; its Times is what remains of it.
func (inj *Injector) Fault() Fault {
	inj.mu.Lock()
	defer inj.mu.Unlock()
	return inj.fault
}

// take returns the fault for one request and uses up one of its Times.
func (inj *Injector) take() Fault {
	inj.mu.Lock()
	defer inj.mu.Unlock()
	if inj.fault.After > 0 {
		inj.fault.After--
		return Fault{}
	}
	f := inj.fault
	if inj.fault.Times > 0 {
		inj.fault.Times--
		if inj.fault.Times == 0 {
			inj.fault = Fault{}
		}
	}
	return f
}

// ServeHTTP counts the request and answers it as the fault in force says.
func (inj *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inj.requests.Add(1)
	f := inj.take()
	switch f.Kind {
	case None:
		inj.vendor.ServeHTTP(w, r)
	case Latency:
		if sleep(r.Context(), f.Delay) {
			inj.vendor.ServeHTTP(w, r)
		}
	case Status:
		status := cmp.Or(f.Status, http.StatusInternalServerError)
		writeBody(w, status, jsonType, frameworkError(status, r))
	case HTML:
		writeBody(w, http.StatusBadGateway, htmlType, []byte(nginxBadGateway))
	case Unauthorized:
		writeBody(w, http.StatusUnauthorized, jsonType, inj.bodies.Unauthorized)
	case RateLimited:
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		writeBody(w, http.StatusTooManyRequests, jsonType, frameworkError(http.StatusTooManyRequests, r))
	case Malformed:
		writeBody(w, http.StatusOK, jsonType, []byte(malformedJSON))
	case Truncated:
		rec := inj.record(r)
		writeBody(w, http.StatusOK, rec.header.Get("Content-Type"), rec.body.Bytes()[:rec.body.Len()/2])
	case Empty:
		writeBody(w, http.StatusOK, jsonType, nil)
	case Oversized:
		oversized(w, f.Size)
	case Drip:
		drip(w, r, inj.record(r), f.Delay)
	case WrongTypes:
		writeBody(w, http.StatusOK, jsonType, inj.bodies.WrongTypes)
	case RedirectLoop:
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
	case VendorError:
		status, body := inj.bodies.VendorError(f.Code)
		writeBody(w, status, jsonType, body)
	case Redirect:
		http.Redirect(w, r, f.Target+r.URL.RequestURI(), cmp.Or(f.Status, http.StatusTemporaryRedirect))
	case NoData:
		writeBody(w, http.StatusOK, jsonType, inj.bodies.NoData)
	case DeclaredLength:
		w.Header().Set("Content-Type", jsonType)
		w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, oversizedHead) // net/http closes the connection short of the length
	}
}
