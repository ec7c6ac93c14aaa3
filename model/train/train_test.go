package train_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/agentlens/agentlens/model"
	_ "github.com/agentlens/agentlens/model/llama"
	"github.com/agentlens/agentlens/model/train"
)

var tiny = train.Config{DVocab: 50, DModel: 32, NHeads: 4, DHead: 8, DMLP: 48, NLayers: 2, RopeTheta: 10000, NormEps: 1e-6}

func examples(n, T int, seed uint64) []train.Example {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []train.Example
	for range n {
		e := train.Example{}
		for range T {
			e.Tokens = append(e.Tokens, r.IntN(tiny.DVocab))
		}
		// Learnable: predict the token two back.
		for p := 2; p < T; p++ {
			e.Targets = append(e.Targets, train.Target{Pos: p, Token: e.Tokens[p-2]})
		}
		out = append(out, e)
	}
	return out
}

// TestParity checks that the engine loading the saved weights gives the training graph's logits.
func TestParity(t *testing.T) {
	b, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	w := train.Init(tiny, 3)
	// Perturb the norms so a wrong norm placement shows.
	r := rand.New(rand.NewPCG(9, 9))
	for i, n := range w.Names {
		if len(w.Shapes[i]) == 1 {
			for j := range w.Data[i] {
				w.Data[i][j] = 1 + 0.3*float32(r.NormFloat64())
			}
		}
		_ = n
	}
	tr, err := train.New(tiny, b)
	if err != nil {
		t.Fatal(err)
	}
	const T = 37
	ex := examples(1, T, 5)[0]
	ex.Targets = nil
	for p := range T {
		ex.Targets = append(ex.Targets, train.Target{Pos: p, Token: 0})
	}
	pass, err := tr.Run(w, []train.Example{ex}, T)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := w.Save(dir, tiny); err != nil {
		t.Fatal(err)
	}
	m, _, err := model.Load(dir, model.LoadOptions{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Run(ex.Tokens, model.RunOptions{LogitPositions: model.AllPositions(T)})
	if err != nil {
		t.Fatal(err)
	}
	// Both compute in float32 with different op orders (one fused graph vs. the engine's per-block
	// graphs); measured: at most 1.1e-6 on logits of order 1–10, so 1e-5 leaves a margin of ~10×.
	const atol, rtol = 1e-5, 1e-5
	worst := 0.0
	for p := range T {
		got, want := res.Logits.Row(p), pass.Logits[p]
		for v := range want {
			d := math.Abs(float64(got[v] - want[v]))
			worst = max(worst, d)
			if d > atol+rtol*math.Abs(float64(want[v])) {
				t.Fatalf("pos %d token %d: engine logit %g, training graph %g", p, v, got[v], want[v])
			}
		}
	}
	t.Logf("largest |engine − training| logit difference: %.3g", worst)
}

// TestTrainDeterministicAndLearns checks that two runs from one seed give identical weights, and that
// the loss falls.
func TestTrainDeterministicAndLearns(t *testing.T) {
	b, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(tiny, b)
	if err != nil {
		t.Fatal(err)
	}
	exs := examples(8, 20, 7)
	run := func() (*train.Weights, []float64) {
		w := train.Init(tiny, 1)
		opt := &train.Adam{Beta1: 0.9, Beta2: 0.99, Eps: 1e-8}
		var losses []float64
		for range 30 {
			p, err := tr.Run(w, exs, 18)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, p.Loss)
			train.ClipNorm(p.Grads, 1)
			opt.Step(w, p.Grads, 1e-2)
		}
		return w, losses
	}
	w1, l1 := run()
	w2, _ := run()
	for i := range w1.Data {
		for j := range w1.Data[i] {
			if w1.Data[i][j] != w2.Data[i][j] {
				t.Fatalf("%s[%d]: run 1 %g, run 2 %g", w1.Names[i], j, w1.Data[i][j], w2.Data[i][j])
			}
		}
	}
	if !(l1[len(l1)-1] < 0.7*l1[0]) {
		t.Errorf("loss %g → %g, want a fall of at least 30%%", l1[0], l1[len(l1)-1])
	}
	t.Logf("loss %.3f → %.3f", l1[0], l1[len(l1)-1])
}
