package attribution_test

import (
	"math"
	"testing"

	"github.com/agentlens/agentlens/attribution"
)

// TestSpearman against values computed by hand: a monotone map gives 1, a reversal −1, ties take mean
// ranks (x ranks 1, 2.5, 2.5, 4 against 1, 2, 3, 4: ρ = 4.5/√(4.5·5) = 0.9487), NaN pairs drop out.
func TestSpearman(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"monotone", []float64{1, 2, 3, 4}, []float64{-5, 0, 7, 100}, 1},
		{"reversed", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		{"ties", []float64{1, 2, 2, 3}, []float64{1, 2, 3, 4}, 4.5 / math.Sqrt(4.5*5)},
		{"nan dropped", []float64{1, math.NaN(), 2, 3}, []float64{3, 0, 2, 1}, -1},
	} {
		if got := attribution.Spearman(c.x, c.y); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Spearman = %v, want %v", c.name, got, c.want)
		}
	}
	if got := attribution.Spearman([]float64{1}, []float64{2}); !math.IsNaN(got) {
		t.Errorf("one pair: %v, want NaN", got)
	}
}
