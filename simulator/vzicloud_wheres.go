package simulator

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/quotaexporter/quota_exporter/internal/quote"
)

// vzicloudWhereKeys are the keys the vendor documents for the grant list.
var vzicloudWhereKeys = []string{
	"sn", "type", "order_no", "product_id", "state", "period_time", "period_unit",
	"grant_user_id", "grant_accesskey_id", "remark", "create_time", "update_time",
}

// vzicloudWhereOps are the documented operators.
var vzicloudWhereOps = []string{"eq", "ne", "lt", "lte", "gt", "gte", "like", "in", "ni"}

// vzicloudValue is a field or condition value, compared as a number when
// both sides are numbers and as text otherwise.
type vzicloudValue struct {
	text  string
	num   float64
	isNum bool
}

func textValue(s string) vzicloudValue {
	n, err := strconv.ParseFloat(s, 64)
	return vzicloudValue{text: s, num: n, isNum: err == nil}
}

func intValue(i int) vzicloudValue {
	return vzicloudValue{text: strconv.Itoa(i), num: float64(i), isNum: true}
}

func compareValues(a, b vzicloudValue) int {
	if a.isNum && b.isNum {
		return cmp.Compare(a.num, b.num)
	}
	return strings.Compare(a.text, b.text)
}

// jsonValue reads a condition's value as decoded from JSON: a string, a
// number, a boolean or null.
func jsonValue(v any) (vzicloudValue, error) {
	switch v := v.(type) {
	case string:
		return textValue(v), nil
	case float64:
		return vzicloudValue{text: strconv.FormatFloat(v, 'f', -1, 64), num: v, isNum: true}, nil
	case bool:
		return vzicloudValue{text: strconv.FormatBool(v)}, nil
	case nil:
		return vzicloudValue{}, nil
	}
	return vzicloudValue{}, errors.New("the value must be a string, a number, a boolean or null")
}

// vzicloudField is the value of g's field key, one of vzicloudWhereKeys.
func vzicloudField(g *VZICloudGrant, key string) vzicloudValue {
	switch key {
	case "sn":
		return textValue(g.SN)
	case "type":
		return intValue(g.Type)
	case "order_no":
		return textValue(g.OrderNo)
	case "product_id":
		return intValue(g.ProductID)
	case "state":
		return intValue(g.State)
	case "period_time":
		return intValue(g.PeriodTime)
	case "period_unit":
		return intValue(g.PeriodUnit)
	case "grant_user_id":
		return intValue(g.GrantUserID)
	case "grant_accesskey_id":
		return textValue(g.GrantAccessKeyID)
	case "remark":
		return textValue(g.Remark)
	case "create_time":
		return textValue(g.CreateTime)
	}
	return textValue(g.UpdateTime)
}

// vzicloudCond is one condition of the wheres filter, its value parsed
// once per request rather than once per grant.
type vzicloudCond struct {
	key, op string
	value   vzicloudValue   // eq, ne, lt, lte, gt, gte
	list    []vzicloudValue // in, ni
	like    *regexp.Regexp  // like
}

// vzicloudWheres are conditions that must all hold.
type vzicloudWheres []vzicloudCond

// decodeVZICloudWheres reads the wheres parameter: base64 (standard, with
// padding) of a JSON array of {"k","o","v"}. An unknown key or operator,
// or a value of the wrong shape, is an error, as a server would refuse it.
func decodeVZICloudWheres(b64 string) (vzicloudWheres, error) {
	js, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	var raw []struct {
		K string `json:"k"`
		O string `json:"o"`
		V any    `json:"v"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, err
	}
	conds := make(vzicloudWheres, 0, len(raw))
	for i, w := range raw {
		c := vzicloudCond{key: w.K, op: w.O}
		if !slices.Contains(vzicloudWhereKeys, w.K) {
			return nil, fmt.Errorf("condition %d: unknown key %s", i, quote.Text(w.K))
		}
		switch {
		case !slices.Contains(vzicloudWhereOps, w.O):
			return nil, fmt.Errorf("condition %d: unknown op %s", i, quote.Text(w.O))
		case w.O == "in" || w.O == "ni":
			list, ok := w.V.([]any)
			if !ok {
				return nil, fmt.Errorf("condition %d: %s takes an array", i, w.O)
			}
			for _, v := range list {
				value, err := jsonValue(v)
				if err != nil {
					return nil, fmt.Errorf("condition %d: %w", i, err)
				}
				c.list = append(c.list, value)
			}
		case w.O == "like":
			pattern, ok := w.V.(string)
			if !ok {
				return nil, fmt.Errorf("condition %d: like takes a string", i)
			}
			c.like = likePattern(pattern)
		default:
			if c.value, err = jsonValue(w.V); err != nil {
				return nil, fmt.Errorf("condition %d: %w", i, err)
			}
		}
		conds = append(conds, c)
	}
	return conds, nil
}

// likePattern is SQL LIKE as a regular expression: % any run of
// characters, _ any one, the rest literal. A pattern without wildcards
// is a substring match, as lenient servers treat it.
func likePattern(pattern string) *regexp.Regexp {
	if !strings.ContainsAny(pattern, "%_") {
		pattern = "%" + pattern + "%"
	}
	var re strings.Builder
	re.WriteString(`(?s)^`)
	for _, r := range pattern {
		switch r {
		case '%':
			re.WriteString(".*")
		case '_':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()) // cannot fail: every literal is quoted
}

// match reports whether g meets every condition.
func (ws vzicloudWheres) match(g *VZICloudGrant) bool {
	for i := range ws {
		if !ws[i].holds(vzicloudField(g, ws[i].key)) {
			return false
		}
	}
	return true
}

func (c *vzicloudCond) holds(field vzicloudValue) bool {
	switch c.op {
	case "in", "ni":
		in := slices.ContainsFunc(c.list, func(v vzicloudValue) bool { return compareValues(field, v) == 0 })
		return in == (c.op == "in")
	case "like":
		return c.like.MatchString(field.text)
	}
	d := compareValues(field, c.value)
	switch c.op {
	case "eq":
		return d == 0
	case "ne":
		return d != 0
	case "lt":
		return d < 0
	case "lte":
		return d <= 0
	case "gt":
		return d > 0
	}
	return d >= 0 // gte
}
