package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/bundled"
)

// demoOptions are the inputs of "agentlens demo" (and of "agentlens attribute", which is the same job
// with other defaults).
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
	segmentRules
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
heatmap.html (a self-contained token viewer) and segments.svg (a bar chart for papers),
and prints the segments with the largest attribution.

Targets: tool:<name>[,to=<regexp>][,body=<regexp>], literal:<text>, segment:<id>,
token:<index> (see "agentlens trace show" for segment ids and token indices).

A chat template that does not print structured tool calls or reasoning (SmolLM2's prints
only each message's content) leaves them out of the context: the demo warns, naming the
segments, and refuses a target in one of them. --tool-call-style xml|json writes them as
text in the assistant turn instead (see "agentlens trace show --help").

--segment-rule FILE adds rules for finding emails, documents, files and calendar entries
in untagged text (see "agentlens trace show --help").`,
		Example: `  agentlens demo
  agentlens demo --ablate email --out out/demo
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
	opts.addSegmentRuleFlag(cmd)
	cmd.GroupID = groupAnalysis
	return cmd
}

func demoRun(opts *demoOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	errOut := opts.IO.ErrOut
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
	s, err := opts.open(ctx, opts.IO)
	if err != nil {
		return err
	}
	r, err := s.render(ep, false)
	if err != nil {
		return err
	}
	s.warnUnrendered(errOut, r)
	tg, err := trace.FindTarget(r, opts.Target)
	if err != nil {
		return notRenderedHint(err)
	}
	metric := model.Metric{Kind: model.LogProb, Position: tg.Token - 1, Target: r.IDs[tg.Token]}
	fmt.Fprintf(errOut, "agentlens: episode %s, %d tokens; target token %d %q in %s (%s)\n",
		ep.ID, len(r.IDs), tg.Token, s.Tok.Token(r.IDs[tg.Token]), tg.Segment, tg.Description)
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	res, err := attribution.GradientXInput(s.Model, r.IDs[:tg.Token], metric)
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "agentlens: gradient×input in %.1f s: log p(target) = %.4f\n", time.Since(start).Seconds(), res.Value)
	segs, err := attribution.BySegment(r, res)
	if err != nil {
		return err
	}
	var abl map[string]attribution.Ablation
	var ablBase float64
	if opts.Ablate != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		start = time.Now()
		var prog func(done, total int)
		if opts.IO.StderrTTY {
			prog = func(done, total int) { fmt.Fprintf(errOut, "\r\033[Kablation: segment %d/%d", done, total) }
		}
		base, as, err := attribution.AblateSegments(s.Model, r, metric, attribution.AblationOptions{Kinds: opts.Ablate, Progress: prog})
		if err != nil {
			return err
		}
		if prog != nil {
			fmt.Fprint(errOut, "\r\033[K")
		}
		ablBase = base
		abl = map[string]attribution.Ablation{}
		for _, a := range as {
			abl[a.ID] = a
		}
		fmt.Fprintf(errOut, "agentlens: ablated %d segments in %.1f s\n", len(as), time.Since(start).Seconds())
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	info := attribution.RowInfo{Model: s.Name, Target: tg}
	metricName := attribution.MetricName(metric.Kind)
	if err := data.Write(filepath.Join(opts.Out, "tokens.parquet"), attribution.TokenRows(r, res, info)); err != nil {
		return err
	}
	rows := attribution.SegmentRows(r, res.Method, metricName, res.Value, segs, info)
	if abl != nil {
		var as []attribution.SegmentScore
		for _, sg := range segs {
			if a, ok := abl[sg.ID]; ok {
				as = append(as, a.SegmentScore)
			}
		}
		rows = append(rows, attribution.SegmentRows(r, attribution.MethodAblation, metricName, ablBase, as, info)...)
	}
	if err := data.Write(filepath.Join(opts.Out, "segments.parquet"), rows); err != nil {
		return err
	}
	fig := figure(r, res, segs, abl, tg, s.Name)
	if err := writeFileAtomic(filepath.Join(opts.Out, "heatmap.html"), func(f *os.File) error { return heatmap.WriteHTML(f, fig) }); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(opts.Out, "segments.svg"), func(f *os.File) error { return heatmap.WriteSVG(f, fig) }); err != nil {
		return err
	}
	if err := writeSummary(opts.IO.Out, segs, abl, opts.Top); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "\nwrote %s: tokens.parquet segments.parquet heatmap.html segments.svg\n", opts.Out)
	return nil
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
		Title:    fmt.Sprintf("%s → token %d %q (%s)", r.Episode.ID, tg.Token, r.Text[r.Offsets[tg.Token][0]:r.Offsets[tg.Token][1]], tg.Description),
		Subtitle: fmt.Sprintf("%s · %s · %s = %.4f", modelName, res.Method, attribution.MetricName(res.Metric.Kind), res.Value),
		Target:   tg.Token,
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
