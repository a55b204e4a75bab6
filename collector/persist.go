package collector

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"strings"
	"time"

	"github.com/go-kit/log/level"

	"github.com/quotaexporter/quota_exporter/config"
	"github.com/quotaexporter/quota_exporter/storage"
)

// answer is one account's vendor snapshot, fetched or loaded from storage.
// The cache keeps what it renders; with --storage.path it also keeps the
// snapshot itself (never rendered metrics), so a restart serves it again.
type answer interface {
	render() (*metricSet, error)
	encode(w io.Writer) error
}

// source is how an account gets answers: from its vendor, or decoded from
// storage when the stored schema matches.
type source struct {
	fetch  fetchFunc
	decode func(r io.Reader) (answer, error)
	schema string
}

// A snapshot is stored as its gob encoding: the vendor clients' snapshot
// types are plain exported structs (a type with hidden fields, such as
// vzicloud's Expiries, implements gob.GobEncoder), so no vendor needs a
// wire type of its own.
func (a vendorAnswer[S]) encode(w io.Writer) error {
	return gob.NewEncoder(w).Encode(a.snapshot)
}

func decodeAnswer[S any](wrap func(S) answer) func(io.Reader) (answer, error) {
	return func(r io.Reader) (answer, error) {
		var snap S
		if err := gob.NewDecoder(r).Decode(&snap); err != nil {
			return nil, err
		}
		return wrap(snap), nil
	}
}

// schemaVersion changes when the meaning of a stored snapshot changes
// without its Go type changing.
const schemaVersion = "1"

var gobEncoder = reflect.TypeFor[gob.GobEncoder]()

// schemaOf is a digest of the exported structure of t, the part gob
// encodes: an answer stored by a version whose snapshot type differs is not
// loaded (gob would leave renamed fields zero), but fetched again.
func schemaOf(t reflect.Type) string {
	var b strings.Builder
	b.WriteString(schemaVersion)
	describeType(&b, t, map[reflect.Type]bool{})
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}

func describeType(b *strings.Builder, t reflect.Type, seen map[reflect.Type]bool) {
	if t.Implements(gobEncoder) || reflect.PointerTo(t).Implements(gobEncoder) {
		b.WriteString(t.String()) // encodes itself, versioned by its package
		return
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		b.WriteString("[" + t.Kind().String() + "]")
		describeType(b, t.Elem(), seen)
	case reflect.Map:
		b.WriteString("map[")
		describeType(b, t.Key(), seen)
		b.WriteString("]")
		describeType(b, t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			b.WriteString(t.String())
			return
		}
		seen[t] = true
		b.WriteString("{")
		for f := range t.Fields() {
			if f.IsExported() {
				b.WriteString(f.Name + " ")
				describeType(b, f.Type, seen)
				b.WriteString(";")
			}
		}
		b.WriteString("}")
	default:
		b.WriteString(t.Kind().String())
	}
}

// identityOf is a digest of what an account's answer depends on: the vendor,
// the base URL, the time zone its dates were read in and the vendor block's
// fields; not the credential (Account.Secret, inline or a file), which
// authenticates but does not choose the data. A stored answer is served only to the same identity.
// The digest, not the fields, is stored: an email stays out of the file.
func identityOf(ac config.Account) (string, error) {
	fields := map[string]any{}
	block := reflect.ValueOf(ac).FieldByNameFunc(func(name string) bool {
		return strings.EqualFold(name, ac.Effective.Vendor)
	})
	if block.IsValid() && !block.IsNil() {
		b := block.Elem()
		for f, v := range b.Fields() {
			fields[f.Name] = v.Interface()
		}
	}
	text, err := json.Marshal(map[string]any{
		"vendor":   ac.Effective.Vendor,
		"base_url": ac.Effective.BaseURL.String(),
		"timezone": ac.Effective.Location.String(),
		"block":    fields,
	})
	if err != nil {
		return "", fmt.Errorf("the account's identity for --storage.path: %w", err)
	}
	sum := sha256.Sum256(text)
	return hex.EncodeToString(sum[:]), nil
}

// load serves the stored answer at once when it was fetched for this
// identity and schema and is younger than max_stale. Any other file is
// logged and left for the next successful refresh to replace.
func (a *account) load() {
	e, err := a.store.Load(a.name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		level.Warn(a.logger).Log("msg", "stored answer ignored", "err", err)
		return
	}
	now := a.clock()
	var reason string
	switch {
	case e.Identity != a.identity:
		reason = "the account's vendor, base_url, timezone or vendor block changed"
	case e.Schema != a.source.schema:
		reason = "written by a version with another snapshot format"
	case e.Time.After(now):
		reason = "fetched in the future: the clock went back"
	case now.Sub(e.Time) >= a.maxStale:
		reason = "older than max_stale"
	}
	if reason != "" {
		level.Info(a.logger).Log("msg", "stored answer not used", "reason", reason, "fetched", e.Time)
		return
	}
	ans, err := a.source.decode(bytes.NewReader(e.Payload))
	if err != nil {
		level.Warn(a.logger).Log("msg", "stored answer ignored", "err", fmt.Errorf("decoding the snapshot: %w", err))
		return
	}
	// A lower max_series or a new static label may refuse what was stored.
	set, err := ans.render()
	if err != nil {
		level.Warn(a.logger).Log("msg", "stored answer ignored", "err", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// The answer came from a refresh that succeeded; saying 0 until the next
	// one would fire refresh-failure alerts after every restart.
	a.state = state{data: set, dataTime: e.Time, lastOK: true}
	level.Debug(a.logger).Log("msg", "stored answer loaded", "age", now.Sub(e.Time))
}

// save stores a refresh's answer; a failure is logged and counted, and
// costs only an upstream call after the next restart.
func (a *account) save(ans answer, fetched time.Time) {
	if a.store == nil {
		return
	}
	var buf bytes.Buffer
	err := ans.encode(&buf)
	if err == nil {
		err = a.store.Save(storage.Entry{Key: a.name, Identity: a.identity, Schema: a.source.schema, Time: fetched, Payload: buf.Bytes()})
	}
	if err != nil {
		level.Warn(a.logger).Log("msg", "the answer could not be stored; a restart will fetch it again", "err", err)
	}
}
