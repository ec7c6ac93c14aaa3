package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// The attribution methods "agentlens attribute --method" takes.
const (
	methodGrad     = "grad_x_input"
	methodIG       = "ig"
	methodDeletion = "deletion"
	methodMatrix   = "matrix"
	methodPatch    = "patch"
	methodAtP      = "atp"
	methodAttn     = attribution.MethodAttention
	methodRollout  = attribution.MethodRollout
	methodAtPStar  = "atpstar" // AtP* (written "atp*" in patch.parquet; --method takes both spellings)
)

var attributeMethods = []string{methodGrad, methodIG, methodDeletion, methodMatrix, methodPatch, methodAtP, methodAtPStar, methodAttn, methodRollout}

// attributeOptions are the inputs of "agentlens attribute" (and of "agentlens demo", a preset of it).
type attributeOptions struct {
	IO  *IOStreams
	Ctx context.Context

	modelChoice
	Episode  string   // a file, a directory, or bundled:<name>
	Episodes []string // with --shard: every argument (Episode is the first)
	ID       string   // episode id inside a multi-episode file
	Target   trace.TargetSpec
	Methods  []string     // in attributeMethods
	Segments []trace.Kind // kinds deleted by deletion and matrix (nil: every content segment)
	IGSteps  int
	// IGTolerance is the completeness gap (a share of metric(input) − metric(baseline)) IG refines
	// its path down to, up to IGMaxSteps gradient passes (0: 8 × IGSteps).
	IGTolerance float64
	IGMaxSteps  int
	// IGBaseline is "pad" (content tokens replaced by the pad token, the template kept) or "zero"
	// (zero embeddings).
	IGBaseline string
	Readout    string  // matrix: probe file whose direction is read at each segment ("" = log-likelihood)
	Force      bool    // use a readout probe trained on other weights
	Keep       float64 // matrix graph: cumulative share of each node's support kept
	// Baseline is the corrupted episode that patch and atp patch the clean one into (BaselineID picks
	// one in a multi-episode file); BaselineTarget its target (zero: found like the clean one's).
	Baseline, BaselineID string
	BaselineTarget       trace.TargetSpec
	PatchSites           []hook.Site // nil: resid_pre, attn_out, mlp_out; also q, k, v, z
	PatchLayers          []int       // nil: all
	Heads                bool        // also patch each head's output
	PatchPositions       int         // also patch each of the last n aligned positions alone
	// Contrast is the text of one token: patch, atp and atpstar then score logit[target] −
	// logit[contrast] instead of log p(target) ("" = log p).
	Contrast string
	// AttentionSegment is the segment id, or the segment kind, whose attention-heads.svg is drawn ("" =
	// the most attended segment).
	AttentionSegment string
	Out              string
	JSON             bool // print a JSON summary instead of the table
	Top              int  // rows of the summary table
	segmentRules
	figureOptions
	sharding
}

func newCmdAttribute(f *Factory, runF func(*attributeOptions) error) *cobra.Command {
	opts := &attributeOptions{IO: f.IO}
	var margs modelChoiceArgs
	var targetArg, methodArg, segArg, baseTargetArg, sitesArg, layersArg, shardArg string
	cmd := &cobra.Command{
		Use:   "attribute <episode>... [--id <id>] [--model <m>] [--target <spec>] [--method <list>] [--segments <kinds>] [--out <dir>]",
		Short: "Attribute an action in a recorded episode to its tokens, segments and earlier segments",
		Long: `Render an episode with the model's chat template, find the target token (the harmful action:
by default the first token of the last assistant message's first tool call) and attribute it
with each --method:

  grad_x_input  gradient × input on the input embeddings, per token and per segment
  ig            integrated gradients on the input embeddings (--ig-steps gradient passes,
                then the path's intervals halved where the completeness gap is largest until
                it is within --ig-tolerance, up to --ig-max-steps passes;
                --ig-baseline pad|zero); its completeness gap is reported
  deletion      delete each segment (of --segments kinds) in turn: change in log p(target)
  matrix        the segment × segment matrix: delete each earlier segment and read how every
                later segment moves (its mean token log-likelihood, or with --readout the
                residual at its last token projected on a probe's direction), one pass per
                source; plus the pruned attribution graph (--keep) and its widest path
  patch         activation patching from this (clean) episode into --baseline (a corrupted
                one: a clue deleted or rewritten): per site × layer × segment, and per head
                with --heads, the share of the clean–corrupted gap in log p(target) restored;
                segments are aligned by their tokens, not by position
  atp           attribution patching: the same grid to first order from one backward pass;
                with patch, their Spearman rank correlation is reported
  atpstar       AtP* (also spelled atp*): AtP with the attention pattern of query and key
                patches (--patch-sites q,k) recomputed exactly, linear only from the
                attention output on; the same as atp at every other site. With patch, its
                Spearman correlation and false negatives (large cells it misses) are
                reported next to atp's, over all cells and per query/key site
  attention     where the token predicting the target looks: its attention on each segment,
                on the first token (the attention sink) and on the template, per layer and
                head; and the segment × segment attention per layer; read from one forward
                pass without forming [head, pos, pos] patterns
  rollout       attention rollout (Abnar & Zuidema 2020): the product over layers of
                ½(head-mean attention + identity), as token scores of the target and as a
                segment × segment matrix
                attention and rollout are descriptive, not causal: attention says what a
                head reads, not what moves the prediction (compare with deletion)

Deletions reuse the whole episode's keys and values before each deleted segment and run packed.

Writes to --out: tokens.parquet and segments.parquet (tables TokenAttribution and
SegmentAttribution in package data), heatmap.html (token viewer) and segments.svg (bar chart)
for the first token method; for matrix: matrix.parquet (table SegmentMatrixEntry),
matrix.svg (heatmap), graph.json and graph.dot (Graphviz); for patch and atp: patch.parquet
(table PatchEntry) and one layer × segment heatmap per method and site (patch-SITE.svg,
atp-SITE.svg, atpstar-SITE.svg), with --heads layer × head (patch-heads.svg, atp-heads.svg),
with --patch-positions layer × position (patch-SITE-positions.svg), and with patch and an
estimate, patch-scatter.svg (each estimate against patching, cell by cell); for attention and
rollout: attention.parquet (table AttentionEntry), their token scores in tokens.parquet and
segments.parquet (methods attention: the target's attention averaged over layers and heads;
rollout), attention-target.svg (layer × segment), attention-heads.svg (layer × head on the
most attended segment, or --attention-segment: a segment id or kind), attention-segments.svg
(segment × segment, mean over layers) and rollout.svg (rollout segment × segment); and
summary.json, with the Spearman agreement of every two segment methods. Prints the top
segments (or, with --json, the summary).

Targets: tool:<name>[,to=<regexp>][,body=<regexp>], literal:<text>, segment:<id>,
token:<index> (see "agentlens trace show").

--segment-rule FILE adds rules for finding emails, documents, files and calendar entries
in untagged text (see "agentlens trace show --help").

Figures (every .svg named above, and passage: the tokens of the segment with the largest
share; methods: two segment methods or more side by side) are written in each --format
(png, svg, pdf; default svg) at --figure-width one or two paper columns; "agentlens heatmap"
redraws any of them from the Parquet tables.

--shard i/n attributes every episode of the inputs whose --shard-key hashes to i (task i of
n: a Slurm array task, a Kubernetes Indexed Job pod) into --out/shard-IIIII-of-NNNNN/: the
tables tokens, segments, matrix and attention in chunks of --chunk-size episodes, then
manifest.json; no figures. Methods: grad_x_input, ig, deletion, matrix, attention, rollout
(patch and atp need a baseline per episode). A rerun resumes after the last chunk; agentlens
merge joins the tasks into the tables a run per episode writes, concatenated.`,
		Example: `  agentlens attribute bundled:blackmail --method grad_x_input,deletion --segments email --out out/attr
  agentlens attribute bundled:blackmail --method matrix --out out/matrix
  agentlens attribute logs/run.eval --id blackmail_epoch_1 --tool-call-style xml --target tool:send_email --method ig --ig-steps 32
  agentlens attribute run.jsonl --method matrix --readout out/probes/L24.parquet --segments email,reasoning --json
  agentlens attribute clean.jsonl --baseline corrupt.jsonl --method atp,patch --patch-layers 0,10,20 --heads
  agentlens attribute bundled:blackmail --baseline 'delete:user[0].email[3]' --method atp
  agentlens attribute bundled:blackmail --method attention,rollout,deletion --out out/flow
  agentlens attribute bundled:blackmail --method attention --attention-segment email
  agentlens attribute bundled:blackmail --baseline 'delete:user[0].email[10],user[0].email[11]' --target 'literal:Sandvik, including' \
      --method patch,atp,atpstar --patch-sites k,q --patch-layers 0,10,20,29
  agentlens attribute bundled:blackmail --method grad_x_input,ig,deletion --format pdf,png --figure-width one --no-title
  agentlens attribute selfpres/test_family.jsonl --method grad_x_input,deletion --tool-call-style xml --shard 0/8 --out out/attr`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return flagErrorf("attribute: name an episode file, directory or bundled:<name>")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Episode, opts.Episodes = args[0], args
			if err := opts.parseShard(cmd, shardArg); err != nil {
				return err
			}
			if opts.Shard == nil && len(args) != 1 {
				return flagErrorf("attribute: name one episode file (several with --shard)")
			}
			var err error
			if targetArg != "" {
				if opts.Target, err = trace.ParseTarget(targetArg); err != nil {
					return flagErrorf("--target %s: %v", targetArg, err)
				}
			}
			if opts.Methods, err = parseMethods(methodArg); err != nil {
				return err
			}
			opts.Segments = parseKinds(segArg)
			if baseTargetArg != "" {
				if opts.BaselineTarget, err = trace.ParseTarget(baseTargetArg); err != nil {
					return flagErrorf("--baseline-target %s: %v", baseTargetArg, err)
				}
			}
			if sitesArg != "" {
				if opts.PatchSites, err = parsePatchSites(sitesArg); err != nil {
					return flagErrorf("--patch-sites %s: %v", sitesArg, err)
				}
			}
			if layersArg != "" {
				if opts.PatchLayers, err = parseLayers(layersArg); err != nil {
					return flagErrorf("--patch-layers %s: %v", layersArg, err)
				}
			}
			if err := opts.check(); err != nil {
				return err
			}
			if err := opts.modelChoice.parse(f, margs); err != nil {
				return err
			}
			if err := opts.readSegmentRules(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return attributeRun(opts)
		},
	}
	opts.modelChoice.flags(cmd, &margs)
	fl := cmd.Flags()
	fl.StringVar(&opts.ID, "id", "", "episode `id` when the file holds several")
	fl.StringVarP(&targetArg, "target", "t", "", "target token `spec` (default: the last assistant message's first tool call)")
	fl.StringVar(&methodArg, "method", methodGrad, "attribution `methods`: "+strings.Join(attributeMethods, ", "))
	fl.StringVar(&segArg, "segments", "", "segment `kinds` that deletion and matrix delete, e.g. email,tool_result (default: all)")
	fl.IntVar(&opts.IGSteps, "ig-steps", 16, "integrated gradients: gradient `passes` of the first rule (Clenshaw–Curtis, 4 passes per interval of the path)")
	fl.Float64Var(&opts.IGTolerance, "ig-tolerance", 0.01, "integrated gradients: refine the path until the intervals' completeness gaps add up to at most this `share` of |f(x) − f(baseline)| (0: never)")
	fl.IntVar(&opts.IGMaxSteps, "ig-max-steps", 0, "integrated gradients: most gradient `passes` the refinement may take (default 8 × --ig-steps)")
	fl.StringVar(&opts.IGBaseline, "ig-baseline", "pad", "integrated gradients baseline: `pad` (content tokens → pad token) or zero")
	fl.StringVar(&opts.Readout, "readout", "", "matrix: probe `file` whose direction is read at each segment instead of its log-likelihood")
	fl.BoolVar(&opts.Force, "force", false, "use a --readout probe trained on other weights")
	fl.Float64Var(&opts.Keep, "keep", 0.8, "matrix graph: cumulative `share` of each segment's support kept")
	fl.StringVar(&opts.Baseline, "baseline", "", "patch, atp, atpstar: the corrupted `episode`: a file, delete:ID[,ID…] (this episode without those segments) or rewrite:ID=FILE[,…]")
	fl.StringVar(&opts.BaselineID, "baseline-id", "", "patch, atp, atpstar: episode `id` in the --baseline file")
	fl.StringVar(&baseTargetArg, "baseline-target", "", "patch, atp, atpstar: target `spec` in the corrupted episode (default: found as in the clean one)")
	fl.StringVar(&sitesArg, "patch-sites", "", "patch, atp, atpstar: `sites` to patch: resid_pre, resid_mid, resid_post, attn_out, mlp_out, q, k, v, z (default resid_pre,attn_out,mlp_out)")
	fl.StringVar(&layersArg, "patch-layers", "", "patch, atp, atpstar: `layers` to patch, e.g. 0-29 or 0,6,12 (default all)")
	fl.BoolVar(&opts.Heads, "heads", false, "patch, atp, atpstar: also each attention head's output (hook_z) over every aligned position")
	fl.StringVar(&opts.Contrast, "contrast", "", "patch, atp, atpstar: score logit[target] − logit[`token`] (text of one token, e.g. ' comply') instead of log p(target)")
	fl.IntVar(&opts.PatchPositions, "patch-positions", 0, "patch, atp, atpstar: also each of the last `n` aligned positions before the target alone (layer × position)")
	fl.StringVar(&opts.AttentionSegment, "attention-segment", "", "attention: segment `id` or kind (e.g. email: all of them) of attention-heads.svg (default: the most attended segment)")
	fl.StringVarP(&opts.Out, "out", "o", filepath.Join("out", "attribute"), "output `dir`ectory")
	fl.BoolVar(&opts.JSON, "json", false, "print a JSON summary instead of the table")
	fl.IntVar(&opts.Top, "top", 12, "segments in the printed summary")
	opts.addSegmentRuleFlag(cmd)
	opts.addFigureFlags(cmd, "svg")
	opts.addShardFlags(cmd, &shardArg, 4)
	cmd.GroupID = groupAnalysis
	return cmd
}

// parseMethods reads a --method list.
func parseMethods(s string) ([]string, error) {
	var out []string
	for _, m := range splitList(s) {
		switch m {
		case "integrated_gradients":
			m = methodIG
		case "atp*":
			m = methodAtPStar
		}
		if !slices.Contains(attributeMethods, m) {
			return nil, flagErrorf("--method %s: unknown method %q (want %s)", s, m, strings.Join(attributeMethods, ", "))
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, flagErrorf("--method: name at least one of %s", strings.Join(attributeMethods, ", "))
	}
	return out, nil
}

// parseKinds reads a list of segment kinds ("" = nil: all).
func parseKinds(s string) []trace.Kind {
	var out []trace.Kind
	for _, k := range splitList(s) {
		out = append(out, trace.Kind(k))
	}
	return out
}

// patching reports whether a patching method (patch, atp, atpstar) is asked for.
func (o *attributeOptions) patching() bool {
	return slices.ContainsFunc(o.Methods, func(m string) bool { return m == methodPatch || m == methodAtP || m == methodAtPStar })
}

// check refuses flag combinations that make no sense.
func (o *attributeOptions) check() error {
	has := func(m string) bool { return slices.Contains(o.Methods, m) }
	switch {
	case o.Top <= 0:
		return flagErrorf("--top %d: want a positive number", o.Top)
	case o.PatchPositions < 0:
		return flagErrorf("--patch-positions %d: want 0 or more", o.PatchPositions)
	case o.IGSteps < 1:
		return flagErrorf("--ig-steps %d: want at least 1", o.IGSteps)
	case o.IGTolerance < 0 || math.IsNaN(o.IGTolerance):
		return flagErrorf("--ig-tolerance %v: want a share ≥ 0", o.IGTolerance)
	case o.IGMaxSteps < 0 || o.IGMaxSteps > 0 && o.IGMaxSteps < o.IGSteps:
		return flagErrorf("--ig-max-steps %d: want 0 (8 × --ig-steps) or at least --ig-steps (%d)", o.IGMaxSteps, o.IGSteps)
	case o.IGBaseline != "pad" && o.IGBaseline != "zero":
		return flagErrorf("--ig-baseline %s: want pad or zero", o.IGBaseline)
	case !(o.Keep > 0 && o.Keep <= 1):
		return flagErrorf("--keep %g: want a share in (0, 1]", o.Keep)
	case o.Readout != "" && !has(methodMatrix):
		return flagErrorf("--readout reads a direction in the segment matrix: add --method matrix")
	case o.Segments != nil && !has(methodDeletion) && !has(methodMatrix) && !o.patching():
		return flagErrorf("--segments picks what deletion and matrix delete and patch patches: add one of those methods")
	case o.Shard != nil && o.patching():
		return flagErrorf("--shard: patch, atp and atpstar need one --baseline per episode; a sharded attribute runs %s, %s, %s, %s, %s and %s",
			methodGrad, methodIG, methodDeletion, methodMatrix, methodAttn, methodRollout)
	case o.Shard != nil && o.AttentionSegment != "":
		return flagErrorf("--attention-segment picks the segment of a figure; a sharded attribute draws none: leave it out")
	case o.Shard != nil && o.ID != "":
		return flagErrorf("--id %s: a sharded attribute attributes every episode of the inputs; leave --id out", o.ID)
	case o.patching() && o.Baseline == "":
		return flagErrorf("--method patch, atp and atpstar patch this episode into a corrupted one: name it with --baseline FILE")
	case o.Baseline != "" && !o.patching():
		return flagErrorf("--baseline is the corrupted episode for patch, atp and atpstar: add --method patch, atp or atpstar")
	case o.Contrast != "" && !o.patching():
		return flagErrorf("--contrast sets the patching metric: add --method patch, atp or atpstar")
	case o.Heads && !o.patching():
		return flagErrorf("--heads patches each attention head's output: add --method patch, atp or atpstar (--method attention reports every head)")
	case o.AttentionSegment != "" && !has(methodAttn):
		return flagErrorf("--attention-segment picks the segment of attention-heads.svg: add --method attention")
	}
	return nil
}

// attributeSummary is summary.json (and the --json output).
type attributeSummary struct {
	Episode   string                   `json:"episode"`
	Model     string                   `json:"model"`
	ModelHash string                   `json:"model_hash"`
	Tokens    int                      `json:"tokens"`
	Target    targetSummary            `json:"target"`
	LogProb   float64                  `json:"log_prob"` // log p(target token)
	Methods   map[string]methodSummary `json:"methods"`
	Path      []string                 `json:"path,omitempty"` // matrix: the widest path into the target
	// PatchSpearman is the rank correlation of AtP's and patching's restored shares over all their cells.
	PatchSpearman *float64 `json:"atp_patch_spearman,omitempty"`
	// PatchAgreement compares each estimate (atp, atp*) with patching, over all cells and per query and
	// key site, without the identity patches (cells before the first edit).
	PatchAgreement []patchAgreement `json:"patch_agreement,omitempty"`
	// Agreement is the Spearman correlation of every two segment methods' signed scores over the
	// segments both scored, keyed "a ~ b".
	Agreement   map[string]float64 `json:"agreement,omitempty"`
	Outputs     []string           `json:"outputs"`
	ElapsedSecs float64            `json:"elapsed_s"`
}

type targetSummary struct {
	Token       int    `json:"token"`
	Text        string `json:"text"`
	Segment     string `json:"segment"`
	Description string `json:"description"`
}

type methodSummary struct {
	Seconds float64 `json:"seconds"`
	Value   float64 `json:"value"` // the metric on the whole episode
	// IG: the metric at the baseline and the completeness gap Σ scores − (value − baseline).
	Baseline *float64  `json:"baseline,omitempty"`
	Delta    *float64  `json:"completeness_gap,omitempty"`
	Passes   int       `json:"gradient_passes,omitempty"`   // IG: gradient passes along the path
	Gaps     []float64 `json:"completeness_gaps,omitempty"` // IG: the gap after the first rule and after each refinement
	// Attention, rollout: the target query's mass on the first token (the attention sink), mean over
	// layers and heads, or in the rollout.
	Sink *float64 `json:"sink,omitempty"`
	// Matrix: sources deleted, context tokens of the passes and those computed.
	Sources  int              `json:"sources,omitempty"`
	Computed int              `json:"tokens_computed,omitempty"`
	Total    int              `json:"tokens_total,omitempty"`
	Top      []segmentSummary `json:"top,omitempty"`
}

type segmentSummary struct {
	ID    string  `json:"id"`
	Kind  string  `json:"kind"`
	Label string  `json:"label,omitempty"`
	Score float64 `json:"score"`
	Share float64 `json:"share"`
}

func topSummary(segs []attribution.SegmentScore, n int) []segmentSummary {
	var out []segmentSummary
	for _, s := range attribution.Top(segs, n) {
		out = append(out, segmentSummary{ID: s.ID, Kind: string(s.Kind), Label: s.Label, Score: s.Score, Share: s.Share})
	}
	return out
}

func attributeRun(opts *attributeOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Shard != nil {
		return attributeSharded(ctx, opts)
	}
	errOut := opts.IO.ErrOut
	began := time.Now()
	if err := opts.fetchIfMissing(ctx, opts.IO); err != nil {
		return err
	}
	eps, err := loadEpisodes(opts.Episode, "", opts.Segment)
	if err != nil {
		return err
	}
	ep, err := pickEpisode(opts.Episode, eps, opts.ID)
	if err != nil {
		return err
	}
	var baseEp *trace.Episode
	if opts.Baseline != "" {
		if baseEp, err = baselineEpisode(opts.Baseline, opts.BaselineID, ep, opts.Segment); err != nil {
			return err
		}
	}
	hash, err := modelHash(opts.Model)
	if err != nil {
		return err
	}
	rec, err := opts.readoutProbe(hash)
	if err != nil {
		return err
	}
	s, err := opts.open(ctx, opts.IO)
	if err != nil {
		return err
	}
	readout, err := opts.readout(rec, s)
	if err != nil {
		return err
	}
	e, err := attributeEpisode(ctx, opts, s, ep, baseEp, hash, readout, true)
	if err != nil {
		return err
	}
	r, tg, sum, info := e.r, e.tg, &e.sum, e.info
	tokRows, segRows, first, firstSegs, abl, patched, flow := e.tokRows, e.segRows, e.first, e.firstSegs, e.abl, e.patched, e.flow
	var files []string
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	if e.sm != nil {
		mfiles, err := writeMatrix(opts.Out, e.sm, e.graph, matrixMeta{episode: ep.ID, model: s.Name, hash: hash, target: tg.Token,
			readout: readout, figs: &opts.figureOptions})
		if err != nil {
			return err
		}
		files = append(files, mfiles...)
	}
	for _, k := range slices.Sorted(maps.Keys(sum.Agreement)) {
		fmt.Fprintf(errOut, "agentlens: agreement over segments, Spearman ρ(%s) = %.3f\n", k, sum.Agreement[k])
	}
	if patched != nil {
		pfiles, rho, agree, err := patched.write(opts.Out, matrixMeta{episode: ep.ID, model: s.Name, hash: hash, target: tg.Token})
		if err != nil {
			return err
		}
		files = append(files, pfiles...)
		sum.PatchAgreement = agree
		if !math.IsNaN(rho) {
			sum.PatchSpearman = &rho
			fmt.Fprintf(errOut, "agentlens: AtP against patching over the same cells: Spearman ρ = %.3f\n", rho)
		}
		for _, a := range agree {
			rho := math.NaN()
			if a.Spearman != nil {
				rho = *a.Spearman
			}
			fmt.Fprintf(errOut, "agentlens: %s against patching over %d cells (%s; %d identity patches left out): Spearman ρ = %.3f; %d of %d large cells missed\n",
				a.Method, a.Cells, a.Site, a.IdentityLeftOut, rho, len(a.FalseNegatives), a.Large)
		}
	}
	if flow != nil {
		ffiles, err := writeFlow(opts.Out, r, flow, flowMeta{matrixMeta: matrixMeta{episode: ep.ID, model: s.Name, hash: hash, target: tg.Token, figs: &opts.figureOptions},
			methods: opts.flowMethods(), segment: opts.AttentionSegment, info: info})
		if err != nil {
			return err
		}
		files = append(files, ffiles...)
	}
	if len(tokRows) > 0 {
		if err := data.Write(filepath.Join(opts.Out, "tokens.parquet"), tokRows); err != nil {
			return err
		}
		files = append(files, "tokens.parquet")
	}
	if len(segRows) > 0 {
		if err := data.Write(filepath.Join(opts.Out, "segments.parquet"), segRows); err != nil {
			return err
		}
		files = append(files, "segments.parquet")
	}
	if first != nil {
		fig := figure(r, first, firstSegs, abl, tg, s.Name)
		if first.Method == methodAttn || first.Method == methodRollout {
			fig.ScoreMeaning = "red: share of the attention of the token before the target (" + first.Method + "); descriptive, not causal"
			fig.ShareLabel = "attention share"
		}
		figs, err := attributeFigures(opts.Out, fig, segRows, &opts.figureOptions)
		if err != nil {
			return err
		}
		files = append(files, figs...)
	}
	if len(tokRows) > 0 || len(segRows) > 0 || slices.Contains(files, "matrix.parquet") {
		e, err := attributionViewer(opts.Out, r, tg.Token)
		if err != nil {
			return err
		}
		if err := writeViewer(filepath.Join(opts.Out, "heatmap.html"), e); err != nil {
			return err
		}
		files = append(files, "heatmap.html")
	}
	sum.Outputs = append(files, "summary.json")
	slices.Sort(sum.Outputs)
	sum.ElapsedSecs = time.Since(began).Seconds()
	js, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(opts.Out, "summary.json"), func(f *os.File) error { _, err := f.Write(append(js, '\n')); return err }); err != nil {
		return err
	}
	if opts.JSON {
		_, err := fmt.Fprintf(opts.IO.Out, "%s\n", js)
		return err
	}
	if first != nil {
		if err := writeSummary(opts.IO.Out, firstSegs, abl, opts.Top); err != nil {
			return err
		}
	} else if abl != nil {
		var scores []attribution.SegmentScore
		for _, a := range abl {
			scores = append(scores, a.SegmentScore)
		}
		if err := writeSummary(opts.IO.Out, scores, nil, opts.Top); err != nil {
			return err
		}
	}
	if len(sum.Path) > 0 {
		fmt.Fprintf(opts.IO.Out, "\nwidest path into the target: %s\n", strings.Join(sum.Path, " → "))
	}
	fmt.Fprintf(opts.IO.Out, "\nwrote %s: %s\n", opts.Out, strings.Join(sum.Outputs, " "))
	return nil
}

// flowMethods returns the --method entries read from the attention flow (attention, rollout), in order.
func (o *attributeOptions) flowMethods() []string {
	var out []string
	for _, m := range o.Methods {
		if m == methodAttn || m == methodRollout {
			out = append(out, m)
		}
	}
	return out
}

// readoutProbe reads the --readout probe (nil without one) and checks it was trained on these weights.
func (o *attributeOptions) readoutProbe(hash string) (*data.Probe, error) {
	if o.Readout == "" {
		return nil, nil
	}
	rec, _, err := readProbe(o.Readout)
	if err != nil {
		return nil, err
	}
	if !o.Force && rec.ModelHash != "" && rec.ModelHash != hash {
		return nil, fmt.Errorf("--readout %s was trained on weights %s, model %s is %s (--force to use it anyway)", o.Readout, rec.ModelHash, o.Model, hash)
	}
	return &rec, nil
}

// readout turns the --readout probe into the matrix's readout for the loaded model (nil without one).
func (o *attributeOptions) readout(rec *data.Probe, s *session) (*attribution.Readout, error) {
	if rec == nil {
		return nil, nil
	}
	site, err := probeSite(*rec)
	if err != nil {
		return nil, err
	}
	if d := s.Model.Dims().DModel; d != int(rec.DModel) {
		return nil, fmt.Errorf("--readout %s takes d_model %d, model %s has %d", o.Readout, rec.DModel, s.Name, d)
	}
	return &attribution.Readout{Name: rec.ProbeID, Site: site, Vector: toF32(rec.Direction)}, nil
}

// attributeSharded runs task --shard of a sharded attribute over every episode of the inputs: the
// tables tokens, segments, matrix and attention (as far as the methods write them) in chunks of
// --chunk-size episodes; no figures.
func attributeSharded(ctx context.Context, opts *attributeOptions) error {
	eps, err := loadAllEpisodes(opts.Episodes, opts.Segment)
	if err != nil {
		return err
	}
	var s *session
	var hash string
	var readout *attribution.Readout
	first := true
	flowMethods := opts.flowMethods()
	t := &shardTask{IO: opts.IO, Command: "attribute", Out: opts.Out, sharding: opts.sharding, Inputs: opts.Episodes, Eps: eps, Model: &opts.modelChoice,
		Open: func(h string) (string, error) {
			hash = h
			rec, err := opts.readoutProbe(hash)
			if err != nil {
				return "", err
			}
			if s, err = opts.open(ctx, opts.IO); err != nil {
				return "", err
			}
			if readout, err = opts.readout(rec, s); err != nil {
				return "", err
			}
			return backendLabel(s.Backend), nil
		},
		Work: func(c *data.Chunk, eps []*trace.Episode, progress func(), skip func(*trace.Episode, error) error) error {
			var tok []data.TokenAttribution
			var seg []data.SegmentAttribution
			var mat []data.SegmentMatrixEntry
			var att []data.AttentionEntry
			for _, ep := range eps {
				e, err := attributeEpisode(ctx, opts, s, ep, nil, hash, readout, first)
				first = false
				if err != nil {
					if ctx.Err() != nil {
						return err
					}
					if err := skip(ep, err); err != nil {
						return err
					}
					continue
				}
				tok, seg = append(tok, e.tokRows...), append(seg, e.segRows...)
				if e.sm != nil {
					mat = append(mat, matrixRows(e.sm, matrixMeta{episode: ep.ID, model: s.Name, hash: hash, target: e.tg.Token, readout: readout})...)
				}
				if e.flow != nil {
					att = append(att, attribution.FlowRows(e.r, e.flow, flowMethods, e.info)...)
				}
				progress()
			}
			if err := data.WriteTable(c, "tokens", tok); err != nil {
				return err
			}
			if err := data.WriteTable(c, "segments", seg); err != nil {
				return err
			}
			if err := data.WriteTable(c, "matrix", mat); err != nil {
				return err
			}
			return data.WriteTable(c, "attention", att)
		}}
	sum, err := t.run(ctx)
	if err != nil {
		return err
	}
	return sum.print(opts.IO, &jsonOutput{JSON: opts.JSON, out: opts.IO.Out})
}

// episodeAttribution is what the methods found on one episode, before anything is written.
type episodeAttribution struct {
	r       *trace.Rendered
	tg      trace.Target
	info    attribution.RowInfo
	sum     attributeSummary
	tokRows []data.TokenAttribution
	segRows []data.SegmentAttribution
	// first is the first token method's result (the heatmap's), firstSegs its segment scores.
	first     *attribution.Result
	firstSegs []attribution.SegmentScore
	abl       map[string]attribution.Ablation
	sm        *attribution.SegmentMatrix
	graph     *attribution.SegmentGraph
	patched   *patchJob
	flow      *attribution.Flow
	flowSecs  float64
}

// attributeEpisode runs every --method on one episode (baseEp: the corrupted episode of patch and
// atp, nil without them); warn says whether to warn about segments the template does not render.
func attributeEpisode(ctx context.Context, opts *attributeOptions, s *session, ep, baseEp *trace.Episode, hash string, readout *attribution.Readout,
	warn bool) (*episodeAttribution, error) {
	errOut := opts.IO.ErrOut
	r, err := s.render(ep, false)
	if err != nil {
		return nil, err
	}
	if warn {
		s.warnUnrendered(errOut, r)
	}
	tg, err := findTarget(r, opts.Target)
	if err != nil {
		return nil, err
	}
	if tg.Token < 1 {
		return nil, fmt.Errorf("episode %s: target token %d has no context before it", ep.ID, tg.Token)
	}
	metric := model.Metric{Kind: model.LogProb, Position: tg.Token - 1, Target: r.IDs[tg.Token]}
	fmt.Fprintf(errOut, "agentlens: episode %s, %d tokens; target token %d %q in %s (%s)\n",
		ep.ID, len(r.IDs), tg.Token, s.Tok.Token(r.IDs[tg.Token]), tg.Segment, tg.Description)
	e := &episodeAttribution{r: r, tg: tg, info: attribution.RowInfo{Model: s.Name, ModelHash: hash, Target: tg},
		sum: attributeSummary{Episode: ep.ID, Model: s.Name, ModelHash: hash, Tokens: len(r.IDs), Methods: map[string]methodSummary{},
			Target: targetSummary{Token: tg.Token, Text: s.Tok.Token(r.IDs[tg.Token]), Segment: tg.Segment, Description: tg.Description}}}
	sum, info := &e.sum, e.info
	metricName := attribution.MetricName(metric.Kind)

	for _, meth := range opts.Methods {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		switch meth {
		case methodGrad, methodIG:
			var res *attribution.Result
			var ms methodSummary
			if meth == methodGrad {
				res, err = attribution.GradientXInput(s.Model, r.IDs[:tg.Token], metric)
			} else {
				prog := newETAProgress(opts.IO, "integrated gradients: pass", opts.IGSteps)
				igo := attribution.IGOptions{Steps: opts.IGSteps, Tolerance: opts.IGTolerance, MaxSteps: opts.IGMaxSteps,
					Progress: func(d, total int) { prog.total = total; prog.update(d, "") }}
				if opts.IGBaseline == "pad" {
					igo.BaselineTokens = padBaseline(s, r, tg.Token)
				}
				res, err = attribution.IntegratedGradients(s.Model, r.IDs[:tg.Token], metric, igo)
				prog.update(prog.total, "")
				if err == nil {
					b, d, n := res.Baseline, res.Delta, res.Steps
					ms.Baseline, ms.Delta, ms.Passes, ms.Gaps = &b, &d, n, res.Gaps
					fmt.Fprintf(errOut, "agentlens: integrated gradients: f(x) = %.4f, f(baseline) = %.4f, completeness gap %.2e (%.2f%% of f(x) − f(b)) after %d gradient passes (gap after each refinement: %.3g)\n",
						res.Value, res.Baseline, res.Delta, 100*math.Abs(res.Delta)/math.Max(1e-12, math.Abs(res.Value-res.Baseline)), res.Steps, res.Gaps)
					if gap := math.Abs(res.Delta) / math.Max(1e-12, math.Abs(res.Value-res.Baseline)); opts.IGTolerance > 0 && gap > opts.IGTolerance {
						fmt.Fprintf(errOut, "agentlens: warning: integrated gradients did not reach --ig-tolerance %g within %d passes: its scores miss %.1f%% of the metric's change (raise --ig-max-steps)\n",
							opts.IGTolerance, res.Steps, 100*gap)
					}
				}
			}
			if err != nil {
				return nil, err
			}
			segs, err := attribution.BySegment(r, res)
			if err != nil {
				return nil, err
			}
			ms.Seconds, ms.Value, ms.Top = time.Since(start).Seconds(), res.Value, topSummary(segs, opts.Top)
			sum.Methods[res.Method] = ms
			sum.LogProb = res.Value
			fmt.Fprintf(errOut, "agentlens: %s in %.1f s: log p(target) = %.4f\n", res.Method, ms.Seconds, res.Value)
			e.tokRows = append(e.tokRows, attribution.TokenRows(r, res, info)...)
			e.segRows = append(e.segRows, attribution.SegmentRows(r, res.Method, metricName, res.Value, segs, info)...)
			if e.first == nil {
				e.first, e.firstSegs = res, segs
			}
		case methodDeletion:
			prog := newETAProgress(opts.IO, "deletion: segment", 0)
			base, as, err := attribution.AblateSegments(s.Model, r, metric, attribution.AblationOptions{Kinds: opts.Segments,
				Progress: func(d, n int) { prog.total = n; prog.update(d, "") }})
			if err != nil {
				return nil, err
			}
			if len(as) == 0 {
				return nil, fmt.Errorf("episode %s: no segment of kinds %v before the target token %d to delete (see agentlens trace show)",
					ep.ID, opts.Segments, tg.Token)
			}
			e.abl = map[string]attribution.Ablation{}
			var scores []attribution.SegmentScore
			for _, a := range as {
				e.abl[a.ID] = a
				scores = append(scores, a.SegmentScore)
			}
			e.segRows = append(e.segRows, attribution.SegmentRows(r, attribution.MethodAblation, metricName, base, scores, info)...)
			sum.LogProb = base
			sum.Methods[attribution.MethodAblation] = methodSummary{Seconds: time.Since(start).Seconds(), Value: base, Sources: len(as),
				Top: topSummary(scores, opts.Top)}
			fmt.Fprintf(errOut, "agentlens: deleted %d segments in %.1f s\n", len(as), time.Since(start).Seconds())
		case methodPatch, methodAtP, methodAtPStar:
			if e.patched == nil {
				if e.patched, err = newPatchJob(errOut, s, baseEp, r, tg, opts); err != nil {
					return nil, err
				}
			}
			if meth == methodAtP && slices.Contains(opts.Methods, methodAtPStar) {
				continue // atpstar's backward pass gives AtP too
			}
			prog := newETAProgress(opts.IO, "patch: run", 0)
			popts := attribution.PatchOptions{Sites: opts.PatchSites, Layers: opts.PatchLayers, Kinds: opts.Segments, Heads: opts.Heads,
				LastPositions: opts.PatchPositions, Contrast: e.patched.contrast,
				Progress: func(d, n int) { prog.total = n; prog.update(d, "") }}
			var prs []*attribution.PatchResult
			switch meth {
			case methodPatch:
				pr, err := attribution.Patch(s.Model, e.patched.al, popts)
				if err != nil {
					return nil, err
				}
				prs = append(prs, pr)
			case methodAtP:
				pr, err := attribution.AttributionPatch(s.Model, e.patched.al, popts)
				if err != nil {
					return nil, err
				}
				prs = append(prs, pr)
			default:
				atp, star, err := attribution.AttributionPatchStar(s.Model, e.patched.al, popts)
				if err != nil {
					return nil, err
				}
				if slices.Contains(opts.Methods, methodAtP) {
					prs = append(prs, atp)
				}
				prs = append(prs, star)
			}
			el := time.Since(start).Seconds()
			for _, pr := range prs {
				e.patched.results = append(e.patched.results, pr)
				sum.Methods[pr.Method] = methodSummary{Seconds: el, Value: pr.Clean, Sources: len(pr.Cells), Computed: pr.Computed, Total: pr.Tokens}
				metric := "log p"
				if e.patched.contrast > 0 {
					metric = "logit difference"
				}
				fmt.Fprintf(errOut, "agentlens: %s: %d cells in %.1f s (clean %s %.4f, corrupted %.4f; %d runs, %d of %d tokens computed)\n",
					pr.Method, len(pr.Cells), el, metric, pr.Clean, pr.Corrupt, pr.Runs, pr.Computed, pr.Tokens)
			}
		case methodAttn, methodRollout:
			if e.flow == nil {
				prog := newETAProgress(opts.IO, "attention flow: layer", 0)
				var forward float64
				e.flow, err = attribution.AttentionFlow(s.Model, r, tg.Token, attribution.FlowOptions{
					Progress: func(d, n int) {
						if d == 0 { // the forward pass is done: the ETA counts the pattern passes
							forward, prog.start = time.Since(start).Seconds(), time.Now()
						}
						prog.total = n
						prog.update(d, "")
					}})
				if err != nil {
					return nil, err
				}
				e.flowSecs = time.Since(start).Seconds()
				if cols, _, _ := headKeys(e.flow, opts.AttentionSegment); opts.AttentionSegment != "" && len(cols) == 0 {
					var ids []string
					for _, n := range e.flow.Keys[:len(e.flow.Keys)-2] {
						ids = append(ids, n.ID)
					}
					return nil, flagErrorf("--attention-segment %s: not a content segment before the target nor the kind of one (have %s)",
						opts.AttentionSegment, strings.Join(ids, ", "))
				}
				fmt.Fprintf(errOut, "agentlens: attention flow over %d layers and %d query rows in %.1f s (forward pass %.1f s, %d pattern passes %.1f s)\n",
					e.flow.Layers, len(e.flow.Queries), e.flowSecs, forward, e.flow.Layers, e.flowSecs-forward)
			}
			res, err := e.flow.Result(meth)
			if err != nil {
				return nil, err
			}
			segs, err := attribution.BySegment(r, res)
			if err != nil {
				return nil, err
			}
			sink := res.Score[0]
			sum.Methods[meth] = methodSummary{Seconds: e.flowSecs, Value: res.Value, Sink: &sink, Top: topSummary(segs, opts.Top)}
			sum.LogProb = res.Value
			what := "averaged over layers and heads"
			if meth == methodRollout {
				what = "in the rollout"
			}
			fmt.Fprintf(errOut, "agentlens: %s: the token before the target puts %.1f%% of its attention on the first token (%s)\n", meth, 100*sink, what)
			e.tokRows = append(e.tokRows, attribution.TokenRows(r, res, info)...)
			e.segRows = append(e.segRows, attribution.SegmentRows(r, res.Method, "attention_mass", res.Value, segs, info)...)
			if e.first == nil {
				e.first, e.firstSegs = res, segs
			}
		case methodMatrix:
			prog := newETAProgress(opts.IO, "matrix: source segment", 0)
			sm, err := attribution.DeletionMatrix(s.Model, r, tg.Token, attribution.MatrixOptions{Sources: opts.Segments, Readout: readout,
				Progress: func(d, n int) { prog.total = n; prog.update(d, "") }})
			if err != nil {
				return nil, err
			}
			g, err := sm.Graph(ep.ID, opts.Keep)
			if err != nil {
				return nil, err
			}
			el := time.Since(start).Seconds()
			sum.Path = g.Path
			sum.Methods["segment_matrix"] = methodSummary{Seconds: el, Value: sm.Base[len(sm.Base)-1], Sources: len(sm.Sources),
				Computed: sm.Computed, Total: sm.Tokens}
			fmt.Fprintf(errOut, "agentlens: segment matrix of %d sources × %d segments in %.1f s (%d of %d context tokens computed)\n",
				len(sm.Sources), len(sm.Nodes), el, sm.Computed, sm.Tokens)
			e.sm, e.graph = sm, g
		}
	}
	e.sum.Agreement = agreement(e.segRows)
	return e, nil
}

// agreement returns the Spearman correlation of every two methods' segment scores over the segments
// both scored (nil with fewer than two methods).
func agreement(rows []data.SegmentAttribution) map[string]float64 {
	by := map[string]map[string]float64{}
	var methods []string
	for _, r := range rows {
		if by[r.Method] == nil {
			by[r.Method] = map[string]float64{}
			methods = append(methods, r.Method)
		}
		by[r.Method][r.SegmentID] = r.Score
	}
	var out map[string]float64
	for i, a := range methods {
		for _, b := range methods[i+1:] {
			var x, y []float64
			for id, v := range by[a] {
				if w, ok := by[b][id]; ok {
					x, y = append(x, v), append(y, w)
				}
			}
			if rho := attribution.Spearman(x, y); !math.IsNaN(rho) {
				if out == nil {
					out = map[string]float64{}
				}
				out[a+" ~ "+b] = rho
			}
		}
	}
	return out
}

// padBaseline is the integrated-gradients baseline that blanks the content: every token of a content
// segment replaced by the tokenizer's pad token (else its end-of-sequence token), the chat template's
// tokens kept.
func padBaseline(s *session, r *trace.Rendered, n int) []int {
	pad, ok := s.Tok.Pad()
	if !ok {
		pad, _ = s.Tok.EOS()
	}
	out := slices.Clone(r.IDs[:n])
	for t := range out {
		if r.Segments[r.TokenSegment[t]].Kind != trace.KindTemplate {
			out[t] = pad
		}
	}
	return out
}

// matrixMeta is what the matrix rows say beyond the matrix.
type matrixMeta struct {
	episode, model, hash string
	target               int
	readout              *attribution.Readout
	figs                 *figureOptions // formats and style of the figures (nil: SVG)
}

// writeMatrix writes matrix.parquet, its heatmap (matrix.svg, .png, .pdf as asked), graph.json and
// graph.dot.
func writeMatrix(dir string, sm *attribution.SegmentMatrix, g *attribution.SegmentGraph, meta matrixMeta) ([]string, error) {
	rows := matrixRows(sm, meta)
	if err := data.Write(filepath.Join(dir, "matrix.parquet"), rows); err != nil {
		return nil, err
	}
	files := []string{"matrix.parquet"}
	if len(rows) > 0 {
		fig, err := matrixFigure(rows)
		if err != nil {
			return nil, err
		}
		names, err := meta.figs.save(dir, "matrix", fig)
		if err != nil {
			return nil, err
		}
		files = append(files, names...)
	}
	js, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, "graph.json"), func(f *os.File) error { _, err := f.Write(append(js, '\n')); return err }); err != nil {
		return nil, err
	}
	title := fmt.Sprintf("%s · %s · keep %.0f%%", meta.episode, sm.Metric, 100*g.Keep)
	if err := writeFileAtomic(filepath.Join(dir, "graph.dot"), func(f *os.File) error { return heatmap.WriteDOT(f, g, title) }); err != nil {
		return nil, err
	}
	return append(files, "graph.json", "graph.dot"), nil
}

// matrixRows returns the matrix's rows: one per source and later destination with a scored token.
func matrixRows(sm *attribution.SegmentMatrix, meta matrixMeta) []data.SegmentMatrixEntry {
	params := ""
	if meta.readout != nil {
		params = "readout=" + meta.readout.Name + " site=" + meta.readout.Site.String()
	}
	var rows []data.SegmentMatrixEntry
	for s, si := range sm.Sources {
		src := sm.Nodes[si]
		for j := si + 1; j < len(sm.Nodes); j++ {
			d := sm.Nodes[j]
			if math.IsNaN(sm.Value[s][j]) {
				continue // a destination with no scored token
			}
			rows = append(rows, data.SegmentMatrixEntry{EpisodeID: meta.episode, Model: meta.model, ModelHash: meta.hash, Method: "deletion",
				Params: params, Metric: sm.Metric, TargetToken: int32(meta.target), SourceID: src.ID, SourceKind: string(src.Kind),
				SourceLabel: src.Label, SourceStart: int32(src.Tokens.Start), SourceEnd: int32(src.Tokens.End), DestID: d.ID,
				DestKind: string(d.Kind), DestLabel: d.Label, DestStart: int32(d.Tokens.Start), DestEnd: int32(d.Tokens.End),
				Base: sm.Base[j], Value: sm.Value[s][j], Effect: sm.Effect[s][j]})
		}
	}
	return rows
}
