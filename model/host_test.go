package model_test

import (
	"math"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// TestHostAttentionMatchesGraph runs 600 tokens (several of the host kernel's 128-query and 256-key
// tiles, gemma3's sliding window inside them) with attention in the host kernel and in the graphs:
// logits and captures agree to 5e-6 of their scale. Only float32 rounding differs: the
// kernel scales q before the product ((q·s)·k against (q·k)·s), rescales its running sums at every key
// block and sums in another order, a few ulp per layer that the unembedding amplifies (measured up to
// 1.4e-6 relative). A run that captures a layer's pattern must compute
// that layer in the graphs and the others in the kernel.
func TestHostAttentionMatchesGraph(t *testing.T) {
	const n = 600
	toks := tokens(n, 5)
	capture := []hook.Name{hook.ZAt(0), hook.ZAt(1), hook.ResidPostAt(1)}
	hostAndGraph(t, func(t *testing.T, host, graph *model.Model) {
		ref, err := graph.Run(toks, model.RunOptions{Capture: capture, LogitPositions: model.AllPositions(n)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := host.Run(toks, model.RunOptions{Capture: capture, LogitPositions: model.AllPositions(n)})
		if err != nil {
			t.Fatal(err)
		}
		if k := model.HostAttentionLayers(host); k != modeltest.NLayers {
			t.Fatalf("host kernel ran %d layer attentions, want %d", k, modeltest.NLayers)
		}
		if k := model.HostAttentionLayers(graph); k != 0 {
			t.Fatalf("GraphAttention model ran %d layer attentions in the host kernel", k)
		}
		if d, s := maxAbsDiff(ref.Logits.Data, got.Logits.Data), maxAbs(ref.Logits.Data); d > 5e-6*s {
			t.Errorf("max |Δlogit| = %g at logit scale %g", d, s)
		}
		for _, c := range capture {
			d, s := maxAbsDiff(ref.Cache[c].Data, got.Cache[c].Data), maxAbs(ref.Cache[c].Data)
			t.Logf("%s: max |Δ| %.2g at scale %.2g", c, d, s)
			if d > 5e-6*s {
				t.Errorf("%s differs by %g at scale %g", c, d, s)
			}
		}
		if _, err := host.Run(toks, model.RunOptions{Capture: []hook.Name{hook.PatternAt(0)}}); err != nil {
			t.Fatal(err)
		}
		if k := model.HostAttentionLayers(host); k != 2*modeltest.NLayers-1 {
			t.Errorf("after a run capturing layer 0's pattern the kernel has run %d layer attentions, want %d", k, 2*modeltest.NLayers-1)
		}
	})
}

// TestHostGradientMatchesGraph takes the gradient of a log-prob over 600 tokens with attention in the
// host kernel (forward and flash backward) and in the graphs: gradients agree to 1e-5 of their largest
// entry, and the value to 1e-5. Only float32 rounding differs (the forward's few ulp per layer, see
// above, and the backward's recomputed probabilities and other summation order), and it grows through
// the layers of the backward pass: measured up to 7.5e-7 of scale. The pass must take the host path for
// every layer (forward, which keeps z for the backward, and backward: two kernel calls per layer), and
// a layer whose pattern gradient is asked for must stay in the graphs.
func TestHostGradientMatchesGraph(t *testing.T) {
	const n = 600
	toks := tokens(n, 7)
	metric := model.Metric{Kind: model.LogProb, Position: n - 2, Target: toks[n-1]}
	wrt := []hook.Name{hook.HookEmbed(), hook.At(hook.RotK, 0), hook.ZAt(1), hook.At(hook.ResidMid, 1)}
	hostAndGraph(t, func(t *testing.T, host, graph *model.Model) {
		ref, err := graph.Gradient(toks, metric, model.GradOptions{Wrt: wrt})
		if err != nil {
			t.Fatal(err)
		}
		got, err := host.Gradient(toks, metric, model.GradOptions{Wrt: wrt})
		if err != nil {
			t.Fatal(err)
		}
		if k := model.HostAttentionLayers(host); k != 2*modeltest.NLayers {
			t.Fatalf("host kernel ran %d layer attentions, want %d", k, 2*modeltest.NLayers)
		}
		if math.Abs(ref.Value-got.Value) > 1e-5 {
			t.Errorf("value %g, graph attention %g", got.Value, ref.Value)
		}
		for _, w := range wrt {
			r, g := ref.Grads[w].Data, got.Grads[w].Data
			d, s := maxAbsDiff(r, g), maxAbs(r)
			t.Logf("%s: max |Δ| = %.2g of scale %.2g", w, d, s)
			if s == 0 || d > 1e-5*s {
				t.Errorf("%s: gradients differ by %g at scale %g", w, d, s)
			}
		}
		if _, err := host.Gradient(toks, metric, model.GradOptions{Wrt: []hook.Name{hook.PatternAt(1)}}); err != nil {
			t.Fatal(err)
		}
		// Forward: all layers in the kernel; backward: layer 0 in the kernel, layer 1 in the graphs.
		if k := model.HostAttentionLayers(host); k != 3*modeltest.NLayers+1 {
			t.Errorf("after a pattern gradient the kernel has run %d layer attentions, want %d", k, 3*modeltest.NLayers+1)
		}
	})
}

// hostAndGraph runs f on every tiny family, whole and in 256-query chunks, with a model that computes
// attention in the host kernel and one that keeps it in the graphs (Options.GraphAttention).
func hostAndGraph(t *testing.T, f func(t *testing.T, host, graph *model.Model)) {
	for _, fam := range modeltest.Families {
		for _, opts := range []model.Options{{}, {AttnChunk: 256}} {
			name := fam
			if opts.AttnChunk > 0 {
				name += "/chunked"
			}
			t.Run(name, func(t *testing.T) {
				host := tiny(t, fam, opts)
				opts.GraphAttention = true
				f(t, host, tiny(t, fam, opts))
			})
		}
	}
}
