package model

import (
	"fmt"

	"github.com/agentlens/agentlens/model/hook"
)

// InterventionKind says how an intervention rewrites a site's activation.
type InterventionKind int

// The intervention kinds.
const (
	NoIntervention InterventionKind = iota
	Replace                         // set to Values (shaped like the site over the run's positions), e.g. another run's cache
	Zero                            // zero-ablate
	Mean                            // mean-ablate: Values (one row: the site shape without batch and position) or, if nil, the mean over this run's positions
	Add                             // add Values (one row) — steering
	// Project removes the component along Values (one row, any norm): x − (x·v)/(v·v)·v, ablating a
	// direction such as a probe's. Only for sites whose row is one axis (d_model or d_mlp wide).
	Project
)

// meanGiven is Mean with caller-supplied values (internal: it changes the graph's inputs).
const meanGiven InterventionKind = 9

func (k InterventionKind) needsValues() bool {
	return k == Replace || k == Add || k == Project || k == meanGiven
}

// Intervention rewrites one hook site during a run, at the given positions (nil: every position; for
// attention scores and patterns, the query positions).
type Intervention struct {
	Hook      hook.Name
	Kind      InterventionKind
	Positions []int
	Values    *Tensor
}

// PatchFrom returns a Replace intervention that sets a site to its value in another run's cache.
func PatchFrom(c Cache, name hook.Name, positions []int) (Intervention, error) {
	t, ok := c[name]
	if !ok {
		return Intervention{}, fmt.Errorf("%w: cache has no %s", ErrBadInput, name)
	}
	return Intervention{Hook: name, Kind: Replace, Positions: positions, Values: t}, nil
}

// Cache maps hook names to captured activations (shapes as documented on each hook site, batch 1).
type Cache map[hook.Name]*Tensor
