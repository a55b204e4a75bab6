package faults

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// jsonType is what the vendors answer JSON with, and so what the
	// servers in front of them do too.
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
func (inj *Injector) record(r *http.Request) *recorder {
	rec := &recorder{header: http.Header{}}
	inj.vendor.ServeHTTP(rec, r)
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
