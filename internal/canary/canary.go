// Package canary helps tests prove that secrets and personal data planted
// in vendor answers never reach anything a caller could print.
package canary

import (
	"encoding/json"
	"fmt"
	"net/http"
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

// TokenEchoingVendor answers every request 401 with an aiops-shaped
// envelope whose message quotes the Basic auth token it was sent, as
// careless vendors and gateways do: what the exporter shows of it must
// not hold the token.
func TokenEchoingVendor() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, token, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "code": 401, "message": "token " + token + " is not valid"})
	})
}
