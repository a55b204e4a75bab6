package upstream

// JSON types that accept what the vendors actually send: numbers as numbers
// or as strings, with stray spaces, null, "" or nothing for "not given".
// Their errors name the JSON kind received and the form expected, never the
// value: a field the vendor misplaced may hold a secret. Errors are
// *json.UnmarshalTypeError so that encoding/json adds the field path.

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Number is a count or amount: a JSON number or a string holding one.
// Valid is false for null, "", a blank string or an absent field. Value is
// exact for integers up to 2^53 (ids beyond that belong in Text).
type Number struct {
	Value float64
	Valid bool
}

// Code is an integer status or error code: 1, "1" and "01" are all 1.
// Valid is false for null, "" or an absent field, and also for any other
// string or a non-integer number: a code outside the documented set is
// "unknown" to the caller, not a reason to reject the whole answer.
type Code struct {
	Value int64
	Valid bool
}

// Text is a string; a number is taken as its literal text, so an id sent as
// 100004605132 or "100004605132" reads the same, at any size. null is "".
type Text string

// Flag is a 0/1 switch sent as a number, a string or a JSON boolean.
// Valid is false for null, "" or an absent field, so "not given" never
// reads as false.
type Flag struct {
	Value bool
	Valid bool
}

const (
	wantNumber = "a number or a numeric string"
	wantCode   = "an integer code as a number or a string"
	wantText   = "a string or a number"
	wantFlag   = "0, 1 or a boolean, as such or as a string"
)

// UnmarshalJSON implements json.Unmarshaler.
func (n *Number) UnmarshalJSON(b []byte) error {
	*n = Number{}
	kind, text := scalarOf(b)
	switch kind {
	case kindNull:
		return nil
	case kindString, kindNumber:
		text = strings.TrimSpace(text)
		if text == "" {
			return nil
		}
		v, err := parseNumber(text)
		if errors.Is(err, strconv.ErrRange) {
			return typeError("out-of-range number", wantNumber, n)
		}
		if err == nil {
			*n = Number{Value: v, Valid: true}
			return nil
		}
	}
	return typeError(kind.String(), wantNumber, n)
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Code) UnmarshalJSON(b []byte) error {
	if v, ok := plainInteger(b); ok { // what vendors send almost always
		*c = Code{Value: v, Valid: true}
		return nil
	}
	*c = Code{}
	kind, text := scalarOf(b)
	switch kind {
	case kindNull:
		return nil
	case kindString, kindNumber:
		if v, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64); err == nil {
			*c = Code{Value: v, Valid: true}
		}
		return nil
	}
	return typeError(kind.String(), wantCode, c)
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	*t = ""
	kind, text := scalarOf(b)
	switch kind {
	case kindNull:
		return nil
	case kindString, kindNumber:
		*t = Text(text)
		return nil
	}
	return typeError(kind.String(), wantText, t)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Flag) UnmarshalJSON(b []byte) error {
	*f = Flag{}
	kind, text := scalarOf(b)
	switch kind {
	case kindNull:
		return nil
	case kindBool, kindString, kindNumber:
		text = strings.TrimSpace(text)
		if text == "" {
			return nil
		}
		if text == "true" || text == "false" {
			*f = Flag{Value: text == "true", Valid: true}
			return nil
		}
		// Numerically, so that 1.0 (from a decimal type) is 1 too.
		if v, err := parseNumber(text); err == nil && (v == 0 || v == 1) {
			*f = Flag{Value: v == 1, Valid: true}
			return nil
		}
	}
	return typeError(kind.String(), wantFlag, f)
}

// parseNumber parses s only if it is a JSON number literal: strconv alone
// would also take "NaN", "Inf", "0x1p4" and "1_000", which no vendor means.
// Its error never quotes s (strconv's does).
func parseNumber(s string) (float64, error) {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) || !json.Valid([]byte(s)) {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, strconv.ErrRange // a JSON number literal fails only by range
	}
	return v, nil
}

// jsonKind is the kind of a JSON value, named in errors instead of the value.
type jsonKind int

const (
	kindInvalid jsonKind = iota
	kindNull
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

func (k jsonKind) String() string {
	return [...]string{"invalid JSON", "null", "bool", "number", "string", "object", "array"}[k]
}

// scalarOf returns the kind of the JSON value b and, for a string, a number
// or a boolean, its text: a string unquoted, a number or boolean as written.
// encoding/json passes only valid JSON, but direct callers may not.
func scalarOf(b []byte) (jsonKind, string) {
	b = bytes.TrimSpace(b)
	// Fast paths for the common values, which are valid JSON as they are.
	if text, ok := plainString(b); ok {
		return kindString, string(text)
	}
	if _, ok := plainInteger(b); ok { // unquoted: a quoted one is a plain string
		return kindNumber, string(b)
	}
	return scalarOfAny(b)
}

// scalarOfAny is scalarOf for any b, trimmed.
func scalarOfAny(b []byte) (jsonKind, string) {
	if !json.Valid(b) {
		return kindInvalid, ""
	}
	switch b[0] {
	case 'n':
		return kindNull, ""
	case 't', 'f':
		return kindBool, string(b)
	case '{':
		return kindObject, ""
	case '[':
		return kindArray, ""
	case '"':
		var s string
		if json.Unmarshal(b, &s) != nil {
			return kindInvalid, "" // unreachable for valid JSON
		}
		return kindString, s
	default:
		return kindNumber, string(b)
	}
}

// plainInteger reads an integer JSON literal with at most 18 digits, so it
// cannot overflow; or "1" and "01", such an integer in a string with no
// other characters. Anything else is left to the general reading.
func plainInteger(b []byte) (int64, bool) {
	digits := b
	quoted := len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"'
	if quoted {
		digits = b[1 : len(b)-1]
	}
	negative := len(digits) > 0 && digits[0] == '-'
	if negative {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 || (!quoted && digits[0] == '0' && len(digits) > 1) {
		return 0, false // a bare leading zero is not JSON
	}
	var v int64
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
		v = v*10 + int64(d-'0')
	}
	if negative {
		v = -v
	}
	return v, true
}

// plainString returns the text of a JSON string that needs no unquoting:
// no escapes, no control characters, valid UTF-8.
func plainString(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return nil, false
	}
	text := b[1 : len(b)-1]
	for _, c := range text {
		if c < 0x20 || c == '"' || c == '\\' {
			return nil, false
		}
	}
	return text, utf8.Valid(text)
}

// typeError reports a value of kind got where want was expected, for the
// Go type of target.
func typeError(got, want string, target any) error {
	return &json.UnmarshalTypeError{
		Value: got + " (expected " + want + ")",
		Type:  reflect.TypeOf(target).Elem(),
	}
}

var (
	errDate      = errors.New("expected a date YYYY-MM-DD")
	errLocalTime = errors.New("expected a time YYYY-MM-DD HH:MM:SS")
)

// ChinaTime is the zone the vendors document for their dates, for a client
// given no zone; China has kept UTC+8 without DST since 1991.
var ChinaTime = time.FixedZone("CST", 8*60*60)

// ParseDate reads a date-only value, YYYY-MM-DD, as 00:00 of that day in
// loc (the vendors' dates carry no zone). Surrounding spaces are ignored; an
// empty or blank s gives the zero Time and no error: the vendor did not say.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	return parseIn(time.DateOnly, s, loc, errDate)
}

// ParseLocalTime reads YYYY-MM-DD HH:MM:SS, optionally with fractional
// seconds, as a time in loc; blank s gives the zero Time like ParseDate.
func ParseLocalTime(s string, loc *time.Location) (time.Time, error) {
	// time.Parse takes a fraction after the seconds without a layout for it.
	return parseIn(time.DateTime, s, loc, errLocalTime)
}

func parseIn(layout, s string, loc *time.Location, malformed error) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, malformed // time's own error quotes s
	}
	return t, nil
}
