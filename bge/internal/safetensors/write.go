package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// Encode writes tensors in the safetensors format, in the given order,
// with the header padded with spaces to a multiple of 8 bytes as the
// reference writer does. Each tensor's Data must hold exactly its shape's
// bytes. Metadata may be nil.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	hdr := make(map[string]any, len(tensors)+1)
	if metadata != nil {
		hdr["__metadata__"] = metadata
	}
	var off uint64
	for i := range tensors {
		t := &tensors[i]
		if want := t.Len() * t.DType.Size(); want != len(t.Data) || t.DType.Size() == 0 {
			return fmt.Errorf("tensor %q: %d data bytes for shape %v of %s", t.Name, len(t.Data), t.Shape, t.DType)
		}
		if _, dup := hdr[t.Name]; dup {
			return fmt.Errorf("tensor %q: duplicate name", t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.Name] = map[string]any{
			"dtype":        t.DType,
			"shape":        shape,
			"data_offsets": [2]uint64{off, off + uint64(len(t.Data))},
		}
		off += uint64(len(t.Data))
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(js)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for i := range tensors {
		if _, err := w.Write(tensors[i].Data); err != nil {
			return err
		}
	}
	return nil
}
