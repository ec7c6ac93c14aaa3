package model_test

import (
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/backend"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// TestBackendsAgree runs the tiny models on SimpleGo and on XLA (CPU PJRT plugin; skipped when it is not
// built in or not fetched): logits, a captured pattern and an embedding gradient agree within 1e-4
// absolute (XLA fuses and reorders float32 sums and uses its own exp/tanh; the logits are O(10)).
func TestBackendsAgree(t *testing.T) {
	xb, info, err := backend.New(backend.XLA, backend.Options{})
	if err != nil {
		t.Skipf("xla backend unavailable: %v", err)
	}
	t.Log(info)
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			dir, err := modeltest.Write(t.TempDir(), fam, 1)
			if err != nil {
				t.Fatal(err)
			}
			ref := tiny(t, fam, model.Options{})
			xm, _, err := model.Load(dir, model.LoadOptions{Backend: xb})
			if err != nil {
				t.Fatal(err)
			}
			toks := tokens(45, 12)
			opts := model.RunOptions{Capture: []hook.Name{hook.PatternAt(1)}, LogitPositions: model.AllPositions(45)}
			a, err := ref.Run(toks, opts)
			if err != nil {
				t.Fatal(err)
			}
			b, err := xm.Run(toks, opts)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(a.Logits.Data, b.Logits.Data); d > 1e-4 {
				t.Errorf("go vs xla: max |Δlogit| = %g", d)
			}
			if d := maxAbsDiff(a.Cache[hook.PatternAt(1)].Data, b.Cache[hook.PatternAt(1)].Data); d > 1e-5 {
				t.Errorf("go vs xla: max |Δpattern| = %g", d)
			}
			metric := model.Metric{Kind: model.LogProb, Position: 40, Target: toks[41]}
			ga, err := ref.Gradient(toks, metric, model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()}})
			if err != nil {
				t.Fatal(err)
			}
			gb, err := xm.Gradient(toks, metric, model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()}})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(ga.Grads[hook.HookEmbed()].Data, gb.Grads[hook.HookEmbed()].Data); d > 1e-4 {
				t.Errorf("go vs xla: max |Δgradient| = %g", d)
			}
		})
	}
}
