// Package strictyaml decodes a YAML document key by key from its yaml.v3
// node tree, each mapping through a table of its keys, so that every problem
// in the file is reported at once, naming the account, the key path and the
// line: unknown and duplicate keys, values of the wrong kind, and whatever
// the caller's checks find. It knows nothing of any particular schema.
package strictyaml

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/quotaexporter/quota_exporter/internal/quote"
)

// Error is one problem in the file, located for a human.
type Error struct {
	Account string // `account "name"`, or `accounts[3]` without a name; "" outside accounts
	Path    string // dotted key path of a value; "" for a problem with a mapping's keys
	Line    int
	Msg     string
}

func (e Error) Error() string {
	var b strings.Builder
	if e.Account != "" {
		b.WriteString(e.Account + ": ")
	}
	switch {
	case e.Path != "":
		fmt.Fprintf(&b, "%s (line %d): ", e.Path, e.Line)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	return b.String() + e.Msg
}

// Errors collects the problems of one file.
type Errors struct{ list []Error }

// Err joins the problems in the order of their lines, so a user can fix the
// file from top to bottom; nil when there are none.
func (d *Errors) Err() error {
	slices.SortStableFunc(d.list, func(a, b Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(d.list))
	for i, e := range d.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Root is the place of the document's root node.
func (d *Errors) Root(n *yaml.Node) At { return At{d: d, Line: n.Line} }

// At is where a node is: its account, its key path and the line of its key.
type At struct {
	d       *Errors
	Account string
	Path    string
	Line    int
}

// Key is the place of the value of key name, on line.
func (a At) Key(name string, line int) At {
	a.Path, a.Line = JoinPath(a.Path, name), line
	return a
}

// Index is the place of element i of a list, on line.
func (a At) Index(i, line int) At {
	a.Path, a.Line = fmt.Sprintf("%s[%d]", a.Path, i), line
	return a
}

// InAccount starts an account's places: their paths are relative to it.
func (a At) InAccount(label string) At {
	a.Account, a.Path = label, ""
	return a
}

// Errorf reports a problem with the value at a.
func (a At) Errorf(format string, args ...any) {
	a.d.list = append(a.d.list, Error{a.Account, a.Path, a.Line, fmt.Sprintf(format, args...)})
}

// KeyErrorf reports a problem on a line of the mapping at a, e.g. with one
// of its keys; the message names what it is about.
func (a At) KeyErrorf(line int, format string, args ...any) {
	a.d.list = append(a.d.list, Error{a.Account, "", line, fmt.Sprintf(format, args...)})
}

// failed reports whether f, decoding at a, reported a problem.
func (a At) failed(f func()) bool {
	before := len(a.d.list)
	f()
	return len(a.d.list) > before
}

// JoinPath appends key to a dotted path.
func JoinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// In names the mapping a key is in, for messages; nothing at the top level
// of the file or of an account, where the account prefix says enough.
func In(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// Field decodes the value of one key; nulls included, which mean unset.
type Field func(a At, v *yaml.Node)

// Fields are the keys a mapping may have.
type Fields map[string]Field

// Object is a decoded mapping, kept for the checks: its keys and lines.
type Object struct {
	At
	Keys   map[string]*yaml.Node // key nodes by name
	values map[string]*yaml.Node
	failed map[string]bool // keys whose value did not decode: the checks stay quiet about them
}

// Mapping decodes n's keys with fields; unknown and duplicate keys are
// errors. It returns nil when n is not a mapping (nor a null, which is an
// empty one): that is reported, and the checks skip it.
func (a At) Mapping(n *yaml.Node, fields Fields) *Object {
	o := &Object{At: a, Keys: map[string]*yaml.Node{}, values: map[string]*yaml.Node{}, failed: map[string]bool{}}
	ok := a.Entries(n, func(k, v *yaml.Node) {
		decode, known := fields[k.Value]
		if !known {
			a.KeyErrorf(k.Line, "unknown key %s%s", quote.Text(k.Value), In(a.Path))
			return
		}
		o.Keys[k.Value], o.values[k.Value] = k, v
		o.failed[k.Value] = a.failed(func() { decode(a.Key(k.Value, k.Line), v) })
	})
	if !ok {
		return nil
	}
	return o
}

// Entries calls f with each key and value of mapping n, aliases resolved;
// a key that is not a plain name, or a second one alike, is an error. It
// reports whether n is a mapping or a null.
func (a At) Entries(n *yaml.Node, f func(k, v *yaml.Node)) bool {
	n = Resolve(n)
	if !IsNull(n) && n.Kind != yaml.MappingNode {
		a.Errorf("must be a mapping, got %s", KindName(n))
		return false
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Resolve(n.Content[i]), Resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			a.KeyErrorf(k.Line, "keys must be plain names%s", In(a.Path))
			continue
		}
		if line, dup := first[k.Value]; dup {
			a.KeyErrorf(k.Line, "duplicate key %s%s, first on line %d", quote.Text(k.Value), In(a.Path), line)
			continue
		}
		first[k.Value] = k.Line
		f(k, v)
	}
	return true
}

// List calls f with each element of sequence n; a null is an empty list.
func (a At) List(n *yaml.Node, f func(i int, e At, v *yaml.Node)) {
	switch n = Resolve(n); {
	case IsNull(n):
	case n.Kind != yaml.SequenceNode:
		a.Errorf("must be a list, got %s", KindName(n))
	default:
		for i, e := range n.Content {
			f(i, a.Index(i, e.Line), Resolve(e))
		}
	}
}

// Has reports whether key is set to something other than null.
func (o *Object) Has(key string) bool {
	v, ok := o.values[key]
	return ok && !IsNull(v)
}

// Name is key's full path, for messages that name more than one key.
func (o *Object) Name(key string) string { return JoinPath(o.Path, key) }

// Errorf reports a problem with key: at the key when present, else at the
// mapping, naming the key; nothing when the key's value did not decode,
// which is reported already.
func (o *Object) Errorf(key, format string, args ...any) {
	switch k, ok := o.Keys[key]; {
	case o.failed[key]:
	case ok:
		o.Key(key, k.Line).Errorf(format, args...)
	default:
		o.KeyErrorf(o.Line, "%s %s", o.Name(key), fmt.Sprintf(format, args...))
	}
}

// Require reports an empty value of key.
func (o *Object) Require(key, value string) {
	if value == "" {
		o.Errorf(key, "is required")
	}
}

// OneOf reports a value of key that is empty or not one of allowed.
func (o *Object) OneOf(key, value string, allowed []string) {
	switch {
	case value == "":
		o.Errorf(key, "is required")
	case !slices.Contains(allowed, value):
		o.Errorf(key, "must be one of %s, got %s", strings.Join(allowed, ", "), quote.Text(value))
	}
}

// Scalar decodes a plain value into p, which yaml.v3 converts.
func Scalar[T any](p *T) Field {
	return func(a At, v *yaml.Node) {
		if v.Kind != yaml.ScalarNode {
			a.Errorf("must be %s, got %s", expected(p), KindName(v))
		} else if err := v.Decode(p); err != nil {
			a.Errorf("must be %s, got %s", expected(p), quote.Text(v.Value))
		}
	}
}

// Optional decodes a plain value into *p; a null leaves *p as it is.
func Optional[T any](p *T) Field {
	return func(a At, v *yaml.Node) {
		var t T
		if !IsNull(v) && !a.failed(func() { Scalar(&t)(a, v) }) {
			*p = t
		}
	}
}

func expected(p any) string {
	switch p.(type) {
	case *int:
		return "an integer"
	case *float64:
		return "a number"
	}
	return "a single value"
}

// Parsed decodes a text with parse into *p; a null, or a text that does
// not parse, leaves *p as it is. Long texts are quoted cut short, whatever
// the parser's message.
func Parsed[T any](p *T, parse func(string) (T, error)) Field {
	return func(a At, v *yaml.Node) {
		var text string
		if !Text(a, v, &text) {
			return
		}
		t, err := parse(text)
		switch {
		case err != nil && len(text) > quote.MaxChars:
			a.Errorf("not valid: %s", quote.Text(text))
		case err != nil:
			a.Errorf("%v", err)
		default:
			*p = t
		}
	}
}

// Text decodes a scalar's text as is, which never fails with a message
// quoting the value (decoding a value tagged !!int into a string could);
// false for a null, or a collection (reported).
func Text(a At, v *yaml.Node, text *string) bool {
	if IsNull(v) {
		return false
	}
	if v.Kind != yaml.ScalarNode {
		a.Errorf("must be a single value, got %s", KindName(v))
		return false
	}
	*text = v.Value
	return true
}

// Foreign decodes raw, a mapping already decoded to Go values (which
// resolved its aliases and merge keys), into a type that decodes itself (its
// own UnmarshalYAML applies its defaults and validates), strictly: an
// unknown key is an error. See TypeErrors for the error's text.
func Foreign(raw map[string]any, p any) error {
	text, err := yaml.Marshal(raw)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	return dec.Decode(p)
}

// Parse returns the root node of the file's only document; an empty file
// is a null.
func Parse(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}, nil
	case err != nil:
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	// A second document would be ignored silently, which strict parsing
	// must not do.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("line %d: a second YAML document is not allowed", next.Line)
	case !errors.Is(err, io.EOF):
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return doc.Content[0], nil
}

var (
	lineRef      = regexp.MustCompile(`^line \d+: `)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// TypeErrors is a yaml.v3 decoding error of a re-marshaled snippet, whose
// line numbers mean nothing to the user, in our words.
func TypeErrors(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	out := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		m = lineRef.ReplaceAllString(m, "")
		out[i] = unknownField.ReplaceAllString(m, `unknown key "$1"`)
	}
	return strings.Join(out, "; ")
}

// IsNull reports whether n is a null: `~`, `null` or nothing.
func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// KindName names n's kind for messages.
func KindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a scalar"
}

// Resolve is the node an alias stands for, or n.
func Resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}
