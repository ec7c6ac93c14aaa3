package model_test

import (
	"math"
	"slices"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// TestChunkedMatchesFull runs the same tokens with attention in one graph and in 16-position query chunks
// (the long-context path): logits, captured patterns and gradients agree to float32 reordering noise
// (1e-5 absolute; chunking changes only summation order), and own-cache patching stays bit-exact.
func TestChunkedMatchesFull(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			full := tiny(t, fam, model.Options{AttnChunk: -1, GraphAttention: true})
			chunked := tiny(t, fam, model.Options{AttnChunk: 16, GraphAttention: true})
			toks := tokens(37, 11)
			names := allSites(modeltest.NLayers)
			a, err := full.Run(toks, model.RunOptions{Capture: names, LogitPositions: model.AllPositions(37)})
			if err != nil {
				t.Fatal(err)
			}
			b, err := chunked.Run(toks, model.RunOptions{Capture: names, LogitPositions: model.AllPositions(37)})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(a.Logits.Data, b.Logits.Data); d > 1e-5 {
				t.Errorf("chunked vs full: max |Δlogit| = %g", d)
			}
			for _, n := range names {
				if !slices.Equal(a.Cache[n].Shape, b.Cache[n].Shape) {
					t.Fatalf("%s: shapes %v vs %v", n, a.Cache[n].Shape, b.Cache[n].Shape)
				}
				if d := maxAbsDiff(a.Cache[n].Data, b.Cache[n].Data); d > 1e-5 && !math.IsNaN(d) {
					t.Errorf("%s: chunked vs full differ by %g", n, d)
				}
			}
			// Own-cache patching of attention sites in chunked mode is exact.
			for _, n := range []hook.Name{hook.PatternAt(0), hook.At(hook.AttnScores, 1), hook.ZAt(1)} {
				iv, _ := model.PatchFrom(b.Cache, n, nil)
				got, err := chunked.Run(toks, model.RunOptions{Interventions: []model.Intervention{iv}, LogitPositions: model.AllPositions(37)})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Logits.Data, b.Logits.Data) {
					t.Errorf("chunked patch %s with own cache: differs by %g", n, maxAbsDiff(got.Logits.Data, b.Logits.Data))
				}
			}
			metric := model.Metric{Kind: model.LogitDiff, Position: 30, Target: toks[31], Contrast: 5}
			wrt := []hook.Name{hook.HookEmbed(), hook.PatternAt(0), hook.At(hook.Q, 1), hook.At(hook.V, 0), hook.ResidPreAt(1), hook.ResidPostAt(0), hook.MLPOutAt(1)}
			ga, err := full.Gradient(toks, metric, model.GradOptions{Wrt: wrt})
			if err != nil {
				t.Fatal(err)
			}
			gb, err := chunked.Gradient(toks, metric, model.GradOptions{Wrt: wrt})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(ga.Value-gb.Value) > 1e-5 {
				t.Errorf("metric %g vs %g", ga.Value, gb.Value)
			}
			for _, n := range wrt {
				if ga.Grads[n] == nil || gb.Grads[n] == nil {
					t.Fatalf("%s: missing gradient (full %v, chunked %v)", n, ga.Grads[n] != nil, gb.Grads[n] != nil)
				}
				if d := maxAbsDiff(ga.Grads[n].Data, gb.Grads[n].Data); d > 1e-5 {
					t.Errorf("d/d%s: chunked vs full differ by %g", n, d)
				}
			}
		})
	}
}
