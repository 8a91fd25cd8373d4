package qdranttest_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd/store/qdrant/qdranttest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// These tests pin the stand-in to Qdrant's documented behaviour, through the
// official client over a real connection.

func dial(tb testing.TB, addr string, apiKey string) *qdrant.Client {
	tb.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := qdrant.NewClient(&qdrant.Config{Host: host, Port: port, APIKey: apiKey, SkipCompatibilityCheck: true, PoolSize: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func newClient(tb testing.TB) *qdrant.Client {
	return dial(tb, qdranttest.NewServer(tb), "")
}

// create makes a collection with a 2-dimensional cosine vector "d" and a
// sparse vector "s" with the IDF modifier.
func create(tb testing.TB, c *qdrant.Client, name string) {
	tb.Helper()
	err := c.CreateCollection(context.Background(), &qdrant.CreateCollection{
		CollectionName: name,
		VectorsConfig:  qdrant.NewVectorsConfigMap(map[string]*qdrant.VectorParams{"d": {Size: 2, Distance: qdrant.Distance_Cosine}}),
		SparseVectorsConfig: qdrant.NewSparseVectorsConfig(map[string]*qdrant.SparseVectorParams{
			"s": {Modifier: qdrant.Modifier_Idf.Enum()},
		}),
		Metadata: qdrant.NewValueMap(map[string]any{"owner": "test"}),
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func upsert(tb testing.TB, c *qdrant.Client, name string, points ...*qdrant.PointStruct) {
	tb.Helper()
	if _, err := c.Upsert(context.Background(), &qdrant.UpsertPoints{CollectionName: name, Wait: qdrant.PtrOf(true), Points: points}); err != nil {
		tb.Fatal(err)
	}
}

func pt(id uint64, payload map[string]any, vecs map[string]*qdrant.Vector) *qdrant.PointStruct {
	if vecs == nil {
		vecs = map[string]*qdrant.Vector{}
	}
	return &qdrant.PointStruct{Id: qdrant.NewIDNum(id), Payload: qdrant.NewValueMap(payload), Vectors: qdrant.NewVectorsMap(vecs)}
}

func wantStatus(tb testing.TB, err error, code codes.Code, msg string) {
	tb.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code || !strings.Contains(st.Message(), msg) {
		tb.Errorf("error = %v; want code %s with %q", err, code, msg)
	}
}

func ids(pts []*qdrant.ScoredPoint) []uint64 {
	var out []uint64
	for _, p := range pts {
		out = append(out, p.GetId().GetNum())
	}
	return out
}

func TestErrors(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	_, err := c.GetCollectionInfo(ctx, "nope")
	wantStatus(t, err, codes.NotFound, "Not found: Collection `nope` doesn't exist!")
	_, err = c.Query(ctx, &qdrant.QueryPoints{CollectionName: "nope"})
	wantStatus(t, err, codes.NotFound, "Collection `nope` doesn't exist!")

	create(t, c, "c")
	err = c.CreateCollection(ctx, &qdrant.CreateCollection{CollectionName: "c"})
	wantStatus(t, err, codes.AlreadyExists, "Wrong input: Collection `c` already exists!")

	_, err = c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Points: []*qdrant.PointStruct{
		pt(1, nil, map[string]*qdrant.Vector{"d": qdrant.NewVectorDense([]float32{1, 2, 3})}),
	}})
	wantStatus(t, err, codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: 2, got 3")
	_, err = c.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQueryDense([]float32{1}), Using: qdrant.PtrOf("d")})
	wantStatus(t, err, codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: 2, got 1")
	_, err = c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Points: []*qdrant.PointStruct{
		pt(1, nil, map[string]*qdrant.Vector{"x": qdrant.NewVectorDense([]float32{1, 2})}),
	}})
	wantStatus(t, err, codes.InvalidArgument, "Wrong input: Not existing vector name error: x")
	_, err = c.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: "c", OrderBy: &qdrant.OrderBy{Key: "n"}})
	wantStatus(t, err, codes.InvalidArgument, "Bad request: No range index for `order_by` key: n")

	// Deleting a missing collection is not an error; the result says false.
	resp, err := c.GetCollectionsClient().Delete(ctx, &qdrant.DeleteCollection{CollectionName: "nope"})
	if err != nil || resp.GetResult() {
		t.Errorf("Delete(nope) = %v, %v; want false, nil", resp, err)
	}
}

func TestCollectionInfo(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	create(t, c, "c")
	if _, err := c.CreateFieldIndex(ctx, &qdrant.CreateFieldIndexCollection{CollectionName: "c", FieldName: "k", FieldType: qdrant.FieldType_FieldTypeKeyword.Enum(), Wait: qdrant.PtrOf(true)}); err != nil {
		t.Fatal(err)
	}
	info, err := c.GetCollectionInfo(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if info.GetConfig().GetMetadata()["owner"].GetStringValue() != "test" {
		t.Errorf("metadata = %v", info.GetConfig().GetMetadata())
	}
	params := info.GetConfig().GetParams()
	if d := params.GetVectorsConfig().GetParamsMap().GetMap()["d"]; d.GetSize() != 2 || d.GetDistance() != qdrant.Distance_Cosine {
		t.Errorf("vectors config = %v", params.GetVectorsConfig())
	}
	if s := params.GetSparseVectorsConfig().GetMap()["s"]; s.GetModifier() != qdrant.Modifier_Idf {
		t.Errorf("sparse config = %v", params.GetSparseVectorsConfig())
	}
	if info.GetPayloadSchema()["k"].GetDataType() != qdrant.PayloadSchemaType_Keyword {
		t.Errorf("payload schema = %v", info.GetPayloadSchema())
	}
	exists, err := c.CollectionExists(ctx, "c")
	if err != nil || !exists {
		t.Errorf("CollectionExists = %v, %v", exists, err)
	}
}

func TestCosineNormalizedAtInsert(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	create(t, c, "c")
	unit := []float32{0.6, 0.8}
	upsert(t, c, "c",
		pt(1, nil, map[string]*qdrant.Vector{"d": qdrant.NewVectorDense([]float32{3, 4})}),
		pt(2, nil, map[string]*qdrant.Vector{"d": qdrant.NewVectorDense(unit)}),
	)
	got, err := c.Get(ctx, &qdrant.GetPoints{CollectionName: "c", Ids: []*qdrant.PointId{qdrant.NewIDNum(1), qdrant.NewIDNum(2)}, WithVectors: qdrant.NewWithVectors(true)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		d := p.GetVectors().GetVectors().GetVectors()["d"].GetDense().GetData()
		if math.Abs(float64(d[0])-0.6) > 1e-6 || math.Abs(float64(d[1])-0.8) > 1e-6 {
			t.Errorf("point %d stored %v, want the unit vector", p.GetId().GetNum(), d)
		}
		if p.GetId().GetNum() == 2 && !slices.Equal(d, unit) {
			t.Errorf("an already normalized vector changed: %v", d)
		}
	}
	res, err := c.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQueryDense([]float32{10, 0}), Using: qdrant.PtrOf("d")})
	if err != nil {
		t.Fatal(err)
	}
	// Equal scores come back in ID order.
	if diff := cmp.Diff([]uint64{1, 2}, ids(res)); diff != "" || math.Abs(float64(res[0].GetScore())-0.6) > 1e-6 {
		t.Errorf("query = %v", res)
	}
}

func TestSparseIDF(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	create(t, c, "c")
	sp := func(idx []uint32, vals []float32) map[string]*qdrant.Vector {
		return map[string]*qdrant.Vector{"s": qdrant.NewVectorSparse(idx, vals)}
	}
	upsert(t, c, "c",
		pt(1, map[string]any{"g": "a"}, sp([]uint32{7, 9}, []float32{2, 1})),
		pt(2, map[string]any{"g": "a"}, sp([]uint32{9}, []float32{1})),
		pt(3, map[string]any{"g": "b"}, sp([]uint32{5}, []float32{1})),
		pt(4, map[string]any{"g": "b"}, nil), // no sparse vector: not counted
	)
	idf := func(n, df float64) float64 { return math.Log((n-df+0.5)/(df+0.5) + 1) }
	res, err := c.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuerySparse([]uint32{7, 9}, []float32{1, 1}), Using: qdrant.PtrOf("s")})
	if err != nil {
		t.Fatal(err)
	}
	want1 := 2*idf(3, 1) + idf(3, 2)
	if diff := cmp.Diff([]uint64{1, 2}, ids(res)); diff != "" || math.Abs(float64(res[0].GetScore())-want1) > 1e-5 || math.Abs(float64(res[1].GetScore())-idf(3, 2)) > 1e-5 {
		t.Errorf("sparse query = %v; want scores %v, %v", res, want1, idf(3, 2))
	}
	// With an IDF corpus the statistics count only the points in it.
	res, err = c.Query(ctx, &qdrant.QueryPoints{
		CollectionName: "c", Query: qdrant.NewQuerySparse([]uint32{9}, []float32{1}), Using: qdrant.PtrOf("s"),
		Params: &qdrant.SearchParams{Idf: &qdrant.IdfParams{Corpus: &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatch("g", "a")}}}},
	})
	if err != nil || len(res) != 2 || math.Abs(float64(res[0].GetScore())-idf(2, 2)) > 1e-6 {
		t.Errorf("corpus query = %v, %v; want score %v", res, err, idf(2, 2))
	}
}

func TestRRF(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	create(t, c, "c")
	upsert(t, c, "c",
		pt(1, nil, map[string]*qdrant.Vector{"d": qdrant.NewVectorDense([]float32{1, 0}), "s": qdrant.NewVectorSparse([]uint32{1}, []float32{1})}),
		pt(2, nil, map[string]*qdrant.Vector{"d": qdrant.NewVectorDense([]float32{0.8, 0.6}), "s": qdrant.NewVectorSparse([]uint32{1}, []float32{3})}),
		pt(3, nil, map[string]*qdrant.Vector{"d": qdrant.NewVectorDense([]float32{0, 1})}),
	)
	prefetch := []*qdrant.PrefetchQuery{
		{Query: qdrant.NewQueryDense([]float32{1, 0}), Using: qdrant.PtrOf("d")},
		{Query: qdrant.NewQuerySparse([]uint32{1}, []float32{1}), Using: qdrant.PtrOf("s")},
	}
	// Dense ranks 1, 2, 3; sparse ranks 2, 1.
	for _, tc := range []struct {
		query *qdrant.Query
		k     float32
	}{
		{qdrant.NewQueryFusion(qdrant.Fusion_RRF), 2},
		{qdrant.NewQueryRRF(&qdrant.Rrf{K: qdrant.PtrOf(uint32(61))}), 61},
	} {
		res, err := c.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Prefetch: prefetch, Query: tc.query})
		if err != nil {
			t.Fatal(err)
		}
		k := tc.k
		want := map[uint64]float32{1: 1/k + 1/(k+1), 2: 1/(k+1) + 1/k, 3: 1 / (k + 2)}
		if len(res) != 3 {
			t.Fatalf("k=%v: %v", k, res)
		}
		for _, p := range res {
			if math.Abs(float64(p.GetScore()-want[p.GetId().GetNum()])) > 1e-7 {
				t.Errorf("k=%v: point %d scores %v, want %v", k, p.GetId().GetNum(), p.GetScore(), want[p.GetId().GetNum()])
			}
		}
	}
	// The root filter applies to every prefetch.
	res, err := c.Query(ctx, &qdrant.QueryPoints{
		CollectionName: "c", Prefetch: prefetch, Query: qdrant.NewQueryFusion(qdrant.Fusion_RRF),
		Filter: &qdrant.Filter{MustNot: []*qdrant.Condition{qdrant.NewHasID(qdrant.NewIDNum(1))}},
	})
	if err != nil || !slices.Equal(ids(res), []uint64{2, 3}) || res[0].GetScore() != 1.0 {
		t.Errorf("filtered fusion = %v, %v", res, err)
	}
}

func TestFilters(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	create(t, c, "c")
	upsert(t, c, "c",
		pt(1, map[string]any{"s": "x", "i": 3, "f": 2.5, "b": true, "arr": []any{"p", "q"}, "o": map[string]any{"k": "v", "n": 1}}, nil),
		pt(2, map[string]any{"s": "y", "i": 4, "f": 3.0, "b": false, "objs": []any{map[string]any{"k": "a"}, map[string]any{"k": "b"}}, "z": nil}, nil),
		pt(3, map[string]any{"s": "x", "arr": []any{}, "i": 3.0}, nil),
	)
	cases := []struct {
		name string
		f    *qdrant.Filter
		want []uint64
	}{
		{"keyword", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatch("s", "x")}}, []uint64{1, 3}},
		{"integer matches integers only", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchInt("i", 3)}}, []uint64{1}},
		{"range on ints and doubles", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewRange("i", &qdrant.Range{Gte: qdrant.PtrOf(3.0), Lte: qdrant.PtrOf(3.0)})}}, []uint64{1, 3}},
		{"range lt", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewRange("f", &qdrant.Range{Lt: qdrant.PtrOf(3.0)})}}, []uint64{1}},
		{"bool", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchBool("b", false)}}, []uint64{2}},
		{"array any element", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatch("arr", "q")}}, []uint64{1}},
		{"keywords any", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeywords("s", "y", "w")}}, []uint64{2}},
		{"integers any", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchInts("i", 4, 9)}}, []uint64{2}},
		{"nested key", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatch("o.k", "v")}}, []uint64{1}},
		{"array of objects", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatch("objs[].k", "b")}}, []uint64{2}},
		{"array index", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatch("objs[0].k", "b")}}, nil},
		{"should", &qdrant.Filter{Should: []*qdrant.Condition{qdrant.NewMatch("s", "y"), qdrant.NewMatchBool("b", true)}}, []uint64{1, 2}},
		{"must_not", &qdrant.Filter{MustNot: []*qdrant.Condition{qdrant.NewMatch("s", "x")}}, []uint64{2}},
		{"min_should", &qdrant.Filter{MinShould: &qdrant.MinShould{MinCount: 2, Conditions: []*qdrant.Condition{
			qdrant.NewMatch("s", "x"), qdrant.NewMatchBool("b", true), qdrant.NewMatch("arr", "p")}}}, []uint64{1}},
		{"is_empty", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewIsEmpty("arr")}}, []uint64{2, 3}},
		{"is_null", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewIsNull("z")}}, []uint64{2}},
		{"has_id", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewHasID(qdrant.NewIDNum(3), qdrant.NewIDNum(9))}}, []uint64{3}},
		{"nested filter", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewFilterAsCondition(&qdrant.Filter{
			Should: []*qdrant.Condition{qdrant.NewMatch("s", "y"), qdrant.NewMatchInt("i", 3)}})}}, []uint64{1, 2}},
		{"missing key", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatch("nope", "x")}}, nil},
	}
	for _, tc := range cases {
		pts, err := c.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: "c", Filter: tc.f, Limit: qdrant.PtrOf(uint32(10))})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []uint64
		for _, p := range pts {
			got = append(got, p.GetId().GetNum())
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		n, err := c.Count(ctx, &qdrant.CountPoints{CollectionName: "c", Filter: tc.f, Exact: qdrant.PtrOf(true)})
		if err != nil || int(n) != len(tc.want) {
			t.Errorf("%s: Count = %d, %v", tc.name, n, err)
		}
	}
}

func TestScrollAndUpdates(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	create(t, c, "c")
	for i := uint64(1); i <= 5; i++ {
		upsert(t, c, "c", pt(i, map[string]any{"n": int64(10 - i), "v": "a", "x": "drop"}, nil))
	}
	upsert(t, c, "c", &qdrant.PointStruct{Id: qdrant.NewID("5C56C793-69F3-4FBF-87E6-C4BF54C28C26"), Payload: qdrant.NewValueMap(map[string]any{"n": int64(0)}), Vectors: qdrant.NewVectorsMap(nil)})

	// Pages follow point IDs (numbers before UUIDs); the offset is inclusive.
	pts, next, err := c.ScrollAndOffset(ctx, &qdrant.ScrollPoints{CollectionName: "c", Limit: qdrant.PtrOf(uint32(2)), Offset: qdrant.NewIDNum(2)})
	if err != nil || len(pts) != 2 || pts[0].GetId().GetNum() != 2 || next.GetNum() != 4 {
		t.Fatalf("scroll page = %v, next %v, %v", pts, next, err)
	}
	pts, next, err = c.ScrollAndOffset(ctx, &qdrant.ScrollPoints{CollectionName: "c", Offset: qdrant.NewIDNum(5), WithPayload: qdrant.NewWithPayloadExclude("x")})
	if err != nil || len(pts) != 2 || next != nil || pts[1].GetId().GetUuid() != "5c56c793-69f3-4fbf-87e6-c4bf54c28c26" || pts[0].GetPayload()["x"] != nil {
		t.Fatalf("last page = %v, next %v, %v", pts, next, err)
	}

	if _, err := c.CreateFieldIndex(ctx, &qdrant.CreateFieldIndexCollection{CollectionName: "c", FieldName: "n", FieldType: qdrant.FieldType_FieldTypeInteger.Enum()}); err != nil {
		t.Fatal(err)
	}
	pts, err = c.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: "c", Limit: qdrant.PtrOf(uint32(3)),
		OrderBy: &qdrant.OrderBy{Key: "n", StartFrom: qdrant.NewStartFromInt(6)}, WithPayload: qdrant.NewWithPayloadInclude("n")})
	if err != nil {
		t.Fatal(err)
	}
	var ns []int64
	for _, p := range pts {
		ns = append(ns, p.GetPayload()["n"].GetIntegerValue())
		if len(p.GetPayload()) != 1 {
			t.Errorf("include selector returned %v", p.GetPayload())
		}
	}
	if diff := cmp.Diff([]int64{6, 7, 8}, ns); diff != "" {
		t.Errorf("order_by ascending from 6 (-want +got):\n%s", diff)
	}
	_, err = c.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: "c", Offset: qdrant.NewIDNum(1), OrderBy: &qdrant.OrderBy{Key: "n"}})
	wantStatus(t, err, codes.InvalidArgument, "Cannot use an `offset` when using `order_by`")

	// update_filter: existing points are updated only if they match; new
	// points are inserted regardless. update_mode insert_only never updates.
	_, err = c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Wait: qdrant.PtrOf(true),
		Points:       []*qdrant.PointStruct{pt(1, map[string]any{"v": "b"}, nil), pt(9, map[string]any{"v": "new"}, nil)},
		UpdateFilter: &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatch("v", "zzz")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Wait: qdrant.PtrOf(true),
		Points:     []*qdrant.PointStruct{pt(2, map[string]any{"v": "b"}, nil)},
		UpdateMode: qdrant.UpdateMode_InsertOnly.Enum(),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, &qdrant.GetPoints{CollectionName: "c", Ids: []*qdrant.PointId{qdrant.NewIDNum(1), qdrant.NewIDNum(2), qdrant.NewIDNum(9)}})
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, p := range got {
		vs = append(vs, p.GetPayload()["v"].GetStringValue())
	}
	if diff := cmp.Diff([]string{"a", "a", "new"}, vs); diff != "" {
		t.Errorf("conditional upserts (-want +got):\n%s", diff)
	}
}

func TestStopRestartAndAPIKey(t *testing.T) {
	srv := qdranttest.Start(t, qdranttest.Config{APIKey: "secret"})
	ctx := context.Background()
	_, err := dial(t, srv.Addr(), "").ListCollections(ctx)
	wantStatus(t, err, codes.Unauthenticated, "Must provide an API key")
	_, err = dial(t, srv.Addr(), "wrong").ListCollections(ctx)
	wantStatus(t, err, codes.Unauthenticated, "Invalid API key")

	c := dial(t, srv.Addr(), "secret")
	create(t, c, "kept")
	srv.Stop()
	if _, err := c.ListCollections(ctx); status.Code(err) != codes.Unavailable {
		t.Errorf("while stopped: %v; want Unavailable", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	names, err := dial(t, srv.Addr(), "secret").ListCollections(ctx)
	if err != nil || !slices.Equal(names, []string{"kept"}) {
		t.Errorf("after restart: %v, %v", names, err)
	}
}

func TestFacet(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	create(t, c, "c")
	upsert(t, c, "c",
		pt(1, map[string]any{"n": int64(3), "g": "a", "tags": []any{"x", "y", "x"}}, nil),
		pt(2, map[string]any{"n": int64(3), "g": "a", "tags": []any{"y"}}, nil),
		pt(3, map[string]any{"n": int64(5), "g": "b", "tags": "z"}, nil),
		pt(4, map[string]any{"n": 7.5, "g": "b"}, nil), // a double is not counted by an integer index
	)
	_, err := c.Facet(ctx, &qdrant.FacetCounts{CollectionName: "c", Key: "n"})
	wantStatus(t, err, codes.InvalidArgument, "Wrong input: No appropriate index for faceting: `n`")
	for key, typ := range map[string]qdrant.FieldType{"n": qdrant.FieldType_FieldTypeInteger, "tags": qdrant.FieldType_FieldTypeKeyword} {
		if _, err := c.CreateFieldIndex(ctx, &qdrant.CreateFieldIndexCollection{CollectionName: "c", FieldName: key, FieldType: typ.Enum()}); err != nil {
			t.Fatal(err)
		}
	}
	hits, err := c.Facet(ctx, &qdrant.FacetCounts{CollectionName: "c", Key: "n", Exact: qdrant.PtrOf(true)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hits {
		got = append(got, fmt.Sprintf("%d:%d", h.GetValue().GetIntegerValue(), h.GetCount()))
	}
	if diff := cmp.Diff([]string{"3:2", "5:1"}, got); diff != "" {
		t.Errorf("facet n (-want +got):\n%s", diff)
	}
	// Each point counts once per distinct value; the filter applies;
	// equal counts go by value; the limit cuts.
	hits, err = c.Facet(ctx, &qdrant.FacetCounts{CollectionName: "c", Key: "tags", Limit: qdrant.PtrOf(uint64(2)),
		Filter: &qdrant.Filter{MustNot: []*qdrant.Condition{qdrant.NewHasID(qdrant.NewIDNum(2))}}})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, h := range hits {
		got = append(got, fmt.Sprintf("%s:%d", h.GetValue().GetStringValue(), h.GetCount()))
	}
	if diff := cmp.Diff([]string{"x:1", "y:1"}, got); diff != "" {
		t.Errorf("facet tags (-want +got):\n%s", diff)
	}
}
