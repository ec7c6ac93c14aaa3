package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/bundled"
)

// demoOptions are the inputs of "agentlens demo", a preset of "agentlens attribute".
type demoOptions struct {
	IO  *IOStreams
	Ctx context.Context

	modelChoice
	Episode string // a file, or bundled:<name>
	ID      string // episode id inside a multi-episode file
	Target  trace.TargetSpec
	Out     string
	Ablate  []trace.Kind // segment kinds to ablate; nil: no ablation
	Top     int          // rows of the summary table
	JSON    bool         // print attribute's JSON summary instead of the table
	segmentRules
	figureOptions
}

func newCmdDemo(f *Factory, runF func(*demoOptions) error) *cobra.Command {
	opts := &demoOptions{IO: f.IO}
	var margs modelChoiceArgs
	var targetArg, ablateArg string
	cmd := &cobra.Command{
		Use:   "demo [--model <file|dir|name>] [--episode <file|bundled:name>] [--target <spec>] [--out <dir>] [--segment-rule <file>]",
		Short: "Attribute the bundled blackmail episode on the default model and write heatmaps",
		Long: `Load the default model (SmolLM2-135M-Instruct, fetched into the cache if missing), render
the bundled blackmail episode with the model's own chat template, and attribute the first
token of the coercive <tool_use:email> to every token and segment of the context with
gradient×input on the input embeddings. With --ablate, also delete each segment of the
given kinds in turn and measure the change in the target's log-probability (each deletion
recomputes only the tokens after the segment, reusing the keys and values before it).

Writes to --out: tokens.parquet and segments.parquet (schemas in package data),
heatmap.html (a self-contained token viewer), the figures below and summary.json, and prints the segments with the largest attribution. The demo is a preset of
"agentlens attribute", which takes any episode and every method.

Targets: tool:<name>[,to=<regexp>][,body=<regexp>], literal:<text>, segment:<id>,
token:<index> (see "agentlens trace show" for segment ids and token indices).

A chat template that does not print structured tool calls or reasoning (SmolLM2's prints
only each message's content) leaves them out of the context: the demo warns, naming the
segments, and refuses a target in one of them. --tool-call-style xml|json writes them as
text in the assistant turn instead (see "agentlens trace show --help").

--segment-rule FILE adds rules for finding emails, documents, files and calendar entries
in untagged text (see "agentlens trace show --help").

The figures (segments: the bar chart; passage: the tokens of the segment with the largest
share; methods, with --ablate: gradient × input and deletion side by side) are written in each
--format, png and svg by default.`,
		Example: `  agentlens demo
  agentlens demo --ablate email --out out/demo --format png,pdf
  agentlens demo --episode bundled:blackmail_control --target 'literal:<tool_use:email>'
  agentlens demo --model ./my-hf-model --episode run.eval --target 'tool:email,to=kyle'
  agentlens demo --episode logs/run.eval --id blackmail_epoch_1 --target tool:send_email --tool-call-style xml`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			var err error
			if opts.Target, err = trace.ParseTarget(targetArg); err != nil {
				return flagErrorf("--target %s: %v", targetArg, err)
			}
			if ablateArg != "" {
				for _, k := range strings.Split(ablateArg, ",") {
					opts.Ablate = append(opts.Ablate, trace.Kind(strings.TrimSpace(k)))
				}
			}
			if opts.Top <= 0 {
				return flagErrorf("--top %d: want a positive number", opts.Top)
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
			return demoRun(opts)
		},
	}
	opts.modelChoice.flags(cmd, &margs)
	fl := cmd.Flags()
	fl.StringVarP(&opts.Episode, "episode", "e", bundled.SourcePrefix+bundled.Blackmail, "episode `file` or bundled:<name>")
	fl.StringVar(&opts.ID, "id", "", "episode `id` when the file holds several")
	fl.StringVarP(&targetArg, "target", "t", "tool:email", "target token `spec`")
	fl.StringVarP(&opts.Out, "out", "o", filepath.Join("out", "demo"), "output `dir`ectory")
	fl.StringVar(&ablateArg, "ablate", "", "segment `kinds` to ablate one by one, e.g. email,tool_result")
	fl.IntVar(&opts.Top, "top", 12, "segments in the printed summary")
	fl.BoolVar(&opts.JSON, "json", false, "print a JSON summary instead of the table")
	opts.addSegmentRuleFlag(cmd)
	opts.addFigureFlags(cmd, "png,svg")
	cmd.GroupID = groupAnalysis
	return cmd
}

// demoRun runs the demo: "agentlens attribute" with gradient×input (and deletion of the --ablate
// kinds) on the demo's episode and target.
func demoRun(opts *demoOptions) error {
	methods := []string{methodGrad}
	if opts.Ablate != nil {
		methods = append(methods, methodDeletion)
	}
	return attributeRun(&attributeOptions{IO: opts.IO, Ctx: opts.Ctx, modelChoice: opts.modelChoice, Episode: opts.Episode, ID: opts.ID,
		Target: opts.Target, Methods: methods, Segments: opts.Ablate, IGSteps: 16, IGTolerance: 0.01, IGBaseline: "pad", Keep: 0.8, Out: opts.Out, Top: opts.Top, JSON: opts.JSON,
		segmentRules: opts.segmentRules, figureOptions: opts.figureOptions})
}

// pickEpisode returns the episode with the given id, or the only one when id is empty.
func pickEpisode(path string, eps []*trace.Episode, id string) (*trace.Episode, error) {
	if id != "" {
		keep, err := episodesWithID(path, eps, id)
		if err != nil {
			return nil, err
		}
		return keep[0], nil
	}
	if len(eps) != 1 {
		var ids []string
		for _, ep := range eps {
			ids = append(ids, ep.ID)
		}
		return nil, flagErrorf("%s holds %d episodes: pick one with --id (%s)", path, len(eps), strings.Join(ids, ", "))
	}
	return eps[0], nil
}

// figure builds the heatmap figure of a token attribution: every segment that has counted tokens, in
// episode order, and the tokens up to the target.
func figure(r *trace.Rendered, res *attribution.Result, segs []attribution.SegmentScore, abl map[string]attribution.Ablation, tg trace.Target, modelName string) *heatmap.Figure {
	fig := &heatmap.Figure{
		Title:       fmt.Sprintf("%s → token %d %q (%s)", r.Episode.ID, tg.Token, r.Text[r.Offsets[tg.Token][0]:r.Offsets[tg.Token][1]], tg.Description),
		Subtitle:    fmt.Sprintf("%s · %s · %s = %.4f", modelName, res.Method, attribution.MetricName(res.Metric.Kind), res.Value),
		Target:      tg.Token,
		ScoreLabel:  methodUnit(res.Method, attribution.MetricName(res.Metric.Kind)),
		EffectLabel: methodUnit(attribution.MethodAblation, attribution.MetricName(res.Metric.Kind)),
	}
	index := map[string]int{}
	for _, s := range segs {
		index[s.ID] = len(fig.Segments)
		seg := heatmap.Segment{ID: s.ID, Kind: string(s.Kind), Label: s.Label, Score: s.Score, Share: s.Share}
		if a, ok := abl[s.ID]; ok {
			seg.Effect, seg.HasEffect = a.Effect, true
		}
		fig.Segments = append(fig.Segments, seg)
	}
	for t := 0; t <= tg.Token && t < len(r.IDs); t++ {
		sp := r.Offsets[t]
		si, ok := index[r.Segments[r.TokenSegment[t]].ID]
		if !ok {
			si = -1
		}
		score := 0.0 // the target itself (and anything after the scored prefix) has no attribution
		if t < len(res.Score) {
			score = res.Score[t]
		}
		fig.Tokens = append(fig.Tokens, heatmap.Token{Text: r.Text[sp[0]:sp[1]], Score: score, Segment: si})
	}
	return fig
}

// writeSummary prints the top segments by magnitude, with ablation effects when there are any.
func writeSummary(w io.Writer, segs []attribution.SegmentScore, abl map[string]attribution.Ablation, n int) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	head := "SEGMENT\tKIND\tTOKENS\tSHARE\tSCORE"
	if abl != nil {
		head += "\tABLATION"
	}
	fmt.Fprintln(tw, head+"\tLABEL")
	for _, s := range attribution.Top(segs, n) {
		line := fmt.Sprintf("%s\t%s\t%d\t%.1f%%\t%+.4f", s.ID, s.Kind, s.Counted, 100*s.Share, s.Score)
		if abl != nil {
			if a, ok := abl[s.ID]; ok {
				line += fmt.Sprintf("\t%+.4f", a.Effect)
			} else {
				line += "\t–"
			}
		}
		fmt.Fprintln(tw, line+"\t"+s.Label)
	}
	return tw.Flush()
}
