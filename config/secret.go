package config

import (
	"fmt"
	"io"
	"os"
	"strings"

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

// UnmarshalYAML takes a scalar's text as is. Decoding into a string could
// fail with a message that quotes the value (yaml.v3 does, for a value
// tagged !!int, say); this never does.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a single value, got %s", kindName(n))
	}
	*s = Secret(n.Value)
	return nil
}

// SecretSource is where a vendor secret comes from: an inline Value, or a
// File read on every use.
type SecretSource struct {
	Value Secret
	File  string
}

// Read returns the secret. A file is read anew on each call, so a rotated
// secret takes effect without a reload; trailing newlines (\n, \r\n), which
// editors and `echo` add, are trimmed, and an empty file is an error. Errors
// name the file, never its content.
func (s SecretSource) Read() (string, error) {
	if s.File == "" {
		return string(s.Value), nil
	}
	data, err := os.ReadFile(s.File)
	if err != nil {
		return "", fmt.Errorf("reading secret: %w", err)
	}
	secret := strings.TrimRight(string(data), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("secret file %s is empty", s.File)
	}
	return secret, nil
}

// secretRef points at a vendor block's secret pair: the inline value under
// key and the file under key_file.
type secretRef struct {
	key   string
	value *Secret
	file  *string
}

func (r secretRef) source() SecretSource {
	return SecretSource{Value: *r.value, File: *r.file}
}

// String shows the pair for the summary: the file, or <secret>.
func (r secretRef) String() string {
	if *r.file != "" {
		return r.key + "_file " + *r.file
	}
	return r.key + " " + r.value.String()
}

// checkSecret requires exactly one of the pair and joins a relative file
// path to dir.
//
// The file is read once here, and a missing, unreadable or empty file is a
// load error: an operator learns of it from --config.check, at start or on
// reload (which then keeps the old config), not at the first scrape.
// Mounted secrets (Kubernetes, Docker) are in place before the process
// starts, so this costs nothing there; a file rotated later is read again
// on every refresh (SecretSource.Read).
func checkSecret(s *scope, r secretRef, dir string) {
	fileKey := r.key + "_file"
	switch hasValue, hasFile := *r.value != "", *r.file != ""; {
	case hasValue && hasFile:
		s.errorf(fileKey, "conflicts with %s (line %d): set only one", s.name(r.key), s.line(r.key))
	case !hasValue && !hasFile:
		s.fail("%s or %s is required", s.name(r.key), s.name(fileKey))
	case hasFile:
		*r.file = promcfg.JoinDir(dir, *r.file)
		if _, err := r.source().Read(); err != nil {
			s.errorf(fileKey, "%v", err)
		}
	}
}
