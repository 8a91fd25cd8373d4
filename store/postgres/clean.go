package postgres

import (
	"strings"
	"unicode/utf8"
)

// PostgreSQL cannot store NUL (U+0000) in text or jsonb, nor invalid UTF-8
// (SQLSTATE 22021, 22P05): one such string would fail a whole document's
// transaction (RELIABILITY.md H-8). Ingest removes them before the store
// sees text; these functions make sure of it for everything the store
// writes, including metadata nested at any depth.

// cleanString removes NUL bytes and replaces invalid UTF-8 with U+FFFD.
func cleanString(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// cleanStrings cleans every string of ss, copying the slice only when one
// changes. A nil slice stays nil.
func cleanStrings(ss []string) []string {
	var out []string
	for i, s := range ss {
		c := cleanString(s)
		if c != s && out == nil {
			out = make([]string, len(ss))
			copy(out, ss[:i])
		}
		if out != nil {
			out[i] = c
		}
	}
	if out == nil {
		return ss
	}
	return out
}

// cleanValue returns v with every string in it, map keys included, cleaned.
// Maps and slices are copied, never changed in place.
func cleanValue(v any) any {
	switch x := v.(type) {
	case string:
		return cleanString(x)
	case map[string]any:
		if x == nil {
			return x
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[cleanString(k)] = cleanValue(e)
		}
		return m
	case []any:
		if x == nil {
			return x
		}
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cleanValue(e)
		}
		return s
	case []string:
		if x == nil {
			return x
		}
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = cleanString(e)
		}
		return s
	}
	return v
}
