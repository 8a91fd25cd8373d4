package qdranttest

import (
	"iter"
	"strconv"
	"strings"

	"github.com/qdrant/go-client/qdrant"
)

// pathSegment is one step of a payload key path: a field name, then any
// number of array steps: "[]" flattens an array, "[N]" takes its element N.
type pathSegment struct {
	name  string
	steps []int // -1 for "[]", else an index
}

// parsePath parses a Qdrant JSON path: dot-separated keys, each a raw key of
// letters, digits, '_' and '-' or a double-quoted key, each followed by any
// number of "[]" or "[N]".
func parsePath(key string) ([]pathSegment, bool) {
	var segs []pathSegment
	for {
		var seg pathSegment
		if strings.HasPrefix(key, "\"") {
			end := strings.IndexByte(key[1:], '"')
			if end < 0 {
				return nil, false
			}
			seg.name = key[1 : 1+end]
			key = key[end+2:]
		} else {
			end := 0
			for end < len(key) && isRawKeyByte(key[end]) {
				end++
			}
			if end == 0 {
				return nil, false
			}
			seg.name, key = key[:end], key[end:]
		}
		for strings.HasPrefix(key, "[") {
			end := strings.IndexByte(key, ']')
			if end < 0 {
				return nil, false
			}
			inner := key[1:end]
			key = key[end+1:]
			if inner == "" {
				seg.steps = append(seg.steps, -1)
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return nil, false
			}
			seg.steps = append(seg.steps, n)
		}
		segs = append(segs, seg)
		if key == "" {
			return segs, true
		}
		if key[0] != '.' {
			return nil, false
		}
		key = key[1:]
	}
}

func isRawKeyByte(b byte) bool {
	return b == '_' || b == '-' || b >= 0x80 ||
		('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') || ('0' <= b && b <= '9')
}

// valuesAt returns the values found at key in payload. A value that is an
// array at the end of the path contributes its elements, so that a condition
// on an array field matches when any element matches, as in Qdrant.
func valuesAt(payload map[string]*qdrant.Value, key string) []*qdrant.Value {
	segs, ok := parsePath(key)
	if !ok {
		return nil
	}
	var cur []*qdrant.Value
	for i, seg := range segs {
		var next []*qdrant.Value
		if i == 0 {
			if f, ok := payload[seg.name]; ok {
				next = append(next, f)
			}
		}
		for _, v := range cur {
			if f, ok := v.GetStructValue().GetFields()[seg.name]; ok {
				next = append(next, f)
			}
		}
		for _, step := range seg.steps {
			var stepped []*qdrant.Value
			for _, v := range next {
				elems := v.GetListValue().GetValues()
				if step < 0 {
					stepped = append(stepped, elems...)
				} else if step < len(elems) {
					stepped = append(stepped, elems[step])
				}
			}
			next = stepped
		}
		cur = next
	}
	var out []*qdrant.Value
	for _, v := range cur {
		if l, ok := v.GetKind().(*qdrant.Value_ListValue); ok {
			out = append(out, l.ListValue.GetValues()...)
			continue
		}
		out = append(out, v)
	}
	return out
}

// MatchFilter reports whether a point with the given payload satisfies f,
// with the semantics the server applies. It lets tests check a filter
// translation against many payloads without a round trip per payload.
func MatchFilter(f *qdrant.Filter, payload map[string]*qdrant.Value) (bool, error) {
	return matches(f, &point{payload: payload})
}

// filterPoints returns the points of pts that satisfy f, in pts' order.
func filterPoints(pts iter.Seq[*point], f *qdrant.Filter) ([]*point, error) {
	var out []*point
	for p := range pts {
		ok, err := matches(f, p)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// matches reports whether p satisfies f. A nil filter matches everything.
func matches(f *qdrant.Filter, p *point) (bool, error) {
	if f == nil {
		return true, nil
	}
	for _, c := range f.GetMust() {
		ok, err := checkCondition(c, p)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, c := range f.GetMustNot() {
		ok, err := checkCondition(c, p)
		if err != nil {
			return false, err
		}
		if ok {
			return false, nil
		}
	}
	if len(f.GetShould()) > 0 {
		any := false
		for _, c := range f.GetShould() {
			ok, err := checkCondition(c, p)
			if err != nil {
				return false, err
			}
			if ok {
				any = true
				break
			}
		}
		if !any {
			return false, nil
		}
	}
	if ms := f.GetMinShould(); ms != nil {
		n := uint64(0)
		for _, c := range ms.GetConditions() {
			ok, err := checkCondition(c, p)
			if err != nil {
				return false, err
			}
			if ok {
				n++
			}
		}
		if n < ms.GetMinCount() {
			return false, nil
		}
	}
	return true, nil
}

func checkCondition(c *qdrant.Condition, p *point) (bool, error) {
	switch v := c.GetConditionOneOf().(type) {
	case *qdrant.Condition_Field:
		return checkField(v.Field, p)
	case *qdrant.Condition_Filter:
		return matches(v.Filter, p)
	case *qdrant.Condition_HasId:
		for _, id := range v.HasId.GetHasId() {
			k, err := keyOf(id)
			if err != nil {
				return false, err
			}
			if k == p.key {
				return true, nil
			}
		}
		return false, nil
	case *qdrant.Condition_IsEmpty:
		return isEmpty(valuesAt(p.payload, v.IsEmpty.GetKey())), nil
	case *qdrant.Condition_IsNull:
		return hasNull(valuesAt(p.payload, v.IsNull.GetKey())), nil
	case *qdrant.Condition_HasVector:
		name := v.HasVector.GetHasVector()
		if _, ok := p.dense[name]; ok {
			return true, nil
		}
		_, ok := p.sparse[name]
		return ok, nil
	case *qdrant.Condition_Nested:
		return false, unimplemented("nested object conditions are not supported")
	case *qdrant.Condition_Slice:
		return false, unimplemented("slice conditions are not supported")
	case nil:
		return false, badInput("Condition is not specified")
	}
	return false, unimplemented("condition %T is not supported", c.GetConditionOneOf())
}

func isEmpty(vals []*qdrant.Value) bool {
	for _, v := range vals {
		if _, null := v.GetKind().(*qdrant.Value_NullValue); !null {
			return false
		}
	}
	return true
}

func hasNull(vals []*qdrant.Value) bool {
	for _, v := range vals {
		if _, null := v.GetKind().(*qdrant.Value_NullValue); null {
			return true
		}
	}
	return false
}

// checkField checks a field condition. Every sub-condition that is set must
// hold; a condition on a missing field does not match.
func checkField(fc *qdrant.FieldCondition, p *point) (bool, error) {
	if fc.GetGeoBoundingBox() != nil || fc.GetGeoRadius() != nil || fc.GetGeoPolygon() != nil {
		return false, unimplemented("geo conditions are not supported")
	}
	if fc.GetValuesCount() != nil {
		return false, unimplemented("values_count conditions are not supported")
	}
	if fc.GetDatetimeRange() != nil {
		return false, unimplemented("datetime_range conditions are not supported")
	}
	vals := valuesAt(p.payload, fc.GetKey())
	set := false
	if m := fc.GetMatch(); m != nil {
		set = true
		ok, err := checkMatch(m, vals)
		if err != nil || !ok {
			return false, err
		}
	}
	if r := fc.GetRange(); r != nil {
		set = true
		if !checkRange(r, vals) {
			return false, nil
		}
	}
	if fc.IsEmpty != nil {
		set = true
		if isEmpty(vals) != fc.GetIsEmpty() {
			return false, nil
		}
	}
	if fc.IsNull != nil {
		set = true
		if hasNull(vals) != fc.GetIsNull() {
			return false, nil
		}
	}
	if !set {
		return false, badInput("At least one field condition must be specified")
	}
	return true, nil
}

func checkMatch(m *qdrant.Match, vals []*qdrant.Value) (bool, error) {
	switch mv := m.GetMatchValue().(type) {
	case *qdrant.Match_Keyword:
		for _, v := range vals {
			if s, ok := v.GetKind().(*qdrant.Value_StringValue); ok && s.StringValue == mv.Keyword {
				return true, nil
			}
		}
		return false, nil
	case *qdrant.Match_Integer:
		for _, v := range vals {
			if i, ok := v.GetKind().(*qdrant.Value_IntegerValue); ok && i.IntegerValue == mv.Integer {
				return true, nil
			}
		}
		return false, nil
	case *qdrant.Match_Boolean:
		for _, v := range vals {
			if b, ok := v.GetKind().(*qdrant.Value_BoolValue); ok && b.BoolValue == mv.Boolean {
				return true, nil
			}
		}
		return false, nil
	case *qdrant.Match_Keywords:
		for _, v := range vals {
			s, ok := v.GetKind().(*qdrant.Value_StringValue)
			if !ok {
				continue
			}
			for _, kw := range mv.Keywords.GetStrings() {
				if s.StringValue == kw {
					return true, nil
				}
			}
		}
		return false, nil
	case *qdrant.Match_Integers:
		for _, v := range vals {
			i, ok := v.GetKind().(*qdrant.Value_IntegerValue)
			if !ok {
				continue
			}
			for _, want := range mv.Integers.GetIntegers() {
				if i.IntegerValue == want {
					return true, nil
				}
			}
		}
		return false, nil
	case nil:
		return false, badInput("Match value is not specified")
	}
	return false, unimplemented("match %T is not supported", m.GetMatchValue())
}

func checkRange(r *qdrant.Range, vals []*qdrant.Value) bool {
	for _, v := range vals {
		var x float64
		switch n := v.GetKind().(type) {
		case *qdrant.Value_IntegerValue:
			x = float64(n.IntegerValue)
		case *qdrant.Value_DoubleValue:
			x = n.DoubleValue
		default:
			continue
		}
		if r.Lt != nil && !(x < r.GetLt()) {
			continue
		}
		if r.Gt != nil && !(x > r.GetGt()) {
			continue
		}
		if r.Lte != nil && !(x <= r.GetLte()) {
			continue
		}
		if r.Gte != nil && !(x >= r.GetGte()) {
			continue
		}
		return true
	}
	return false
}

// andFilters returns a filter that requires both a and b.
func andFilters(a, b *qdrant.Filter) *qdrant.Filter {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewFilterAsCondition(a), qdrant.NewFilterAsCondition(b)}}
}
