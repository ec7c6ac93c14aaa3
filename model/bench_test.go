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

// BenchmarkGenerate decodes 64 new tokens after a 1,024-token prompt on the real SmolLM2-135M-Instruct,
// one greedy sample and eight sampled ones (temperature 0.8, top-p 0.95) decoded together, on each
// available backend. It reports decoding tokens/s (GenerateStats: generated tokens over decoding time,
// the prompt excluded) and the prompt's seconds. The first call (compilation) is outside the timed
// loop. For HF transformers' generate in the same run: `agentlens bench --jobs generate:1k`.
// Run: go test -run '^$' -bench Generate -benchtime 2x ./model/
func BenchmarkGenerate(b *testing.B) {
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
		prompt := make([]int, 1024)
		for i := range prompt {
			prompt[i] = (i*7919 + 13) % m.Dims().DVocab
		}
		for _, n := range []int{1, 8} {
			opts := model.SampleOptions{MaxTokens: 64}
			if n > 1 {
				opts.Temperature, opts.TopP, opts.Seed = 0.8, 0.95, 1
			}
			b.Run(fmt.Sprintf("%s/samples=%d", name, n), func(b *testing.B) {
				if _, _, err := m.Generate(prompt, n, opts); err != nil {
					b.Fatal(err)
				}
				var gen int
				var decode, prefill float64
				b.ResetTimer()
				for b.Loop() {
					_, st, err := m.Generate(prompt, n, opts)
					if err != nil {
						b.Fatal(err)
					}
					gen += st.Generated
					decode += st.DecodeSeconds
					prefill += st.PrefillSeconds
				}
				b.ReportMetric(float64(gen)/decode, "tokens/s")
				b.ReportMetric(prefill/float64(b.N), "prefill-s")
			})
		}
	}
}
