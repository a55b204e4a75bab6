package vzicloud

import "slices"

// DefaultBaseURL is the open platform's public API host, used when an
// account sets no base_url.
const DefaultBaseURL = "https://open.vzicloud.com"

// Page sizes of the grant list.
const (
	DefaultPageSize = 1000
	MaxPageSize     = 10000 // the vendor's documented maximum
)

// The documented codes of a grant's type and state.
const (
	TypeOnline  = 0
	TypeOffline = 1

	StateGranting = 0
	StateGranted  = 1
	StateRecalled = 2
	StateFailed   = 3
	StateTimeout  = 4
	StateOffline  = 5
)

// Where is one condition of the vendor's wheres filter: key, operator and
// value, sent as {"k":…,"o":…,"v":…}. V must encode as JSON: a single value,
// or a list for the list operators.
type Where struct {
	K string `json:"k"`
	O string `json:"o"`
	V any    `json:"v"`
}

// The keys and operators the vendor documents for the wheres filter.
var (
	WhereKeys = []string{
		"sn", "type", "order_no", "product_id", "state", "period_time", "period_unit",
		"grant_user_id", "grant_accesskey_id", "remark", "create_time", "update_time",
	}
	WhereOps = []string{"eq", "ne", "lt", "lte", "gt", "gte", "like", "in", "ni"}
)

// ListOp reports whether operator o takes a list of values (in, ni).
func ListOp(o string) bool { return slices.Contains([]string{"in", "ni"}, o) }
