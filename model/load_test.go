package model_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/gguf"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/model/safetensors"
)

// TestGGUFMatchesSafetensors: the tiny llama written as GGUF the llama.cpp way (permuted Q/K rows, F32)
// gives exactly the logits of the safetensors directory, so the un-permutation is right; as Q8_0 it stays
// within quantisation noise.
func TestGGUFMatchesSafetensors(t *testing.T) {
	b, err := goBackend()
	if err != nil {
		t.Fatal(err)
	}
	ref := tiny(t, "llama", model.Options{})
	toks := tokens(20, 8)
	want, err := ref.Run(toks, model.RunOptions{LogitPositions: model.AllPositions(20)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ gguf.GGMLType
		tol float64 // relative to the largest |logit|: Q8_0 keeps ~8 bits per weight (≈0.4% error each)
	}{{gguf.TypeF32, 0}, {gguf.TypeQ8_0, 0.02}} {
		path := filepath.Join(t.TempDir(), "tiny.gguf")
		if err := modeltest.WriteGGUF(path, 1, tc.typ); err != nil {
			t.Fatal(err)
		}
		m, src, err := model.Load(path, model.LoadOptions{Backend: b})
		if err != nil {
			t.Fatal(err)
		}
		if src.Format != "gguf" || src.GGUFMeta["general.architecture"] != "llama" {
			t.Errorf("source = %+v", src)
		}
		if m.ContextLength() != 4096 || ref.ContextLength() != 4096 { // llama.context_length, max_position_embeddings
			t.Errorf("context length %d (GGUF), %d (safetensors), want 4096", m.ContextLength(), ref.ContextLength())
		}
		got, err := m.Run(toks, model.RunOptions{LogitPositions: model.AllPositions(20)})
		if err != nil {
			t.Fatal(err)
		}
		scale := 0.0
		for _, v := range want.Logits.Data {
			scale = max(scale, float64(max(v, -v)))
		}
		if d := maxAbsDiff(got.Logits.Data, want.Logits.Data); d > tc.tol*scale {
			t.Errorf("%v GGUF vs safetensors: max |Δlogit| = %g, want ≤ %g·%g", tc.typ, d, tc.tol, scale)
		}
	}
}

// TestOllamaStore loads a model through a fake ollama store (manifest → GGUF blob).
func TestOllamaStore(t *testing.T) {
	b, err := goBackend()
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	blob := filepath.Join(store, "blobs", "sha256-"+strings.Repeat("ab", 32))
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := modeltest.WriteGGUF(blob, 1, gguf.TypeF32); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(store, "manifests", "registry.ollama.ai", "library", "tiny", "latest")
	if err := os.MkdirAll(filepath.Dir(manifest), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(blob)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"schemaVersion": 2, "layers": []map[string]any{
		{"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:" + strings.Repeat("ab", 32), "size": st.Size()},
	}})
	if err := os.WriteFile(manifest, body, 0o644); err != nil {
		t.Fatal(err)
	}
	m, src, err := model.Load("ollama:tiny", model.LoadOptions{Backend: b, OllamaStore: store})
	if err != nil {
		t.Fatal(err)
	}
	if src.Path != blob || m.Dims().NLayers != modeltest.NLayers {
		t.Errorf("loaded %s with %d layers", src.Path, m.Dims().NLayers)
	}
}

// TestLoadErrors: bad inputs give errors that name the file and the field or tensor, never a panic.
func TestLoadErrors(t *testing.T) {
	b, err := goBackend()
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, mutate func(dir string)) string {
		dir, err := modeltest.Write(t.TempDir(), "llama", 1)
		if err != nil {
			t.Fatal(err)
		}
		mutate(dir)
		return dir
	}
	setConfig := func(key string, v any) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, "config.json")
			var cfg map[string]any
			data, _ := os.ReadFile(p)
			_ = json.Unmarshal(data, &cfg)
			cfg[key] = v
			data, _ = json.Marshal(cfg)
			_ = os.WriteFile(p, data, 0o644)
		}
	}
	rewriteTensors := func(edit func([]safetensors.Tensor) []safetensors.Tensor) func(string) {
		return func(dir string) {
			ts, _ := modeltest.Tensors("llama", 1)
			_ = safetensors.Write(filepath.Join(dir, "model.safetensors"), edit(ts), nil)
		}
	}
	tests := []struct {
		name   string
		path   func(t *testing.T) string
		is     error
		substr []string
	}{
		{"unknown architecture", func(t *testing.T) string { return write(t, setConfig("architectures", []string{"FooForCausalLM"})) },
			model.ErrUnsupportedArchitecture, []string{"config.json", "FooForCausalLM", "LlamaForCausalLM"}},
		{"bad config json", func(t *testing.T) string {
			return write(t, func(dir string) { _ = os.WriteFile(filepath.Join(dir, "config.json"), []byte("{"), 0o644) })
		}, model.ErrBadConfig, []string{"config.json"}},
		{"missing tensor", func(t *testing.T) string {
			return write(t, rewriteTensors(func(ts []safetensors.Tensor) []safetensors.Tensor {
				return slices.DeleteFunc(ts, func(x safetensors.Tensor) bool { return x.Name == "model.layers.1.mlp.up_proj.weight" })
			}))
		}, model.ErrMissingTensor, []string{"layer 1", "model.layers.1.mlp.up_proj.weight"}},
		{"shape mismatch", func(t *testing.T) string {
			return write(t, rewriteTensors(func(ts []safetensors.Tensor) []safetensors.Tensor {
				for i := range ts {
					if ts[i].Name == "model.layers.0.self_attn.k_proj.weight" {
						ts[i].Shape = []int{ts[i].Shape[1], ts[i].Shape[0]}
					}
				}
				return ts
			}))
		}, model.ErrShapeMismatch, []string{"model.layers.0.self_attn.k_proj.weight", "want"}},
		{"truncated safetensors", func(t *testing.T) string {
			return write(t, func(dir string) {
				p := filepath.Join(dir, "model.safetensors")
				data, _ := os.ReadFile(p)
				_ = os.WriteFile(p, data[:len(data)/2], 0o644)
			})
		}, nil, []string{"model.safetensors"}},
		{"not a model file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "x.bin")
			_ = os.WriteFile(p, []byte("hello world"), 0o644)
			return p
		}, nil, []string{"x.bin", "not a GGUF"}},
		{"truncated gguf", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "t.gguf")
			if err := modeltest.WriteGGUF(p, 1, gguf.TypeF32); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(p)
			_ = os.WriteFile(p, data[:len(data)-1000], 0o644)
			return p
		}, nil, []string{"t.gguf"}},
		{"gguf of a family without GGUF loading", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "q.gguf")
			if err := gguf.Write(p, []gguf.KV{{Key: "general.architecture", Value: "qwen3"}}, nil); err != nil {
				t.Fatal(err)
			}
			return p
		}, model.ErrUnsupportedArchitecture, []string{"q.gguf", `"qwen3"`, "Qwen3ForCausalLM", "Hugging Face directories only"}},
		{"unknown ollama model", func(t *testing.T) string { return "ollama:nothing-here" }, nil, []string{"nothing-here"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := model.Load(tt.path(t), model.LoadOptions{Backend: b, OllamaStore: t.TempDir()})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			for _, s := range tt.substr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// TestRunInputErrors: bad run inputs are errors, not panics.
func TestRunInputErrors(t *testing.T) {
	m := tiny(t, "llama", model.Options{})
	cases := map[string]func() error{
		"empty":          func() error { _, err := m.Run(nil, model.RunOptions{}); return err },
		"token range":    func() error { _, err := m.Run([]int{1, 9999}, model.RunOptions{}); return err },
		"logit position": func() error { _, err := m.Run([]int{1, 2}, model.RunOptions{LogitPositions: []int{2}}); return err },
		"replace shape": func() error {
			_, err := m.Run([]int{1, 2}, model.RunOptions{Interventions: []model.Intervention{{Hook: hook.ResidPostAt(0), Kind: model.Replace, Values: model.NewTensor(3)}}})
			return err
		},
		"layer range": func() error { _, err := m.RunWithCache([]int{1, 2}, hook.ResidPostAt(7)); return err },
		"metric position": func() error {
			_, err := m.Gradient([]int{1, 2}, model.Metric{Position: 5}, model.GradOptions{})
			return err
		},
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, model.ErrBadInput) {
			t.Errorf("%s: error %v, want ErrBadInput", name, err)
		}
	}
}
