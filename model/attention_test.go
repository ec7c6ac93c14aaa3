package model_test

import (
	"errors"
	"math"
	"testing"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// patternsMatch compares Attention.Weighted with identity rows of query weights (row i one-hot at
// query i, so out[i, h, j] is pattern row i) against the model's own captured blocks.L.attn.hook_pattern
// [1, head, query, key], computed in the block graph, at every layer; it returns the largest absolute
// difference.
func patternsMatch(t *testing.T, m *model.Model, toks []int, layers []int) float64 {
	t.Helper()
	T := len(toks)
	var names []hook.Name
	for _, l := range layers {
		names = append(names, hook.PatternAt(l))
	}
	ref, err := m.RunWithCache(toks, names...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Attention(toks, layers)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]float32, T)
	for i := range rows {
		rows[i] = make([]float32, T)
		rows[i][i] = 1
	}
	H := m.Dims().NHeads
	worst := 0.0
	for _, l := range layers {
		got, err := a.Weighted(l, rows)
		if err != nil {
			t.Fatal(err)
		}
		p := ref.Cache[hook.PatternAt(l)]
		for h := range H {
			for i := range T {
				for j := range T {
					d := math.Abs(float64(got.Data[(i*H+h)*T+j] - p.Data[(h*T+i)*T+j]))
					if !(d <= worst) {
						worst = d
					}
				}
			}
		}
	}
	return worst
}

// TestAttentionMatchesPattern: on every tiny family, patterns read from the kept rotated queries and
// keys equal the captured hook_pattern of both layers to 2e-6 absolute over 300 positions (several of
// the kernel's 128-position tiles; Gemma-3's layer 0 is a sliding-window layer of 4 keys). Only float32
// rounding differs: the graph scales q·k after the product, the kernel scales q before it, and the
// exponentials differ by a few ulp.
func TestAttentionMatchesPattern(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			m := tiny(t, fam, model.Options{})
			d := patternsMatch(t, m, tokens(300, 9), []int{0, 1})
			t.Logf("max |Δ pattern| = %.2g", d)
			if d > 2e-6 {
				t.Errorf("max |Weighted(identity) − hook_pattern| = %g, want ≤ 2e-6", d)
			}
		})
	}
}

// TestAttentionErrors: layers outside the model, layers not kept, rows of the wrong length and no rows
// are errors wrapping ErrBadInput.
func TestAttentionErrors(t *testing.T) {
	m := tiny(t, "llama", model.Options{})
	if _, err := m.Attention(tokens(5, 1), []int{modeltest.NLayers}); !errors.Is(err, model.ErrBadInput) {
		t.Errorf("layer %d: err = %v", modeltest.NLayers, err)
	}
	if _, err := m.Attention(nil, nil); !errors.Is(err, model.ErrBadInput) {
		t.Errorf("no tokens: err = %v", err)
	}
	a, err := m.Attention(tokens(5, 1), []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 5 || len(a.Layers()) != 1 {
		t.Errorf("Len %d, Layers %v", a.Len(), a.Layers())
	}
	for name, rows := range map[string][][]float32{"short row": {make([]float32, 4)}, "no rows": nil} {
		if _, err := a.Weighted(1, rows); !errors.Is(err, model.ErrBadInput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := a.Weighted(0, [][]float32{make([]float32, 5)}); !errors.Is(err, model.ErrBadInput) {
		t.Errorf("layer not kept: err = %v", err)
	}
}

// TestRealAttentionMatchesPattern does the same on the real SmolLM2 and Gemma-3 at 600 positions (past
// Gemma-3's 512-key sliding window: layer 0 is local, layer 5 global), where scores are large (attention
// sinks): to 2e-5 absolute, float32 rounding of scores of magnitude up to ~100.
func TestRealAttentionMatchesPattern(t *testing.T) {
	for _, c := range []struct {
		file   string
		layers []int
	}{
		{testutil.SmolLM2GGUF, []int{0, 15, 29}},
		{testutil.Gemma3GGUF, []int{0, 5}},
	} {
		t.Run(c.file, func(t *testing.T) {
			m := loadReal(t, c.file)
			toks := make([]int, 600)
			for i := range toks {
				toks[i] = 100 + (i*7919)%5000
			}
			d := patternsMatch(t, m, toks, c.layers)
			t.Logf("max |Δ pattern| = %.2g", d)
			if d > 2e-5 {
				t.Errorf("max |Weighted(identity) − hook_pattern| = %g, want ≤ 2e-5", d)
			}
		})
	}
}
