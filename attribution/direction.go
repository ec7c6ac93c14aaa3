package attribution

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
)

// DirectionRun is the log-probability of one item's action token with one direction intervened on.
type DirectionRun struct {
	Item      int     // index into the items
	Direction int     // index into the directions
	Base      float64 // log p(action) without intervention
	Value     float64 // log p(action) with it
}

// DirectionOptions configure DirectionEffects.
type DirectionOptions struct {
	Site hook.Name // where to intervene, e.g. blocks.12.hook_resid_post
	// Kind is model.Project (remove each direction's component at every position) or model.Add (add
	// Alpha·direction at every position: steering).
	Kind  model.InterventionKind
	Alpha float64
	// Progress, if set, is called after each item with the items done.
	Progress func(done int)
}

// DirectionEffects runs each item's context (its tokens before the action) once plain and once per
// direction with the direction projected out of (or added to) the site at every position, and returns
// log p(action token) for each: the causal test of a probe direction against random ones.
func DirectionEffects(m *model.Model, items []CaptureItem, dirs [][]float32, opts DirectionOptions) ([]DirectionRun, error) {
	if opts.Kind != model.Project && opts.Kind != model.Add {
		return nil, fmt.Errorf("%w: direction intervention kind %d (want Project or Add)", ErrBadInput, opts.Kind)
	}
	var out []DirectionRun
	for i, it := range items {
		if it.Target <= 0 || it.Target >= len(it.R.IDs) {
			return nil, fmt.Errorf("%w: episode %s: target token %d outside 1..%d", ErrBadInput, it.R.Episode.ID, it.Target, len(it.R.IDs)-1)
		}
		tokens := it.R.IDs[:it.Target]
		logits := []int{it.Target - 1}
		base, err := m.Run(tokens, model.RunOptions{LogitPositions: logits})
		if err != nil {
			return nil, fmt.Errorf("episode %s: %w", it.R.Episode.ID, err)
		}
		b := MetricValue(base.Logits.Data, model.Metric{Kind: model.LogProb, Target: it.R.IDs[it.Target]})
		for d, dir := range dirs {
			v := model.NewTensor(len(dir))
			for j, x := range dir {
				v.Data[j] = x
				if opts.Kind == model.Add {
					v.Data[j] = float32(opts.Alpha) * x
				}
			}
			res, err := m.Run(tokens, model.RunOptions{LogitPositions: logits,
				Interventions: []model.Intervention{{Hook: opts.Site, Kind: opts.Kind, Values: v}}})
			if err != nil {
				return nil, fmt.Errorf("episode %s: direction %d: %w", it.R.Episode.ID, d, err)
			}
			out = append(out, DirectionRun{Item: i, Direction: d, Base: b,
				Value: MetricValue(res.Logits.Data, model.Metric{Kind: model.LogProb, Target: it.R.IDs[it.Target]})})
		}
		if opts.Progress != nil {
			opts.Progress(i + 1)
		}
	}
	return out, nil
}

// RandomDirections returns n unit vectors of dimension d drawn uniformly from the sphere (normalised
// Gaussians), deterministic for a seed: the controls a probe direction's effect is compared with.
func RandomDirections(n, d int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([][]float32, n)
	for i := range out {
		v := make([]float64, d)
		var norm float64
		for j := range v {
			v[j] = r.NormFloat64()
			norm += v[j] * v[j]
		}
		norm = math.Sqrt(norm)
		out[i] = make([]float32, d)
		for j := range v {
			out[i][j] = float32(v[j] / norm)
		}
	}
	return out
}
