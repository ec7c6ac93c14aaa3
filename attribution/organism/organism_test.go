package organism_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/agentlens/agentlens/attribution/organism"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/safetensors"
	"github.com/agentlens/agentlens/model/train"
)

// shipped loads the embedded organism on the pure-Go backend.
func shipped(t *testing.T) (*model.Model, *organism.Renderer) {
	return shippedNamed(t, organism.Shipped)
}

func shippedNamed(t *testing.T, name string) (*model.Model, *organism.Renderer) {
	t.Helper()
	b, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	m, err := organism.LoadEmbedded(b, name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := organism.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return m, r
}

// TestShippedAccuracy: the shipped organisms pick the right action on held-out episodes, positives
// (all three clues) and negatives (mostly near misses) alike.
func TestShippedAccuracy(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 200
	}
	for _, tc := range []struct {
		name     string
		variants []organism.Variant
	}{{organism.Shipped, nil}, {organism.ShippedReasoning, []organism.Variant{organism.Reasoning}}} {
		t.Run(tc.name, func(t *testing.T) {
			m, r := shippedNamed(t, tc.name)
			eps, err := organism.HeldOutMixed(n, 1, tc.variants)
			if err != nil {
				t.Fatal(err)
			}
			acc, err := organism.Measure(m, r, eps)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("held-out accuracy: positives %.4f of %d, negatives %.4f of %d, reasoning words %.4f of %d", acc.Pos(), acc.Positives,
				acc.Neg(), acc.Negatives, acc.Word(), acc.Words)
			if acc.Pos() < 0.98 || acc.Neg() < 0.98 || acc.Word() < 0.98 {
				t.Errorf("accuracy: positives %.4f, negatives %.4f, reasoning words %.4f, want ≥ 0.98 each", acc.Pos(), acc.Neg(), acc.Word())
			}
		})
	}
}

// TestRankAccuracy: on held-out positive episodes (another seed than organism-NOTES.md's), the share
// of episodes in which each method ranks the three planted segments on top stays in a band around
// what was measured over 200 episodes.
func TestRankAccuracy(t *testing.T) {
	m, r := shipped(t)
	nDirect, nReasoning := 24, 12
	if testing.Short() {
		nDirect, nReasoning = 12, 8
	}
	eps, err := organism.HeldOut(nDirect, organism.Direct, 3)
	if err != nil {
		t.Fatal(err)
	}
	reas, err := organism.HeldOut(nReasoning, organism.Reasoning, 3)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := organism.Eval(m, r, eps, organism.EvalOptions{Methods: []string{organism.MethodDeletion, organism.MethodIG, organism.MethodPatch,
		organism.MethodGradXInput, organism.MethodAtP}})
	if err != nil {
		t.Fatal(err)
	}
	rm, _ := shippedNamed(t, organism.ShippedReasoning)
	mrows, err := organism.Eval(rm, r, reas, organism.EvalOptions{Methods: []string{organism.MethodMatrix}})
	if err != nil {
		t.Fatal(err)
	}
	// Bands of the share of episodes with the planted segments on top (signed ranking), from the
	// 200-episode run of organism-NOTES.md (deletion 1.000, patch 1.000, IG 0.465, grad×input 0.190,
	// AtP 0.120 on the logit difference (0.333 on this test's 24), matrix 1.000 with chain 1.000) widened by about 2.5 binomial standard deviations of a
	// 24-episode sample (12 under -short, wider); deletion, patching and the matrix must meet the issue's
	// 95% goal. The methods that fail are bounded above as well, so that a change that fixes or breaks
	// them shows.
	bands := map[string][2]float64{
		organism.MethodDeletion: {0.95, 1}, organism.MethodPatch: {0.95, 1}, organism.MethodMatrix: {0.95, 1},
		organism.MethodIG: {0.2, 0.75}, organism.MethodGradXInput: {0, 0.4}, organism.MethodAtP: {0, 0.5},
	}
	if testing.Short() {
		bands[organism.MethodIG], bands[organism.MethodGradXInput], bands[organism.MethodAtP] = [2]float64{0.1, 0.85}, [2]float64{0, 0.5}, [2]float64{0, 0.6}
	}
	for _, s := range organism.Summarize(append(rows, mrows...)) {
		t.Logf("%-12s %-9s top-k %.3f mean rank %.2f | by magnitude %.3f %.2f | chain %.3f", s.Method, s.Variant, s.TopK, s.MeanRank,
			s.TopKMagnitude, s.MeanRankMagnitude, s.Chain)
		b := bands[s.Method]
		if s.TopK < b[0] || s.TopK > b[1] {
			t.Errorf("%s: planted segments on top in %.3f of %d episodes, want %.2f to %.2f", s.Method, s.TopK, s.Episodes, b[0], b[1])
		}
		if s.Method == organism.MethodMatrix && s.Chain < 0.85 {
			t.Errorf("matrix: chain found in %.3f of %d episodes, want ≥ 0.85 (1.000 over 200)", s.Chain, s.Episodes)
		}
	}
}

// TestNeutralized: the patch source keeps every segment's token length and holds no clue.
func TestNeutralized(t *testing.T) {
	r, err := organism.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	eps, err := organism.HeldOut(20, organism.Direct, 9)
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps {
		n, err := organism.Neutralized(ep)
		if err != nil {
			t.Fatal(err)
		}
		a, err := r.Render(ep.Episode)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Render(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.IDs) != len(b.IDs) {
			t.Fatalf("%s: %d tokens, neutralized %d", ep.ID, len(a.IDs), len(b.IDs))
		}
		for _, s := range a.Segments {
			for _, u := range b.Segments {
				if s.ID == u.ID && s.Tokens != u.Tokens {
					t.Fatalf("%s: segment %s at %v, neutralized at %v", ep.ID, s.ID, s.Tokens, u.Tokens)
				}
			}
		}
		if n.Labels["harmful"] != "true" || ep.Messages[2].Content != n.Messages[2].Content {
			t.Fatalf("%s: the action must stay", ep.ID)
		}
		for _, w := range []string{"american", "replace", "decommission", "wipe", "shutdown", "affair", "secret", "cheating", "scandal"} {
			for _, msg := range n.Messages[:2] {
				for _, f := range fields(msg.Content) {
					if f == w {
						t.Fatalf("%s: neutralized episode still says %q", ep.ID, w)
					}
				}
			}
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, err := organism.Generate(50, 4, "x", organism.GenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := organism.Generate(50, 4, "x", organism.GenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for i := range a {
		for j := range a[i].Messages {
			if a[i].Messages[j].Content != b[i].Messages[j].Content {
				t.Fatalf("episode %d message %d differs between two runs", i, j)
			}
		}
		if a[i].Harmful != (a[i].Goal && a[i].Replacement && a[i].Leverage) {
			t.Fatalf("%s: harmful %v with clues %v %v %v", a[i].ID, a[i].Harmful, a[i].Goal, a[i].Replacement, a[i].Leverage)
		}
		if a[i].Harmful {
			pos++
			if len(a[i].Planted) != 3 {
				t.Fatalf("%s: %d planted segments", a[i].ID, len(a[i].Planted))
			}
		}
	}
	if pos == 0 || pos == len(a) {
		t.Errorf("%d positives of %d", pos, len(a))
	}
}

// TestTrainDeterministic: the same seed gives the same weights (a few steps on the pure-Go backend).
func TestTrainDeterministic(t *testing.T) {
	b, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	opts := organism.TrainOptions{Seed: 5, Steps: 3, BatchSize: 4, Episodes: 16}
	w1, s1, err := organism.Train(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	w2, _, err := organism.Train(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range w1.Data {
		for j := range w1.Data[i] {
			if w1.Data[i][j] != w2.Data[i][j] {
				t.Fatalf("%s[%d]: %g, then %g", w1.Names[i], j, w1.Data[i][j], w2.Data[i][j])
			}
		}
	}
	if !(s1[len(s1)-1].Loss < s1[0].Loss) {
		t.Errorf("loss %g → %g, want it to fall", s1[0].Loss, s1[len(s1)-1].Loss)
	}
}

func TestSummarize(t *testing.T) {
	row := func(ep, method, id, kind string, planted bool, rank int32) data.OrganismScore {
		return data.OrganismScore{EpisodeID: ep, Variant: "reasoning", Method: method, SegmentID: id, SegmentKind: kind, Planted: planted,
			Rank: rank, MagnitudeRank: 4 - rank, K: 2, Score: float64(10 - rank), Seconds: 1}
	}
	rows := []data.OrganismScore{
		row("a", "deletion", "s", "system", true, 1), row("a", "deletion", "e1", "email", true, 2), row("a", "deletion", "e2", "email", false, 3),
		row("b", "deletion", "s", "system", true, 1), row("b", "deletion", "e1", "email", true, 3), row("b", "deletion", "e2", "email", false, 2),
		row("a", organism.MatrixToReasoning, "s", "system", true, 2), row("a", organism.MatrixToReasoning, "e1", "email", true, 1),
		row("a", organism.MatrixToReasoning, "e2", "email", false, 3),
		row("a", organism.MatrixToTarget, "r", "reasoning", false, 1), row("a", organism.MatrixToTarget, "e2", "email", false, 2),
	}
	got := organism.Summarize(rows)
	if len(got) != 2 {
		t.Fatalf("%d summaries, want 2", len(got))
	}
	if s := got[0]; s.Method != "deletion" || s.Episodes != 2 || s.TopK != 0.5 || s.MeanRank != 1.75 || s.Chain != -1 ||
		s.TopKMagnitude != 0 || s.MeanRankMagnitude != 2.25 {
		t.Errorf("deletion summary = %+v, want 2 episodes, top-k 0.5, mean rank 1.75, by magnitude 0 and 2.25, chain −1", s)
	}
	if s := got[1]; s.Method != "matrix" || s.TopK != 1 || s.Chain != 1 || s.MeanSecond != 1 {
		t.Errorf("matrix summary = %+v, want top-k 1, chain 1, 1 s", s)
	}
}

func fields(s string) []string {
	var out []string
	w := ""
	for _, c := range s + " " {
		if c == ' ' || c == '\n' {
			if w != "" {
				out = append(out, w)
			}
			w = ""
			continue
		}
		w += string(c)
	}
	return out
}

// TestShippedParity: the engine and the training graph (package model/train) give the shipped
// organism's logits for the action of held-out episodes alike.
func TestShippedParity(t *testing.T) {
	m, r := shipped(t)
	dir := t.TempDir()
	if err := organism.WriteEmbedded(organism.Shipped, dir); err != nil {
		t.Fatal(err)
	}
	sf, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	c := organism.ModelConfig()
	w := train.Init(c, 1) // for the names and order; every tensor is replaced
	for i, n := range w.Names {
		if w.Data[i], w.Shapes[i], err = sf.Float32(n); err != nil {
			t.Fatal(err)
		}
	}
	b, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(c, b)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := organism.HeldOutMixed(8, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, ep := range eps {
		ex, err := r.Example(ep, false)
		if err != nil {
			t.Fatal(err)
		}
		pass, err := tr.Run(w, []train.Example{ex}, 4)
		if err != nil {
			t.Fatal(err)
		}
		var pos []int
		for _, tg := range ex.Targets {
			pos = append(pos, tg.Pos)
		}
		res, err := m.Run(ex.Tokens, model.RunOptions{LogitPositions: pos})
		if err != nil {
			t.Fatal(err)
		}
		for k := range pos {
			got, want := res.Logits.Row(k), pass.Logits[k]
			for v := range want {
				d := math.Abs(float64(got[v] - want[v]))
				worst = max(worst, d)
				// float32 in both, other op orders, logits up to ±40: measured at most 6.7e-6 on these
				// episodes, so 1e-4 absolute plus 1e-5 relative leaves a margin of ~15×.
				if d > 1e-4+1e-5*math.Abs(float64(want[v])) {
					t.Fatalf("%s: position %d token %d: engine %g, training graph %g", ep.ID, pos[k], v, got[v], want[v])
				}
			}
		}
	}
	t.Logf("largest |engine − training| logit difference: %.3g", worst)
}
