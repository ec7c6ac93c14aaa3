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
		names := make([]hook.Name, m.Dims().NLayers)
		for l := range names {
			names[l] = hook.ResidPostAt(l)
		}
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
		passes := AblateSegments
		if warmup {
			passes = 1
		}
		for i := range passes {
			if _, err := m.Run(withoutSegment(tokens, i), model.RunOptions{}); err != nil {
				return fmt.Errorf("pass %d: %w", i, err)
			}
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrBadJob, j.Kind)
	}
}
