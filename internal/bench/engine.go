package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
)

// runEngine runs one job on the agentlens engine and returns its check value (Measurement.Check; 0 for
// jobs without one). With warmup set it runs the smallest part of the job that compiles every graph
// the timed run needs (the whole job, except one pass for Ablate). This is the engine half of the
// extension point: a new Kind gets a case here.
func runEngine(m *model.Model, j Job, tokens []int, warmup bool) (float64, error) {
	switch j.Kind {
	case Matrix, AtP, Patch:
		return runCrossTurn(m, j, tokens, warmup)
	case Matmul:
		return 0, runMatmul(m.Backend(), j.Tokens, warmup)
	case Generate:
		return 0, runGenerate(m, tokens, warmup)
	}
	return 0, runPasses(m, j, tokens, warmup)
}

// runPasses runs the forward, gradient, ablate and shared jobs.
func runPasses(m *model.Model, j Job, tokens []int, warmup bool) error {
	switch j.Kind {
	case Forward:
		names := residPosts(m)
		res, err := m.Run(tokens, model.RunOptions{Capture: names})
		if err != nil {
			return err
		}
		if len(res.Cache) != len(names) {
			return fmt.Errorf("forward captured %d sites, want %d", len(res.Cache), len(names))
		}
		return nil
	case Gradient:
		n := len(tokens)
		g, err := m.Gradient(tokens, model.Metric{Kind: model.LogProb, Position: n - 2, Target: tokens[n-1]},
			model.GradOptions{Wrt: []hook.Name{hook.HookEmbed()}})
		if err != nil {
			return err
		}
		if g.Grads[hook.HookEmbed()] == nil {
			return fmt.Errorf("gradient returned no hook_embed gradient")
		}
		return nil
	case Ablate:
		b := segmentBounds(len(tokens))
		base, err := m.Run(tokens, model.RunOptions{Capture: m.PrefixSites()})
		if err != nil {
			return fmt.Errorf("base pass: %w", err)
		}
		whole, err := m.PrefixFromCache(tokens, base.Cache)
		if err != nil {
			return err
		}
		// The passes run packed in one batch (model.RunBatch), each after the base's keys and values for
		// the tokens before its segment.
		passes := AblateSegments
		if warmup {
			passes = 2 // as torch's warm-up; the whole batch has more rows, so its compilation is timed
		}
		items := make([]model.BatchItem, passes)
		for i := range items {
			pf, err := whole.Truncate(b[i])
			if err != nil {
				return err
			}
			items[i] = model.BatchItem{Tokens: withoutSegment(tokens, i), Prefix: pf}
		}
		if _, err := m.RunBatch(items, nil); err != nil {
			return fmt.Errorf("segment passes: %w", err)
		}
		return nil
	case Shared:
		pf, err := m.NewPrefix(tokens[:len(tokens)/2])
		if err != nil {
			return fmt.Errorf("shared prompt: %w", err)
		}
		names := residPosts(m)
		episodes := SharedEpisodes
		per := sharedBatch(len(tokens))
		if warmup {
			episodes = per // one batch: see warmupFraction
		}
		// The episodes run packed, sharedBatch at a time (model.RunBatch), each after the prompt.
		for e0 := 0; e0 < episodes; e0 += per {
			items := make([]model.BatchItem, min(per, episodes-e0))
			for i := range items {
				items[i] = model.BatchItem{Tokens: sharedEpisode(tokens, e0+i), Prefix: pf}
			}
			res, err := m.RunBatch(items, names)
			if err != nil {
				return fmt.Errorf("episodes %d–%d: %w", e0, e0+len(items)-1, err)
			}
			for i, r := range res {
				if len(r.Cache) != len(names) {
					return fmt.Errorf("episode %d captured %d sites, want %d", e0+i, len(r.Cache), len(names))
				}
			}
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrBadJob, j.Kind)
	}
}

// sharedRows bounds the positions one batch of a Shared job packs: every layer's resid_post of 4096
// positions is 280 MB of captures on SmolLM2.
const sharedRows = 4096

// sharedBatch is how many episodes of a Shared job over n tokens run in one batch.
func sharedBatch(n int) int { return max(1, min(SharedEpisodes, sharedRows/(n-n/2))) }

// residPosts names every layer's resid_post.
func residPosts(m *model.Model) []hook.Name {
	names := make([]hook.Name, m.Dims().NLayers)
	for l := range names {
		names[l] = hook.ResidPostAt(l)
	}
	return names
}

// runMatmul runs the Matmul job's products on backend b (one product when warming up). The inputs are
// random, made once and left on the device, so the timing is of the products alone (and one [N,
// MatmulIn] result copied out per repeat).
func runMatmul(b backends.Backend, n int, warmup bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("matmul: %v", r)
		}
	}()
	r := rand.New(rand.NewPCG(1, 2))
	random := func(dims ...int) *tensors.Tensor {
		t := tensors.FromShape(shapes.Make(dtypes.Float32, dims...))
		tensors.MutableFlatData(t, func(flat []float32) {
			for i := range flat {
				flat[i] = r.Float32() - 0.5
			}
		})
		return t
	}
	x, up, down := random(n, MatmulIn), random(MatmulOut, MatmulIn), random(MatmulIn, MatmulOut)
	e, err := graph.NewExec(b, func(x, up, down *graph.Node) *graph.Node {
		h := graph.DotGeneral(x, []int{1}, nil, up, []int{1}, nil)
		return graph.DotGeneral(h, []int{1}, nil, down, []int{1}, nil)
	})
	if err != nil {
		return err
	}
	defer e.Finalize()
	repeats := MatmulRepeats
	if warmup {
		repeats = 1
	}
	for range repeats {
		out, err := e.Exec(x, up, down)
		if err != nil {
			return err
		}
		if got := out[0].Shape().Dimensions; got[0] != n || got[1] != MatmulIn {
			return fmt.Errorf("matmul: result shape %v", got)
		}
		tensors.MustCopyFlatData[float32](out[0])
		out[0].FinalizeAll()
	}
	return nil
}

// runGenerate runs the Generate job: GenerateNew greedy tokens for one sample, then GenerateNew sampled
// tokens for each of GenerateSamples samples decoded together. The warm-up generates two tokens per
// call, which compiles every graph the timed run uses (the prompt's, and the decoding step's for one
// and for GenerateSamples rows).
func runGenerate(m *model.Model, tokens []int, warmup bool) error {
	n := GenerateNew
	if warmup {
		n = 2
	}
	for _, c := range []struct {
		samples int
		opts    model.SampleOptions
	}{
		{1, model.SampleOptions{MaxTokens: n}},
		{GenerateSamples, model.SampleOptions{MaxTokens: n, Temperature: 0.8, TopP: 0.95, Seed: 1}},
	} {
		gens, _, err := m.Generate(tokens, c.samples, c.opts)
		if err != nil {
			return fmt.Errorf("generate %d samples: %w", c.samples, err)
		}
		for i, g := range gens {
			if len(g.Tokens) != n {
				return fmt.Errorf("generate: sample %d has %d tokens, want %d", i, len(g.Tokens), n)
			}
		}
	}
	return nil
}
