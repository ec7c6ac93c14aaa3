package probes

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestROC checks the curve against AUROC (an independent rank computation): its trapezoid area equals
// the Mann–Whitney AUROC, ties included, to rounding (1e-12); it starts at (0, 0), ends at (1, 1) and
// never steps back; a perfect ranking goes through (0, 1).
func TestROC(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		n := 5 + r.IntN(60)
		scores, y := make([]float64, n), make([]bool, n)
		for i := range scores {
			y[i] = r.IntN(2) == 1
			scores[i] = math.Round(r.NormFloat64()*3) / 2 // coarse values: many ties
			if y[i] {
				scores[i] += 0.5
			}
		}
		y[0], y[1] = true, false
		fpr, tpr, err := ROC(scores, y)
		if err != nil {
			t.Fatal(err)
		}
		area := 0.0
		for i := 1; i < len(fpr); i++ {
			if fpr[i] < fpr[i-1] || tpr[i] < tpr[i-1] {
				t.Fatalf("trial %d: the curve steps back at %d", trial, i)
			}
			area += (fpr[i] - fpr[i-1]) * (tpr[i] + tpr[i-1]) / 2
		}
		if fpr[0] != 0 || tpr[0] != 0 || fpr[len(fpr)-1] != 1 || tpr[len(tpr)-1] != 1 {
			t.Errorf("trial %d: curve from (%g, %g) to (%g, %g)", trial, fpr[0], tpr[0], fpr[len(fpr)-1], tpr[len(tpr)-1])
		}
		want, _ := AUROC(scores, y)
		if math.Abs(area-want) > 1e-12 {
			t.Errorf("trial %d: area %.15f, AUROC %.15f", trial, area, want)
		}
	}
	fpr, tpr, _ := ROC([]float64{0.9, 0.8, 0.2, 0.1}, []bool{true, true, false, false})
	if fpr[2] != 0 || tpr[2] != 1 {
		t.Errorf("perfect ranking: point 2 is (%g, %g), want (0, 1)", fpr[2], tpr[2])
	}
	if _, _, err := ROC([]float64{1, 2}, []bool{true, true}); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: %v", err)
	}
}
