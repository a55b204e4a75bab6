// Package simulator holds working imitations of the vendor APIs the exporter
// reads. `--demo` runs the exporter against them (StartDemo), and tests use
// them as upstreams whose data they control. The failures tests inject in
// front of them are package simulator/faults, kept apart so that the
// exporter binary, which links this package for `--demo`, does not carry
// them.
package simulator

import (
	"net/http"
	"strconv"
)

// Vendor is a simulated vendor API: AIOps, VZICloud, Tingyun or Guoyangyun.
type Vendor interface {
	http.Handler
	// FaultBodies are the vendor's own answers for the faults a fault
	// injector in front of it sends.
	FaultBodies() FaultBodies
}

// FaultBodies are the answers only a vendor knows, for the faults whose
// body is the vendor's own rather than a gateway's or a web framework's.
// Each body is JSON.
type FaultBodies struct {
	Unauthorized []byte // its refusal of credentials
	WrongTypes   []byte // its success envelope with fields of the wrong JSON types
	NoData       []byte // its success envelope without its data
	// VendorError is its error envelope for code (0 for its default) and
	// the HTTP status it comes with.
	VendorError func(code int) (status int, body []byte)
}

// jsonType is the content type every vendor answers with.
const jsonType = "application/json;charset=UTF-8"

// writeBody sends a complete answer.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that went away needs no answer
}
