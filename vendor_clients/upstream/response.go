package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/quotaexporter/quota_exporter/internal/quote"
)

// maxErrorBodyBytes bounds what is read of a non-2xx body: it is read only
// for the vendor's message, and a huge error page must stay an HTTP error
// rather than become too_large.
const maxErrorBodyBytes = 64 << 10

// DecodeJSON reads the response body and decodes it into v with Unmarshal.
// A body that is not a JSON object or array (a gateway's HTML error page,
// say) fails with its content type named instead of a syntax error.
func DecodeJSON(resp *http.Response, v any) error {
	var r io.Reader = resp.Body
	// A declared length is trusted for the first allocation only up to a
	// bound: the vendor chooses it.
	declared := min(resp.ContentLength, DefaultMaxBodyBytes)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		r = io.LimitReader(r, maxErrorBodyBytes)
		declared = min(declared, maxErrorBodyBytes)
	}
	body, err := readBody(r, declared)
	if err != nil {
		return fmt.Errorf("reading response: %w", err)
	}
	// Some vendors' frameworks send a UTF-8 byte order mark, which JSON forbids.
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\ufeff")))
	if len(body) == 0 {
		return errors.New("response body is empty")
	}
	if body[0] != '{' && body[0] != '[' {
		return fmt.Errorf("response is not JSON (%s)", contentType(resp.Header))
	}
	return Unmarshal(body, v)
}

// readChunk is the unit in which a body of unknown length is read.
const readChunk = 1 << 20

// readBody reads r whole into one slice of its exact length, without the
// doubling of io.ReadAll, whose discarded copies cost up to several times
// the body in heap: one allocation when the length is declared (the
// Client refused one over the limit before reading), otherwise chunks
// joined once at the end.
func readBody(r io.Reader, declared int64) ([]byte, error) {
	if declared >= 0 {
		body := make([]byte, declared+1) // one more byte to see a longer body
		n, err := io.ReadFull(r, body)
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return body[:n], nil // net/http reports a body shorter than declared itself
		case err != nil:
			return nil, err
		}
		// Longer than declared: read on as for an unknown length.
		rest, err := readBody(r, -1)
		return append(body, rest...), err
	}
	var chunks [][]byte
	total := 0
	for {
		chunk := make([]byte, readChunk)
		n, err := io.ReadFull(r, chunk)
		chunks = append(chunks, chunk[:n])
		total += n
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	body := make([]byte, 0, total)
	for _, c := range chunks {
		body = append(body, c...)
	}
	return body, nil
}

// Raw is a JSON value kept undecoded, like json.RawMessage, but without
// copying it: it points into the body Unmarshal was given, which must not
// change while the Raw is in use. Holding an answer's list this way saves
// a copy of the whole list.
type Raw []byte

// UnmarshalJSON implements json.Unmarshaler.
func (r *Raw) UnmarshalJSON(b []byte) error {
	*r = b
	return nil
}

// contentType names the body's media type without parameters, which are
// free text the vendor controls.
func contentType(h http.Header) string {
	ct := h.Get("Content-Type")
	if ct == "" {
		return "no content-type"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "malformed content-type"
	}
	return "content-type " + mt
}

// Unmarshal is json.Unmarshal with errors that never quote a value from
// data: encoding/json writes a misplaced number into its error ("number
// 8771711500303127746"), and that number may be a secret.
func Unmarshal(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Errorf("malformed JSON: %w", err) // names one character at most
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if lit, ok := strings.CutPrefix(te.Value, "number "); ok && json.Valid([]byte(lit)) {
			te.Value = "number"
		}
	}
	return err
}

// VendorMessage makes a vendor's free-text error message fit for an error
// string: control characters and runs of white space become one space,
// every occurrence of a secret (case-insensitively, as is or URL-encoded,
// since vendors echo requests back) becomes <redacted>, and the result is
// cut to quote.MaxChars characters and an ellipsis.
func VendorMessage(msg string, secrets ...string) string {
	msg = strings.Join(strings.FieldsFunc(msg, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r)
	}), " ")
	if msg == "" {
		return ""
	}
	var forms []string
	for _, s := range secrets {
		if s != "" {
			forms = append(forms, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	if len(forms) > 0 {
		// Longest first: the alternation takes the first form that matches.
		slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
		for i, f := range forms {
			forms[i] = regexp.QuoteMeta(f)
		}
		re := regexp.MustCompile("(?i)" + strings.Join(forms, "|"))
		msg = re.ReplaceAllLiteralString(msg, "<redacted>")
	}
	if cut, ok := quote.Cut(msg); ok {
		msg = cut + "…"
	}
	return msg
}

// DecodeAnswer reads a vendor's answer into env, its envelope. A non-2xx
// status is the error, with the vendor's message added when the body was
// the envelope: message reads it from env, and secrets are scrubbed from it.
// A body that does not decode is a decode error, unless the status already
// says what went wrong (a gateway's error page, say).
func DecodeAnswer(resp *http.Response, env any, message func() string, secrets []string) error {
	statusErr := CheckStatus(resp)
	if err := DecodeJSON(resp, env); err != nil {
		if statusErr != nil {
			return statusErr
		}
		return err
	}
	if statusErr != nil {
		var ue *Error
		if msg := VendorMessage(message(), secrets...); msg != "" && errors.As(statusErr, &ue) {
			ue.Err = fmt.Errorf("%w: vendor says %q", ue.Err, msg)
		}
	}
	return statusErr
}

// VendorFailure is the error for an envelope that reports a failure: code
// is the vendor's error code ("" when it gave none), msg its message, made
// safe with VendorMessage by the caller.
func VendorFailure(result Result, code, msg string) *Error {
	text := "vendor reported failure"
	if code != "" {
		text += fmt.Sprintf(" (code %s)", code)
	}
	if msg != "" {
		text += fmt.Sprintf(": %q", msg)
	}
	return &Error{Result: result, Err: errors.New(text)}
}
