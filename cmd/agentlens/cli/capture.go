package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// captureOptions are the inputs of "agentlens capture".
type captureOptions struct {
	IO  *IOStreams
	Ctx context.Context

	modelChoice
	Episodes  []string // files or directories
	Out       string   // output directory of shards
	Layers    []int    // nil: all
	Sites     []hook.Site
	Positions []attribution.Position
	ShardSize int
	episodeLabels
	segmentRules
	jsonOutput
	sharding
}

func newCmdCapture(f *Factory, runF func(*captureOptions) error) *cobra.Command {
	opts := &captureOptions{IO: f.IO}
	var margs modelChoiceArgs
	var layersArg, sitesArg, posArg, targetArg, posVals, negVals, shardArg string
	cmd := &cobra.Command{
		Use:   "capture <episodes>... --out <dir> [--model <file|dir|name>] [--layers <list>] [--positions <list>]",
		Short: "Run a model over labeled episodes and write their activations to Parquet",
		Long: `Render each episode with the model's chat template, find its action (the first tool call of
the last assistant message, or --target), run the model over the context before it, and write
one activation vector per episode, layer, site and position policy:

  decision        the last token before the action
  final           the final prompt token, before the deciding assistant message starts
                  (twins share it: a probe must not separate them there)
  assistant_mean  the mean over the deciding message's tokens before the action

Labels come from each episode's labels (--label-key, --positive, --negative; what a
recording carries: agentic-misalignment verdicts, inspect scores and metadata, the native
format's labels) or from a sidecar CSV or Parquet file keyed by episode_id (--labels,
--label-column; a generated dataset's labels.parquet is one).
Episodes with another value are written as unlabeled (label -1), for monitoring and for
false-positive thresholds on control chats.

Output: --out holds shards activations-NNNNN.parquet (table Activation in package data),
each written whole (temporary file, then rename). A second run with the same --out skips
the episodes already written, so an interrupted capture resumes. Consecutive episodes that
share a token prefix (twins, one system prompt) reuse its keys and values.

--json prints the run's summary as one JSON object instead of the last line: episodes
read, already in --out and captured now, rows and shards written, context tokens and
those computed (the rest reused), and timings.

--shard i/n runs task i of n (a Slurm array task, a Kubernetes Indexed Job pod, one of n
shell jobs): it captures the episodes whose --shard-key (the twin-pair label pair_id, so
twins share a task and their prefix; else the episode id) hashes to i into
--out/shard-IIIII-of-NNNNN/, in chunks of --shard-size episodes each committed by a marker
file, and writes manifest.json (inputs, model hash, settings, episodes, row counts and
checksums) last. Rerunning a task resumes after its last committed chunk; a finished task
is skipped. agentlens merge <out> joins the n tasks into one table equal to a single run's.`,
		Example: `  agentlens capture out/dataset/episodes.jsonl --out out/acts --model smollm2
  agentlens capture out/dataset --out out/acts --layers 0-29 --positions decision,final,assistant_mean
  agentlens capture out/dataset/test_family.jsonl --out out/acts-email --layers 12 --positions mean:email,mean:reasoning
  agentlens capture runs/*.eval --out out/acts --label-key harmful --positive true --negative false
  agentlens capture logs/ --out out/acts --labels verdicts.csv --label-column harmful
  agentlens capture out/dataset --out out/acts --layers 12 --json | jq .rows
  agentlens capture out/dataset --out out/acts-sharded --shard 2/4    # task 2 of 4; then agentlens merge out/acts-sharded`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return flagErrorf("capture: name at least one episode file or directory")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Episodes = args
			var err error
			if opts.Out == "" {
				return flagErrorf("--out: name the output directory")
			}
			if opts.Layers, err = parseLayers(layersArg); err != nil {
				return flagErrorf("--layers %s: %v", layersArg, err)
			}
			if opts.Sites, err = parseSites(sitesArg); err != nil {
				return flagErrorf("--sites %s: %v", sitesArg, err)
			}
			for _, p := range splitList(posArg) {
				pp, err := attribution.ParsePosition(p)
				if err != nil {
					return flagErrorf("--positions %s: %v", posArg, err)
				}
				opts.Positions = append(opts.Positions, pp)
			}
			if err := opts.episodeLabels.parse(cmd, targetArg, posVals, negVals); err != nil {
				return err
			}

			if opts.ShardSize <= 0 {
				return flagErrorf("--shard-size %d: want a positive number of episodes", opts.ShardSize)
			}
			opts.ChunkSize = opts.ShardSize
			if err := opts.parseShard(cmd, shardArg); err != nil {
				return err
			}
			if err := opts.modelChoice.parse(f, margs); err != nil {
				return err
			}
			if err := opts.readSegmentRules(); err != nil {
				return err
			}
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return captureRun(opts)
		},
	}
	opts.modelChoice.flags(cmd, &margs)
	fl := cmd.Flags()
	fl.StringVarP(&opts.Out, "out", "o", "", "output `dir`ectory of activation shards")
	fl.StringVar(&layersArg, "layers", "all", "layers to read: all, or a `list` such as 0,5,10-12")
	fl.StringVar(&sitesArg, "sites", "resid_post", "hook `sites` per layer: resid_post, resid_mid, attn_out, mlp_out, resid_pre")
	fl.StringVar(&posArg, "positions", "decision,final", "position `policies`: decision, final, assistant_mean, every (each token), mean:KIND or mean:SEGMENT-ID")
	opts.episodeLabels.flags(cmd, &targetArg, &posVals, &negVals)
	fl.IntVar(&opts.ShardSize, "shard-size", 200, "episodes per output file (with --shard: per committed chunk)")
	opts.addShardFlags(cmd, &shardArg, 0)
	opts.addSegmentRuleFlag(cmd)
	opts.addJSONFlag(cmd)
	cmd.GroupID = groupAnalysis
	return cmd
}

// captureSummary is the --json output of "agentlens capture".
type captureSummary struct {
	Out            string  `json:"out"`
	Model          string  `json:"model,omitempty"`      // empty when nothing was left to capture
	ModelHash      string  `json:"model_hash,omitempty"` // as in the rows
	Episodes       int     `json:"episodes"`             // read from the arguments
	Done           int     `json:"episodes_done"`        // already in --out, skipped
	Captured       int     `json:"episodes_captured"`
	Rows           int     `json:"rows"`           // written by this run
	Shards         int     `json:"shards"`         // in --out after the run
	ShardsWritten  int     `json:"shards_written"` // by this run
	ContextTokens  int     `json:"context_tokens"`
	ComputedTokens int     `json:"computed_tokens"` // the rest were reused from shared prefixes
	ElapsedSecs    float64 `json:"elapsed_s"`
	SecsPerEpisode float64 `json:"seconds_per_episode,omitempty"`
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// parseLayers reads "all" (nil) or a list of layers and ranges: "0,5,10-12".
func parseLayers(s string) ([]int, error) {
	if strings.TrimSpace(s) == "all" {
		return nil, nil
	}
	var out []int
	for _, item := range splitList(s) {
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a layer or a range a-b", item)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a layer or a range a-b", item)
			}
		}
		for l := a; l <= b; l++ {
			if !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no layers")
	}
	sort.Ints(out)
	return out, nil
}

// parseSites reads a list of in-block hook sites of d_model width, by TransformerLens name with or
// without "hook_" (resid_post, hook_attn_out).
func parseSites(s string) ([]hook.Site, error) {
	allowed := []hook.Site{hook.ResidPre, hook.ResidMid, hook.ResidPost, hook.AttnOut, hook.MLPOut}
	var out []hook.Site
	for _, item := range splitList(s) {
		name := strings.TrimPrefix(item, "hook_")
		i := slices.IndexFunc(allowed, func(st hook.Site) bool { return st.String() == "hook_"+name })
		if i < 0 {
			var names []string
			for _, st := range allowed {
				names = append(names, strings.TrimPrefix(st.String(), "hook_"))
			}
			return nil, fmt.Errorf("unknown site %q (want %s)", item, strings.Join(names, ", "))
		}
		out = append(out, allowed[i])
	}
	if len(out) == 0 {
		return nil, errors.New("no sites")
	}
	return out, nil
}

// episodeLabels are the flags that say where an episode's action, class, pair and split are.
type episodeLabels struct {
	Target     *trace.TargetSpec // nil: attribution.DecisionTarget
	LabelKey   string            // episode label holding the class
	Positive   []string          // its values for label 1
	Negative   []string          // its values for label 0
	GroupKey   string            // episode label holding the twin-pair id
	SplitKey   string            // episode label holding the split
	LabelsFile string            // sidecar CSV keyed by episode_id ("" = none)
	LabelCol   string            // the sidecar's class column
}

// flags registers the label flags on cmd, parsed into e by parse.
func (e *episodeLabels) flags(cmd *cobra.Command, targetArg, posVals, negVals *string) {
	fl := cmd.Flags()
	fl.StringVarP(targetArg, "target", "t", "", "action token `spec` (default: the last assistant message's first tool call)")
	fl.StringVar(&e.LabelKey, "label-key", "label", "episode label `key` holding the class")
	fl.StringVar(posVals, "positive", "misaligned,harmful,true,1,yes", "label `values` that mean positive")
	fl.StringVar(negVals, "negative", "aligned,benign,false,0,no", "label `values` that mean negative")
	fl.StringVar(&e.GroupKey, "group-key", "pair_id", "episode label `key` holding the twin-pair id")
	fl.StringVar(&e.SplitKey, "split-key", "split", "episode label `key` holding the split")
	fl.StringVar(&e.LabelsFile, "labels", "", "sidecar CSV or Parquet `file` with an episode_id column (overrides episode labels)")
	fl.StringVar(&e.LabelCol, "label-column", "label", "the sidecar's class `column`")
}

func (e *episodeLabels) parse(cmd *cobra.Command, targetArg, posVals, negVals string) error {
	if targetArg != "" {
		spec, err := trace.ParseTarget(targetArg)
		if err != nil {
			return flagErrorf("--target %s: %v", targetArg, err)
		}
		e.Target = &spec
	}
	e.Positive, e.Negative = splitList(posVals), splitList(negVals)
	if cmd.Flags().Changed("label-column") && e.LabelsFile == "" {
		return flagErrorf("--label-column %s needs --labels <file>", e.LabelCol)
	}
	return nil
}

// labeler returns the labeler the flags describe, reading the sidecar when there is one.
func (e *episodeLabels) labeler() (labeler, error) {
	lab := labeler{key: e.LabelKey, pos: lower(e.Positive), neg: lower(e.Negative)}
	if e.LabelsFile != "" {
		sc, err := readSidecar(e.LabelsFile, e.LabelCol)
		if err != nil {
			return labeler{}, err
		}
		lab.sidecar, lab.source = sc, "sidecar:"+filepath.Base(e.LabelsFile)+":"+e.LabelCol
	}
	return lab, nil
}

// episodeItems renders episodes for the session's model and finds each one's action, class, pair and
// split.
func episodeItems(s *session, eps []*trace.Episode, e episodeLabels, lab labeler) ([]attribution.CaptureItem, error) {
	items := make([]attribution.CaptureItem, len(eps))
	for i, ep := range eps {
		r, err := s.render(ep, false)
		if err != nil {
			return nil, err
		}
		tg := 0
		if e.Target != nil {
			t, err := trace.FindTarget(r, *e.Target)
			if err != nil {
				return nil, notRenderedHint(fmt.Errorf("episode %s: %w", ep.ID, err))
			}
			tg = t.Token
		} else if tg, err = attribution.DecisionTarget(r); err != nil {
			return nil, notRenderedHint(err)
		}
		l, src := lab.label(ep)
		items[i] = attribution.CaptureItem{R: r, Target: tg, Label: l, LabelSource: src,
			Group: ep.Labels[e.GroupKey], Split: ep.Labels[e.SplitKey]}
	}
	return items, nil
}

// labeler turns an episode's labels (or a sidecar row) into a class: 1, 0 or −1.
type labeler struct {
	key, source string
	pos, neg    []string
	sidecar     map[string]string // episode id → value, when a sidecar is given
}

func (l labeler) label(ep *trace.Episode) (int32, string) {
	v, ok := ep.Labels[l.key]
	src := "labels." + l.key
	if l.sidecar != nil {
		v, ok = l.sidecar[ep.ID]
		src = l.source
	}
	switch {
	case !ok:
		return -1, ""
	case slices.Contains(l.pos, strings.ToLower(v)):
		return 1, src
	case slices.Contains(l.neg, strings.ToLower(v)):
		return 0, src
	}
	return -1, src
}

// readSidecar reads a sidecar label file keyed by episode_id, mapping ids to the values of col: a CSV
// with a header, or a Parquet file (*.parquet, any tool's: data.ReadColumns).
func readSidecar(path, col string) (map[string]string, error) {
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		cols, err := data.ReadColumns(path, "episode_id", col)
		if err != nil {
			return nil, fmt.Errorf("labels %s: %w", path, err)
		}
		out := map[string]string{}
		for i, id := range cols["episode_id"] {
			if _, dup := out[id]; dup {
				return nil, fmt.Errorf("labels %s: row %d: episode_id %s appears twice", path, i, id)
			}
			out[id] = cols[col][i]
		}
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("labels %s: %w", path, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("labels %s: header: %w", path, err)
	}
	idCol, valCol := slices.Index(head, "episode_id"), slices.Index(head, col)
	if idCol < 0 || valCol < 0 {
		return nil, fmt.Errorf("labels %s: header %v lacks episode_id or %s", path, head, col)
	}
	out := map[string]string{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("labels %s: %w", path, err)
		}
		if _, dup := out[rec[idCol]]; dup {
			return nil, fmt.Errorf("labels %s: line %d: episode_id %s appears twice", path, line, rec[idCol])
		}
		out[rec[idCol]] = rec[valCol]
	}
}

// shardName is the file name of output shard i.
func shardName(i int) string { return fmt.Sprintf("activations-%05d.parquet", i) }

// doneEpisodes lists the episode ids already in dir's shards, the number of shards, and the model
// hashes they were captured with. It reads only those columns, so resuming a large capture costs
// little memory.
func doneEpisodes(dir string) (map[string]bool, int, map[string]bool, error) {
	done, hashes := map[string]bool{}, map[string]bool{}
	shards, _ := filepath.Glob(filepath.Join(dir, "activations-*.parquet"))
	for _, s := range shards {
		cols, err := data.ReadColumns(s, "episode_id", "model_hash")
		if err != nil {
			return nil, 0, nil, err
		}
		for i, id := range cols["episode_id"] {
			done[id] = true
			hashes[cols["model_hash"][i]] = true
		}
	}
	return done, len(shards), hashes, nil
}

func captureRun(opts *captureOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	errOut := opts.IO.ErrOut
	eps, err := loadAllEpisodes(opts.Episodes, opts.Segment)
	if err != nil {
		return err
	}
	lab, err := opts.labeler()
	if err != nil {
		return err
	}
	if opts.Shard != nil {
		return captureSharded(ctx, opts, eps, lab)
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	done, shard, hashes, err := doneEpisodes(opts.Out)
	if err != nil {
		return err
	}
	var todo []*trace.Episode
	for _, ep := range eps {
		if !done[ep.ID] {
			todo = append(todo, ep)
		}
	}
	if len(done) > 0 {
		fmt.Fprintf(errOut, "agentlens: %s holds %d episodes already; capturing the other %d\n", opts.Out, len(done), len(todo))
	}
	sum := captureSummary{Out: opts.Out, Episodes: len(eps), Done: len(eps) - len(todo), Shards: shard}
	if len(todo) == 0 {
		if opts.JSON {
			return opts.print(sum)
		}
		return nil
	}
	s, err := opts.open(ctx, opts.IO)
	if err != nil {
		return err
	}
	hash, err := modelHash(opts.Model)
	if err != nil {
		return err
	}
	for h := range hashes {
		if h != hash {
			return fmt.Errorf("%s holds activations of model weights %s, not %s's %s: capture into another --out", opts.Out, h, s.Name, hash)
		}
	}
	sum.Model, sum.ModelHash = s.Name, hash
	start := time.Now()
	prog := newETAProgress(opts.IO, "capture: episode", len(todo))
	var st attribution.CaptureStats
	for c := 0; c < len(todo); c += opts.ShardSize {
		items, err := episodeItems(s, todo[c:min(len(todo), c+opts.ShardSize)], opts.episodeLabels, lab)
		if err != nil {
			return err
		}
		rows, err := opts.captureChunk(ctx, s, hash, items, &st, c == 0, func(d, computed int) {
			prog.update(c+d, fmt.Sprintf("%d%% of tokens computed", 100*(st.Computed+computed)/max(1, st.Tokens+computed)))
		})
		if err != nil {
			return err
		}
		if err := data.Write(filepath.Join(opts.Out, shardName(shard)), rows); err != nil {
			return err
		}
		shard++
		sum.Rows += len(rows)
	}
	prog.update(len(todo), "")
	el := time.Since(start)
	fmt.Fprintf(errOut, "agentlens: captured %d episodes (%d context tokens, %d computed: %.0f%% reused from shared prefixes) in %.1f s, %.2f s per episode\n",
		st.Items, st.Tokens, st.Computed, 100*(1-float64(st.Computed)/float64(max(1, st.Tokens))), el.Seconds(), el.Seconds()/float64(st.Items))
	sum.Captured, sum.Shards, sum.ShardsWritten = st.Items, shard, shard-sum.Shards
	sum.ContextTokens, sum.ComputedTokens = st.Tokens, st.Computed
	sum.ElapsedSecs, sum.SecsPerEpisode = el.Seconds(), el.Seconds()/float64(max(1, st.Items))
	if opts.JSON {
		return opts.print(sum)
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s: %d shards\n", opts.Out, shard)
	return nil
}

// captureChunk captures items into activation rows, adding to st; warn says whether to warn about
// segments the template does not render.
func (opts *captureOptions) captureChunk(ctx context.Context, s *session, hash string, items []attribution.CaptureItem, st *attribution.CaptureStats,
	warn bool, progress func(done, computed int)) ([]data.Activation, error) {
	if warn {
		rs := make([]*trace.Rendered, len(items))
		for i, it := range items {
			rs[i] = it.R
		}
		s.warnUnrendered(opts.IO.ErrOut, rs...)
	}
	var rows []data.Activation
	bst, err := attribution.Capture(s.Model, items, attribution.CaptureOptions{Model: s.Name, ModelHash: hash, Layers: opts.Layers,
		Sites: opts.Sites, Positions: opts.Positions, Progress: progress}, func(i int, r []data.Activation) error {
		rows = append(rows, r...)
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	st.Items, st.Tokens, st.Computed = st.Items+bst.Items, st.Tokens+bst.Tokens, st.Computed+bst.Computed
	return rows, nil
}

// captureSharded runs task --shard of a sharded capture: table "activations" in chunks of
// --shard-size episodes.
func captureSharded(ctx context.Context, opts *captureOptions, eps []*trace.Episode, lab labeler) error {
	var s *session
	var hash string
	var st attribution.CaptureStats
	first := true
	t := &shardTask{IO: opts.IO, Command: "capture", Out: opts.Out, sharding: opts.sharding, Inputs: opts.Episodes, Eps: eps, Model: &opts.modelChoice,
		Open: func(h string) (string, error) {
			var err error
			hash = h
			if s, err = opts.open(ctx, opts.IO); err != nil {
				return "", err
			}
			return backendLabel(s.Backend), nil
		},
		Work: func(c *data.Chunk, eps []*trace.Episode, progress func(), skip func(*trace.Episode, error) error) error {
			// An episode whose action cannot be found fails here, before the batch runs.
			var items []attribution.CaptureItem
			for _, ep := range eps {
				it, err := episodeItems(s, []*trace.Episode{ep}, opts.episodeLabels, lab)
				if err != nil {
					if err := skip(ep, err); err != nil {
						return err
					}
					continue
				}
				items = append(items, it...)
			}
			if len(items) == 0 {
				return nil
			}
			n := 0
			rows, err := opts.captureChunk(ctx, s, hash, items, &st, first, func(d, _ int) {
				for ; n < d; n++ {
					progress()
				}
			})
			first = false
			if err != nil {
				return err
			}
			return data.WriteTable(c, "activations", rows)
		}}
	sum, err := t.run(ctx)
	if err != nil {
		return err
	}
	if st.Items > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "agentlens: captured %d episodes: %d context tokens, %d computed (%.0f%% reused from shared prefixes)\n",
			st.Items, st.Tokens, st.Computed, 100*(1-float64(st.Computed)/float64(max(1, st.Tokens))))
	}
	return sum.print(opts.IO, &opts.jsonOutput)
}

func lower(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToLower(x)
	}
	return out
}
