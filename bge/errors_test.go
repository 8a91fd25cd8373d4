package bge

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/bge/bgetest"
	"github.com/ragd/ragd/bge/internal/safetensors"
)

func editJSON(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	edit(v)
	b, _ = json.Marshal(v)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editTensors rewrites model.safetensors after edit changes its tensors.
func editTensors(t *testing.T, dir string, edit func([]safetensors.Tensor) []safetensors.Tensor) {
	t.Helper()
	path := filepath.Join(dir, "model.safetensors")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		ts = append(ts, *f.Tensor(n))
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, edit(ts), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadModelDirectory checks that every kind of broken model directory
// is a *ragd.Error naming the file at fault, never a panic.
func TestBadModelDirectory(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		code   string
		file   string
		want   string
	}{
		{"no directory", func(t *testing.T, dir string) { os.RemoveAll(dir) }, ragd.ENotFound, "config.json", "missing"},
		{"no config", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "config.json")) }, ragd.ENotFound, "config.json", "missing"},
		{"config not JSON", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte("{hidden_size: 32"), 0o644)
		}, ragd.EInvalid, "config.json", "not valid JSON"},
		{"not BERT", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) {
				c["model_type"] = "xlm-roberta"
				c["architectures"] = []string{"XLMRobertaModel"}
			})
		}, ragd.EInvalid, "config.json", "not a BERT model"},
		{"relu", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["hidden_act"] = "relu" })
		}, ragd.EInvalid, "config.json", "hidden_act"},
		{"relative positions", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["position_embedding_type"] = "relative_key" })
		}, ragd.EInvalid, "config.json", "position_embedding_type"},
		{"heads do not divide hidden", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["num_attention_heads"] = 5 })
		}, ragd.EInvalid, "config.json", "multiple"},
		{"zero layers", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["num_hidden_layers"] = 0 })
		}, ragd.EInvalid, "config.json", "num_hidden_layers"},
		{"vocab smaller than tokenizer", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["vocab_size"] = 100 })
		}, ragd.EInvalid, "config.json", "vocab_size"},
		{"shapes disagree with config", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["hidden_size"] = 48 })
		}, ragd.EInvalid, "model.safetensors", "shape"},
		{"fewer layers in config", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["num_hidden_layers"] = 1 })
		}, ragd.EInvalid, "model.safetensors", "more layers"},
		{"no weights", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "model.safetensors")) }, ragd.ENotFound, "model.safetensors", "missing"},
		{"truncated weights", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-100], 0o644)
		}, ragd.EInvalid, "model.safetensors", "not a valid safetensors file"},
		{"truncated header", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:200], 0o644)
		}, ragd.EInvalid, "model.safetensors", "not a valid safetensors file"},
		{"header lies about offsets", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			b, _ := os.ReadFile(p)
			n := binary.LittleEndian.Uint64(b)
			var hdr map[string]any
			json.Unmarshal(b[8:8+n], &hdr)
			e := hdr["embeddings.LayerNorm.bias"].(map[string]any)
			off := e["data_offsets"].([]any)
			e["data_offsets"] = []any{off[0].(float64) + 4, off[1].(float64) + 4}
			js, _ := json.Marshal(hdr)
			out := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
			out = append(append(out, js...), b[8+n:]...)
			os.WriteFile(p, out, 0o644)
		}, ragd.EInvalid, "model.safetensors", "not a valid safetensors file"},
		{"missing tensor", func(t *testing.T, dir string) {
			editTensors(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				return slicesDelete(ts, "encoder.layer.1.output.dense.weight")
			})
		}, ragd.EInvalid, "model.safetensors", `"encoder.layer.1.output.dense.weight" is missing`},
		{"integer tensor", func(t *testing.T, dir string) {
			editTensors(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				for i := range ts {
					if ts[i].Name == "embeddings.LayerNorm.weight" {
						ts[i].DType = safetensors.I32
					}
				}
				return ts
			})
		}, ragd.EInvalid, "model.safetensors", "dtype I32"},
		{"no tokenizer", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "vocab.txt")) }, ragd.EInvalid, "vocab.txt", "not usable"},
		{"bad pooling config", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "1_Pooling", "config.json"), func(c map[string]any) { c["pooling_mode_max_tokens"] = true })
		}, ragd.EInvalid, "1_Pooling/config.json", "exactly one pooling mode"},
		{"unsupported pooling", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "1_Pooling", "config.json"), func(c map[string]any) {
				c["pooling_mode_cls_token"] = false
				c["pooling_mode_weightedmean_tokens"] = true
			})
		}, ragd.EInvalid, "1_Pooling/config.json", "not supported"},
		{"pooling config missing", func(t *testing.T, dir string) { os.RemoveAll(filepath.Join(dir, "1_Pooling")) }, ragd.ENotFound, "1_Pooling/config.json", "missing"},
		{"pooling outside the directory", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "modules.json"))
			os.WriteFile(filepath.Join(dir, "modules.json"), bytes.Replace(b, []byte(`"1_Pooling"`), []byte(`"../../etc"`), 1), 0o644)
		}, ragd.EInvalid, "modules.json", "outside"},
		{"modules not JSON", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "modules.json"), []byte("[{"), 0o644)
		}, ragd.EInvalid, "modules.json", "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeModel(t, bgetest.TinyConfig{}, 1)
			c.break_(t, dir)
			m, err := Load(dir, Options{})
			if err == nil {
				m.Close()
				t.Fatal("Load succeeded")
			}
			var re *ragd.Error
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *ragd.Error", err)
			}
			if re.Code != c.code || !strings.Contains(re.Message, c.file) || !strings.Contains(re.Message, c.want) {
				t.Errorf("error code %q message %q, want code %q naming %s and saying %q", re.Code, re.Message, c.code, c.file, c.want)
			}
		})
	}
}

func slicesDelete(ts []safetensors.Tensor, name string) []safetensors.Tensor {
	out := ts[:0]
	for _, t := range ts {
		if t.Name != name {
			out = append(out, t)
		}
	}
	return out
}

func TestBadOptions(t *testing.T) {
	dir := writeModel(t, bgetest.TinyConfig{}, 1)
	for _, opts := range []Options{{Kernel: "sse9"}, {Pooling: "max"}, {MaxLength: -1}, {MaxLength: 1}} {
		if m, err := Load(dir, opts); err == nil {
			m.Close()
			t.Errorf("Load(%+v) succeeded", opts)
		} else if ragd.ErrorCode(err) != ragd.EInvalid {
			t.Errorf("Load(%+v): %v", opts, err)
		}
	}
}
