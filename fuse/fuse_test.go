package fuse_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/fuse"
)

func hits(ids ...string) []ragd.Hit {
	var out []ragd.Hit
	for i, id := range ids {
		out = append(out, ragd.Hit{ChunkID: id, DocumentID: "doc-" + id, Score: float64(100 - i)})
	}
	return out
}

func TestRRF(t *testing.T) {
	vector := hits("a", "b", "c")
	lexical := hits("c", "d", "a")
	got := fuse.RRF(vector, lexical)
	r := func(rank int) float64 { return 1 / float64(ragd.RRFK+rank) }
	want := []ragd.Hit{
		// a: 1/61 + 1/63; c: 1/63 + 1/61; equal, so by chunk ID.
		{ChunkID: "a", DocumentID: "doc-a", Score: r(1) + r(3)},
		{ChunkID: "c", DocumentID: "doc-c", Score: r(3) + r(1)},
		{ChunkID: "b", DocumentID: "doc-b", Score: r(2)},
		{ChunkID: "d", DocumentID: "doc-d", Score: r(2)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RRF mismatch (-want +got):\n%s", diff)
	}
	// The inputs are not modified.
	if vector[0].Score != 100 || lexical[0].Score != 100 {
		t.Error("RRF changed its inputs")
	}
}

func TestRRFTiesByChunkID(t *testing.T) {
	got := fuse.RRF(hits("z"), hits("y"), hits("x"))
	var ids []string
	for _, h := range got {
		ids = append(ids, h.ChunkID)
	}
	if diff := cmp.Diff([]string{"x", "y", "z"}, ids); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
}

func TestRRFDuplicateInOneList(t *testing.T) {
	got := fuse.RRF(hits("a", "a", "b"))
	want := []float64{1.0 / 61, 1.0 / 63}
	if len(got) != 2 || got[0].ChunkID != "a" || got[0].Score != want[0] || got[1].ChunkID != "b" || got[1].Score != want[1] {
		t.Errorf("got %+v, want a at rank 1 once and b at rank 3", got)
	}
}

func TestRRFEmpty(t *testing.T) {
	if got := fuse.RRF(); got == nil || len(got) != 0 {
		t.Errorf("RRF() = %#v, want an empty non-nil slice", got)
	}
	if got := fuse.RRF(nil, hits("a")); len(got) != 1 || got[0].Score != 1.0/61 {
		t.Errorf("RRF(nil, [a]) = %+v", got)
	}
}

func TestRRFWith(t *testing.T) {
	got := fuse.RRFWith(1, hits("a", "b"), hits("b"))
	third, half := 1.0, 1.0
	third /= 3
	half /= 2
	if got[0].ChunkID != "b" || got[0].Score != third+half || got[1].Score != half {
		t.Errorf("RRFWith(1) = %+v", got)
	}
}

func TestSortAndCut(t *testing.T) {
	h := []ragd.Hit{
		{ChunkID: "b", Score: 0.5},
		{ChunkID: "a", Score: 0.5},
		{ChunkID: "c", Score: 0.9},
		{ChunkID: "d", Score: 0.1},
	}
	fuse.Sort(h)
	var ids []string
	for _, x := range h {
		ids = append(ids, x.ChunkID)
	}
	if diff := cmp.Diff([]string{"c", "a", "b", "d"}, ids); diff != "" {
		t.Errorf("Sort order mismatch (-want +got):\n%s", diff)
	}
	if got := fuse.Cut(h, 2, 0); len(got) != 2 || got[1].ChunkID != "a" {
		t.Errorf("Cut(2, 0) = %+v", got)
	}
	if got := fuse.Cut(h, 10, 0.5); len(got) != 3 {
		t.Errorf("Cut(10, 0.5) kept %d hits, want 3 (minimum is inclusive)", len(got))
	}
	if got := fuse.Cut(h, 0, 0.95); len(got) != 0 {
		t.Errorf("Cut(0, 0.95) kept %d hits, want 0", len(got))
	}
	if got := fuse.Cut(h, 0, -1); len(got) != 4 {
		t.Errorf("Cut(0, -1) kept %d hits, want all 4", len(got))
	}
}
