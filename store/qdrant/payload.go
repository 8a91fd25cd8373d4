package qdrant

import (
	"encoding/json"
	"math"
	"time"

	"github.com/qdrant/go-client/qdrant"
)

// toValue converts a Go value to a Qdrant payload value. Integers stay
// integers (the store's own counters and keys, matched and ordered exactly);
// anything that is not a JSON-like value goes through encoding/json.
func toValue(v any) *qdrant.Value {
	switch x := v.(type) {
	case nil:
		return qdrant.NewValueNull()
	case string:
		return qdrant.NewValueString(x)
	case bool:
		return qdrant.NewValueBool(x)
	case int:
		return qdrant.NewValueInt(int64(x))
	case int64:
		return qdrant.NewValueInt(x)
	case int32:
		return qdrant.NewValueInt(int64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return qdrant.NewValueNull()
		}
		return qdrant.NewValueDouble(x)
	case float32:
		return toValue(float64(x))
	case []string:
		vals := make([]*qdrant.Value, len(x))
		for i, s := range x {
			vals[i] = qdrant.NewValueString(s)
		}
		return qdrant.NewValueFromList(vals...)
	case []any:
		vals := make([]*qdrant.Value, len(x))
		for i, e := range x {
			vals[i] = toValue(e)
		}
		return qdrant.NewValueFromList(vals...)
	case map[string]any:
		fields := make(map[string]*qdrant.Value, len(x))
		for k, e := range x {
			fields[k] = toValue(e)
		}
		return qdrant.NewValueFromFields(fields)
	}
	return toValue(jsonish(v))
}

// metadataValue converts document or chunk metadata to a payload value with
// JSON's semantics: every number is a float64, so that a filter's number
// matches whatever Go type the metadata held, and reads give float64 back.
func metadataValue(m map[string]any) *qdrant.Value {
	if m == nil {
		return qdrant.NewValueFromFields(map[string]*qdrant.Value{})
	}
	return toValue(normalizeNumbers(m))
}

func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case nil, string, bool, float64:
		return x
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeNumbers(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeNumbers(e)
		}
		return out
	}
	return normalizeNumbers(jsonish(v))
}

// jsonish round-trips v through encoding/json, for types payloads cannot
// hold directly (time.Time, structs, typed slices and maps).
func jsonish(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

// fromValue converts a payload value back to Go with JSON's types: numbers
// are float64, objects map[string]any, arrays []any.
func fromValue(v *qdrant.Value) any {
	switch x := v.GetKind().(type) {
	case *qdrant.Value_StringValue:
		return x.StringValue
	case *qdrant.Value_BoolValue:
		return x.BoolValue
	case *qdrant.Value_DoubleValue:
		return x.DoubleValue
	case *qdrant.Value_IntegerValue:
		return float64(x.IntegerValue)
	case *qdrant.Value_ListValue:
		out := make([]any, 0, len(x.ListValue.GetValues()))
		for _, e := range x.ListValue.GetValues() {
			out = append(out, fromValue(e))
		}
		return out
	case *qdrant.Value_StructValue:
		out := make(map[string]any, len(x.StructValue.GetFields()))
		for k, e := range x.StructValue.GetFields() {
			out[k] = fromValue(e)
		}
		return out
	}
	return nil
}

func strPayload(p map[string]*qdrant.Value, key string) string {
	return p[key].GetStringValue()
}

func intPayload(p map[string]*qdrant.Value, key string) int64 {
	switch x := p[key].GetKind().(type) {
	case *qdrant.Value_IntegerValue:
		return x.IntegerValue
	case *qdrant.Value_DoubleValue:
		return int64(x.DoubleValue)
	}
	return 0
}

func timePayload(p map[string]*qdrant.Value, key string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, strPayload(p, key))
	return t
}

func stringsPayload(p map[string]*qdrant.Value, key string) []string {
	vals := p[key].GetListValue().GetValues()
	if len(vals) == 0 {
		return nil
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = v.GetStringValue()
	}
	return out
}

// metadataPayload reads metadata back; empty metadata reads as nil.
func metadataPayload(p map[string]*qdrant.Value, key string) map[string]any {
	m, _ := fromValue(p[key]).(map[string]any)
	if len(m) == 0 {
		return nil
	}
	return m
}

func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
