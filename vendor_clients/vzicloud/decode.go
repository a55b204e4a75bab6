package vzicloud

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// grant holds the fields the exporter counts by, filled member by member
// (grant.field names them); the others (serial numbers, order numbers,
// remarks) are never decoded.
type grant struct {
	ProductID  upstream.Text
	Type       upstream.Code
	State      upstream.Code
	ExpireTime upstream.Code
}

// envelope is the part of an answer around the items: the paging fields on
// success, error_code and error_message on failure.
type envelope struct {
	Page         upstream.Number `json:"page"`
	Size         upstream.Number `json:"size"`
	Total        upstream.Number `json:"total"`
	ErrorCode    upstream.Code   `json:"error_code"`
	ErrorMessage upstream.Text   `json:"error_message"`
	items        bool            // an items array (not null) was read
}

// failure is the vendor's error envelope as an error, or nil when the
// envelope reports none. statusErr is what the HTTP status said, for its
// Retry-After.
func (e *envelope) failure(statusErr error, secrets []string) error {
	if !e.ErrorCode.Valid || e.ErrorCode.Value == 0 {
		return nil
	}
	f := upstream.VendorFailure(resultOf(e.ErrorCode.Value), strconv.FormatInt(e.ErrorCode.Value, 10),
		upstream.VendorMessage(string(e.ErrorMessage), secrets...))
	f.RetryAfter = upstream.RetryAfterOf(statusErr)
	return f
}

// The expire_times a timestamp holds without wrapping, in Unix seconds:
// 0001-01-01 to 9999-12-31 23:59:59 UTC.
var (
	minExpireTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxExpireTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// utf8BOM is sent by some vendors' frameworks, though JSON forbids it.
var utf8BOM = []byte("\ufeff")

// decodePage reads page n and aggregates its grants. want is the total
// page 1 announced, or -1 on page 1. The grants are decoded one at a time
// from the stream and counted, so a page costs a read buffer and one
// record, not the page's size in memory.
//
// A page fails when its total differs from want, when it is not the page
// or size asked for (a vendor ignoring them would have us count the same
// records twice), or when it holds more or fewer records than its place
// in total implies: an empty or short page before the last.
func (c *Client) decodePage(resp *http.Response, n int, want int64, secrets []string) (*aggregate, int64, error) {
	br := bufio.NewReader(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || !startsObject(br) {
		// An error status, or not a JSON object (empty, a gateway's HTML
		// page, …): the shared reading names it, with the vendor's code
		// when the body is its envelope.
		resp.Body = io.NopCloser(br)
		var env envelope
		err := upstream.DecodeAnswer(resp, &env, func() string { return string(env.ErrorMessage) }, secrets)
		if f := env.failure(err, secrets); f != nil {
			return nil, 0, f
		}
		if err == nil {
			err = errors.New("response is not a JSON object")
		}
		return nil, 0, err
	}

	// As lenient as encoding/json: a repeated name, the last wins; invalid
	// UTF-8 becomes U+FFFD.
	dec := jsontext.NewDecoder(fullReads{br}, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	env, agg, err := c.stream(dec)
	if err != nil {
		return nil, 0, fmt.Errorf("page %d: %w", n, err)
	}
	if f := env.failure(nil, secrets); f != nil { // an error envelope with HTTP 200
		return nil, 0, f
	}
	if !env.items {
		// Read as no grants, it would make every series vanish while the
		// refresh succeeds; [] is a valid empty page.
		return nil, 0, fmt.Errorf("page %d: items is missing from the answer", n)
	}
	total, ok := count(env.Total)
	if !ok {
		return nil, 0, fmt.Errorf("page %d: total is missing or not a count", n)
	}
	if want >= 0 && total != want {
		return nil, 0, fmt.Errorf("page %d: total changed from %d to %d while paging", n, want, total)
	}
	size := int64(c.cfg.PageSize)
	if got, ok := count(env.Page); env.Page.Valid && (!ok || got != int64(n)) {
		return nil, 0, fmt.Errorf("asked for page %d, the vendor answered page %v", n, env.Page.Value)
	}
	if got, ok := count(env.Size); env.Size.Valid && (!ok || got != size) {
		return nil, 0, fmt.Errorf("page %d: asked for pages of %d, the vendor answered size %v", n, size, env.Size.Value)
	}
	expected := min(size, max(total-int64(n-1)*size, 0))
	if int64(agg.processed) != expected {
		return nil, 0, fmt.Errorf("page %d holds %d grants, expected %d of %d in pages of %d", n, agg.processed, expected, total, size)
	}
	return agg, total, nil
}

// fullReads fills every buffer it is given, unless the body ends or fails
// first. jsontext copies what it holds on each read while a long value is
// incomplete; with reads as small as the network delivers, a body that is
// one huge string cost time quadratic in its size under the race detector.
type fullReads struct{ r io.Reader }

func (f fullReads) Read(p []byte) (int, error) {
	n, err := io.ReadFull(f.r, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF // the body ended within p: the n bytes are its last
	}
	return n, err
}

// startsObject skips a byte order mark and white space and reports whether
// a JSON object follows, without consuming it.
func startsObject(br *bufio.Reader) bool {
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM)) // cannot fail: the bytes were peeked
	}
	for {
		b, err := br.Peek(1)
		if err != nil {
			return false
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.Discard(1)
		default:
			return b[0] == '{'
		}
	}
}

// count reads a paging number as a non-negative integer.
func count(n upstream.Number) (int64, bool) {
	if !n.Valid || n.Value < 0 || n.Value != float64(int64(n.Value)) {
		return 0, false
	}
	return int64(n.Value), true
}

// stream reads one JSON object from dec: the envelope's fields, whatever
// their order, and the items, each counted as soon as it is decoded. It
// stops reading items once there are more than a page can hold.
func (c *Client) stream(dec *jsontext.Decoder) (*envelope, *aggregate, error) {
	env := &envelope{}
	agg := newAggregate()
	if _, err := dec.ReadToken(); err != nil { // the '{' startsObject saw
		return nil, nil, malformed(err)
	}
	fields := map[string]any{
		"page": &env.Page, "size": &env.Size, "total": &env.Total,
		"error_code": &env.ErrorCode, "error_message": &env.ErrorMessage,
	}
	sawItems := false // items may be null, so env.items does not tell
	for dec.PeekKind() != '}' {
		name, err := readName(dec)
		if err != nil {
			return nil, nil, err
		}
		if string(name) == "items" {
			if sawItems {
				return nil, nil, errors.New("items appears twice")
			}
			sawItems = true
			if env.items, err = c.streamItems(dec, agg); err != nil {
				return nil, nil, err
			}
			continue
		}
		key := string(name) // name's bytes do not outlive the next read
		field, ok := fields[key]
		if !ok { // skipped token by token, never held whole
			if err := dec.SkipValue(); err != nil {
				return nil, nil, malformed(err)
			}
			continue
		}
		raw, err := dec.ReadValue()
		if err != nil {
			return nil, nil, malformed(err)
		}
		if err := upstream.Unmarshal(raw, field); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if _, err := dec.ReadToken(); err != nil { // '}'
		return nil, nil, malformed(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, nil, errors.New("malformed JSON: data after the answer")
	}
	return env, agg, nil
}

// streamItems counts the grants of the items array and reports whether
// there was one (false for null). Each grant is read field by field, the
// fields the exporter does not count by skipped unparsed: the cost of a
// page is one pass over its bytes.
func (c *Client) streamItems(dec *jsontext.Decoder, agg *aggregate) (bool, error) {
	switch kind := dec.PeekKind(); kind {
	case 'n':
		_, err := dec.ReadToken()
		return false, malformed(err) // nil for a well-formed null
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return false, malformed(err)
		}
	case 0: // PeekKind hides the error; reading reports it
		_, err := dec.ReadToken()
		return false, malformed(err)
	default:
		return false, fmt.Errorf("items: expected an array, got %s", kindOf(kind))
	}
	var g grant
	for i := 0; dec.PeekKind() != ']'; i++ {
		if agg.processed >= c.cfg.PageSize {
			// The page is wrong already; reading on would only cost time.
			return true, fmt.Errorf("holds more than %d grants, the page size", c.cfg.PageSize)
		}
		g = grant{} // a field the item lacks is not given
		if err := readGrant(dec, &g); err != nil {
			return true, fmt.Errorf("item %d: %w", i, err)
		}
		if e := g.ExpireTime; e.Valid && e.Value != NeverExpires && (e.Value < minExpireTime || e.Value > maxExpireTime) {
			return true, fmt.Errorf("item %d: expire_time is outside the years 1 to 9999", i)
		}
		agg.add(&g)
	}
	if _, err := dec.ReadToken(); err != nil { // ']'
		return true, malformed(err)
	}
	return true, nil
}

// readGrant decodes one item into g with the tolerant readers of upstream,
// member by member; the members the exporter does not count by are skipped
// without being decoded.
func readGrant(dec *jsontext.Decoder, g *grant) error {
	switch kind := dec.PeekKind(); kind {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return malformed(err)
		}
	case 0: // PeekKind hides the error; reading reports it
		_, err := dec.ReadToken()
		return malformed(err)
	default:
		return fmt.Errorf("expected an object, got %s", kindOf(kind))
	}
	for dec.PeekKind() != '}' {
		name, err := readName(dec)
		if err != nil {
			return err
		}
		field, fieldName := g.field(name)
		if field == nil {
			if err := dec.SkipValue(); err != nil {
				return malformed(err)
			}
			continue
		}
		raw, err := dec.ReadValue()
		if err != nil {
			return malformed(err)
		}
		if err := field.UnmarshalJSON(raw); err != nil {
			if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok { // named as encoding/json names a struct field
				te.Struct, te.Field = "grant", fieldName
			}
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil { // '}'
		return malformed(err)
	}
	return nil
}

// field is the member of g that the item's member name fills, or nil for
// a member the exporter does not count by. Names are matched exactly, as
// documented (encoding/json/v2 does the same): folding case for every
// skipped member cost a quarter of the decoding time.
// The name is returned as a constant, since name's bytes do not outlive
// the next read.
func (g *grant) field(name []byte) (json.Unmarshaler, string) {
	switch string(name) {
	case "product_id":
		return &g.ProductID, "product_id"
	case "type":
		return &g.Type, "type"
	case "state":
		return &g.State, "state"
	case "expire_time":
		return &g.ExpireTime, "expire_time"
	}
	return nil, ""
}

// readName reads an object member's name, unquoted. The bytes are valid
// until the next read from dec.
func readName(dec *jsontext.Decoder) ([]byte, error) {
	raw, err := dec.ReadValue()
	if err != nil {
		return nil, malformed(err)
	}
	name, err := unquote(raw)
	return name, malformed(err)
}

// unquote returns the text of the valid JSON string raw: the bytes
// between the quotes unless it holds escapes.
func unquote(raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], nil
	}
	return jsontext.AppendUnquote(nil, raw)
}

// malformed describes a decoder error by its offset and cause, never by
// the JSON pointer jsontext adds: that names the member being read, and a
// name is the vendor's text. A body cut short is io.ErrUnexpectedEOF.
func malformed(err error) error {
	if err == nil {
		return nil
	}
	if se, ok := errors.AsType[*jsontext.SyntacticError](err); ok {
		cause := se.Err
		if cause == nil {
			cause = errors.New("invalid syntax")
		}
		return fmt.Errorf("malformed JSON at byte %d: %w", se.ByteOffset, cause)
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

// kindOf names a JSON kind, never a value.
func kindOf(kind jsontext.Kind) string {
	switch kind {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "an unknown value"
}
