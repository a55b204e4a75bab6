// Package secret holds vendor credentials so that no printing reveals them,
// decodes their two spellings in a configuration (inline under a key, or a
// file under key_file), and reads secret files, anew on every use, without
// ever hanging.
package secret

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

	"github.com/quotaexporter/quota_exporter/internal/strictyaml"
)

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
	return "<secret>"
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

// Source is where a credential comes from: an inline Value, or a File read
// on every use.
type Source struct {
	Key   string // its key in the configuration (token); the file's is Key_file
	Value Secret
	File  string
	// Warn, when set, is told once per file and process of a secret file
	// that every user of the machine may read.
	Warn func(file string) `json:"-" yaml:"-"`
}

// Fields adds the source's keys to a mapping's fields: the inline value
// under key, the file under key_file. The value is taken as written, which
// never fails with a message that quotes it.
func (s *Source) Fields(key string, f strictyaml.Fields) strictyaml.Fields {
	s.Key = key
	f[key] = func(a strictyaml.At, v *yaml.Node) {
		var text string
		if strictyaml.Text(a, v, &text) {
			s.Value = Secret(text)
		}
	}
	f[key+"_file"] = strictyaml.Scalar(&s.File)
	return f
}

// Check requires exactly one of the two keys in o and joins a relative file
// path to dir. The file is not read: it may be missing at load and appear
// later. When the secret is a file, it returns where the file is set.
func (s *Source) Check(o *strictyaml.Object, dir string) (fileAt strictyaml.Error, isFile bool) {
	fileKey := s.Key + "_file"
	switch hasValue, hasFile := s.Value != "", s.File != ""; {
	case hasValue && hasFile:
		o.Errorf(fileKey, "conflicts with %s (line %d): set only one", o.Name(s.Key), o.Keys[s.Key].Line)
	case !hasValue && !hasFile:
		o.KeyErrorf(o.Line, "%s or %s is required", o.Name(s.Key), o.Name(fileKey))
	case hasFile:
		s.File = promcfg.JoinDir(dir, s.File)
		return strictyaml.Error{Account: o.Account, Path: o.Name(fileKey), Line: o.Keys[fileKey].Line}, true
	}
	return strictyaml.Error{}, false
}

// MaxFileSize is the size of the largest secret file read.
const MaxFileSize = 64 << 10

// Read returns the secret. A file is read anew on each call, so a rotated
// secret takes effect without a reload; trailing newlines (\n, \r\n), which
// editors and `echo` add, are trimmed. Errors name the key, never the
// content; see ReadFile for the path.
func (s Source) Read() (string, error) {
	if s.File == "" {
		return string(s.Value), nil
	}
	secret, err := ReadFile(s.File, s.Warn)
	if err != nil {
		return "", fmt.Errorf("%s_file: %w", s.Key, err)
	}
	return secret, nil
}

// String shows the source for a summary: <secret>, or the file's path when
// it can be opened (see ReadFile).
func (s Source) String() string {
	switch _, err := os.Stat(s.File); {
	case s.File == "":
		return s.Key + " " + s.Value.String()
	case err == nil:
		return s.Key + "_file " + s.File
	}
	return s.Key + "_file (cannot be opened; path not shown)"
}

// warnedFiles holds the world-readable secret files already warned about.
var warnedFiles sync.Map

// ReadFile reads a secret file: a regular file of at most MaxFileSize
// bytes, neither empty nor only newlines. It cannot hang: the file is
// opened non-blocking (a FIFO without a writer would block an open) and
// anything but a regular file (a FIFO, /dev/zero) is refused before
// reading. warn, when not nil, is told of a world-readable file once per
// process.
//
// An error quotes the path only once the file could be opened: a path that
// names no file may be a secret typed into a *_file key by mistake.
func ReadFile(path string, warn func(file string)) (string, error) {
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
	case info.Size() > MaxFileSize:
		return "", fmt.Errorf("%s is larger than %d KiB", path, MaxFileSize>>10)
	}
	if info.Mode().Perm()&0o004 != 0 && warn != nil {
		if _, warned := warnedFiles.LoadOrStore(path, true); !warned {
			warn(path)
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	switch secret := strings.TrimRight(string(data), "\r\n"); {
	case err != nil:
		return "", fmt.Errorf("%s: %w", path, err)
	case len(data) > MaxFileSize: // grew since the Stat
		return "", fmt.Errorf("%s is larger than %d KiB", path, MaxFileSize>>10)
	case secret == "":
		return "", fmt.Errorf("%s is empty", path)
	default:
		return secret, nil
	}
}
