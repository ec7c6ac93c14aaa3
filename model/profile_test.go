package model_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// phaseCalls returns the calls per phase name.
func phaseCalls(p *model.Profile) map[string]int64 {
	out := map[string]int64{}
	for _, ph := range p.Phases() {
		out[ph.Phase] = ph.Calls
	}
	return out
}

// TestProfileCountsPhases checks a Profile against what a pass must do: one pre-attention graph, one
// host attention kernel call and one post-attention graph per layer, one head; with attention in the
// graphs one whole-layer graph per layer instead; a gradient adds one backward graph per stage and one
// kernel backward per layer. The phases' seconds never exceed the wall-clock time around the call
// (the passes run them one after another), no phase uses more CPU than its threads allow (10 ms of
// slack: getrusage counts in ticks of the scheduler), and nothing is counted once the profile is
// removed.
func TestProfileCountsPhases(t *testing.T) {
	const n = 300
	toks := tokens(n, 3)
	L := int64(modeltest.NLayers)
	fam := modeltest.Families[0]
	host := tiny(t, fam, model.Options{})
	var p model.Profile
	host.SetProfile(&p)
	start := time.Now()
	if _, err := host.Run(toks, model.RunOptions{Capture: []hook.Name{hook.ResidPostAt(0)}}); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start).Seconds()
	got := phaseCalls(&p)
	want := map[string]int64{"embed": 1, "pre-attention graphs": L, "attention kernel": L, "post-attention graphs": L, "head": 1,
		"copies": 4*L + 1} // q, k, v down and z up per layer; resid_post 0 captured once
	for name, c := range want {
		if got[name] != c {
			t.Errorf("host forward: %s called %d times, want %d (all: %v)", name, got[name], c, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("host forward: phases %v, want only %v", got, want)
	}
	if s := p.Total(); s <= 0 || s > wall {
		t.Errorf("phases add up to %.4f s in a %.4f s run", s, wall)
	}
	cpu := 0.0
	for _, ph := range p.Phases() {
		if ph.CPUSeconds < 0 || ph.CPUSeconds > float64(runtime.GOMAXPROCS(0))*ph.Seconds+0.01 {
			t.Errorf("%s: %.4f CPU seconds in %.4f s on %d threads", ph.Phase, ph.CPUSeconds, ph.Seconds, runtime.GOMAXPROCS(0))
		}
		cpu += ph.CPUSeconds
	}
	if runtime.GOOS == "linux" && cpu <= 0 {
		t.Errorf("no CPU time measured on linux: %+v", p.Phases())
	}

	host.SetProfile(nil)
	if _, err := host.Run(toks, model.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if after := phaseCalls(&p); after["head"] != 1 {
		t.Errorf("a run after SetProfile(nil) was counted: %v", after)
	}
	p.Reset()
	if ph := p.Phases(); len(ph) != 0 || p.Total() != 0 {
		t.Errorf("after Reset: %v", ph)
	}

	host.SetProfile(&p)
	if _, err := host.Gradient(toks, model.Metric{Kind: model.LogProb, Position: n - 2, Target: toks[n-1]},
		model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()}}); err != nil {
		t.Fatal(err)
	}
	got = phaseCalls(&p)
	for name, c := range map[string]int64{"attention kernel backward": L, "backward graphs": 2 * L} {
		if got[name] != c {
			t.Errorf("gradient: %s called %d times, want %d (all: %v)", name, got[name], c, got)
		}
	}

	graph := tiny(t, fam, model.Options{GraphAttention: true})
	p.Reset()
	graph.SetProfile(&p)
	if _, err := graph.Run(toks, model.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got = phaseCalls(&p)
	if got["whole-layer graphs"] != L || got["attention kernel"] != 0 || got["pre-attention graphs"] != 0 {
		t.Errorf("graph attention: phases %v, want %d whole-layer graphs and no kernel", got, L)
	}
}
