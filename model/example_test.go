package model_test

import (
	"fmt"
	"github.com/agentlens/agentlens/model/hook"
	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/modeltest"
)

// ExampleModel_RunBatch runs two continuations of a shared prompt as one packed batch, each after the
// prompt's stored keys and values, and checks them against separate runs, on a tiny random model.
func ExampleModel_RunBatch() {
	dir, _ := os.MkdirTemp("", "model-example")
	defer os.RemoveAll(dir)
	mdir, _ := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 1)
	backend, _ := simplego.New("ops_sequential")
	m, _, err := model.Load(mdir, model.LoadOptions{Backend: backend})
	if err != nil {
		fmt.Println(err)
		return
	}
	prompt := []int{1, 2, 3, 4, 5, 6, 7, 8}
	pf, err := m.NewPrefix(prompt)
	if err != nil {
		fmt.Println(err)
		return
	}
	items := []model.BatchItem{
		{Tokens: append(append([]int{}, prompt...), 20, 21, 22), Prefix: pf},
		{Tokens: append(append([]int{}, prompt...), 30), Prefix: pf, LogitPositions: []int{8}},
	}
	res, err := m.RunBatch(items, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, r := range res {
		one, _ := m.Run(items[i].Tokens, model.RunOptions{Prefix: pf, LogitPositions: items[i].LogitPositions})
		worst := 0.0
		for j, v := range r.Logits.Data {
			worst = math.Max(worst, math.Abs(float64(v-one.Logits.Data[j])))
		}
		fmt.Printf("item %d: positions %v after %d prompt tokens, logits %v, same as a Run: %v\n",
			i, r.Positions, r.Offset, r.Logits.Shape, worst < 1e-4)
	}
	// Output:
	// item 0: positions [10] after 8 prompt tokens, logits [1 300], same as a Run: true
	// item 1: positions [8] after 8 prompt tokens, logits [1 300], same as a Run: true
}

// ExampleModel_Attention reads attention patterns of a tiny random model without forming them: the
// last query's pattern row and the mean pattern row of queries 2–5, each a distribution over keys.
func ExampleModel_Attention() {
	dir, _ := os.MkdirTemp("", "model-example")
	defer os.RemoveAll(dir)
	mdir, _ := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 1)
	backend, _ := simplego.New("ops_sequential")
	m, _, err := model.Load(mdir, model.LoadOptions{Backend: backend})
	if err != nil {
		fmt.Println(err)
		return
	}
	toks := []int{1, 2, 3, 4, 5, 6, 7, 8}
	a, err := m.Attention(toks, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	last, span := make([]float32, 8), make([]float32, 8)
	last[7] = 1
	for i := 2; i < 6; i++ {
		span[i] = 0.25
	}
	out, err := a.Weighted(1, [][]float32{last, span}) // [row, head, key]
	if err != nil {
		fmt.Println(err)
		return
	}
	heads := m.Dims().NHeads
	for r, name := range []string{"query 7", "queries 2–5"} {
		mass, after := 0.0, 0.0
		for j, v := range out.Row(r, 0) { // head 0
			mass += float64(v)
			if r == 1 && j > 5 {
				after += float64(v)
			}
		}
		fmt.Printf("%s: %d heads, head 0's mass %.3f, on keys after query 5 %.3f\n", name, heads, mass, after)
	}
	// Output:
	// query 7: 4 heads, head 0's mass 1.000, on keys after query 5 0.000
	// queries 2–5: 4 heads, head 0's mass 1.000, on keys after query 5 0.000
}

// ExampleModel_PatternEffects estimates, through layer 1's attention pattern recomputed exactly, the
// effect on a log-prob of patching that layer's keys at three positions with another run's, and checks
// it against the real patch: Σ dz·(z′ − z) with z′ captured from the patched run (what AtP* computes;
// exact up to float32 rounding at this layer), on a tiny random model.
func ExampleModel_PatternEffects() {
	dir, _ := os.MkdirTemp("", "model-example")
	defer os.RemoveAll(dir)
	mdir, _ := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 1)
	backend, _ := simplego.New("ops_sequential")
	m, _, err := model.Load(mdir, model.LoadOptions{Backend: backend})
	if err != nil {
		fmt.Println(err)
		return
	}
	corrupt := []int{5, 17, 42, 9, 33, 8, 71, 12, 64, 3, 27, 90}
	clean := []int{5, 17, 42, 9, 200, 201, 202, 12, 64, 3, 27, 90}
	const l = 1
	q, k, v, z := hook.At(hook.Q, l), hook.At(hook.K, l), hook.At(hook.V, l), hook.ZAt(l)
	metric := model.Metric{Kind: model.LogProb, Position: len(corrupt) - 1, Target: 7}
	g, err := m.Gradient(corrupt, metric, model.GradOptions{Wrt: []hook.Name{q, k, v, z}})
	if err != nil {
		fmt.Println(err)
		return
	}
	cr, _ := m.Run(clean, model.RunOptions{Capture: []hook.Name{k}})
	patch := model.QKPatch{Site: hook.K, Positions: []int{4, 5, 6}, Values: cr.Cache[k]}
	eff, err := m.PatternEffects(l, g.Cache[q], g.Cache[k], g.Cache[v], g.Grads[z], []model.QKPatch{patch})
	if err != nil {
		fmt.Println(err)
		return
	}
	est := 0.0
	for _, e := range eff[0] { // per query head
		est += e
	}
	pr, _ := m.Run(corrupt, model.RunOptions{Capture: []hook.Name{z},
		Interventions: []model.Intervention{{Hook: k, Kind: model.Replace, Positions: patch.Positions, Values: patch.Values}}})
	real := 0.0
	for i, d := range g.Grads[z].Data {
		real += float64(d) * float64(pr.Cache[z].Data[i]-g.Cache[z].Data[i])
	}
	fmt.Printf("%d heads; estimate matches Σ dz·(z′ − z): %v\n", len(eff[0]), math.Abs(est-real) < 1e-5*math.Max(1, math.Abs(real)))
	// Output: 4 heads; estimate matches Σ dz·(z′ − z): true
}
