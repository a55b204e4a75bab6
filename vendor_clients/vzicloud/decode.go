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
	"strings"

	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// grant holds the fields the exporter counts by; the others (serial
// numbers, order numbers, remarks) are never decoded.
type grant struct {
	ProductID  upstream.Text `json:"product_id"`
	Type       upstream.Code `json:"type"`
	State      upstream.Code `json:"state"`
	ExpireTime upstream.Code `json:"expire_time"`
}

// envelope is the part of an answer around the items: the paging fields on
// success, error_code and error_message on failure.
type envelope struct {
	Page         upstream.Number `json:"page"`
	Size         upstream.Number `json:"size"`
	Total        upstream.Number `json:"total"`
	ErrorCode    upstream.Code   `json:"error_code"`
	ErrorMessage upstream.Text   `json:"error_message"`
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

	env, agg, err := c.stream(json.NewDecoder(br))
	if err != nil {
		return nil, 0, fmt.Errorf("page %d: %w", n, err)
	}
	if f := env.failure(nil, secrets); f != nil { // an error envelope with HTTP 200
		return nil, 0, f
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
func (c *Client) stream(dec *json.Decoder) (*envelope, *aggregate, error) {
	env := &envelope{}
	agg := newAggregate()
	if _, err := dec.Token(); err != nil { // the '{' startsObject saw
		return nil, nil, malformed(err)
	}
	// raw is reused for every other value: decoding into a
	// json.RawMessage overwrites it in place.
	var raw json.RawMessage
	fields := map[string]any{
		"page": &env.Page, "size": &env.Size, "total": &env.Total,
		"error_code": &env.ErrorCode, "error_message": &env.ErrorMessage,
	}
	sawItems := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, malformed(err)
		}
		key, _ := tok.(string) // an object's keys are strings, or Token fails
		if key == "items" {
			if sawItems {
				return nil, nil, errors.New("items appears twice")
			}
			sawItems = true
			if err := c.streamItems(dec, agg); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, malformed(err)
		}
		if field, ok := fields[key]; ok {
			if err := upstream.Unmarshal(raw, field); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, nil, malformed(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, errors.New("malformed JSON: data after the answer")
	}
	return env, agg, nil
}

// streamItems counts the grants of the items array; null is none.
func (c *Client) streamItems(dec *json.Decoder, agg *aggregate) error {
	tok, err := dec.Token()
	switch {
	case err != nil:
		return malformed(err)
	case tok == nil: // null
		return nil
	case tok != json.Delim('['):
		return fmt.Errorf("items: expected an array, got %s", kindOf(tok))
	}
	var g grant
	for i := 0; dec.More(); i++ {
		if agg.processed >= c.cfg.PageSize {
			// The page is wrong already; reading on would only cost time.
			return fmt.Errorf("holds more than %d grants, the page size", c.cfg.PageSize)
		}
		g = grant{} // Decode leaves fields the item lacks as they were
		if err := dec.Decode(&g); err != nil {
			return itemError(i, err)
		}
		agg.add(&g)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return malformed(err)
	}
	return nil
}

// itemError describes a grant that did not decode, without its values:
// like upstream.Unmarshal, which cannot read from a stream, it drops the
// literal encoding/json puts into a misplaced number's error.
func itemError(i int, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if lit, ok := strings.CutPrefix(te.Value, "number "); ok && json.Valid([]byte(lit)) {
			te.Value = "number"
		}
		return fmt.Errorf("item %d: %w", i, err)
	}
	return fmt.Errorf("item %d: %w", i, malformed(err))
}

// malformed describes a decoder error. A syntax error names one character
// at most; a body cut short is io.ErrUnexpectedEOF.
func malformed(err error) error {
	return fmt.Errorf("malformed JSON: %w", err)
}

// kindOf names the JSON kind of a token, never its value.
func kindOf(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "an unknown value"
}
