package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"

	promcfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

const secretMask = "<secret>"

// Secret is a credential given inline. Unlike promcfg.Secret, a plain string
// type that fmt prints as is, it shows as <secret> with every fmt verb
// (%v, %+v, %#v, %s, %q...) and through String, so that printing any struct
// holding it cannot reveal it; it marshals like promcfg.Secret. Only
// string(s) gives the value.
type Secret string

// String returns <secret>, or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// Format prints String whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, s.String())
}

// MarshalYAML hides the value, like promcfg.Secret.
func (s Secret) MarshalYAML() (any, error) {
	return promcfg.Secret(s).MarshalYAML()
}

// MarshalJSON hides the value, like promcfg.Secret.
func (s Secret) MarshalJSON() ([]byte, error) {
	return promcfg.Secret(s).MarshalJSON()
}

// secretValue takes a scalar's text as is. Decoding into a string could
// fail with a message that quotes the value (yaml.v3 does, for a value
// tagged !!int, say); this never does.
func secretValue(p *Secret) decodeFunc {
	return func(a at, v *yaml.Node) {
		var text string
		if decodeText(a, v, &text) {
			*p = Secret(text)
		}
	}
}

// SecretSource is where a vendor secret comes from: an inline Value, or a
// File read on every use.
type SecretSource struct {
	Value Secret
	File  string
	key   string            // the file's key, e.g. token_file, for messages
	warn  func(file string) // see Account.WithSecretWarning
}

// maxSecretFile is the size of the largest secret file read.
const maxSecretFile = 64 << 10

// Read returns the secret. A file is read anew on each call, so a rotated
// secret takes effect without a reload; trailing newlines (\n, \r\n), which
// editors and `echo` add, are trimmed. Errors name the key, never the
// content; see readSecretFile for the path.
func (s SecretSource) Read() (string, error) {
	if s.File == "" {
		return string(s.Value), nil
	}
	secret, err := readSecretFile(s.File, s.warn)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.key, err)
	}
	return secret, nil
}

// warnedFiles holds the world-readable secret files already warned about.
var warnedFiles sync.Map

// readSecretFile reads a secret file: a regular file of at most
// maxSecretFile bytes, neither empty nor only newlines. It cannot hang:
// the file is opened non-blocking (a FIFO without a writer would block an
// open) and anything but a regular file (a FIFO, /dev/zero) is refused
// before reading. Every other problem is an error too.
//
// An error quotes the path only once the file could be opened: a path that
// names no file may be a secret typed into a *_file key by mistake.
func readSecretFile(path string, warn func(file string)) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("cannot be opened: %w", err)
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	switch {
	case err != nil:
		return "", err
	case !info.Mode().IsRegular():
		return "", fmt.Errorf("%s is not a regular file (%s)", path, info.Mode().Type())
	case info.Size() > maxSecretFile:
		return "", fmt.Errorf("%s is larger than %d KiB", path, maxSecretFile>>10)
	}
	if info.Mode().Perm()&0o004 != 0 && warn != nil {
		if _, warned := warnedFiles.LoadOrStore(path, true); !warned {
			warn(path)
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	switch secret := strings.TrimRight(string(data), "\r\n"); {
	case err != nil:
		return "", fmt.Errorf("%s: %w", path, err)
	case len(data) > maxSecretFile: // grew since the Stat
		return "", fmt.Errorf("%s is larger than %d KiB", path, maxSecretFile>>10)
	case secret == "":
		return "", fmt.Errorf("%s is empty", path)
	default:
		return secret, nil
	}
}

// secretRef points at a vendor block's secret pair: the inline value under
// key and the file under key_file.
type secretRef struct {
	key   string
	value *Secret
	file  *string
	warn  func(file string)
}

// fields adds the pair's keys to a vendor block's fields.
func (r secretRef) fields(f map[string]decodeFunc) map[string]decodeFunc {
	f[r.key], f[r.key+"_file"] = secretValue(r.value), scalar(r.file)
	return f
}

func (r secretRef) source() SecretSource {
	return SecretSource{Value: *r.value, File: *r.file, key: r.key + "_file", warn: r.warn}
}

// String shows the pair for the summary: <secret>, or the file's path when
// it can be opened (see readSecretFile).
func (r secretRef) String() string {
	switch {
	case *r.file == "":
		return r.key + " " + r.value.String()
	case fileExists(*r.file):
		return r.key + "_file " + *r.file
	}
	return r.key + "_file (cannot be opened; path not shown)"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// check requires exactly one of the pair and joins a relative file path to
// dir; it reports whether the secret is a file. The file is not read: a
// missing or unreadable file fails the account's refreshes with
// secret_error, not the load (CheckSecretFiles reports them).
func (r secretRef) check(o *object, dir string) bool {
	fileKey := r.key + "_file"
	switch hasValue, hasFile := *r.value != "", *r.file != ""; {
	case hasValue && hasFile:
		o.errorf(fileKey, "conflicts with %s (line %d): set only one", o.name(r.key), o.keys[r.key].Line)
	case !hasValue && !hasFile:
		o.keyErrorf(o.line, "%s or %s is required", o.name(r.key), o.name(fileKey))
	case hasFile:
		*r.file = promcfg.JoinDir(dir, *r.file)
		return true
	}
	return false
}

// secretFile is a *_file secret and where it is set.
type secretFile struct {
	at  fieldError // without a message
	ref secretRef
}

// CheckSecretFiles reads every *_file secret once and returns an error
// naming the account, the key and the line of each that cannot be read,
// for --config.check.
func (c *Config) CheckSecretFiles() error {
	var errs []error
	for _, f := range c.secretFiles {
		if _, err := readSecretFile(*f.ref.file, nil); err != nil {
			errs = append(errs, fieldError{f.at.account, f.at.path, f.at.line, err.Error()})
		}
	}
	return errors.Join(errs...)
}
