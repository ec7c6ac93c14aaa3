package model_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// TestRunBatchMatchesRuns runs sequences of different lengths after a shared 100-token prefix, without
// one, and mixing prefixes of 50 and 100 tokens and none, as one packed batch and one by one: logits
// agree to 1e-5 of their scale, and so do captured sites (hook_embed, a block's q, resid_post). The batch's stacked rows change only how the matmuls block their sums (measured 1e-7
// relative); each sequence must attend to its own rows and prefix only, at its own positions.
// The batch takes one host-kernel call per layer, and a GraphAttention model runs the items one by one
// with the same results.
func TestRunBatchMatchesRuns(t *testing.T) {
	long := tokens(400, 11)
	capture := []hook.Name{hook.ResidPostAt(1), hook.At(hook.Q, 0), hook.HookEmbed()}
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			m := tiny(t, fam, model.Options{})
			graph := tiny(t, fam, model.Options{GraphAttention: true})
			pf, err := m.NewPrefix(long[:100])
			if err != nil {
				t.Fatal(err)
			}
			pf50, err := pf.Truncate(50)
			if err != nil {
				t.Fatal(err)
			}
			other := slices.Concat(long[:100], tokens(77, 12))
			for _, c := range []struct {
				name  string
				items []model.BatchItem
			}{
				{"prefix", []model.BatchItem{{Tokens: long[:230], Prefix: pf}, {Tokens: long, Prefix: pf, LogitPositions: []int{150, 399}}, {Tokens: other, Prefix: pf}}},
				{"none", []model.BatchItem{{Tokens: long[:30]}, {Tokens: long[:200], LogitPositions: []int{0, 50, 199}}}},
				{"mixed", []model.BatchItem{{Tokens: long[:300], Prefix: pf50}, {Tokens: long[:90]}, {Tokens: other, Prefix: pf}, {Tokens: long[:51], Prefix: pf50}, {Tokens: long[:100], Prefix: pf}}},
			} {
				for name, mm := range map[string]*model.Model{"host": m, "graph": graph} {
					before := model.HostAttentionLayers(mm)
					got, err := mm.RunBatch(c.items, capture)
					if err != nil {
						t.Fatalf("%s %s: %v", c.name, name, err)
					}
					if k := model.HostAttentionLayers(mm) - before; name == "host" && k != modeltest.NLayers {
						t.Errorf("%s: the batch took %d host-kernel calls, want %d", c.name, k, modeltest.NLayers)
					}
					for i, it := range c.items {
						want, err := m.Run(it.Tokens, model.RunOptions{Prefix: it.Prefix, LogitPositions: it.LogitPositions, Capture: capture})
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(got[i].Positions, want.Positions) || !slices.Equal(got[i].Logits.Shape, want.Logits.Shape) || got[i].Offset != want.Offset {
							t.Fatalf("%s %s item %d: positions %v shape %v offset %d, want %v %v %d", c.name, name, i,
								got[i].Positions, got[i].Logits.Shape, got[i].Offset, want.Positions, want.Logits.Shape, want.Offset)
						}
						if d, s := maxAbsDiff(got[i].Logits.Data, want.Logits.Data), maxAbs(want.Logits.Data); d > 1e-5*s {
							t.Errorf("%s %s item %d: max |Δlogit| %g at scale %g", c.name, name, i, d, s)
						}
						for _, n := range capture {
							g, w := got[i].Cache[n], want.Cache[n]
							if g == nil || !slices.Equal(g.Shape, w.Shape) {
								t.Fatalf("%s %s item %d: %s is %v, want shape %v", c.name, name, i, n, g, w.Shape)
							}
							if d, s := maxAbsDiff(g.Data, w.Data), maxAbs(w.Data); d > 1e-5*s {
								t.Errorf("%s %s item %d: %s differs by %g at scale %g", c.name, name, i, n, d, s)
							}
						}
					}
				}
			}
			for name, items := range map[string][]model.BatchItem{
				"not extending": {{Tokens: long[:200]}, {Tokens: tokens(150, 13), Prefix: pf}},
				"short":         {{Tokens: long[:200]}, {Tokens: long[:99], Prefix: pf}},
				"position":      {{Tokens: long[:200]}, {Tokens: long[:150], Prefix: pf, LogitPositions: []int{99}}},
			} {
				if _, err := m.RunBatch(items, nil); !errors.Is(err, model.ErrBadInput) {
					t.Errorf("%s: err = %v, want ErrBadInput", name, err)
				}
			}
			if _, err := m.RunBatch([]model.BatchItem{{Tokens: long[:20]}, {Tokens: long[:30]}}, []hook.Name{hook.PatternAt(0)}); !errors.Is(err, model.ErrBadInput) {
				t.Errorf("pattern capture: err = %v, want ErrBadInput", err)
			}
		})
	}
}
