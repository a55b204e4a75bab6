package strictyaml

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// Every problem is reported at once, in the order of the lines (stable), each with
// its account, key path and line; values that decode are kept.
func TestEveryProblemAtOnce(t *testing.T) {
	root, err := Parse([]byte(`size: big
items:
  - {name: a, size: 1}
  - {name: b, name: c, shade: red}
extra: 1
`))
	require.NoError(t, err)
	type item struct {
		Name string
		Size int
	}
	size := -1
	var items []item
	var errs Errors
	top := errs.Root(root)
	o := top.Mapping(root, Fields{
		"size": Optional(&size),
		"items": func(a At, v *yaml.Node) {
			a.List(v, func(i int, e At, v *yaml.Node) {
				var it item
				e.InAccount("item "+string(rune('0'+i))).Mapping(v, Fields{"name": Scalar(&it.Name), "size": Optional(&it.Size)})
				items = append(items, it)
			})
		},
	})
	o.Require("missing", "")
	o.Errorf("size", "reported already, so not again")
	require.EqualError(t, errs.Err(), `size (line 1): must be an integer, got "big"
line 1: missing is required
item 1: line 4: duplicate key "name", first on line 4
item 1: line 4: unknown key "shade"
line 5: unknown key "extra"`)
	require.Equal(t, -1, size, "a value that does not decode leaves the field as it was")
	require.Equal(t, []item{{"a", 1}, {Name: "b"}}, items)
}

func TestParseRefusesASecondDocument(t *testing.T) {
	_, err := Parse([]byte("a: 1\n---\nb: 2\n"))
	require.EqualError(t, err, "line 2: a second YAML document is not allowed")
	n, err := Parse(nil)
	require.NoError(t, err)
	require.True(t, IsNull(n))
}
