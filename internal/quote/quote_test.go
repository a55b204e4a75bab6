package quote

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestText(t *testing.T) {
	require.Equal(t, `"abc"`, Text("abc"))
	exact := strings.Repeat("x", MaxChars)
	require.Equal(t, `"`+exact+`"`, Text(exact))

	long := strings.Repeat("界", 10<<20/3)
	got := Text(long)
	require.Equal(t, `"`+strings.Repeat("界", MaxChars)+`"… (`+"10485759 bytes)", got)
	require.Less(t, len(got), 4*MaxChars)

	// Quoting escapes control characters, so a vendor text cannot forge a log line.
	require.Equal(t, `"a\nlevel=error"`, Text("a\nlevel=error"))
}
