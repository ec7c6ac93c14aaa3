package probes

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/agentlens/agentlens/data"
)

// Key names one activation matrix of an activations table: a layer, a hook site and a position
// policy.
type Key struct {
	Layer    int32
	Site     string
	Position string
}

// String returns "blocks.L.hook_… @position".
func (k Key) String() string { return fmt.Sprintf("%s @%s", k.Site, k.Position) }

// Table is an activations table grouped by key: one labeled matrix per (layer, site, position).
type Table struct {
	Keys     []Key // sorted by layer, then site and position
	Examples map[Key]Examples
	// Episodes holds the episode ids of each key's rows, in the order of its Examples.
	Episodes map[Key][]string
	// Splits holds the split of each key's rows, in the same order.
	Splits map[Key][]string
	// Unlabeled are the rows with label −1 (control chats, episodes to score), by key.
	Unlabeled map[Key][]data.Activation
	Model     string
	ModelHash string // the rows' weight hash ("" when they carry none)
}

// FromActivations groups activation rows by (layer, site, position). Rows with label 1 or 0 become
// examples; rows with label −1 are kept apart as Unlabeled. Every key's vectors must have one length
// and every row one model; an episode may appear once per key.
func FromActivations(rows []data.Activation) (*Table, error) {
	t := &Table{Examples: map[Key]Examples{}, Episodes: map[Key][]string{}, Splits: map[Key][]string{},
		Unlabeled: map[Key][]data.Activation{}}
	seen := map[Key]map[string]bool{}
	for i, r := range rows {
		if i == 0 {
			t.Model, t.ModelHash = r.Model, r.ModelHash
		} else if r.Model != t.Model || r.ModelHash != t.ModelHash {
			return nil, fmt.Errorf("%w: row %d: model %q (%s), earlier rows %q (%s): one model per table", ErrInput, i,
				r.Model, r.ModelHash, t.Model, t.ModelHash)
		}
		k := Key{r.Layer, r.Site, r.Position}
		if seen[k] == nil {
			seen[k] = map[string]bool{}
			t.Keys = append(t.Keys, k)
		}
		if seen[k][r.EpisodeID] {
			return nil, fmt.Errorf("%w: row %d: episode %s appears twice for %s layer %d (a probe trains on one row per episode; position policy \"every\" writes one per token)",
				ErrInput, i, r.EpisodeID, k, k.Layer)
		}
		seen[k][r.EpisodeID] = true
		switch r.Label {
		case -1:
			t.Unlabeled[k] = append(t.Unlabeled[k], r)
			continue
		case 0, 1:
		default:
			return nil, fmt.Errorf("%w: row %d (episode %s): label %d (want 1, 0 or −1)", ErrInput, i, r.EpisodeID, r.Label)
		}
		e := t.Examples[k]
		if n := e.Dim(); n > 0 && len(r.Vector) != n {
			return nil, fmt.Errorf("%w: row %d (episode %s): vector of %d, earlier rows of layer %d have %d",
				ErrInput, i, r.EpisodeID, len(r.Vector), k.Layer, n)
		}
		group := r.Group
		if group == "" {
			group = r.EpisodeID
		}
		e.X, e.Y, e.Group = append(e.X, r.Vector), append(e.Y, r.Label == 1), append(e.Group, group)
		t.Examples[k] = e
		t.Episodes[k] = append(t.Episodes[k], r.EpisodeID)
		t.Splits[k] = append(t.Splits[k], r.Split)
	}
	slices.SortFunc(t.Keys, func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Position, b.Position))
	})
	return t, nil
}

// Select returns the examples of key k whose split is in splits (all when splits is empty).
func (t *Table) Select(k Key, splits ...string) Examples {
	e := t.Examples[k]
	if len(splits) == 0 {
		return e
	}
	var idx []int
	for i, s := range t.Splits[k] {
		if slices.Contains(splits, s) {
			idx = append(idx, i)
		}
	}
	return e.subset(idx)
}

// Record is a probe with its provenance, as stored in a probe file.
func Record(p *Probe, k Key, meta data.Probe) data.Probe {
	meta.Layer, meta.Site, meta.Position = k.Layer, k.Site, k.Position
	meta.Method, meta.C, meta.DModel = string(p.Method), p.C, int32(p.Dim())
	meta.Mean, meta.Scale, meta.Weights, meta.Bias = p.Mean, p.Scale, p.Weights, p.Bias
	meta.Direction = p.Direction()
	return meta
}

// FromRecord rebuilds a probe from its stored row, checking that the vectors agree in length.
func FromRecord(r data.Probe) (*Probe, error) {
	d := len(r.Weights)
	if d == 0 || len(r.Mean) != d || len(r.Scale) != d || int(r.DModel) != d {
		return nil, fmt.Errorf("%w: probe %s: weights %d, mean %d, scale %d, d_model %d (want equal, non-zero)",
			ErrInput, r.ProbeID, d, len(r.Mean), len(r.Scale), r.DModel)
	}
	for j, s := range r.Scale {
		if !(s > 0) {
			return nil, fmt.Errorf("%w: probe %s: scale[%d] = %v (want > 0)", ErrInput, r.ProbeID, j, s)
		}
	}
	return &Probe{Method: Method(r.Method), C: r.C, Mean: r.Mean, Scale: r.Scale, Weights: r.Weights, Bias: r.Bias}, nil
}
