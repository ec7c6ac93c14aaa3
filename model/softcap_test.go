package model_test

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/model/safetensors"
)

// TestSoftcapEverywhere checks, on the tiny Gemma-2 (attention cap 4.5, final cap 8.5, both biting:
// parity with transformers covers their values), that every reader of logits and scores sees the
// capped values: logits stay inside ±FinalSoftcap, the gradient pass's log-prob and logit-difference
// metrics equal those of the forward pass's logits, next-token log-probabilities equal log-softmax of
// the logits, and captured attention scores stay inside ±AttnSoftcap where visible. Tolerance 1e-5:
// float32 metrics of order 1–10 computed by different graphs.
func TestSoftcapEverywhere(t *testing.T) {
	m := tiny(t, "gemma2", model.Options{})
	a := m.Arch
	if a.AttnSoftcap == 0 || a.FinalSoftcap == 0 {
		t.Fatalf("tiny gemma2 has soft caps %g, %g; want both on", a.AttnSoftcap, a.FinalSoftcap)
	}
	toks := tokens(50, 5)
	res, err := m.Run(toks, model.RunOptions{LogitPositions: model.AllPositions(len(toks)),
		Capture: []hook.Name{hook.At(hook.AttnScores, 0), hook.At(hook.AttnScores, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	lps, err := m.Run(toks, model.RunOptions{LogitPositions: model.AllPositions(len(toks) - 1), NextLogProbs: true})
	if err != nil {
		t.Fatal(err)
	}
	if mx := maxAbs(res.Logits.Data); mx >= float64(a.FinalSoftcap) || mx < 0.5*float64(a.FinalSoftcap) {
		t.Errorf("max |logit| %g, want in [cap/2, cap) for cap %g", mx, a.FinalSoftcap)
	}
	for p := 0; p+1 < len(toks); p++ {
		if lp := logSoftmaxAt(res.Logits.Row(p), toks[p+1]); math.Abs(lp-lps.LogProbs[p]) > 1e-5 {
			t.Errorf("position %d: next-token log-prob %g, log-softmax of logits %g", p, lps.LogProbs[p], lp)
		}
	}
	for l := range modeltest.NLayers {
		sc := res.Cache[hook.At(hook.AttnScores, l)].Data
		visible := slices.DeleteFunc(slices.Clone(sc), func(x float32) bool { return math.IsInf(float64(x), -1) })
		if mx := maxAbs(visible); mx > float64(a.AttnSoftcap) || mx < 0.5*float64(a.AttnSoftcap) {
			t.Errorf("layer %d: max |visible score| %g, want in [cap/2, cap] for cap %g", l, mx, a.AttnSoftcap)
		}
	}
	const pos, target, contrast = 30, 42, 7
	row := res.Logits.Row(pos)
	for _, c := range []struct {
		metric model.Metric
		want   float64
	}{
		{model.Metric{Kind: model.LogProb, Position: pos, Target: target}, logSoftmaxAt(row, target)},
		{model.Metric{Kind: model.LogitDiff, Position: pos, Target: target, Contrast: contrast}, float64(row[target]) - float64(row[contrast])},
	} {
		g, err := m.Gradient(toks, c.metric, model.GradOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(g.Value-c.want) > 1e-5 {
			t.Errorf("metric kind %d: gradient pass value %g, from the forward logits %g", c.metric.Kind, g.Value, c.want)
		}
	}
}

// TestFusedTensorErrors: a missing or misshapen fused tensor (Phi-3's qkv_proj) fails naming the layer
// and the fused tensor, never a panic.
func TestFusedTensorErrors(t *testing.T) {
	b, err := goBackend()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		edit   func([]safetensors.Tensor) []safetensors.Tensor
		is     error
		substr []string
	}{
		{"missing", func(ts []safetensors.Tensor) []safetensors.Tensor {
			return slices.DeleteFunc(ts, func(x safetensors.Tensor) bool { return x.Name == "model.layers.1.self_attn.qkv_proj.weight" })
		}, model.ErrMissingTensor, []string{"layer 1", "model.layers.1.self_attn.qkv_proj.weight"}},
		{"short", func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i := range ts {
				if ts[i].Name == "model.layers.0.mlp.gate_up_proj.weight" { // [gate] only
					ts[i].Shape[0] /= 2
					ts[i].Data = ts[i].Data[:len(ts[i].Data)/2]
				}
			}
			return ts
		}, model.ErrShapeMismatch, []string{"layer 0", "model.layers.0.mlp.gate_up_proj.weight", "want [192 64]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := modeltest.Write(t.TempDir(), "phi3", 1)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := modeltest.Tensors("phi3", 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), tc.edit(ts), nil); err != nil {
				t.Fatal(err)
			}
			_, _, err = model.Load(dir, model.LoadOptions{Backend: b})
			if !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			for _, s := range tc.substr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}
