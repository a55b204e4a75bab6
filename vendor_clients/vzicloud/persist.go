package vzicloud

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Expiries keeps its instants unexported (they are an index, not an API),
// so it says itself how it is stored: the permanent count, then each
// distinct instant as a delta from the previous one with its count, all as
// varints. Encoding/gob uses these, so a Snapshot can be kept across restarts.

// GobEncode implements gob.GobEncoder.
func (e *Expiries) GobEncode() ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(e.Permanent))
	b = binary.AppendUvarint(b, uint64(len(e.at)))
	var prev int64
	for i, at := range e.at {
		b = binary.AppendVarint(b, at-prev)
		b = binary.AppendUvarint(b, uint64(e.before[i+1]-e.before[i]))
		prev = at
	}
	return b, nil
}

var errBadExpiries = errors.New("vzicloud: stored expiries are malformed")

// maxCount bounds a stored count far above any real account's grants, so
// that sums of counts cannot overflow.
const maxCount = 1 << 40

// GobDecode implements gob.GobDecoder. It refuses anything GobEncode would
// not have written, so a damaged file cannot make a search misbehave.
func (e *Expiries) GobDecode(b []byte) error {
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		b = b[max(n, 0):]
		return v, n > 0
	}
	permanent, ok1 := next()
	n, ok2 := next()
	if !ok1 || !ok2 || permanent > maxCount || n > uint64(len(b)) { // an instant takes two bytes or more
		return errBadExpiries
	}
	var at []int64 // nil when empty, as aggregate makes it
	var counts []int
	if n > 0 {
		at, counts = make([]int64, n), make([]int, n)
	}
	var prev int64
	for i := range at {
		delta, m := binary.Varint(b)
		if m <= 0 || (i > 0 && delta <= 0) {
			return errBadExpiries
		}
		b = b[m:]
		count, ok := next()
		if !ok || count > maxCount {
			return errBadExpiries
		}
		prev += delta
		at[i], counts[i] = prev, int(count)
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d bytes left over", errBadExpiries, len(b))
	}
	*e = *newExpiries(int(permanent), at, func(i int) int { return counts[i] })
	return nil
}
