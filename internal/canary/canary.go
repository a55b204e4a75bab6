// Package canary helps tests prove that secrets and personal data planted
// in vendor answers never reach anything a caller could print.
package canary

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// AssertAbsent fails t if any canary occurs in value or err as fmt prints
// them (%+v and %#v, so unexported fields count too), and also when there
// is no canary or an empty one: that would prove nothing.
func AssertAbsent(t testing.TB, value any, err error, canaries []string) {
	t.Helper()
	require.NotEmpty(t, canaries, "no canary proves nothing")
	printed := []string{fmt.Sprintf("%+v", value), fmt.Sprintf("%#v", value)}
	if err != nil {
		printed = append(printed, err.Error(), fmt.Sprintf("%+v", err))
	}
	for _, p := range printed {
		for _, c := range canaries {
			require.NotEmpty(t, c, "an empty canary proves nothing")
			assert.NotContains(t, p, c)
		}
	}
}
