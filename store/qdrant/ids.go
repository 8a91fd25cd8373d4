package qdrant

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"

	"github.com/qdrant/go-client/qdrant"
)

// pointID derives a point's UUID from the parts that identify it (a
// name-based UUID over SHA-256), so every process computes the same ID for
// the same document record, chunk or intent.
func pointID(parts ...string) *qdrant.PointId {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50 // version 5 layout (name-based)
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return qdrant.NewIDUUID(string(b[:]))
}

func docPointID(docID string) *qdrant.PointId { return pointID(kindDoc, docID) }

func chunkPointID(docID, version string, index int) *qdrant.PointId {
	return pointID(kindChunk, docID, version, strconv.Itoa(index))
}

func intentPointID(docID, op, version string) *qdrant.PointId {
	return pointID(kindIntent, op, docID, version)
}

// newVersion returns a fresh, unique version tag for a document write.
func newVersion() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// sortKey maps a document ID to an int64 that orders like the ID's first
// eight bytes: Documents pages by it with Qdrant's order_by, which needs a
// number, and sorts IDs that share the prefix itself.
func sortKey(id string) int64 {
	var b [8]byte
	copy(b[:], id)
	return int64(binary.BigEndian.Uint64(b[:]) ^ (1 << 63))
}
