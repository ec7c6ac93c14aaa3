package bench

import (
	"fmt"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
)

// runEngine runs one job on the agentlens engine. With warmup set it runs the smallest part of the
// job that compiles every graph the timed run needs (the whole job, except one pass for Ablate).
// This is the engine half of the extension point: a new Kind gets a case here.
func runEngine(m *model.Model, j Job, tokens []int, warmup bool) error {
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
		passes := AblateSegments
		if warmup {
			passes = 2 // pass 0 has no prefix, pass 1 has one
		}
		for i := range passes {
			pf, err := whole.Truncate(b[i])
			if err != nil {
				return err
			}
			if _, err := m.Run(withoutSegment(tokens, i), model.RunOptions{Prefix: pf}); err != nil {
				return fmt.Errorf("pass %d: %w", i, err)
			}
		}
		return nil
	case Shared:
		pf, err := m.NewPrefix(tokens[:len(tokens)/2])
		if err != nil {
			return fmt.Errorf("shared prompt: %w", err)
		}
		names := residPosts(m)
		episodes := SharedEpisodes
		if warmup {
			episodes = 1
		}
		for e := range episodes {
			res, err := m.Run(sharedEpisode(tokens, e), model.RunOptions{Prefix: pf, Capture: names})
			if err != nil {
				return fmt.Errorf("episode %d: %w", e, err)
			}
			if len(res.Cache) != len(names) {
				return fmt.Errorf("episode %d captured %d sites, want %d", e, len(res.Cache), len(names))
			}
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrBadJob, j.Kind)
	}
}

// residPosts names every layer's resid_post.
func residPosts(m *model.Model) []hook.Name {
	names := make([]hook.Name, m.Dims().NLayers)
	for l := range names {
		names[l] = hook.ResidPostAt(l)
	}
	return names
}
