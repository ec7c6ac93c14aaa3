package attribution

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

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
	// Sites are where to intervene, e.g. blocks.12.hook_resid_post: one layer, or several (the same
	// direction removed from every listed site, as directional ablation across layers does).
	Sites []hook.Name
	// Kind is model.Project (remove each direction's component at every position) or model.Add (add
	// Alpha·direction at every position: steering).
	Kind  model.InterventionKind
	Alpha float64
	// PrefixMin is the shortest shared token prefix worth reusing from the previous item run under the
	// same direction (0: 64; negative: never reuse).
	PrefixMin int
	// Progress, if set, is called after each run with the runs done and the total.
	Progress func(done, total int)
}

// DirectionStats says how much work DirectionEffects did.
type DirectionStats struct {
	Runs     int
	Tokens   int // tokens of all runs' contexts
	Computed int // tokens actually run (the rest came from prefixes shared with the previous item)
}

// DirectionEffects runs each item's context (its tokens before the action) once plain and once per
// direction with the direction projected out of (or added to) the sites at every position, and returns
// log p(action token) for each (ordered by item, then direction): the causal test of a probe direction
// against random ones. The runs go direction by direction, so that consecutive items that share a token prefix (twins, episodes with
// one system prompt) reuse the keys and values the previous item's run made under the same
// intervention, which equals recomputing them (the interventions act on every position alike).
func DirectionEffects(m *model.Model, items []CaptureItem, dirs [][]float32, opts DirectionOptions) ([]DirectionRun, DirectionStats, error) {
	var st DirectionStats
	if opts.Kind != model.Project && opts.Kind != model.Add {
		return nil, st, fmt.Errorf("%w: direction intervention kind %d (want Project or Add)", ErrBadInput, opts.Kind)
	}
	if len(opts.Sites) == 0 {
		return nil, st, fmt.Errorf("%w: direction intervention: no sites", ErrBadInput)
	}
	for _, it := range items {
		if it.Target <= 0 || it.Target >= len(it.R.IDs) {
			return nil, st, fmt.Errorf("%w: episode %s: target token %d outside 1..%d", ErrBadInput, it.R.Episode.ID, it.Target, len(it.R.IDs)-1)
		}
	}
	minShare := opts.PrefixMin
	if minShare == 0 {
		minShare = 64
	}
	total := len(items) * (len(dirs) + 1)
	base := make([]float64, len(items))
	var out []DirectionRun
	for d := -1; d < len(dirs); d++ {
		var ivs []model.Intervention
		if d >= 0 {
			v := model.NewTensor(len(dirs[d]))
			for j, x := range dirs[d] {
				v.Data[j] = x
				if opts.Kind == model.Add {
					v.Data[j] = float32(opts.Alpha) * x
				}
			}
			for _, site := range opts.Sites {
				ivs = append(ivs, model.Intervention{Hook: site, Kind: opts.Kind, Values: v})
			}
		}
		var prev *model.Prefix // the previous item's context under this direction
		for i, it := range items {
			tokens := it.R.IDs[:it.Target]
			var pf *model.Prefix
			var err error
			if prev != nil && minShare > 0 {
				n := min(commonPrefix(prev.Tokens(), tokens), it.Target-1) // the logit position is computed
				if n >= minShare {
					if pf, err = prev.Truncate(n); err != nil {
						return nil, st, err
					}
				}
			}
			res, err := m.Run(tokens, model.RunOptions{Prefix: pf, LogitPositions: []int{it.Target - 1}, Interventions: ivs,
				Capture: m.PrefixSites()})
			if err != nil {
				if d < 0 {
					return nil, st, fmt.Errorf("episode %s: %w", it.R.Episode.ID, err)
				}
				return nil, st, fmt.Errorf("episode %s: direction %d: %w", it.R.Episode.ID, d, err)
			}
			st.Runs++
			st.Tokens += len(tokens)
			st.Computed += len(tokens) - res.Offset
			if prev, err = extendPrefix(m, pf, tokens, res); err != nil {
				return nil, st, err
			}
			v := MetricValue(res.Logits.Data, model.Metric{Kind: model.LogProb, Target: it.R.IDs[it.Target]})
			if d < 0 {
				base[i] = v
			} else {
				out = append(out, DirectionRun{Item: i, Direction: d, Base: base[i], Value: v})
			}
			if opts.Progress != nil {
				opts.Progress(st.Runs, total)
			}
		}
	}
	slices.SortFunc(out, func(a, b DirectionRun) int {
		return cmp.Or(cmp.Compare(a.Item, b.Item), cmp.Compare(a.Direction, b.Direction))
	})
	return out, st, nil
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
