package simulator

import (
	"fmt"
	"strconv"
)

// Wire is how a Count goes on the wire. Vendors document counts as strings
// of digits but also send JSON numbers and null; simulators send all three
// so that clients prove they accept them.
type Wire int

// The encodings of a Count.
const (
	WireString Wire = iota // "300", as documented
	WireNumber             // 300
	WireNull               // null; the value is ignored
)

// Count is an integer together with its encoding on the wire.
type Count struct {
	Value int64
	Wire  Wire
}

// MarshalJSON implements json.Marshaler.
func (c Count) MarshalJSON() ([]byte, error) {
	switch c.Wire {
	case WireString:
		return strconv.AppendQuote(nil, strconv.FormatInt(c.Value, 10)), nil
	case WireNumber:
		return strconv.AppendInt(nil, c.Value, 10), nil
	case WireNull:
		return []byte("null"), nil
	}
	return nil, fmt.Errorf("simulator: unknown Wire %d", c.Wire)
}
