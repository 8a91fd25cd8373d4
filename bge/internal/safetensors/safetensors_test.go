package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func encode(t testing.TB, ts []Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	h := make([]byte, 6)
	bf := make([]byte, 6)
	vals := []float32{1.5, -2.25, 65504}
	for i, v := range vals {
		binary.LittleEndian.PutUint16(h[2*i:], Float32ToHalf(v))
		binary.LittleEndian.PutUint16(bf[2*i:], Float32ToBF16(v))
	}
	buf := encode(t, []Tensor{
		{Name: "a", DType: F32, Shape: []int{2, 2}, Data: f32bytes(1, 2, 3, 4)},
		{Name: "h", DType: F16, Shape: []int{3}, Data: h},
		{Name: "b", DType: BF16, Shape: []int{3}, Data: bf},
		{Name: "ids", DType: I64, Shape: []int{1, 0}, Data: []byte{}},
	})
	if (binary.LittleEndian.Uint64(buf)+8)%8 != 0 {
		t.Errorf("header not padded to 8 bytes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.Names(), ","); got != "a,h,b,ids" {
		t.Errorf("names = %s", got)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata = %v", f.Metadata)
	}
	a, err := f.Tensor("a").Float32()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 4 || a[0] != 1 || a[3] != 4 {
		t.Errorf("a = %v", a)
	}
	hv, _ := f.Tensor("h").Float32()
	bv, _ := f.Tensor("b").Float32()
	for i, v := range vals {
		if hv[i] != v {
			t.Errorf("f16[%d] = %v, want %v", i, hv[i], v)
		}
		if math.Abs(float64(bv[i]-v)) > math.Abs(float64(v))/128 {
			t.Errorf("bf16[%d] = %v, want about %v", i, bv[i], v)
		}
	}
	if _, err := f.Tensor("ids").Float32(); err == nil {
		t.Errorf("Float32 on I64 tensor: no error")
	}
	if f.Tensor("missing") != nil {
		t.Errorf("missing tensor found")
	}
}

func TestHalfConversion(t *testing.T) {
	// Every half value converts to float32 and back to itself (NaNs keep
	// being NaN).
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		back := Float32ToHalf(f)
		if f != f {
			if HalfToFloat32(back) == HalfToFloat32(back) {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
			continue
		}
		if back != uint16(h) {
			t.Fatalf("half %#04x -> %v -> %#04x", h, f, back)
		}
	}
	cases := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65520, 0x7c00}, {1e-8, 0}, {5.9604645e-08, 1},
		{1.00048828125, 0x3c00}, // halfway between 1 and next: rounds to even
		{1.00146484375, 0x3c02}, // halfway, rounds up to even
	}
	for _, c := range cases {
		if got := Float32ToHalf(c.f); got != c.want {
			t.Errorf("Float32ToHalf(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if got := Float32ToBF16(1.00390625); got != 0x3f80 { // tie rounds to even
		t.Errorf("Float32ToBF16 tie = %#04x", got)
	}
}

func header(js string, data int) []byte {
	b := make([]byte, 8+len(js)+data)
	binary.LittleEndian.PutUint64(b, uint64(len(js)))
	copy(b[8:], js)
	return b
}

func TestParseErrors(t *testing.T) {
	big := make([]byte, 8)
	binary.LittleEndian.PutUint64(big, 1<<40)
	good := encode(t, []Tensor{{Name: "w", DType: F32, Shape: []int{2}, Data: f32bytes(1, 2)}})
	cases := []struct {
		name string
		buf  []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"huge header", big, "exceeds"},
		{"truncated header", good[:20], "runs past the end"},
		{"truncated data", good[:len(good)-1], "outside the"},
		{"trailing bytes", append(append([]byte{}, good...), 0), "cover"},
		{"not json", header("[1,2]", 0), "not a JSON object"},
		{"bad json", header("{\"a\":", 0), "header JSON"},
		{"bad entry", header(`{"a":{"dtype":3}}`, 0), "header entry"},
		{"bad dtype", header(`{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}`, 1), "unknown dtype"},
		{"negative dim", header(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, 0), "negative"},
		{"huge shape", header(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, 4), "too large"},
		{"shape mismatch", header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), "want 8"},
		{"reversed offsets", header(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, 4), "outside"},
		{"offsets past end", header(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}`, 4), "outside"},
		{"overlap", header(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4), "overlap"},
		{"gap", header(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4), "gap"},
		{"bad metadata", header(`{"__metadata__":{"a":1}}`, 0), "__metadata__"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.buf)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse: err = %v, want containing %q", err, c.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "nope.safetensors")); !os.IsNotExist(err) {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := Open(dir); err == nil {
		t.Errorf("directory: no error")
	}
	short := filepath.Join(dir, "short.safetensors")
	os.WriteFile(short, []byte{1, 2}, 0o644)
	if _, err := Open(short); err == nil || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("short file: err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(encode(f, []Tensor{
		{Name: "a", DType: F32, Shape: []int{2, 1}, Data: f32bytes(1, 2)},
		{Name: "b", DType: F16, Shape: []int{1}, Data: []byte{0, 0x3c}},
	}))
	f.Add(header(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, 4))
	f.Add(header(`{"__metadata__":{"format":"pt"}}`, 0))
	f.Fuzz(func(t *testing.T, buf []byte) {
		file, err := Parse(buf)
		if err != nil {
			return
		}
		for _, name := range file.Names() {
			tn := file.Tensor(name)
			if tn.Len()*tn.DType.Size() != len(tn.Data) {
				t.Fatalf("tensor %q: %d bytes for %v", name, len(tn.Data), tn.Shape)
			}
			switch tn.DType {
			case F32, F16, BF16:
				v, err := tn.Float32()
				if err != nil || len(v) != tn.Len() {
					t.Fatalf("Float32: %v, %d values", err, len(v))
				}
			}
		}
	})
}
