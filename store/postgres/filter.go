package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ragd/ragd"
)

// args collects the parameters of a query as it is built; add returns the
// placeholder of the value it appends.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// filterSQL returns a boolean SQL expression over the chunk metadata column
// col that is true exactly where (*ragd.Filter).Match is, with every value
// passed as a parameter. A nil filter is "true".
//
// A condition key = v holds when the metadata value under key equals v, or
// is an array with an element equal to v. In jsonb terms that is
// metadata @> {"key": v} or metadata @> {"key": [v]}: containment compares
// numbers numerically, and strings, numbers and booleans never equal each
// other, as in Match. $in is the same over several values, so a condition
// becomes one "@> ANY(array of jsonb)" with a single parameter.
func filterSQL(f *ragd.Filter, col string, a *args) (string, error) {
	if f == nil {
		return "true", nil
	}
	var b strings.Builder
	if err := writeFilter(&b, f, col, a); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeFilter(b *strings.Builder, f *ragd.Filter, col string, a *args) error {
	switch f.Op {
	case ragd.OpAnd, ragd.OpOr:
		if len(f.Children) == 0 {
			return ragd.Errorf(ragd.EInvalid, "filter %s needs at least one condition", f.Op)
		}
		sep := " AND "
		if f.Op == ragd.OpOr {
			sep = " OR "
		}
		b.WriteByte('(')
		for i := range f.Children {
			if i > 0 {
				b.WriteString(sep)
			}
			if err := writeFilter(b, &f.Children[i], col, a); err != nil {
				return err
			}
		}
		b.WriteByte(')')
		return nil
	case ragd.OpEq, ragd.OpIn:
		if f.Key == "" || len(f.Values) == 0 || (f.Op == ragd.OpEq && len(f.Values) != 1) {
			return ragd.Errorf(ragd.EInvalid, "filter condition %s on %q is malformed", f.Op, f.Key)
		}
		docs := make([]string, 0, 2*len(f.Values))
		for _, v := range f.Values {
			switch x := v.(type) {
			case string:
				// Stored metadata has NUL removed and invalid UTF-8
				// replaced (see cleanString); compare like with like.
				v = cleanString(x)
			case float64, bool:
			default:
				return ragd.Errorf(ragd.EInvalid, "filter value for %q must be a string, number or boolean", f.Key)
			}
			scalar, err := json.Marshal(map[string]any{f.Key: v})
			if err != nil {
				return ragd.Errorf(ragd.EInvalid, "filter value for %q is not usable: %v", f.Key, err)
			}
			array, err := json.Marshal(map[string]any{f.Key: []any{v}})
			if err != nil {
				return ragd.Errorf(ragd.EInvalid, "filter value for %q is not usable: %v", f.Key, err)
			}
			docs = append(docs, string(scalar), string(array))
		}
		fmt.Fprintf(b, "(%s @> ANY(%s::jsonb[]))", col, a.add(docs))
		return nil
	}
	return ragd.Errorf(ragd.EInvalid, "filter operator %q is not supported", f.Op)
}
