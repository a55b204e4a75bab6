// Package labelrules holds the rules of the labels the exporter emits: the
// names a configuration's static labels may take, and the values static
// labels and vendor answers may give, so that both follow the same rules.
package labelrules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// MaxValueBytes bounds a label value: longer is no identifier nor name.
const MaxValueBytes = 1024

// Reserved are every label the exporter, the client library and Prometheus
// set on the exporter's series; static labels must not use them.
// collector's tests prove it covers every label the collector emits.
var Reserved = []string{
	// vendor series
	"account", "license_id", "license_type", "edition", "user_id", "contact_name", "channel",
	"product_id", "type", "state", "within", "code", "name", "status",
	"username", "primary_name", "corp", "instance_id", "product",
	// the exporter's own series, build_info and the Go collector
	"vendor", "result", "le", "quantile", "version", "revision", "branch", "goversion",
	"goos", "goarch", "tags",
	// set by Prometheus on every scraped series
	"instance", "job",
}

// CheckName refuses a static label name Prometheus would refuse, or one
// that Prometheus or the exporter sets.
func CheckName(name string) error {
	switch {
	case !model.LegacyValidation.IsValidLabelName(name):
		return errors.New("is not valid: letters, digits and _, not starting with a digit")
	case strings.HasPrefix(name, "__"):
		return errors.New("is reserved: names starting with __ are Prometheus' own")
	case slices.Contains(Reserved, name):
		return errors.New("is reserved: the exporter or Prometheus sets it")
	}
	return nil
}

// CheckValue refuses what Prometheus would refuse (invalid UTF-8) and
// values longer than MaxValueBytes.
func CheckValue(value string) error {
	switch {
	case !utf8.ValidString(value):
		return errors.New("must be valid UTF-8")
	case len(value) > MaxValueBytes:
		return fmt.Errorf("must be at most %d bytes, got %d", MaxValueBytes, len(value))
	}
	return nil
}
