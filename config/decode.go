package config

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

// The decoder reads the yaml.v3 node tree key by key, each type through a
// table of its keys (config.go), so that every problem in the file is
// reported at once, naming the account, the key and the line.

// fieldError is one problem in the file, located for a human.
type fieldError struct {
	account string // `account "name"`, or `accounts[3]` without a name; "" outside accounts
	path    string // dotted key path of a value; "" for a problem with a mapping's keys
	line    int
	msg     string
}

func (e fieldError) Error() string {
	var b strings.Builder
	if e.account != "" {
		b.WriteString(e.account + ": ")
	}
	switch {
	case e.path != "":
		fmt.Fprintf(&b, "%s (line %d): ", e.path, e.line)
	case e.line > 0:
		fmt.Fprintf(&b, "line %d: ", e.line)
	}
	return b.String() + e.msg
}

// decoder collects the problems of one file.
type decoder struct {
	errs []fieldError
	dir  string // the config file's directory, for relative paths
}

// err joins the problems in the order of their lines, so a user can fix the
// file from top to bottom.
func (d *decoder) err() error {
	slices.SortStableFunc(d.errs, func(a, b fieldError) int { return cmp.Compare(a.line, b.line) })
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// at is where a node is: its account, its key path and the line of its key.
type at struct {
	d       *decoder
	account string
	path    string
	line    int
}

func (a at) key(name string, line int) at {
	a.path, a.line = joinPath(a.path, name), line
	return a
}

func (a at) index(i, line int) at {
	a.path, a.line = fmt.Sprintf("%s[%d]", a.path, i), line
	return a
}

// errorf reports a problem with the value at a.
func (a at) errorf(format string, args ...any) {
	a.d.errs = append(a.d.errs, fieldError{a.account, a.path, a.line, fmt.Sprintf(format, args...)})
}

// keyErrorf reports a problem on a line of the mapping at a, e.g. with one
// of its keys; the message names what it is about.
func (a at) keyErrorf(line int, format string, args ...any) {
	a.d.errs = append(a.d.errs, fieldError{a.account, "", line, fmt.Sprintf(format, args...)})
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeFunc decodes the value of one key; nulls included, which mean unset.
type decodeFunc func(a at, v *yaml.Node)

// object is a decoded mapping, kept for the checks: its keys and lines.
type object struct {
	at
	keys   map[string]*yaml.Node // key nodes by name
	values map[string]*yaml.Node
	failed map[string]bool // keys whose value did not decode: the checks stay quiet about them
}

// mapping decodes n's keys with fields; unknown and duplicate keys are
// errors. It returns nil when n is not a mapping (nor a null, which is an
// empty one): that is reported, and the checks skip it.
func (a at) mapping(n *yaml.Node, fields map[string]decodeFunc) *object {
	o := &object{at: a, keys: map[string]*yaml.Node{}, values: map[string]*yaml.Node{}, failed: map[string]bool{}}
	ok := a.entries(n, func(k, v *yaml.Node) {
		decode, known := fields[k.Value]
		if !known {
			a.keyErrorf(k.Line, "unknown key %s%s", quote.Text(k.Value), in(a.path))
			return
		}
		o.keys[k.Value], o.values[k.Value] = k, v
		before := len(a.d.errs)
		decode(a.key(k.Value, k.Line), v)
		o.failed[k.Value] = len(a.d.errs) > before
	})
	if !ok {
		return nil
	}
	return o
}

// entries calls f with each key and value of mapping n, aliases resolved;
// a key that is not a plain name, or a second one alike, is an error. It
// reports whether n is a mapping or a null.
func (a at) entries(n *yaml.Node, f func(k, v *yaml.Node)) bool {
	n = resolve(n)
	if !isNull(n) && n.Kind != yaml.MappingNode {
		a.errorf("must be a mapping, got %s", kindName(n))
		return false
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			a.keyErrorf(k.Line, "keys must be plain names%s", in(a.path))
			continue
		}
		if line, dup := first[k.Value]; dup {
			a.keyErrorf(k.Line, "duplicate key %s%s, first on line %d", quote.Text(k.Value), in(a.path), line)
			continue
		}
		first[k.Value] = k.Line
		f(k, v)
	}
	return true
}

// list calls f with each element of sequence n; a null is an empty list.
func (a at) list(n *yaml.Node, f func(i int, e at, v *yaml.Node)) {
	switch n = resolve(n); {
	case isNull(n):
	case n.Kind != yaml.SequenceNode:
		a.errorf("must be a list, got %s", kindName(n))
	default:
		for i, e := range n.Content {
			f(i, a.index(i, e.Line), resolve(e))
		}
	}
}

// in names the mapping a key is in; nothing at the top level of the file or
// of an account, where the account prefix says enough.
func in(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// has reports whether key is set to something other than null.
func (o *object) has(key string) bool {
	v, ok := o.values[key]
	return ok && !isNull(v)
}

// name is key's full path, for messages that name more than one key.
func (o *object) name(key string) string { return joinPath(o.path, key) }

// errorf reports a problem with key: at the key when present, else at the
// mapping, naming the key.
func (o *object) errorf(key, format string, args ...any) {
	switch k, ok := o.keys[key]; {
	case o.failed[key]:
	case ok:
		o.key(key, k.Line).errorf(format, args...)
	default:
		o.keyErrorf(o.line, "%s %s", o.name(key), fmt.Sprintf(format, args...))
	}
}

func (o *object) require(key, value string) {
	if value == "" {
		o.errorf(key, "is required")
	}
}

func (o *object) oneOf(key, value string, allowed []string) {
	switch {
	case value == "":
		o.errorf(key, "is required")
	case !slices.Contains(allowed, value):
		o.errorf(key, "must be one of %s, got %s", strings.Join(allowed, ", "), quote.Text(value))
	}
}

// scalar decodes a plain value into p, which yaml.v3 converts.
func scalar[T any](p *T) decodeFunc {
	return func(a at, v *yaml.Node) {
		if v.Kind != yaml.ScalarNode {
			a.errorf("must be %s, got %s", expected(p), kindName(v))
		} else if err := v.Decode(p); err != nil {
			a.errorf("must be %s, got %s", expected(p), quote.Text(v.Value))
		}
	}
}

// optional decodes a plain value into a new *p; a null leaves *p nil.
func optional[T any](p **T) decodeFunc {
	return func(a at, v *yaml.Node) {
		if isNull(v) {
			return
		}
		var t T
		before := len(a.d.errs)
		scalar(&t)(a, v)
		if len(a.d.errs) == before {
			*p = &t
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

// parsed decodes a text with parse into a new *p; a null leaves *p nil.
// Long texts are quoted cut short, whatever the parser's message.
func parsed[T any](p **T, parse func(string) (T, error)) decodeFunc {
	return func(a at, v *yaml.Node) {
		var text string
		if !decodeText(a, v, &text) {
			return
		}
		t, err := parse(text)
		switch {
		case err != nil && len(text) > quote.MaxChars:
			a.errorf("not valid: %s", quote.Text(text))
		case err != nil:
			a.errorf("%v", err)
		default:
			*p = &t
		}
	}
}

// decodeText decodes a scalar's text; false for a null, or a collection
// (reported).
func decodeText(a at, v *yaml.Node, text *string) bool {
	if isNull(v) {
		return false
	}
	if v.Kind != yaml.ScalarNode {
		a.errorf("must be a single value, got %s", kindName(v))
		return false
	}
	*text = v.Value
	return true
}

// parseYAML returns the root node of the file's only document; an empty file
// is a null.
func parseYAML(data []byte) (*yaml.Node, error) {
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

// typeErrors is a yaml.v3 decoding error of a re-marshaled snippet, whose
// line numbers mean nothing to the user, in our words.
func typeErrors(err error) string {
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

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a scalar"
}

func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}
