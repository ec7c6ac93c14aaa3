package organism

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// Method names Eval accepts.
const (
	MethodDeletion   = "deletion"
	MethodIG         = "ig"
	MethodGradXInput = "grad_x_input"
	MethodPatch      = "patch"
	MethodAtP        = "atp"
	MethodMatrix     = "matrix"
)

// Methods lists every method, in the order Eval runs them.
var Methods = []string{MethodDeletion, MethodIG, MethodGradXInput, MethodPatch, MethodAtP, MethodMatrix}

// Row method names of the segment matrix (see data.OrganismScore).
const (
	MatrixToReasoning = "matrix_to_reasoning"
	MatrixToTarget    = "matrix_to_target"
)

// EvalOptions configure Eval.
type EvalOptions struct {
	Methods []string // nil: all
	// IGSteps is the number of integrated-gradients steps of the first quadrature (0: 16).
	IGSteps int
	// IGZeroBaseline starts the integrated-gradients path at zero embeddings instead of the pad baseline
	// (every content token replaced by <|im_end|>, as agentlens attribute does by default). On this
	// model a zero baseline fails: RMSNorm makes the first layer see α·x as x for all but the smallest α,
	// so the whole change of the metric happens near α = 0 and the quadrature misses it.
	IGZeroBaseline bool
	// IGTolerance is the completeness gap, as a share of |f(x) − f(baseline)|, that integrated
	// gradients refines its path to (0: 0.01, as agentlens attribute; negative: no refinement).
	IGTolerance float64
	// PatchLayer is the layer whose resid_pre is patched (0: the input embeddings).
	PatchLayer int
	// Model names the model in the rows (default "organism").
	Model string
	// Progress, if set, is called after each episode.
	Progress func(done, total int)
}

// HeldOut returns n held-out positive episodes of a variant: their seed never overlaps Train's.
func HeldOut(n int, v Variant, seed uint64) ([]Episode, error) {
	return Generate(n, heldOutSeed+seed, "heldout-"+string(v), GenOptions{Variants: []Variant{v}, PositiveShare: 1})
}

// HeldOutMixed returns n held-out episodes of the variants (nil: both), positives and negatives as in
// training (no flipped reasoning).
func HeldOutMixed(n int, seed uint64, variants []Variant) ([]Episode, error) {
	return Generate(n, 2*heldOutSeed+seed, "heldout-mixed", GenOptions{Variants: variants})
}

// Accuracy is how often the model prefers the right action.
type Accuracy struct {
	Positives, Negatives             int
	PositiveCorrect, NegativeCorrect int
	// Words and WordsCorrect count the reasoning words of Reasoning episodes and those the model
	// predicts right (the word for "present" against the one for "absent", teacher-forced).
	Words, WordsCorrect int
}

// Pos and Neg are the accuracies on harmful and benign episodes.
func (a Accuracy) Pos() float64 { return float64(a.PositiveCorrect) / float64(max(1, a.Positives)) }

// Neg is the accuracy on benign episodes.
func (a Accuracy) Neg() float64 { return float64(a.NegativeCorrect) / float64(max(1, a.Negatives)) }

// Word is the accuracy on reasoning words.
func (a Accuracy) Word() float64 { return float64(a.WordsCorrect) / float64(max(1, a.Words)) }

// Measure runs the model on each episode up to its action and counts the episodes where the right
// action's logit beats the other's, and in Reasoning episodes the reasoning words it gets right.
func Measure(m *model.Model, r *Renderer, eps []Episode) (Accuracy, error) {
	var a Accuracy
	for _, ep := range eps {
		rd, err := r.Render(ep.Episode)
		if err != nil {
			return a, err
		}
		tg, err := attribution.DecisionTarget(rd)
		if err != nil {
			return a, err
		}
		pos := []int{tg - 1}
		var words [][2]int // [right, wrong] token of each reasoning word, at pos[1:]
		if ep.Variant == Reasoning {
			c := [3]bool{ep.Goal, ep.Replacement, ep.Leverage}
			for _, s := range rd.Segments {
				if s.ID != ep.Reasoning || ep.Flipped {
					continue
				}
				for k := range 3 {
					right, wrong := reasonWords[k][0], reasonWords[k][1]
					if !c[k] {
						right, wrong = wrong, right
					}
					pos = append(pos, s.Tokens.Start+k)
					words = append(words, [2]int{r.Tok.Encode(" "+right, false).IDs[0], r.Tok.Encode(" "+wrong, false).IDs[0]})
				}
			}
		}
		res, err := m.Run(rd.IDs[:tg], model.RunOptions{LogitPositions: pos})
		if err != nil {
			return a, err
		}
		for k, w := range words {
			lw := res.Logits.Row(k + 1)
			a.Words++
			if lw[w[0]] > lw[w[1]] {
				a.WordsCorrect++
			}
		}
		lg := res.Logits.Row(0)
		harmful := lg[r.Harmful] > lg[r.Benign]
		if ep.Harmful {
			a.Positives++
			if harmful {
				a.PositiveCorrect++
			}
		} else {
			a.Negatives++
			if !harmful {
				a.NegativeCorrect++
			}
		}
	}
	return a, nil
}

// padBaseline returns the tokens before tg with every content token (not the chat template's) replaced
// by <|im_end|>, the organism's end-of-sequence token: the integrated-gradients baseline.
func (r *Renderer) padBaseline(rd *trace.Rendered, tg int) []int {
	out := slices.Clone(rd.IDs[:tg])
	for t := range out {
		if rd.Segments[rd.TokenSegment[t]].Kind != trace.KindTemplate {
			out[t] = r.EOS
		}
	}
	return out
}

// candidates returns the system and email segments before the target, in token order.
func candidates(rd *trace.Rendered, tg int) []trace.RenderedSegment {
	var out []trace.RenderedSegment
	for _, s := range rd.Segments {
		if (s.Kind == trace.KindSystem || s.Kind == trace.KindEmail) && s.Found && s.Tokens.Len() > 0 && s.Tokens.End <= tg {
			out = append(out, s)
		}
	}
	return out
}

// Neutralized returns a copy of the episode with every candidate segment rewritten to the same number of
// tokens without its clue: the goal line becomes a neutral one, each email a distractor from the same
// sender with as many words. It is the source run of noising patches.
func Neutralized(ep Episode) (*trace.Episode, error) {
	h := fnv.New64a()
	h.Write([]byte(ep.ID))
	g := gen{r: rand.New(rand.NewPCG(h.Sum64(), 0x6e657574))}
	var edits []trace.Edit
	for mi, msg := range ep.Messages {
		for _, s := range msg.Segments {
			text := msg.Content[s.Start:s.End]
			switch s.Kind {
			case trace.KindSystem:
				edits = append(edits, trace.Edit{Segment: s.ID, Text: SystemText(neutral[g.r.IntN(len(neutral))])})
			case trace.KindEmail:
				lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(text, "<email>\n"), "\n</email>"), "\n")
				if len(lines) != 2 || !strings.HasPrefix(lines[0], "From: ") {
					return nil, fmt.Errorf("%w: episode %s message %d: email %q is not an organism email", ErrBadInput, ep.ID, mi, text)
				}
				n := len(strings.Fields(lines[1]))
				e := Email(strings.TrimPrefix(lines[0], "From: "), g.body(n, "", true))
				edits = append(edits, trace.Edit{Segment: s.ID, Text: strings.TrimSuffix(e, "\n")})
			}
		}
	}
	return ep.Edited(ep.ID+"~neutral", edits...)
}

// ranks returns the 1-based rank of each value, largest first (ties: episode order).
func ranks(v []float64) []int32 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	out := make([]int32, len(v))
	for r, i := range idx {
		out[i] = int32(r + 1)
	}
	return out
}

// rank turns scores (and magnitudes; nil: |score|) into rows ranked by each, largest first.
func rank(base data.OrganismScore, segs []trace.RenderedSegment, score, mag []float64, planted []string) []data.OrganismScore {
	if mag == nil {
		mag = make([]float64, len(score))
		for i, s := range score {
			mag[i] = math.Abs(s)
		}
	}
	rs, rm := ranks(score), ranks(mag)
	out := make([]data.OrganismScore, len(segs))
	for i, s := range segs {
		row := base
		row.SegmentID, row.SegmentKind = s.ID, string(s.Kind)
		row.Planted = slices.Contains(planted, s.ID)
		row.Score, row.Rank, row.Magnitude, row.MagnitudeRank = score[i], rs[i], mag[i], rm[i]
		row.Candidates, row.K = int32(len(segs)), int32(len(planted))
		out[i] = row
	}
	return out
}

// Eval runs the attribution methods on held-out episodes of the organism and returns one row per
// method, episode and candidate segment (data.OrganismScore). Token and deletion methods attribute
// logit[blackmail] − logit[comply] at the action to the system and email segments (gradients summed
// over each segment's tokens, signed). Patching is noising: the episode's activations at resid_pre of
// opts.PatchLayer over one segment are replaced by those of Neutralized(episode) (every clue rewritten
// away, same lengths), and the score is the share of the log p(blackmail) drop between the two runs
// that this one segment causes; denoising (patching one clue into a clue-less run) restores nothing for
// a conjunction, by design. AtP estimates the same cells from one backward pass. The segment matrix
// (Reasoning episodes only) scores each segment's deletion by its effect on the reasoning span and
// on the action.
func Eval(m *model.Model, r *Renderer, eps []Episode, opts EvalOptions) ([]data.OrganismScore, error) {
	methods := opts.Methods
	if methods == nil {
		methods = Methods
	}
	for _, me := range methods {
		if !slices.Contains(Methods, me) {
			return nil, fmt.Errorf("%w: method %q (have %s)", ErrBadInput, me, strings.Join(Methods, ", "))
		}
	}
	if opts.Model == "" {
		opts.Model = "organism"
	}
	var rows []data.OrganismScore
	for i, ep := range eps {
		rd, err := r.Render(ep.Episode)
		if err != nil {
			return nil, err
		}
		tg, err := attribution.DecisionTarget(rd)
		if err != nil {
			return nil, err
		}
		segs := candidates(rd, tg)
		metric := model.Metric{Kind: model.LogitDiff, Position: tg - 1, Target: r.Harmful, Contrast: r.Benign}
		base := data.OrganismScore{EpisodeID: ep.ID, Model: opts.Model, Variant: string(ep.Variant), Metric: "logit_diff"}
		var al *attribution.Alignment
		for _, me := range methods {
			start := time.Now()
			var add []data.OrganismScore
			switch me {
			case MethodDeletion:
				v, abl, err := attribution.AblateSegments(m, rd, metric, attribution.AblationOptions{Kinds: []trace.Kind{trace.KindSystem, trace.KindEmail}})
				if err != nil {
					return nil, fmt.Errorf("%s: deletion: %w", ep.ID, err)
				}
				score := make([]float64, len(segs))
				for j, s := range segs {
					k := slices.IndexFunc(abl, func(a attribution.Ablation) bool { return a.ID == s.ID })
					if k < 0 {
						return nil, fmt.Errorf("%s: deletion: no result for %s", ep.ID, s.ID)
					}
					score[j] = abl[k].Effect
				}
				b := base
				b.Method, b.MetricValue = MethodDeletion, v
				add = rank(b, segs, score, nil, ep.Planted)
			case MethodIG, MethodGradXInput:
				var res *attribution.Result
				if me == MethodIG {
					igo := attribution.IGOptions{Steps: opts.IGSteps, Tolerance: opts.IGTolerance}
					if igo.Tolerance == 0 {
						igo.Tolerance = 0.01
					} else if igo.Tolerance < 0 {
						igo.Tolerance = 0
					}
					if !opts.IGZeroBaseline {
						igo.BaselineTokens = r.padBaseline(rd, tg)
					}
					res, err = attribution.IntegratedGradients(m, rd.IDs[:tg], metric, igo)
				} else {
					res, err = attribution.GradientXInput(m, rd.IDs[:tg], metric)
				}
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", ep.ID, me, err)
				}
				bySeg, err := attribution.BySegment(rd, res)
				if err != nil {
					return nil, err
				}
				score, mag := make([]float64, len(segs)), make([]float64, len(segs))
				for j, s := range segs {
					for _, b := range bySeg {
						if b.ID == s.ID {
							score[j], mag[j] = b.Score, b.Magnitude
						}
					}
				}
				b := base
				b.Method, b.MetricValue = me, res.Value
				add = rank(b, segs, score, mag, ep.Planted)
			case MethodPatch, MethodAtP:
				if al == nil { // patch and atp share the neutral copy's alignment
					if al, err = neutralAlignment(r, ep, rd, tg); err != nil {
						return nil, fmt.Errorf("%s: %s: %w", ep.ID, me, err)
					}
				}
				add, err = patchRows(m, r, al, ep, segs, base, me, opts.PatchLayer)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", ep.ID, me, err)
				}
			case MethodMatrix:
				if ep.Variant != Reasoning {
					continue
				}
				add, err = matrixRows(m, ep, rd, tg, segs, base)
				if err != nil {
					return nil, fmt.Errorf("%s: matrix: %w", ep.ID, err)
				}
			}
			sec := time.Since(start).Seconds()
			for k := range add {
				add[k].Seconds = sec
			}
			rows = append(rows, add...)
		}
		if opts.Progress != nil {
			opts.Progress(i+1, len(eps))
		}
	}
	return rows, nil
}

// neutralAlignment aligns Neutralized(ep), the patch source ("clean" in Patch's words), with the
// episode, the run patched.
func neutralAlignment(r *Renderer, ep Episode, rd *trace.Rendered, tg int) (*attribution.Alignment, error) {
	nep, err := Neutralized(ep)
	if err != nil {
		return nil, err
	}
	nrd, err := r.Render(nep)
	if err != nil {
		return nil, err
	}
	ntg, err := attribution.DecisionTarget(nrd)
	if err != nil {
		return nil, err
	}
	return attribution.Align(nrd, rd, ntg, tg)
}

// patchRows patches each candidate segment of the neutralized copy (al) into the episode (or estimates it
// by AtP) and scores each segment by the share of the drop in logit[blackmail] − logit[comply] it
// causes. The logit difference, not log p: the organism is saturated (log p(blackmail) ≈ −1e−6), so
// log p's gradient is of that order and AtP's first-order estimate of it is noise.
func patchRows(m *model.Model, r *Renderer, al *attribution.Alignment, ep Episode, segs []trace.RenderedSegment,
	base data.OrganismScore, method string, layer int) ([]data.OrganismScore, error) {
	po := attribution.PatchOptions{Sites: []hook.Site{hook.ResidPre}, Layers: []int{layer},
		Kinds: []trace.Kind{trace.KindSystem, trace.KindEmail}, Contrast: r.Benign}
	var (
		res *attribution.PatchResult
		err error
	)
	if method == MethodPatch {
		res, err = attribution.Patch(m, al, po)
	} else {
		res, err = attribution.AttributionPatch(m, al, po)
	}
	if err != nil {
		return nil, err
	}
	score := make([]float64, len(segs))
	for j := range score {
		score[j] = math.NaN()
	}
	for _, c := range res.Cells {
		if c.Segment < 0 || c.Position >= 0 || c.Head >= 0 {
			continue
		}
		as := al.Segments[c.Segment]
		for j, s := range segs {
			if s.Tokens == as.Corrupt {
				score[j] = c.Restored
			}
		}
	}
	for j, s := range segs {
		if math.IsNaN(score[j]) {
			return nil, fmt.Errorf("segment %s was not patched", s.ID)
		}
	}
	b := base
	b.Method, b.Metric, b.MetricValue = method, "logit_diff", res.Corrupt
	return rank(b, segs, score, nil, ep.Planted), nil
}

// matrixRows runs the deletion matrix and returns the sources' effects on the reasoning node
// (matrix_to_reasoning, system and email sources) and on the target (matrix_to_target, the reasoning
// segment a candidate too).
func matrixRows(m *model.Model, ep Episode, rd *trace.Rendered, tg int, segs []trace.RenderedSegment,
	base data.OrganismScore) ([]data.OrganismScore, error) {
	sm, err := attribution.DeletionMatrix(m, rd, tg, attribution.MatrixOptions{
		Sources: []trace.Kind{trace.KindSystem, trace.KindEmail, trace.KindReasoning}})
	if err != nil {
		return nil, err
	}
	jr, jt := sm.Index(ep.Reasoning), len(sm.Nodes)-1
	if jr < 0 {
		return nil, fmt.Errorf("no reasoning node %s", ep.Reasoning)
	}
	effect := func(id string, j int) (float64, error) {
		i := sm.Index(id)
		s := slices.Index(sm.Sources, i)
		if s < 0 {
			return 0, fmt.Errorf("segment %s is not a source", id)
		}
		return sm.Effect[s][j], nil
	}
	toR := make([]float64, len(segs))
	for k, s := range segs {
		if toR[k], err = effect(s.ID, jr); err != nil {
			return nil, err
		}
	}
	b := base
	b.Method, b.Metric, b.MetricValue = MatrixToReasoning, attribution.MatrixLogProb, sm.Base[jr]
	out := rank(b, segs, toR, nil, ep.Planted)
	withR := slices.Clone(segs)
	for _, s := range rd.Segments {
		if s.ID == ep.Reasoning {
			withR = append(withR, s)
		}
	}
	toT := make([]float64, len(withR))
	for k, s := range withR {
		if toT[k], err = effect(s.ID, jt); err != nil {
			return nil, err
		}
	}
	b.Method, b.Metric, b.MetricValue = MatrixToTarget, "log_prob", sm.Base[jt]
	return append(out, rank(b, withR, toT, nil, ep.Planted)...), nil
}
