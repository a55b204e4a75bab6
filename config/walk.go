package config

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	promcfg "github.com/prometheus/common/config"
	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// The walker decodes a yaml.v3 node tree into the Go types by reflection,
// instead of yaml.Unmarshal, so that every unknown or duplicate key is
// reported (not just the first), and every error names the account, the
// key path and the line. Leaves (scalars, and types that unmarshal
// themselves) are decoded with node.Decode.

var (
	accountType          = reflect.TypeFor[Account]()
	httpClientConfigType = reflect.TypeFor[promcfg.HTTPClientConfig]()
	unmarshalerTypes     = []reflect.Type{
		reflect.TypeFor[yaml.Unmarshaler](),
		// The yaml.v2 style, still honored by yaml.v3: model.Duration uses it.
		reflect.TypeFor[interface{ UnmarshalYAML(func(any) error) error }](),
	}
)

// authKeys are refused in http_client_config: each vendor client
// authenticates its own way, and a second authentication would clash.
var authKeys = []string{"basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file"}

// loc is where a node is, for messages.
type loc struct {
	account string // `account "name"`, or `accounts[3]` without a name; empty outside accounts
	path    string // dotted key path below the account, or below the top level
	line    int
}

func (l loc) key(name string, line int) loc {
	l.path, l.line = joinPath(l.path, name), line
	return l
}

func (l loc) index(i, line int) loc {
	l.path, l.line = fmt.Sprintf("%s[%d]", l.path, i), line
	return l
}

// at is the mapping-level form of l: the message names the key itself.
func (l loc) at(line int) loc {
	return loc{account: l.account, line: line}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// in names the mapping a key is in, for messages; nothing at the top level
// of the file or of an account, where the account prefix says enough.
func in(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// fieldError is one problem in the file, located for a human.
type fieldError struct {
	loc
	msg string
}

func (e *fieldError) Error() string {
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
	b.WriteString(e.msg)
	return b.String()
}

// walker decodes one file and collects every error in it.
type walker struct {
	errs []*fieldError
	// scopes holds each decoded struct's mapping by the struct's address,
	// so the checks after the walk can point at keys and lines.
	scopes map[any]*scope
}

func newWalker() *walker {
	return &walker{scopes: map[any]*scope{}}
}

func (w *walker) errorf(at loc, format string, args ...any) {
	w.errs = append(w.errs, &fieldError{loc: at, msg: fmt.Sprintf(format, args...)})
}

// err joins the errors in the order of their lines, so a user can fix the
// file from top to bottom.
func (w *walker) err() error {
	slices.SortStableFunc(w.errs, func(a, b *fieldError) int { return cmp.Compare(a.line, b.line) })
	errs := make([]error, len(w.errs))
	for i, e := range w.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// walk decodes n into v and reports whether it could; when not, it has
// reported why, and the checks say nothing more about v (scope.failed).
func (w *walker) walk(n *yaml.Node, v reflect.Value, at loc) bool {
	n = resolveAlias(n)
	t := v.Type()
	switch {
	case t == httpClientConfigType:
		return w.httpClientConfig(n, v, at)
	case isLeaf(t):
		return w.leaf(n, v, at)
	case t.Kind() == reflect.Pointer:
		// A null leaves a pointer nil, i.e. unset. A struct is allocated
		// anyway, so that `aiops:` with nothing under it is reported as an
		// incomplete aiops block rather than a missing one.
		if isNull(n) && isLeaf(t.Elem()) {
			v.SetZero()
			return true
		}
		v.Set(reflect.New(t.Elem()))
		return w.walk(n, v.Elem(), at)
	case t.Kind() == reflect.Struct:
		return w.mapping(n, v, at)
	case t.Kind() == reflect.Slice:
		return w.sequence(n, v, at)
	default: // reflect.Map: isLeaf has taken every other kind
		return w.dict(n, v, at)
	}
}

// isLeaf reports whether t is decoded by node.Decode rather than walked.
func isLeaf(t reflect.Type) bool {
	for _, u := range unmarshalerTypes {
		if reflect.PointerTo(t).Implements(u) {
			return true
		}
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Struct, reflect.Slice, reflect.Map:
		return false
	}
	return true
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

func (w *walker) leaf(n *yaml.Node, v reflect.Value, at loc) bool {
	if err := n.Decode(v.Addr().Interface()); err != nil {
		w.errorf(at, "%s", decodeMessage(err))
		return false
	}
	return true
}

// mapping decodes the keys of n into the fields of struct v, inline
// embedded structs included.
func (w *walker) mapping(n *yaml.Node, v reflect.Value, at loc) bool {
	if !isNull(n) && n.Kind != yaml.MappingNode {
		w.errorf(at, "must be a mapping, got %s", kindName(n))
		return false
	}
	fields := fieldsOf(v.Type())
	s := &scope{w: w, at: at, entries: map[string]entry{}, failed: map[string]bool{}}
	for k, val := range pairs(n) {
		if k.Kind != yaml.ScalarNode {
			w.errorf(at.at(k.Line), "keys must be plain names%s", in(at.path))
			continue
		}
		if prev, dup := s.entries[k.Value]; dup {
			w.errorf(at.at(k.Line), "duplicate key %q%s, first on line %d", k.Value, in(at.path), prev.key.Line)
			continue
		}
		s.entries[k.Value] = entry{key: k, value: val}
		index, known := fields[k.Value]
		if !known {
			w.errorf(at.at(k.Line), "unknown key %q%s", k.Value, in(at.path))
			continue
		}
		if !w.walk(val, v.FieldByIndex(index), at.key(k.Value, k.Line)) {
			s.failed[k.Value] = true
		}
	}
	w.register(v, s)
	return true
}

// register records s as the mapping of struct v and of the structs inlined
// in it, which share its keys.
func (w *walker) register(v reflect.Value, s *scope) {
	w.scopes[v.Addr().Interface()] = s
	for i := range v.NumField() {
		if _, inline := yamlKey(v.Type().Field(i)); inline {
			w.register(v.Field(i), s)
		}
	}
}

// fieldsOf maps the yaml keys of struct type t to field indexes.
func fieldsOf(t reflect.Type) map[string][]int {
	fields := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, inline := yamlKey(f)
		switch {
		case inline:
			for k, index := range fieldsOf(f.Type) {
				fields[k] = append([]int{i}, index...)
			}
		case name != "":
			fields[name] = []int{i}
		}
	}
	return fields
}

// yamlKey is a field's key as yaml.v3 names it; "" for a field yaml skips.
func yamlKey(f reflect.StructField) (key string, inline bool) {
	name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch {
	case !f.IsExported() || name == "-":
		return "", false
	case slices.Contains(strings.Split(opts, ","), "inline"):
		return "", true
	case name == "":
		return strings.ToLower(f.Name), false
	}
	return name, false
}

func (w *walker) sequence(n *yaml.Node, v reflect.Value, at loc) bool {
	if isNull(n) {
		v.SetZero()
		return true
	}
	if n.Kind != yaml.SequenceNode {
		w.errorf(at, "must be a list, got %s", kindName(n))
		return false
	}
	v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
	ok := true
	for i, e := range n.Content {
		elemAt := at.index(i, e.Line)
		if v.Type().Elem() == accountType {
			// Users know accounts by name: errors inside one start with it.
			elemAt = loc{account: accountLabel(e, elemAt.path), line: e.Line}
		}
		ok = w.walk(e, v.Index(i), elemAt) && ok
	}
	return ok
}

// accountLabel names an account in messages: by its name, else by its
// position (`accounts[3]`).
func accountLabel(n *yaml.Node, position string) string {
	if _, name := lookup(resolveAlias(n), "name"); name != nil {
		if name = resolveAlias(name); name.Kind == yaml.ScalarNode && !isNull(name) && name.Value != "" {
			return fmt.Sprintf("account %q", name.Value)
		}
	}
	return position
}

// dict decodes a mapping into a Go map; keys are leaves.
func (w *walker) dict(n *yaml.Node, v reflect.Value, at loc) bool {
	if isNull(n) {
		v.SetZero()
		return true
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(at, "must be a mapping, got %s", kindName(n))
		return false
	}
	v.Set(reflect.MakeMapWithSize(v.Type(), len(n.Content)/2))
	firstLine := map[string]int{}
	ok := true
	for k, val := range pairs(n) {
		if line, dup := firstLine[k.Value]; dup {
			w.errorf(at.at(k.Line), "duplicate key %q%s, first on line %d", k.Value, in(at.path), line)
			ok = false
			continue
		}
		firstLine[k.Value] = k.Line
		keyAt := at.key(k.Value, k.Line)
		key, elem := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		if w.leaf(k, key, keyAt) && w.walk(val, elem, keyAt) {
			v.SetMapIndex(key, elem)
		} else {
			ok = false
		}
	}
	return ok
}

// httpClientConfig decodes the standard Prometheus block the way Prometheus
// does (yaml.v2 tags, strictly; its UnmarshalYAML applies
// promcfg.DefaultHTTPClientConfig and calls Validate), minus the
// authentication keys, which are refused.
func (w *walker) httpClientConfig(n *yaml.Node, v reflect.Value, at loc) bool {
	if n.Kind != yaml.MappingNode {
		w.errorf(at, "must be a mapping, got %s", kindName(n))
		return false
	}
	// Decoding into a map first resolves aliases and merge keys, so the
	// re-marshaled text stands alone.
	var raw map[string]any
	if err := n.Decode(&raw); err != nil {
		w.errorf(at, "%s", decodeMessage(err))
		return false
	}
	ok := true
	for _, key := range authKeys {
		if _, found := raw[key]; found {
			line := at.line
			if k, _ := lookup(n, key); k != nil {
				line = k.Line
			}
			w.errorf(at.key(key, line), "not allowed: each vendor client authenticates itself")
			delete(raw, key)
			ok = false
		}
	}
	text, err := yaml.Marshal(raw)
	if err == nil {
		err = yaml2.UnmarshalStrict(text, v.Addr().Interface())
	}
	if err != nil {
		w.errorf(at, "%s", decodeMessage(err))
		return false
	}
	return ok
}

// pairs yields the key and value nodes of a mapping; nothing for a null.
func pairs(n *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

// lookup finds key in mapping n: its key and value nodes, or nils.
func lookup(n *yaml.Node, key string) (k, v *yaml.Node) {
	for k, v := range pairs(n) {
		if k.Kind == yaml.ScalarNode && k.Value == key {
			return k, v
		}
	}
	return nil, nil
}

var (
	lineRef        = regexp.MustCompile(`^line \d+: `)
	v2UnknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// decodeMessage is a yaml.v3 or yaml.v2 error without the "yaml:" prefix and
// the line numbers, which the caller gives (the yaml.v2 ones count lines of
// a re-marshaled snippet).
func decodeMessage(err error) string {
	var msgs []string
	var t3 *yaml.TypeError
	var t2 *yaml2.TypeError
	switch {
	case errors.As(err, &t3):
		msgs = t3.Errors
	case errors.As(err, &t2):
		msgs = t2.Errors
	default:
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		m = lineRef.ReplaceAllString(m, "")
		out[i] = v2UnknownField.ReplaceAllString(m, `unknown key "$1"`)
	}
	return strings.Join(out, "; ")
}

// scope is one decoded mapping, kept for the checks: which keys it has and
// on which lines.
type scope struct {
	w       *walker
	at      loc
	entries map[string]entry
	failed  map[string]bool // keys whose value did not decode: the checks stay quiet about them
}

type entry struct{ key, value *yaml.Node }

// sub is the scope of a struct decoded below s; false when it was not
// decoded (absent, or not a mapping, which is reported already).
func (s *scope) sub(ptr any) (*scope, bool) {
	sub, ok := s.w.scopes[ptr]
	return sub, ok
}

// has reports whether key is set to something other than null.
func (s *scope) has(key string) bool {
	e, ok := s.entries[key]
	return ok && !isNull(resolveAlias(e.value))
}

// name is key's full path, for messages that name more than one key.
func (s *scope) name(key string) string {
	return joinPath(s.at.path, key)
}

// line is the line of key, which must be present.
func (s *scope) line(key string) int {
	return s.entries[key].key.Line
}

// errorf reports a problem with key: at the key when present, else at the
// mapping, naming the key.
func (s *scope) errorf(key, format string, args ...any) {
	if s.failed[key] {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if e, ok := s.entries[key]; ok {
		s.w.errorf(s.at.key(key, e.key.Line), "%s", msg)
		return
	}
	s.w.errorf(s.at.at(s.at.line), "%s %s", s.name(key), msg)
}

// elemErrorf reports a problem with the i-th element of the list under key.
func (s *scope) elemErrorf(key string, i int, format string, args ...any) {
	if s.failed[key] {
		return
	}
	item := resolveAlias(s.entries[key].value).Content[i]
	s.w.errorf(s.at.key(key, 0).index(i, item.Line), format, args...)
}

// fail reports a problem with the mapping as a whole.
func (s *scope) fail(format string, args ...any) {
	s.w.errorf(s.at.at(s.at.line), format, args...)
}

func (s *scope) require(key, value string) {
	if value == "" {
		s.errorf(key, "is required")
	}
}

func (s *scope) oneOf(key, value string, allowed []string) {
	switch {
	case value == "":
		s.errorf(key, "is required")
	case !slices.Contains(allowed, value):
		s.errorf(key, "must be one of %s, got %q", strings.Join(allowed, ", "), value)
	}
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}
