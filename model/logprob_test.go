package model_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/modeltest"
)

// TestNextLogProbs checks RunOptions.NextLogProbs against log-softmax of the full logits at the same
// positions: in a plain run over 600 positions (three 256-position blocks, the last one padded), after a
// prefix, and in a packed batch with two prefixes, for every family; to 1e-5 absolute (float32
// log-softmax over a 1k vocabulary; values are O(10)). Asking for the last position, which has no next
// token, is an error.
func TestNextLogProbs(t *testing.T) {
	const n = 600
	toks := tokens(n, 21)
	all := model.AllPositions(n - 1)
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			m := tiny(t, fam, model.Options{})
			V := m.Dims().DVocab
			full, err := m.Run(toks, model.RunOptions{LogitPositions: all})
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float64, len(all))
			for i, pos := range all {
				want[i] = logSoftmaxAt(full.Logits.Data[i*V:(i+1)*V], toks[pos+1])
			}
			check := func(name string, got []float64, want []float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d log-probabilities, want %d", name, len(got), len(want))
				}
				for i := range got {
					if math.Abs(got[i]-want[i]) > 1e-5 {
						t.Fatalf("%s: log p at %d = %v, want %v", name, i, got[i], want[i])
					}
				}
			}
			lp, err := m.Run(toks, model.RunOptions{LogitPositions: all, NextLogProbs: true})
			if err != nil {
				t.Fatal(err)
			}
			if lp.Logits != nil {
				t.Error("NextLogProbs run returned logits too")
			}
			check("run", lp.LogProbs, want)

			pf, err := m.NewPrefix(toks[:250])
			if err != nil {
				t.Fatal(err)
			}
			after, err := m.Run(toks, model.RunOptions{Prefix: pf, LogitPositions: all[250:], NextLogProbs: true})
			if err != nil {
				t.Fatal(err)
			}
			check("after a prefix", after.LogProbs, want[250:])

			other := append(slices.Clone(toks[:100]), tokens(200, 22)...)
			opf, err := m.NewPrefix(other[:90])
			if err != nil {
				t.Fatal(err)
			}
			ref, err := m.Run(other, model.RunOptions{LogitPositions: model.AllPositions(299)[90:]})
			if err != nil {
				t.Fatal(err)
			}
			var wantOther []float64
			for i, pos := range model.AllPositions(299)[90:] {
				wantOther = append(wantOther, logSoftmaxAt(ref.Logits.Data[i*V:(i+1)*V], other[pos+1]))
			}
			bres, err := m.RunBatch([]model.BatchItem{
				{Tokens: toks, Prefix: pf, LogitPositions: all[250:], NextLogProbs: true},
				{Tokens: other, Prefix: opf, LogitPositions: model.AllPositions(299)[90:], NextLogProbs: true},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			check("batch item 0", bres[0].LogProbs, want[250:])
			check("batch item 1", bres[1].LogProbs, wantOther)

			if _, err := m.Run(toks, model.RunOptions{LogitPositions: []int{n - 1}, NextLogProbs: true}); !errors.Is(err, model.ErrBadInput) {
				t.Errorf("next-token log-probability at the last position: err = %v, want ErrBadInput", err)
			}
			if _, err := m.RunBatch([]model.BatchItem{{Tokens: toks, NextLogProbs: true, LogitPositions: []int{3}},
				{Tokens: other, LogitPositions: []int{3}}}, nil); !errors.Is(err, model.ErrBadInput) {
				t.Errorf("batch with mixed NextLogProbs: err = %v, want ErrBadInput", err)
			}
		})
	}
}
