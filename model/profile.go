package model

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Phase is a part of a pass whose wall-clock time a Profile adds up.
type Phase int

// The phases of a pass, in the order Profile.Phases lists them. What a Profile does not see (argument
// set-up, masks, batching, the caller's own work) is the rest of the wall-clock time.
const (
	// PhaseEmbed: the token embeddings gathered on the host (hook_embed interventions included).
	PhaseEmbed Phase = iota
	// PhasePreGraphs: the forward pre-attention graphs (norm, q/k/v projections, rotary), and in
	// generation the fused post-attention + next pre-attention graphs.
	PhasePreGraphs
	// PhaseAttention: the host attention kernel forward (package attn: prompt, prefix, decode).
	PhaseAttention
	// PhasePostGraphs: the forward post-attention graphs (output projection, MLP, residual adds).
	PhasePostGraphs
	// PhaseLayerGraphs: whole-layer graphs, attention inside the graph (when the host kernel is off).
	PhaseLayerGraphs
	// PhaseAttentionGraphs: attention computed as graphs chunk by chunk (scores or pattern captured).
	PhaseAttentionGraphs
	// PhaseBackwardGraphs: every backward stage graph (recomputing its forward).
	PhaseBackwardGraphs
	// PhaseAttentionBackward: the host kernel's flash backward.
	PhaseAttentionBackward
	// PhaseHead: the final norm, unembedding and log-probabilities.
	PhaseHead
	// PhaseCopies: activations copied between the device and the host: q, k, v to the host kernel,
	// its z back, captured sites to the cache.
	PhaseCopies
	numPhases
)

var phaseNames = [numPhases]string{
	PhaseEmbed:             "embed",
	PhasePreGraphs:         "pre-attention graphs",
	PhaseAttention:         "attention kernel",
	PhasePostGraphs:        "post-attention graphs",
	PhaseLayerGraphs:       "whole-layer graphs",
	PhaseAttentionGraphs:   "attention graphs",
	PhaseBackwardGraphs:    "backward graphs",
	PhaseAttentionBackward: "attention kernel backward",
	PhaseHead:              "head",
	PhaseCopies:            "copies",
}

// String returns the phase's name as Profile.Phases reports it.
func (ph Phase) String() string {
	if ph < 0 || ph >= numPhases {
		return "unknown"
	}
	return phaseNames[ph]
}

// PhaseNames returns every phase's name in the order of the Phase constants.
func PhaseNames() []string { return slices.Clone(phaseNames[:]) }

// Profile adds up where a model's passes spend their wall-clock and CPU time, phase by phase. Set it
// with Model.SetProfile; it is safe for concurrent passes (their phases then overlap in time, so the
// phases' sum can exceed the wall-clock time, and each phase's CPU time counts the other passes' work).
// Timing costs two clock reads and two getrusage calls per phase entry.
type Profile struct {
	ns, cpuNs, calls [numPhases]atomic.Int64
}

// PhaseTime is one phase's total.
type PhaseTime struct {
	Phase   string  `json:"phase"`
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the process's CPU time (all threads, user and system) during the phase: over
	// Seconds, the cores it kept busy. 0 where the platform does not report it.
	CPUSeconds float64 `json:"cpu_s"`
	Calls      int64   `json:"calls"`
}

// Phases returns the phases entered at least once, in the order of the Phase constants.
func (p *Profile) Phases() []PhaseTime {
	var out []PhaseTime
	for ph := range numPhases {
		if n := p.calls[ph].Load(); n > 0 {
			out = append(out, PhaseTime{Phase: ph.String(), Seconds: time.Duration(p.ns[ph].Load()).Seconds(),
				CPUSeconds: time.Duration(p.cpuNs[ph].Load()).Seconds(), Calls: n})
		}
	}
	return out
}

// Total returns the sum of the phases' seconds.
func (p *Profile) Total() float64 {
	var ns int64
	for ph := range numPhases {
		ns += p.ns[ph].Load()
	}
	return time.Duration(ns).Seconds()
}

// Reset sets every phase back to zero.
func (p *Profile) Reset() {
	for ph := range numPhases {
		p.ns[ph].Store(0)
		p.cpuNs[ph].Store(0)
		p.calls[ph].Store(0)
	}
}

// SetProfile makes the model's passes add their phase times to p; nil stops it.
func (m *Model) SetProfile(p *Profile) { m.prof.Store(p) }

// mark is a phase's start: the wall clock and, on platforms that have it, the process's CPU time.
type mark struct {
	t   time.Time
	cpu time.Duration
}

// mark returns the start of a phase; the zero mark (no clock read) when no profile is set.
func (m *Model) mark() mark {
	if m.prof.Load() == nil {
		return mark{}
	}
	return mark{t: time.Now(), cpu: processCPU()}
}

// spent adds the wall-clock and CPU time since mk to phase ph of the model's profile, if one is set
// (and was set when mk was taken).
func (m *Model) spent(ph Phase, mk mark) {
	p := m.prof.Load()
	if p == nil || mk.t.IsZero() {
		return
	}
	p.ns[ph].Add(int64(time.Since(mk.t)))
	p.cpuNs[ph].Add(int64(processCPU() - mk.cpu))
	p.calls[ph].Add(1)
}

// hostCopy copies a device tensor's float32 data to a new host slice (a copies phase).
func (m *Model) hostCopy(t *tensors.Tensor) []float32 {
	defer m.spent(PhaseCopies, m.mark())
	return tensors.MustCopyFlatData[float32](t)
}

// upload puts host data on the model's device as a tensor of the given dimensions (a copies phase),
// so the graph that takes it does not count the transfer as its own time.
func (m *Model) upload(data []float32, dims ...int) (*tensors.Tensor, error) {
	defer m.spent(PhaseCopies, m.mark())
	t, err := onDevice(m.backend, data, dims...)
	if err != nil {
		return nil, fmt.Errorf("model: host data %w", err)
	}
	return t, nil
}
