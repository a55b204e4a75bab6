package simulator

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
