package model_test

import (
	"fmt"
	"testing"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/backend"
	"github.com/agentlens/agentlens/model/hook"
)

// BenchmarkSmolLM2 runs the real SmolLM2-135M-Instruct on synthetic tokens on each available backend:
// a forward pass capturing every layer's resid_post, and the gradient of the last token's log-prob with
// respect to hook_embed (what gradient×input needs). It reports tokens/s; the first run (compilation)
// is outside the timed loop. For ratios against PyTorch in the same run, use `agentlens bench`
// (make bench-table). Run: go test -run '^$' -bench SmolLM2 -benchtime 3x ./model/
func BenchmarkSmolLM2(b *testing.B) {
	path := testutil.ModelPath(b, "SmolLM2-135M-Instruct.Q4_1.gguf")
	for _, name := range []string{"go", "xla"} {
		be, _, err := backend.New(name, backend.Options{})
		if err != nil {
			b.Logf("backend %s unavailable: %v", name, err)
			continue
		}
		m, _, err := model.Load(path, model.LoadOptions{Backend: be})
		if err != nil {
			b.Fatal(err)
		}
		L := m.Dims().NLayers
		var resid []hook.Name
		for l := 0; l < L; l++ {
			resid = append(resid, hook.ResidPostAt(l))
		}
		for _, n := range []int{512, 1024} {
			toks := make([]int, n)
			for i := range toks {
				toks[i] = (i*7919 + 13) % m.Dims().DVocab
			}
			jobs := map[string]func() error{
				"forward": func() error { _, err := m.RunWithCache(toks, resid...); return err },
				"gradient": func() error {
					_, err := m.Gradient(toks, model.Metric{Kind: model.LogProb, Position: n - 2, Target: toks[n-1]},
						model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()}})
					return err
				},
			}
			for _, job := range []string{"forward", "gradient"} {
				b.Run(fmt.Sprintf("%s/%s/%d", name, job, n), func(b *testing.B) {
					run := jobs[job]
					if err := run(); err != nil { // compile outside the timed loop
						b.Fatal(err)
					}
					b.ResetTimer()
					for b.Loop() {
						if err := run(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
				})
			}
		}
	}
}
