package ragd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
)

// Filter operators.
const (
	OpAnd = "$and"
	OpOr  = "$or"
	OpEq  = "$eq"
	OpIn  = "$in"
)

// Filter limits: deeper or larger filters are rejected as invalid.
const (
	MaxFilterDepth      = 16
	MaxFilterConditions = 256
	MaxFilterInValues   = 1024
)

// Filter is a parsed metadata filter. A node is either a boolean
// combination (Op is OpAnd or OpOr, Children set) or a condition on one key
// (Op is OpEq or OpIn, Key and Values set). Values hold only strings,
// float64 numbers and bools; an OpEq condition has exactly one value.
//
// The JSON form (API.md): {"key": value} is equality, {"key": {"$in": [...]}}
// membership, {"$and": [...]} and {"$or": [...]} combinations, and several
// keys in one object are ANDed.
type Filter struct {
	Op       string
	Key      string
	Values   []any
	Children []Filter
}

var filterKeyRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)

// ParseFilter parses the JSON form of a filter. An empty input or JSON null
// returns nil. Unknown operators, unsupported values, bad keys and filters
// over the size limits are EInvalid errors that name the problem.
func ParseFilter(data []byte) (*Filter, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(EInvalid, "filter is not valid JSON: %v", err)
	}
	p := filterParser{}
	f, err := p.object(v, 0)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

type filterParser struct{ conditions int }

func (p *filterParser) object(v any, depth int) (Filter, error) {
	if depth > MaxFilterDepth {
		return Filter{}, Errorf(EInvalid, "filter is nested deeper than %d levels", MaxFilterDepth)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Filter{}, Errorf(EInvalid, "filter must be a JSON object, got %s", jsonKind(v))
	}
	if len(obj) == 0 {
		return Filter{}, Errorf(EInvalid, "filter object is empty")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []Filter
	for _, k := range keys {
		f, err := p.entry(k, obj[k], depth)
		if err != nil {
			return Filter{}, err
		}
		parts = append(parts, f)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return Filter{Op: OpAnd, Children: parts}, nil
}

func (p *filterParser) entry(k string, v any, depth int) (Filter, error) {
	switch k {
	case OpAnd, OpOr:
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return Filter{}, Errorf(EInvalid, "filter %s needs a non-empty array of filters", k)
		}
		f := Filter{Op: k}
		for _, item := range list {
			c, err := p.object(item, depth+1)
			if err != nil {
				return Filter{}, err
			}
			f.Children = append(f.Children, c)
		}
		return f, nil
	}
	if len(k) > 0 && k[0] == '$' {
		return Filter{}, Errorf(EInvalid, "filter operator %q is not supported (use $and, $or, $eq, $in)", k)
	}
	if !filterKeyRE.MatchString(k) {
		return Filter{}, Errorf(EInvalid, "filter key %q is invalid: use 1 to 64 letters, digits, '_' or '-'", k)
	}
	p.conditions++
	if p.conditions > MaxFilterConditions {
		return Filter{}, Errorf(EInvalid, "filter has more than %d conditions", MaxFilterConditions)
	}
	if ops, ok := v.(map[string]any); ok {
		if len(ops) != 1 {
			return Filter{}, Errorf(EInvalid, "filter on %q must have exactly one operator", k)
		}
		for op, arg := range ops {
			switch op {
			case OpEq:
				val, err := filterValue(k, arg)
				if err != nil {
					return Filter{}, err
				}
				return Filter{Op: OpEq, Key: k, Values: []any{val}}, nil
			case OpIn:
				list, ok := arg.([]any)
				if !ok || len(list) == 0 {
					return Filter{}, Errorf(EInvalid, "filter %s on %q needs a non-empty array", OpIn, k)
				}
				if len(list) > MaxFilterInValues {
					return Filter{}, Errorf(EInvalid, "filter %s on %q has more than %d values", OpIn, k, MaxFilterInValues)
				}
				f := Filter{Op: OpIn, Key: k}
				for _, item := range list {
					val, err := filterValue(k, item)
					if err != nil {
						return Filter{}, err
					}
					f.Values = append(f.Values, val)
				}
				return f, nil
			default:
				return Filter{}, Errorf(EInvalid, "filter operator %q on %q is not supported (use $eq or $in)", op, k)
			}
		}
	}
	val, err := filterValue(k, v)
	if err != nil {
		return Filter{}, err
	}
	return Filter{Op: OpEq, Key: k, Values: []any{val}}, nil
}

func filterValue(key string, v any) (any, error) {
	switch x := v.(type) {
	case string, bool:
		return x, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, Errorf(EInvalid, "filter value %s for %q is not a usable number", x, key)
		}
		return f, nil
	case float64:
		return x, nil
	}
	return nil, Errorf(EInvalid, "filter value for %q must be a string, number or boolean, got %s", key, jsonKind(v))
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// Match reports whether metadata satisfies f. A nil filter matches
// everything. A condition on a key whose metadata value is an array matches
// when any element matches. Numbers compare as float64.
func (f *Filter) Match(metadata map[string]any) bool {
	if f == nil {
		return true
	}
	switch f.Op {
	case OpAnd:
		for i := range f.Children {
			if !f.Children[i].Match(metadata) {
				return false
			}
		}
		return true
	case OpOr:
		for i := range f.Children {
			if f.Children[i].Match(metadata) {
				return true
			}
		}
		return false
	case OpEq, OpIn:
		v, ok := metadata[f.Key]
		if !ok {
			return false
		}
		if list, ok := v.([]any); ok {
			for _, item := range list {
				if f.matchValue(item) {
					return true
				}
			}
			return false
		}
		return f.matchValue(v)
	}
	return false
}

func (f *Filter) matchValue(v any) bool {
	v = normalizeScalar(v)
	for _, want := range f.Values {
		if v == want {
			return true
		}
	}
	return false
}

// normalizeScalar turns the numeric types metadata may hold into float64 so
// they compare equal to filter values.
func normalizeScalar(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case float32:
		return float64(x)
	case uint:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	}
	return v
}

// MarshalJSON writes the filter back in its JSON form.
func (f Filter) MarshalJSON() ([]byte, error) {
	switch f.Op {
	case OpAnd, OpOr:
		return json.Marshal(map[string]any{f.Op: f.Children})
	case OpEq:
		return json.Marshal(map[string]any{f.Key: f.Values[0]})
	case OpIn:
		return json.Marshal(map[string]any{f.Key: map[string]any{OpIn: f.Values}})
	}
	return nil, fmt.Errorf("filter: unknown op %q", f.Op)
}
