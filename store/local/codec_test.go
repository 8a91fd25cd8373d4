package local

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecordRoundTrip(t *testing.T) {
	r := record{
		id: "c1", text: "some text ✓", headings: []string{"A", "B ✓"}, start: 3, end: -1, tokens: 7,
		hash: "h", meta: []byte(`{"a":1}`), vector: []float32{0.5, -1, 3e-8},
		terms: []termFreq{{1, 2}, {7, 1}, {1 << 30, 1 << 20}},
	}
	got, err := decodeRecord(r.encode())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got, cmp.AllowUnexported(record{}, termFreq{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	empty, err := decodeRecord((&record{id: "x"}).encode())
	if err != nil || empty.id != "x" || empty.vector != nil || empty.meta != nil || empty.headings != nil {
		t.Errorf("empty record: %+v, %v", empty, err)
	}
}

func TestChunkKey(t *testing.T) {
	for _, id := range []string{"d", "doc/ü ✓", string(make([]byte, 300))} {
		k := chunkKey(id, 1<<40+5, 1<<31+3)
		doc, gen, index, err := parseChunkKey(k)
		if err != nil || string(doc) != id || gen != 1<<40+5 || index != 1<<31+3 {
			t.Errorf("parseChunkKey(chunkKey(%q)) = %q, %d, %d, %v", id, doc, gen, index, err)
		}
		if !hasPrefix(k, chunkPrefix(id, 1<<40+5)) || hasPrefix(k, chunkPrefix(id, 1<<40+6)) {
			t.Errorf("prefix mismatch for %q", id)
		}
	}
	// One document's prefix is never a prefix of another document's keys.
	if hasPrefix(chunkKey("ab", 1, 0), chunkPrefix("a", 1)) {
		t.Error("the prefix of document a matches a key of document ab")
	}
}

// FuzzDecodeRecord feeds arbitrary bytes to the record decoder, which must
// fail cleanly, and checks that what decodes re-encodes to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	f.Add((&record{id: "c", text: "t", headings: []string{"h"}, meta: []byte(`{}`), vector: []float32{1, 2}, terms: []termFreq{{1, 1}}}).encode())
	f.Add((&record{id: "x"}).encode())
	f.Add([]byte{1, 200, 200, 200, 200, 200, 200, 200, 200, 200, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := decodeRecord(r.encode())
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !cmp.Equal(r, again, cmp.AllowUnexported(record{}, termFreq{})) {
			t.Fatalf("record changed in a round trip: %+v vs %+v", r, again)
		}
		// The partial decoder used at open agrees with the full one.
		d := decoder{b: b}
		d.header()
		id := string(d.bytes())
		d.skipTextual()
		d.bytes()
		vec := d.vector(nil)
		terms := d.terms(nil)
		if d.err != nil || id != r.id || len(vec) != len(r.vector) || len(terms) != len(r.terms) {
			t.Fatalf("partial decode disagrees: %v", d.err)
		}
	})
}

func FuzzParseChunkKey(f *testing.F) {
	f.Add(chunkKey("doc", 3, 4))
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, k []byte) {
		doc, gen, index, err := parseChunkKey(k)
		if err != nil {
			return
		}
		if string(chunkKey(string(doc), gen, index)) != string(k) {
			t.Fatalf("key %x does not re-encode", k)
		}
	})
}
