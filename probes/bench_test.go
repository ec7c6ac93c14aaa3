package probes

import "testing"

// BenchmarkLayerSweep is the sweep size: 30 layers of 2,000 episodes × 576 features (SmolLM2's
// d_model), each layer 5-fold grouped cross-validation of a logistic probe with a 200-resample AUROC
// interval. One op is the whole sweep.
func BenchmarkLayerSweep(b *testing.B) {
	layers := make([]Examples, 30)
	for l := range layers {
		layers[l], _ = planted(2000, 576, 0.5+0.05*float64(l), uint64(l))
	}
	for b.Loop() {
		for _, e := range layers {
			if _, err := CrossValidate(e, Options{}, CVOptions{Bootstrap: 200}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
