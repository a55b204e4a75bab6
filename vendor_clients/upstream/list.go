package upstream

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/quotaexporter/quota_exporter/internal/quote"
)

// List reads data, the envelope's field that holds the answer's list
// (named what in errors). An absent or null field is a decode error: read
// as an empty list, it would make every series of the account vanish while
// the refresh succeeds, resolving every alert. An explicit [] is an empty
// list.
func List[T any](data Raw, what string) ([]T, error) {
	if len(data) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil, fmt.Errorf("%s is missing from the answer", what)
	}
	var list []T
	if err := Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return list, nil
}

// UniqueIDs returns the ids of n records, trimmed of white space, and
// fails when one is empty or two are equal, since the id is what tells
// their series apart. record names one record ("license"), field the id's
// field ("sys_id"); id(i) is the id of record i as sent.
func UniqueIDs(n int, id func(i int) string, record, field string) ([]string, error) {
	ids := make([]string, n)
	seen := make(map[string]int, n)
	for i := range n {
		ids[i] = strings.TrimSpace(id(i))
		if ids[i] == "" {
			return nil, fmt.Errorf("%s %d of %d: %s is missing", record, i+1, n, field)
		}
		if j, dup := seen[ids[i]]; dup {
			return nil, fmt.Errorf("%ss %d and %d of %d have the same %s %s", record, j+1, i+1, n, field, quote.Text(ids[i]))
		}
		seen[ids[i]] = i
	}
	return ids, nil
}
