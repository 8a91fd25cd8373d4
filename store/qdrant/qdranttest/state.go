package qdranttest

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// state is everything the server stores.
type state struct {
	mu          sync.RWMutex
	collections map[string]*collection
	opID        uint64 // last operation number, as Qdrant reports in UpdateResult
}

func newState() *state {
	return &state{collections: map[string]*collection{}}
}

func (st *state) collectionNames() []string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return slices.Sorted(maps.Keys(st.collections))
}

// collection returns the named collection; the caller holds st.mu.
func (st *state) collection(name string) (*collection, error) {
	c, ok := st.collections[name]
	if !ok {
		return nil, errNotFound(name)
	}
	return c, nil
}

type denseParams struct {
	size     int
	distance qdrant.Distance
}

type collection struct {
	name      string
	createdAt time.Time
	dense     map[string]denseParams
	sparse    map[string]qdrant.Modifier
	metadata  map[string]*qdrant.Value
	indexes   map[string]qdrant.PayloadSchemaType
	points    map[pointKey]*point
}

type sparseVec struct {
	indices []uint32 // ascending, unique
	values  []float32
}

type point struct {
	key     pointKey
	payload map[string]*qdrant.Value
	dense   map[string][]float32
	sparse  map[string]sparseVec
	version uint64
}

// pointKey identifies a point. Qdrant orders numeric IDs before UUIDs, and
// UUIDs by their bytes.
type pointKey struct {
	isUUID bool
	num    uint64
	uuid   [16]byte
}

func (k pointKey) compare(o pointKey) int {
	if k.isUUID != o.isUUID {
		if !k.isUUID {
			return -1
		}
		return 1
	}
	if !k.isUUID {
		return cmp.Compare(k.num, o.num)
	}
	return bytes.Compare(k.uuid[:], o.uuid[:])
}

func (k pointKey) id() *qdrant.PointId {
	if !k.isUUID {
		return qdrant.NewIDNum(k.num)
	}
	var b [36]byte
	hex.Encode(b[0:8], k.uuid[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], k.uuid[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], k.uuid[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], k.uuid[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], k.uuid[10:16])
	return qdrant.NewIDUUID(string(b[:]))
}

// keyOf parses a point ID. Qdrant accepts UUIDs with or without hyphens, in
// any case, and always answers in the hyphenated lower-case form.
func keyOf(id *qdrant.PointId) (pointKey, error) {
	switch v := id.GetPointIdOptions().(type) {
	case *qdrant.PointId_Num:
		return pointKey{num: v.Num}, nil
	case *qdrant.PointId_Uuid:
		s := strings.ReplaceAll(v.Uuid, "-", "")
		s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		s = strings.TrimPrefix(strings.ToLower(s), "urn:uuid:")
		var k pointKey
		if len(s) != 32 {
			return k, badInput(fmt.Sprintf("Unable to parse UUID: %s", v.Uuid))
		}
		if _, err := hex.Decode(k.uuid[:], []byte(s)); err != nil {
			return k, badInput(fmt.Sprintf("Unable to parse UUID: %s", v.Uuid))
		}
		k.isUUID = true
		return k, nil
	}
	return pointKey{}, badInput("Point id is not specified")
}

// sortedPoints returns the collection's points in ID order.
func (c *collection) sortedPoints() []*point {
	pts := make([]*point, 0, len(c.points))
	for _, p := range c.points {
		pts = append(pts, p)
	}
	slices.SortFunc(pts, func(a, b *point) int { return a.key.compare(b.key) })
	return pts
}

// Errors worded as Qdrant words them (lib/storage content_manager errors,
// mapped to gRPC codes by Qdrant's tonic layer).

func errNotFound(collection string) error {
	return status.Errorf(codes.NotFound, "Not found: Collection `%s` doesn't exist!", collection)
}

func badInput(description string) error {
	return status.Error(codes.InvalidArgument, "Wrong input: "+description)
}

func badRequest(description string) error {
	return status.Error(codes.InvalidArgument, "Bad request: "+description)
}

func unimplemented(format string, args ...any) error {
	return status.Errorf(codes.Unimplemented, "qdranttest: "+format, args...)
}

func dimensionError(expected, got int) error {
	return badInput(fmt.Sprintf("Vector dimension error: expected dim: %d, got %d", expected, got))
}

// f32Epsilon is Rust's f32::EPSILON.
const f32Epsilon = 1.1920929e-07

// preprocessCosine normalizes v as Qdrant's cosine metric does at insert and
// query time: vectors whose squared length is within 1e-6 of 1 (or zero) are
// kept unchanged, so normalizing twice is stable.
func preprocessCosine(v []float32) []float32 {
	var length float32
	for _, x := range v {
		length += x * x
	}
	if length < f32Epsilon || float32(math.Abs(float64(length-1))) <= 1e-6 {
		return slices.Clone(v)
	}
	length = float32(math.Sqrt(float64(length)))
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x / length
	}
	return out
}

func cloneValue(v *qdrant.Value) *qdrant.Value {
	return proto.Clone(v).(*qdrant.Value)
}

func clonePayload(m map[string]*qdrant.Value) map[string]*qdrant.Value {
	out := make(map[string]*qdrant.Value, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}
