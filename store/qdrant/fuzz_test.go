package qdrant

import (
	"encoding/json"
	"testing"

	"github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/qdrant/qdranttest"
)

// FuzzFilter checks the translation of ragd filters into Qdrant conditions
// against ragd's own semantics: for any filter and metadata, the translated
// condition, evaluated with Qdrant's rules over the payload the store
// writes, matches exactly when ragd.Filter.Match does.
func FuzzFilter(f *testing.F) {
	seeds := [][2]string{
		{`{"lang": "en"}`, `{"lang": "en"}`},
		{`{"year": 2024}`, `{"year": 2024.0}`},
		{`{"year": {"$in": [2023, "2024", true]}}`, `{"year": "2024"}`},
		{`{"tags": "x"}`, `{"tags": ["y", "x"]}`},
		{`{"tags": "x"}`, `{"tags": [["x"]]}`},
		{`{"$or": [{"a": 1}, {"b": false}]}`, `{"b": false, "a": null}`},
		{`{"$and": [{"a": {"$eq": -0}}, {"b-c": "é"}]}`, `{"a": 0, "b-c": "é"}`},
		{`{"a": 1}`, `{"a": {"x": 1}}`},
		{`{"n": 1e300}`, `{"n": [1e300, "1e300"]}`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, filterJSON, metaJSON string) {
		flt, err := ragd.ParseFilter([]byte(filterJSON))
		if err != nil || flt == nil {
			return
		}
		var meta map[string]any
		if json.Unmarshal([]byte(metaJSON), &meta) != nil {
			return
		}
		cond, err := translateFilter(flt, map[string]qdrant.FieldType{})
		if err != nil {
			t.Fatalf("translating %s: %v", filterJSON, err)
		}
		payload := map[string]*qdrant.Value{keyMetadata: metadataValue(meta)}
		got, err := qdranttest.MatchFilter(&qdrant.Filter{Must: []*qdrant.Condition{cond}}, payload)
		if err != nil {
			t.Fatalf("evaluating %s: %v", filterJSON, err)
		}
		if want := flt.Match(meta); got != want {
			t.Errorf("filter %s on metadata %s: Qdrant condition matches %v, ragd.Filter.Match %v", filterJSON, metaJSON, got, want)
		}
	})
}

// FuzzAddr checks that any address either yields a usable host and port or
// an EInvalid error.
func FuzzAddr(f *testing.F) {
	for _, s := range []string{"localhost", "qdrant:6334", "http://qdrant:6334", "https://q.example.com", "[::1]:6334", "grpc://x", "http://", ":6334", "host:0", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		cfg, err := clientConfig(Options{Addr: addr})
		if err != nil {
			if ragd.ErrorCode(err) != ragd.EInvalid {
				t.Fatalf("%q: error %v is not EInvalid", addr, err)
			}
			return
		}
		if cfg.Host == "" || cfg.Port <= 0 || cfg.Port > 65535 {
			t.Fatalf("%q: host %q port %d", addr, cfg.Host, cfg.Port)
		}
	})
}
