package model_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// TestPrefixMatchesFullRun checks a run that reuses a stored prefix against the full run over the same
// tokens: logits at every position after the prefix and captured activations agree to 1e-6 of their
// scale (only float32 summation order differs). The prefix length, 133, is not a multiple of the 64-position
// bucket, so padded prefix keys must stay masked; 300 tokens make two query blocks; gemma3's 4-token
// sliding window must reach back into the prefix; the chunked model takes the long-sequence fallback
// with graph attention. With the host kernel (the /host cases) the prefix run attends to the stored keys
// in the kernel, whatever the length.
func TestPrefixMatchesFullRun(t *testing.T) {
	const n, P = 300, 133
	toks := tokens(n, 9)
	capture := []hook.Name{hook.ResidPostAt(1), hook.At(hook.RotQ, 0), hook.MLPOutAt(0), hook.HookEmbed()}
	for _, fam := range modeltest.Families {
		for _, opts := range []model.Options{{GraphAttention: true}, {AttnChunk: 128, GraphAttention: true}, {}, {AttnChunk: 128}} {
			name := fam
			if opts.AttnChunk > 0 {
				name += "/chunked"
			}
			if !opts.GraphAttention {
				name += "/host"
			}
			t.Run(name, func(t *testing.T) {
				m := tiny(t, fam, opts)
				full, err := m.Run(toks, model.RunOptions{Capture: capture, LogitPositions: model.AllPositions(n)})
				if err != nil {
					t.Fatal(err)
				}
				// A prefix made from a longer run and truncated, as segment ablation does.
				long, err := m.NewPrefix(toks[:200])
				if err != nil {
					t.Fatal(err)
				}
				pf, err := long.Truncate(P)
				if err != nil {
					t.Fatal(err)
				}
				before := model.HostAttentionLayers(m)
				got, err := m.Run(toks, model.RunOptions{Prefix: pf, Capture: capture, LogitPositions: model.AllPositions(n)[P:]})
				if err != nil {
					t.Fatal(err)
				}
				if ran, want := model.HostAttentionLayers(m)-before, int64(modeltest.NLayers); opts.GraphAttention == (ran != 0) || !opts.GraphAttention && ran != want {
					t.Fatalf("the prefix run computed %d layer attentions in the host kernel (GraphAttention %v)", ran, opts.GraphAttention)
				}
				if got.Offset != P || !slices.Equal(got.Positions, model.AllPositions(n)[P:]) {
					t.Fatalf("offset %d, positions %v…", got.Offset, got.Positions[:3])
				}
				V := m.Dims().DVocab
				want := full.Logits.Data[P*V:]
				if d, s := maxAbsDiff(want, got.Logits.Data), maxAbs(want); d > 1e-6*s {
					t.Errorf("max |Δlogit| = %g at logit scale %g", d, s)
				}
				for _, c := range capture {
					f, g := full.Cache[c], got.Cache[c]
					if g == nil || g.Shape[1] != n-P {
						t.Fatalf("%s: got %v, want %d positions", c, g, n-P)
					}
					row := f.Numel() / n
					if d, s := maxAbsDiff(f.Data[P*row:], g.Data), maxAbs(f.Data); d > 1e-6*s {
						t.Errorf("%s differs by %g at scale %g", c, d, s)
					}
				}
			})
		}
	}
}

// TestPrefixErrors checks that runs a prefix cannot serve are refused with ErrBadInput.
func TestPrefixErrors(t *testing.T) {
	m := tiny(t, "llama", model.Options{})
	toks := tokens(40, 3)
	pf, err := m.NewPrefix(toks[:10])
	if err != nil {
		t.Fatal(err)
	}
	other := slices.Clone(toks)
	other[4]++
	for name, opts := range map[string]struct {
		toks []int
		ro   model.RunOptions
	}{
		"does not extend":        {other, model.RunOptions{}},
		"intervention in prefix": {toks, model.RunOptions{Interventions: []model.Intervention{{Hook: hook.ResidPostAt(0), Kind: model.Zero, Positions: []int{9, 12}}}}},
		"replace of wrong shape": {toks, model.RunOptions{Interventions: []model.Intervention{{Hook: hook.ResidPostAt(0), Kind: model.Replace, Values: model.NewTensor(1, 30, m.Dims().DModel)}}}},
		"run-mean intervention":  {toks, model.RunOptions{Interventions: []model.Intervention{{Hook: hook.ResidPostAt(0), Kind: model.Mean}}}},
		"pattern intervention":   {toks, model.RunOptions{Interventions: []model.Intervention{{Hook: hook.PatternAt(0), Kind: model.Zero}}}},
		"pattern capture":        {toks, model.RunOptions{Capture: []hook.Name{hook.PatternAt(0)}}},
		"logit in prefix":        {toks, model.RunOptions{LogitPositions: []int{9}}},
		"logit after tokens":     {toks, model.RunOptions{LogitPositions: []int{40}}},
	} {
		opts.ro.Prefix = pf
		if _, err := m.Run(opts.toks, opts.ro); !errors.Is(err, model.ErrBadInput) {
			t.Errorf("%s: err = %v, want ErrBadInput", name, err)
		}
	}
	// Tokens equal to the prefix: the last position is recomputed.
	same, err := m.Run(toks[:10], model.RunOptions{Prefix: pf})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := m.Run(toks[:10], model.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d, s := maxAbsDiff(direct.Logits.Data, same.Logits.Data), maxAbs(direct.Logits.Data); d > 1e-6*s || same.Offset != 9 {
		t.Errorf("run of the prefix itself: offset %d, |Δlogit| %g at scale %g", same.Offset, d, s)
	}
	// TruncateAligned rounds down to the grid: 256 positions for short prefixes, Len/8 (in 64s) for long ones.
	long, err := m.NewPrefix(tokens(600, 4))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ n, want int }{{599, 512}, {300, 256}, {255, 0}} {
		got, err := long.TruncateAligned(c.n)
		if err != nil || (c.want == 0) != (got == nil) || (got != nil && got.Len() != c.want) {
			t.Errorf("TruncateAligned(%d) = %v, %v; want %d tokens", c.n, got, err, c.want)
		}
	}
	if _, err := pf.Truncate(11); !errors.Is(err, model.ErrBadInput) {
		t.Errorf("truncate past the end: err = %v", err)
	}
	if q, err := pf.Truncate(0); q != nil || err != nil {
		t.Errorf("Truncate(0) = %v, %v; want nil, nil", q, err)
	}
}

// TestExtendPrefix chains runs as a capture over twin episodes does: a run after a truncated prefix,
// turned into the prefix of its own tokens with ExtendPrefix, must serve a third run exactly as a
// prefix made from scratch does (logits to 1e-6 of scale), including the case where the run's tokens
// equal the prefix (its last position recomputed).
func TestExtendPrefix(t *testing.T) {
	m := tiny(t, "qwen2", model.Options{})
	a := tokens(150, 5)
	b := append(slices.Clone(a[:90]), tokens(60, 6)...)
	c := append(slices.Clone(b), tokens(20, 7)...)
	pa, err := m.NewPrefix(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{90, len(b)} {
		var shared *model.Prefix
		if n == len(b) {
			if shared, err = m.NewPrefix(b); err != nil {
				t.Fatal(err)
			}
		} else if shared, err = pa.Truncate(n); err != nil {
			t.Fatal(err)
		}
		res, err := m.Run(b, model.RunOptions{Prefix: shared, Capture: m.PrefixSites()})
		if err != nil {
			t.Fatal(err)
		}
		pb, err := m.ExtendPrefix(shared, b, res)
		if err != nil {
			t.Fatal(err)
		}
		if pb.Len() != len(b) || !slices.Equal(pb.Tokens(), b) {
			t.Fatalf("shared %d: ExtendPrefix holds %d tokens, want b's %d", n, pb.Len(), len(b))
		}
		got, err := m.Run(c, model.RunOptions{Prefix: pb, LogitPositions: model.AllPositions(len(c))[len(b):]})
		if err != nil {
			t.Fatal(err)
		}
		full, err := m.Run(c, model.RunOptions{LogitPositions: model.AllPositions(len(c))[len(b):]})
		if err != nil {
			t.Fatal(err)
		}
		if d, s := maxAbsDiff(full.Logits.Data, got.Logits.Data), maxAbs(full.Logits.Data); d > 1e-6*s {
			t.Errorf("shared %d: logits after the extended prefix differ by %g at scale %g", n, d, s)
		}
	}
	if _, err := m.ExtendPrefix(pa, c, &model.Result{Offset: 120}); !errors.Is(err, model.ErrBadInput) {
		t.Errorf("ExtendPrefix of a run that does not continue the prefix: err = %v, want ErrBadInput", err)
	}
}

// TestPrefixWithInterventions checks the causal runs that reuse a prefix: a prefix made by a run under
// position-independent interventions (a projection, steering, a zeroed head output, a given-mean
// ablation, an embedding projection) and interventions at listed positions after it (patches from
// another run into the residual and one head's output, a zeroed MLP output), then a run after it under
// the same interventions, must give the full intervened run's logits (to 1e-6 of scale), in every family, with graph and host attention and
// in the long-sequence fallback. The unintervened run must differ, or the check proves nothing.
func TestPrefixWithInterventions(t *testing.T) {
	const n, P = 300, 133
	toks := tokens(n, 11)
	for _, fam := range modeltest.Families {
		for _, opts := range []model.Options{{GraphAttention: true}, {AttnChunk: 128, GraphAttention: true}, {}} {
			name := fam
			if opts.AttnChunk > 0 {
				name += "/chunked"
			}
			if !opts.GraphAttention {
				name += "/host"
			}
			t.Run(name, func(t *testing.T) {
				m := tiny(t, fam, opts)
				d := m.Dims()
				dir := model.NewTensor(d.DModel)
				for j := range dir.Data {
					dir.Data[j] = float32(j%5) - 1.5
				}
				steer := model.NewTensor(d.DModel)
				for j := range steer.Data {
					steer.Data[j] = 0.3 * float32(j%3-1)
				}
				mean := model.NewTensor(d.DModel)
				for j := range mean.Data {
					mean.Data[j] = 0.1
				}
				// A patch from another run at positions after the prefix: the shape activation patching uses.
				other, err := m.Run(tokens(n, 12), model.RunOptions{Capture: []hook.Name{hook.ResidPostAt(1), hook.At(hook.Z, 0)}})
				if err != nil {
					t.Fatal(err)
				}
				ivs := []model.Intervention{
					{Hook: hook.ResidPostAt(1), Kind: model.Replace, Positions: []int{P, P + 5, n - 2}, Values: other.Cache[hook.ResidPostAt(1)]},
					{Hook: hook.At(hook.Z, 0), Kind: model.Replace, Positions: []int{P + 1}, Values: other.Cache[hook.At(hook.Z, 0)]},
					{Hook: hook.MLPOutAt(0), Kind: model.Zero, Positions: []int{P + 3, P + 4}},
					{Hook: hook.HookEmbed(), Kind: model.Project, Values: dir},
					{Hook: hook.ResidPostAt(0), Kind: model.Project, Values: dir},
					{Hook: hook.MLPOutAt(1), Kind: model.Add, Values: steer},
					{Hook: hook.At(hook.Z, 1), Kind: model.Zero},
					{Hook: hook.At(hook.AttnOut, 0), Kind: model.Mean, Values: mean},
				}
				logits := model.AllPositions(n)[P:]
				full, err := m.Run(toks, model.RunOptions{Interventions: ivs, LogitPositions: logits})
				if err != nil {
					t.Fatal(err)
				}
				plain, err := m.Run(toks, model.RunOptions{LogitPositions: logits})
				if err != nil {
					t.Fatal(err)
				}
				if d, s := maxAbsDiff(full.Logits.Data, plain.Logits.Data), maxAbs(full.Logits.Data); d < 1e-3*s {
					t.Fatalf("the interventions move the logits by only %g at scale %g", d, s)
				}
				var everywhere []model.Intervention // the prefix is made under the interventions that reach it
				for _, iv := range ivs {
					if iv.Positions == nil {
						everywhere = append(everywhere, iv)
					}
				}
				head, err := m.Run(toks[:P], model.RunOptions{Interventions: everywhere, Capture: m.PrefixSites()})
				if err != nil {
					t.Fatal(err)
				}
				pf, err := m.PrefixFromCache(toks[:P], head.Cache)
				if err != nil {
					t.Fatal(err)
				}
				got, err := m.Run(toks, model.RunOptions{Prefix: pf, Interventions: ivs, LogitPositions: logits})
				if err != nil {
					t.Fatal(err)
				}
				if d, s := maxAbsDiff(full.Logits.Data, got.Logits.Data), maxAbs(full.Logits.Data); d > 1e-6*s {
					t.Errorf("max |Δlogit| = %g at logit scale %g", d, s)
				}
			})
		}
	}
}
