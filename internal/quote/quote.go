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
	cut, ok := Cut(s)
	if !ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(cut), len(s))
}

// Cut returns the first MaxChars characters of s, and whether that is
// less than s.
func Cut(s string) (string, bool) {
	if utf8.RuneCountInString(s) <= MaxChars {
		return s, false
	}
	end := 0
	for range MaxChars {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	return s[:end], true
}
