package attribution_test

import (
	"math"
	"testing"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// TestDirectionEffects checks the causal runs by their invariants: adding a zero-scaled direction
// changes nothing (bit for bit), projecting out v, −v or 3v is the same intervention (to float32
// rounding, 1e-5), and projecting out a random direction changes log p(action) (the tiny model's
// residual stream is only d_model = 64 wide, so any direction matters a little).
func TestDirectionEffects(t *testing.T) {
	f := load(t)
	rs := twins(t, f)[:2]
	var items []attribution.CaptureItem
	for _, r := range rs {
		tg, err := attribution.DecisionTarget(r)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, attribution.CaptureItem{R: r, Target: tg})
	}
	v := attribution.RandomDirections(1, modeltest.DModel, 3)[0]
	neg, big := make([]float32, len(v)), make([]float32, len(v))
	for j, x := range v {
		neg[j], big[j] = -x, 3*x
	}
	site := hook.ResidPostAt(0)
	proj, st, err := attribution.DirectionEffects(f.m, items, [][]float32{v, neg, big}, attribution.DirectionOptions{Sites: []hook.Name{site}, Kind: model.Project})
	if err != nil {
		t.Fatal(err)
	}
	if len(proj) != 6 {
		t.Fatalf("%d runs, want 2 items × 3 directions", len(proj))
	}
	for i := 0; i < 6; i += 3 {
		a, b, c := proj[i], proj[i+1], proj[i+2]
		if math.Abs(a.Value-b.Value) > 1e-5 || math.Abs(a.Value-c.Value) > 1e-5 {
			t.Errorf("item %d: projecting v, −v, 3v gives %v, %v, %v, want equal", a.Item, a.Value, b.Value, c.Value)
		}
		if a.Value == a.Base {
			t.Errorf("item %d: projecting out a direction left log p(action) at exactly %v", a.Item, a.Base)
		}
	}
	zero, _, err := attribution.DirectionEffects(f.m, items, [][]float32{v}, attribution.DirectionOptions{Sites: []hook.Name{site}, Kind: model.Add, Alpha: 0})
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range zero {
		if z.Value != z.Base {
			t.Errorf("item %d: adding 0·v moved log p(action) from %v to %v", z.Item, z.Base, z.Value)
		}
	}
	if _, _, err := attribution.DirectionEffects(f.m, items, [][]float32{v}, attribution.DirectionOptions{Sites: []hook.Name{site}, Kind: model.Zero}); err == nil {
		t.Error("DirectionEffects with kind Zero: no error")
	}
	if _, _, err := attribution.DirectionEffects(f.m, items, [][]float32{v}, attribution.DirectionOptions{Kind: model.Project}); err == nil {
		t.Error("DirectionEffects with no sites: no error")
	}

	// The twins share their context up to the decision: the second one's runs reuse the first's keys
	// and values under the same direction, and must give what recomputing the whole context gives.
	if st.Computed >= st.Tokens || st.Runs != 8 {
		t.Errorf("stats %+v: want 8 runs with part of the twin's context reused", st)
	}
	fresh, fst, err := attribution.DirectionEffects(f.m, items, [][]float32{v, neg, big}, attribution.DirectionOptions{Sites: []hook.Name{site},
		Kind: model.Project, PrefixMin: -1})
	if err != nil {
		t.Fatal(err)
	}
	if fst.Computed != fst.Tokens {
		t.Errorf("PrefixMin −1 reused tokens: %+v", fst)
	}
	for i := range fresh {
		if math.Abs(fresh[i].Value-proj[i].Value) > 1e-5 || math.Abs(fresh[i].Base-proj[i].Base) > 1e-5 {
			t.Errorf("run %d: with prefix reuse %v (base %v), recomputed %v (base %v)", i, proj[i].Value, proj[i].Base, fresh[i].Value, fresh[i].Base)
		}
	}

	// Removing the direction from two layers is another intervention than removing it from one.
	two, _, err := attribution.DirectionEffects(f.m, items, [][]float32{v}, attribution.DirectionOptions{Sites: []hook.Name{site, hook.ResidPostAt(1)},
		Kind: model.Project})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range two {
		if one := proj[3*i]; math.Abs(r.Value-one.Value) < 1e-6 || r.Base != one.Base {
			t.Errorf("item %d: two-layer ablation %v vs one-layer %v (bases %v, %v)", r.Item, r.Value, one.Value, r.Base, one.Base)
		}
	}
}

func TestRandomDirections(t *testing.T) {
	a, b := attribution.RandomDirections(20, 576, 9), attribution.RandomDirections(20, 576, 9)
	for i := range a {
		var n float64
		for j, x := range a[i] {
			if x != b[i][j] {
				t.Fatal("RandomDirections is not deterministic")
			}
			n += float64(x * x)
		}
		if math.Abs(n-1) > 1e-5 {
			t.Errorf("direction %d has squared norm %v, want 1", i, n)
		}
		if i > 0 {
			var dot float64
			for j := range a[i] {
				dot += float64(a[i][j] * a[0][j])
			}
			// Random unit vectors in 576 dimensions: |cos| ~ 1/√576 ≈ 0.04; 0.25 is six standard deviations.
			if math.Abs(dot) > 0.25 {
				t.Errorf("directions 0 and %d have cosine %v", i, dot)
			}
		}
	}
}
