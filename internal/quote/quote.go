// Package quote quotes text that came from a vendor or from the config for
// logs and errors, cut short: one hostile 10 MiB id must not make a 10 MiB
// log line.
package quote

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxChars is how many characters of a quoted text are kept.
const MaxChars = 200

// Text returns s quoted, its first MaxChars characters only; a cut text
// says how long it was.
func Text(s string) string {
	if utf8.RuneCountInString(s) <= MaxChars {
		return strconv.Quote(s)
	}
	cut := 0
	for i := 0; i < MaxChars; i++ {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cut]), len(s))
}
