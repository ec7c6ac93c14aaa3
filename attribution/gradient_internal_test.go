package attribution

import (
	"math"
	"testing"
)

// TestClenshawCurtis: the n+1-point rule integrates every polynomial of degree ≤ n on [0, 1] exactly
// (to 1e-13: float64 sums of O(1) terms), so its weights add up to 1.
func TestClenshawCurtis(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7, 16, 33, 64} {
		a, w := clenshawCurtis(n)
		for deg := 0; deg <= n; deg++ {
			got := 0.0
			for j := range a {
				got += w[j] * math.Pow(a[j], float64(deg))
			}
			if want := 1 / float64(deg+1); math.Abs(got-want) > 1e-13 {
				t.Errorf("n=%d: ∫x^%d = %.16g, want %.16g", n, deg, got, want)
			}
		}
	}
}
