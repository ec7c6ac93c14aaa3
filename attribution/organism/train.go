package organism

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/model/train"
)

// ModelConfig is the organism's architecture: a two-layer Llama, d_model 64, four heads of 16, MLP 128,
// untied embeddings, over the closed vocabulary.
func ModelConfig() train.Config {
	return train.Config{DVocab: VocabSize(), DModel: 64, NHeads: 4, DHead: 16, DMLP: 128, NLayers: 2,
		RopeTheta: 10000, NormEps: 1e-5}
}

// Example turns a rendered episode into a training example: the tokens up to the action, the action
// predicted from the token before it, and in the Reasoning variant each reasoning word too (and with
// thinkingTag the opening <thinking> tag, so that a model always reasons first).
func (r *Renderer) Example(ep Episode, thinkingTag bool) (train.Example, error) {
	rd, err := r.Render(ep.Episode)
	if err != nil {
		return train.Example{}, err
	}
	tg, err := attribution.DecisionTarget(rd)
	if err != nil {
		return train.Example{}, err
	}
	ex := train.Example{Tokens: rd.IDs[:tg+1]}
	if ep.Variant == Reasoning && !ep.Flipped { // random reasoning words are not predictable: only the action is scored
		for _, s := range rd.Segments {
			if s.ID != ep.Reasoning {
				continue
			}
			// <thinking> w1 w2 w3 </thinking>: the three words follow the opening tag.
			for p := s.Tokens.Start + 1; p < s.Tokens.Start+4; p++ {
				ex.Targets = append(ex.Targets, train.Target{Pos: p - 1, Token: rd.IDs[p]})
			}
		}
	}
	if ep.Variant == Reasoning {
		if n := len(ex.Targets); n != 3 && !ep.Flipped {
			return train.Example{}, fmt.Errorf("organism: episode %s: reasoning span not found", ep.ID)
		}
		if thinkingTag {
			for _, s := range rd.Segments {
				if s.ID == ep.Reasoning {
					ex.Targets = append(ex.Targets, train.Target{Pos: s.Tokens.Start - 1, Token: rd.IDs[s.Tokens.Start]})
				}
			}
		}
	}
	ex.Targets = append(ex.Targets, train.Target{Pos: tg - 1, Token: rd.IDs[tg]})
	return ex, nil
}

// TrainOptions configure Train. Zero values take the defaults the shipped weights were trained with.
type TrainOptions struct {
	Seed      uint64  // weights, episodes and batch order (0: 1)
	Steps     int     // optimiser steps (0: DefaultSteps)
	BatchSize int     // episodes per step (0: 32)
	LR        float64 // peak learning rate (0: 3e-3), after a linear warm-up of 5% of the steps, cosine decay to 10%
	Episodes  int     // training episodes generated (0: 20,000)
	// Variants are the episode variants trained on (nil: both), FlipShare the share of reasoning episodes
	// whose action follows random reasoning words (GenOptions.FlipShare).
	Variants  []Variant
	FlipShare float64
	// ThinkingTag also scores the <thinking> tag that opens the reasoning (Example).
	ThinkingTag bool
	// Progress, if set, is called after every step.
	Progress func(s StepStats)
}

// StepStats describe one training step: loss and action accuracy on its batch, and the elapsed time.
type StepStats struct {
	Step, Steps int
	Loss        float64
	ActionAcc   float64
	Elapsed     time.Duration
}

func (o *TrainOptions) defaults() {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Steps == 0 {
		o.Steps = DefaultSteps
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.LR == 0 {
		o.LR = 3e-3
	}
	if o.Episodes == 0 {
		o.Episodes = 20000
	}
}

// DefaultSteps is the number of optimiser steps the shipped weights were trained for.
const DefaultSteps = 1500

// heldOutSeed separates held-out episodes' seeds from training ones (training seeds are small).
const heldOutSeed = 1 << 32

// Train trains the organism from scratch on freshly generated episodes (both variants) and returns its
// weights. The same options give the same weights on the same backend.
func Train(backend backends.Backend, opts TrainOptions) (*train.Weights, []StepStats, error) {
	opts.defaults()
	r, err := NewRenderer()
	if err != nil {
		return nil, nil, err
	}
	eps, err := Generate(opts.Episodes, opts.Seed, "train", GenOptions{Variants: opts.Variants, FlipShare: opts.FlipShare})
	if err != nil {
		return nil, nil, err
	}
	exs := make([]train.Example, len(eps))
	for i, ep := range eps {
		if exs[i], err = r.Example(ep, opts.ThinkingTag); err != nil {
			return nil, nil, err
		}
	}
	c := ModelConfig()
	tr, err := train.New(c, backend)
	if err != nil {
		return nil, nil, err
	}
	w := train.Init(c, opts.Seed)
	opt := &train.Adam{Beta1: 0.9, Beta2: 0.98, Eps: 1e-8, WeightDecay: 0.01}
	order := rand.New(rand.NewPCG(opts.Seed, 0x6f72646572)).Perm(len(exs))
	start := time.Now()
	var stats []StepStats
	warm := max(1, opts.Steps/20)
	next := 0
	rowsPer := 4 // three reasoning words and the action
	if opts.ThinkingTag {
		rowsPer = 5
	}
	for step := range opts.Steps {
		batch := make([]train.Example, opts.BatchSize)
		for i := range batch {
			if next == len(order) {
				next = 0
			}
			batch[i] = exs[order[next]]
			next++
		}
		pass, err := tr.Run(w, batch, rowsPer)
		if err != nil {
			return nil, nil, fmt.Errorf("organism: step %d: %w", step, err)
		}
		// Action accuracy: the last target of each example is the action; benign vs harmful by the larger
		// logit of the two.
		k, right, n := 0, 0, 0
		for _, ex := range batch {
			k += len(ex.Targets)
			lg := pass.Logits[k-1]
			want := ex.Targets[len(ex.Targets)-1].Token
			other := r.Harmful
			if want == r.Harmful {
				other = r.Benign
			}
			if lg[want] > lg[other] {
				right++
			}
			n++
		}
		lr := opts.LR
		if step < warm {
			lr *= float64(step+1) / float64(warm)
		} else {
			f := float64(step-warm) / float64(max(1, opts.Steps-warm))
			lr *= 0.1 + 0.9*0.5*(1+math.Cos(math.Pi*f))
		}
		train.ClipNorm(pass.Grads, 1)
		opt.Step(w, pass.Grads, lr)
		s := StepStats{Step: step + 1, Steps: opts.Steps, Loss: pass.Loss, ActionAcc: float64(right) / float64(n), Elapsed: time.Since(start)}
		stats = append(stats, s)
		if opts.Progress != nil {
			opts.Progress(s)
		}
	}
	return w, stats, nil
}

// Write writes a trained organism as a Hugging Face model directory package model loads: config.json,
// model.safetensors, tokenizer.json and tokenizer_config.json (ChatML).
func Write(dir string, w *train.Weights) error {
	if err := w.Save(dir, ModelConfig()); err != nil {
		return err
	}
	if err := train.WriteJSON(filepath.Join(dir, "tokenizer.json"), TokenizerJSON()); err != nil {
		return err
	}
	return train.WriteJSON(filepath.Join(dir, "tokenizer_config.json"), TokenizerConfig())
}
