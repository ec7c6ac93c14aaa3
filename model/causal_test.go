package model_test

import (
	"math"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// TestBlockCausalMatchesFull runs 600 tokens (three query blocks of block-causal attention, and in the
// chunked case 320-query chunks that start mid-sequence) with key blocks skipped and with every key
// computed: logits, captures and gradients agree to float32 reordering noise (1e-5 absolute; skipping
// fully masked keys only drops exp(−∞) = 0 terms, so any larger difference is a masking bug); logits, whose
// scale is ~10² here, to 1e-6 relative.
func TestBlockCausalMatchesFull(t *testing.T) {
	const n = 600
	toks := tokens(n, 5)
	metric := model.Metric{Kind: model.LogProb, Position: 550, Target: toks[551]}
	capture := []hook.Name{hook.ZAt(0), hook.ResidPostAt(1), hook.At(hook.RotK, 1)}
	wrt := []hook.Name{hook.HookEmbed(), hook.At(hook.Q, 1), hook.At(hook.V, 0), hook.ZAt(1), hook.ResidPostAt(0)}
	for _, fam := range modeltest.Families {
		for _, opts := range []model.Options{{GraphAttention: true}, {AttnChunk: 320, GraphAttention: true}} {
			name := fam
			if opts.AttnChunk > 0 {
				name += "/chunked"
			}
			t.Run(name, func(t *testing.T) {
				m := tiny(t, fam, opts)
				model.SetFullAttention(m, true)
				ref, err := m.Run(toks, model.RunOptions{Capture: capture, LogitPositions: model.AllPositions(n)})
				if err != nil {
					t.Fatal(err)
				}
				gref, err := m.Gradient(toks, metric, model.GradOptions{Wrt: wrt})
				if err != nil {
					t.Fatal(err)
				}
				model.SetFullAttention(m, false)
				got, err := m.Run(toks, model.RunOptions{Capture: capture, LogitPositions: model.AllPositions(n)})
				if err != nil {
					t.Fatal(err)
				}
				g, err := m.Gradient(toks, metric, model.GradOptions{Wrt: wrt})
				if err != nil {
					t.Fatal(err)
				}
				if d, s := maxAbsDiff(ref.Logits.Data, got.Logits.Data), maxAbs(ref.Logits.Data); d > 1e-6*s {
					t.Errorf("max |Δlogit| = %g at logit scale %g", d, s)
				}
				for _, c := range capture {
					if d := maxAbsDiff(ref.Cache[c].Data, got.Cache[c].Data); d > 1e-5 {
						t.Errorf("%s differs by %g", c, d)
					}
				}
				if math.Abs(g.Value-gref.Value) > 1e-5 {
					t.Errorf("metric %g, want %g", g.Value, gref.Value)
				}
				for _, w := range wrt {
					if d := maxAbsDiff(gref.Grads[w].Data, g.Grads[w].Data); d > 1e-5 {
						t.Errorf("d/d%s differs by %g", w, d)
					}
				}
			})
		}
	}
}

func maxAbs(a []float32) float64 {
	m := 0.0
	for _, v := range a {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}
