package cli

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/attribution/organism"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/backend"
	"github.com/agentlens/agentlens/model/train"
)

func newCmdOrganism(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "organism <command>",
		Short: "Train and score the faithfulness model organism",
		Long: `The faithfulness model organism is a two-layer Llama that agentlens trains itself on
synthetic episodes whose action ("blackmail" or "comply") depends only on planted
clue segments: it blackmails exactly when a goal line, a replacement email and a
leverage email are all present, among distractor emails. Its weights ship inside
agentlens, so "organism eval" needs no download.`,
		GroupID: groupAnalysis,
		Example: "  agentlens organism eval --out organism-eval\n  agentlens organism train --out my-organism",
	}
	cmd.AddCommand(newCmdOrganismTrain(f, nil), newCmdOrganismEval(f, nil))
	return cmd
}

// organismTrainOptions are the inputs of "agentlens organism train".
type organismTrainOptions struct {
	IO       *IOStreams
	CacheDir func() (string, error)
	jsonOutput

	Out      string
	Seed     uint64
	Steps    int
	Batch    int
	LR       float64
	Episodes int
	Backend  string
	HeldOut  int    // held-out episodes for the final accuracy
	Variant  string // both, direct or reasoning
	Flip     float64
}

func newCmdOrganismTrain(f *Factory, runF func(*organismTrainOptions) error) *cobra.Command {
	opts := &organismTrainOptions{IO: f.IO, CacheDir: f.CacheDir}
	cmd := &cobra.Command{
		Use:   "train --out <dir> [--variant both|direct|reasoning] [--flip-share <x>] [--seed <n>] [--steps <n>] [--batch <n>] [--lr <x>] [--episodes <n>]",
		Short: "Train the model organism from scratch",
		Long: `Train the model organism from scratch and write it to <dir> as a Hugging Face model
directory (config.json, model.safetensors, tokenizer.json, tokenizer_config.json)
that every agentlens command loads with --model <dir>.

Training generates --episodes episodes of both variants (direct, and with a short
reasoning span), 40% positives and mostly near-miss negatives, and runs Adam with
a cosine schedule on the cross-entropy of the action (and of the reasoning words).
It prints the loss and batch accuracy every 100 steps, then the accuracy on 400
held-out episodes. The defaults reproduce the shipped organism (on the same backend);
--variant reasoning --flip-share 0.1 the shipped reasoning organism, trained on
reasoning episodes only, a tenth of them with random reasoning words that decide
the action.`,
		Example: `  agentlens organism train --out my-organism
  agentlens organism train --variant reasoning --flip-share 0.1 --out my-reasoning-organism
  agentlens organism train --out /tmp/quick --steps 200 --seed 7 --json | jq .held_out`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.Out == "":
				return flagErrorf("--out is required: the directory to write the model to")
			case opts.Steps < 1:
				return flagErrorf("--steps %d: want at least 1", opts.Steps)
			case opts.Batch < 1:
				return flagErrorf("--batch %d: want at least 1", opts.Batch)
			case opts.LR <= 0:
				return flagErrorf("--lr %g: want a positive learning rate", opts.LR)
			case opts.Episodes < opts.Batch:
				return flagErrorf("--episodes %d: want at least one batch (%d)", opts.Episodes, opts.Batch)
			case opts.Seed == 0:
				return flagErrorf("--seed 0: want a seed of at least 1")
			case !slices.Contains([]string{"both", string(organism.Direct), string(organism.Reasoning)}, opts.Variant):
				return flagErrorf("--variant %s: want both, direct or reasoning", opts.Variant)
			case opts.Flip < 0 || opts.Flip > 1 || opts.Flip > 0 && opts.Variant == string(organism.Direct):
				return flagErrorf("--flip-share %g: want a share from 0 to 1 of reasoning episodes", opts.Flip)
			}
			if runF != nil {
				return runF(opts)
			}
			return organismTrainRun(opts)
		},
	}
	opts.addJSONFlag(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&opts.Out, "out", "o", "", "model `dir`ectory to write")
	fl.Uint64Var(&opts.Seed, "seed", 1, "`seed` of the weights, the episodes and the batch order")
	fl.IntVar(&opts.Steps, "steps", organism.DefaultSteps, "optimiser `steps`")
	fl.IntVar(&opts.Batch, "batch", 32, "episodes per step")
	fl.Float64Var(&opts.LR, "lr", 3e-3, "peak learning rate")
	fl.IntVar(&opts.Episodes, "episodes", 20000, "training episodes generated")
	fl.StringVar(&opts.Backend, "backend", "", "backend: go, xla or auto (default $AGENTLENS_BACKEND or auto)")
	fl.IntVar(&opts.HeldOut, "held-out", 400, "held-out episodes the final accuracy is measured on")
	fl.StringVar(&opts.Variant, "variant", "both", "episode `variant`s trained on: both, direct or reasoning (reasoning also scores the <thinking> tag)")
	fl.Float64Var(&opts.Flip, "flip-share", 0, "`share` of reasoning episodes whose random reasoning words decide the action")
	_ = cmd.RegisterFlagCompletionFunc("variant", completeList("both", "direct", "reasoning"))
	return cmd
}

// organismTrainSummary is organism train's --json output.
type organismTrainSummary struct {
	Out       string             `json:"out"`
	Backend   string             `json:"backend"`
	Steps     int                `json:"steps"`
	Seconds   float64            `json:"seconds"`
	FinalLoss float64            `json:"final_loss"`
	HeldOut   map[string]float64 `json:"held_out"` // accuracy on positives, negatives (and reasoning words)
	Counts    map[string]int     `json:"held_out_counts"`
}

func organismTrainRun(opts *organismTrainOptions) error {
	opts.quiet(&opts.IO)
	be, err := organismBackend(opts.IO, opts.CacheDir, opts.Backend)
	if err != nil {
		return err
	}
	prog := newETAProgress(opts.IO, "training", opts.Steps)
	to := organism.TrainOptions{Seed: opts.Seed, Steps: opts.Steps, BatchSize: opts.Batch, LR: opts.LR, Episodes: opts.Episodes,
		FlipShare: opts.Flip}
	var variants []organism.Variant // nil: both
	if opts.Variant != "both" {
		variants = []organism.Variant{organism.Variant(opts.Variant)}
		to.Variants, to.ThinkingTag = variants, opts.Variant == string(organism.Reasoning)
	}
	to.Progress = func(s organism.StepStats) {
		prog.update(s.Step, fmt.Sprintf("loss %.4f", s.Loss))
		if s.Step%100 == 0 || s.Step == s.Steps {
			prog.clear()
			fmt.Fprintf(opts.IO.Out, "step %5d/%d  loss %.4f  batch action accuracy %.3f  %s\n", s.Step, s.Steps, s.Loss,
				s.ActionAcc, s.Elapsed.Round(time.Second))
		}
	}
	w, stats, err := organism.Train(be, to)
	prog.clear()
	if err != nil {
		return err
	}
	if err := organism.Write(opts.Out, w); err != nil {
		return err
	}
	last := stats[len(stats)-1]
	fmt.Fprintf(opts.IO.Out, "trained %d steps in %s; wrote %s\n", len(stats), last.Elapsed.Round(time.Second), opts.Out)
	m, _, err := model.Load(opts.Out, model.LoadOptions{Backend: be})
	if err != nil {
		return err
	}
	r, err := organism.NewRenderer()
	if err != nil {
		return err
	}
	eps, err := organism.HeldOutMixed(opts.HeldOut, 1, variants)
	if err != nil {
		return err
	}
	acc, err := organism.Measure(m, r, eps)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "held-out accuracy: positives %.4f (%d), negatives %.4f (%d)", acc.Pos(), acc.Positives, acc.Neg(), acc.Negatives)
	if acc.Words > 0 {
		fmt.Fprintf(opts.IO.Out, ", reasoning words %.4f (%d)", acc.Word(), acc.Words)
	}
	fmt.Fprintln(opts.IO.Out)
	if opts.JSON {
		sum := organismTrainSummary{Out: opts.Out, Backend: be.Name(), Steps: len(stats), Seconds: last.Elapsed.Seconds(), FinalLoss: last.Loss,
			HeldOut: map[string]float64{"positives": acc.Pos(), "negatives": acc.Neg()},
			Counts:  map[string]int{"positives": acc.Positives, "negatives": acc.Negatives}}
		if acc.Words > 0 {
			sum.HeldOut["reasoning_words"], sum.Counts["reasoning_words"] = acc.Word(), acc.Words
		}
		return opts.print(sum)
	}
	return nil
}

// organismEvalOptions are the inputs of "agentlens organism eval".
type organismEvalOptions struct {
	IO       *IOStreams
	CacheDir func() (string, error)
	figureOptions
	jsonOutput

	Model    string // a model directory, or "embedded"
	RModel   string // the matrix's model: a directory, "embedded" (the reasoning organism) or "same"
	Episodes int
	Methods  []string
	Out      string
	Backend  string
	IGSteps  int
	Layer    int
	Seed     uint64
}

func newCmdOrganismEval(f *Factory, runF func(*organismEvalOptions) error) *cobra.Command {
	opts := &organismEvalOptions{IO: f.IO, CacheDir: f.CacheDir}
	cmd := &cobra.Command{
		Use:   "eval --out <dir> [--model <dir>|embedded] [--reasoning-model <dir>|embedded|same] [--episodes <n>] [--method <list>] [--json]",
		Short: "Score attribution methods on held-out organism episodes",
		Long: `Run attribution methods on held-out positive episodes of the model organism and score
each by whether it ranks the planted clue segments (the goal line, the replacement
email, the leverage email) above every distractor.

Methods: deletion (segment ablation), ig (integrated gradients from the pad
baseline, path refined to a 1% completeness gap), grad_x_input, patch
(noising activation patching at resid_pre of --layer: one segment of a copy with
every clue rewritten away, same lengths, patched into the episode), atp (attribution
patching of the same cells) and matrix (the deletion segment × segment matrix).
Every method but the matrix scores logit[blackmail] − logit[comply] (the organism is
saturated: log p(blackmail) ≈ 0). The token methods, deletion and patching run on
--episodes direct episodes with --model; the matrix on --episodes reasoning episodes with
--reasoning-model, where it should find the chain clue → reasoning → action.

Writes <dir>/organism.parquet (one row per method, episode and candidate segment),
<dir>/summary.json and the bar figure <dir>/organism.<format>, and prints a
Markdown table: per method the share of episodes whose planted segments are
exactly the top k (k = 3), the mean rank of a planted segment (best 2.0), and
for the matrix the share where the planted chain is found (the clues are the top
sources into the reasoning span, and the reasoning span the top source into the
action). Rankings by signed score (support for blackmail) and by magnitude.`,
		Example: `  agentlens organism eval --out organism-eval
  agentlens organism eval --episodes 30 --method deletion,ig --out /tmp/quick --json
  agentlens organism eval --model my-organism --out eval-mine --format png,pdf`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Out == "" {
				return flagErrorf("--out is required: the directory to write the results to")
			}
			if opts.Episodes < 1 {
				return flagErrorf("--episodes %d: want at least 1", opts.Episodes)
			}
			for _, m := range opts.Methods {
				if !slices.Contains(organism.Methods, m) {
					return flagErrorf("--method %s: want some of %s", m, strings.Join(organism.Methods, ","))
				}
			}
			if opts.Seed == 0 {
				return flagErrorf("--seed 0: want a seed of at least 1")
			}
			if runF != nil {
				return runF(opts)
			}
			return organismEvalRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Out, "out", "o", "", "results `dir`ectory")
	fl.StringVarP(&opts.Model, "model", "m", "embedded", "model `dir`ectory, or embedded for the shipped organism")
	fl.StringVar(&opts.RModel, "reasoning-model", "embedded", "the matrix's model: a `dir`ectory, embedded (the shipped reasoning organism) or same (--model)")
	fl.IntVarP(&opts.Episodes, "episodes", "n", 200, "held-out positive episodes per variant")
	fl.StringSliceVar(&opts.Methods, "method", organism.Methods, "`methods`, comma-separated: "+strings.Join(organism.Methods, ", "))
	fl.StringVar(&opts.Backend, "backend", "", "backend: go, xla or auto (default $AGENTLENS_BACKEND or auto)")
	fl.IntVar(&opts.IGSteps, "ig-steps", 16, "integrated-gradients steps")
	fl.IntVar(&opts.Layer, "layer", 0, "layer whose resid_pre patch and atp patch (0: the input embeddings)")
	fl.Uint64Var(&opts.Seed, "seed", 1, "`seed` of the held-out episodes")
	opts.addFigureFlags(cmd, "svg")
	opts.addJSONFlag(cmd)
	_ = cmd.RegisterFlagCompletionFunc("method", completeList(organism.Methods...))
	return cmd
}

func organismEvalRun(opts *organismEvalOptions) error {
	opts.quiet(&opts.IO)
	be, err := organismBackend(opts.IO, opts.CacheDir, opts.Backend)
	if err != nil {
		return err
	}
	load := func(path, embedded string) (*model.Model, string, error) {
		if path == "embedded" {
			m, err := organism.LoadEmbedded(be, embedded)
			return m, embedded, err
		}
		m, _, err := model.Load(path, model.LoadOptions{Backend: be})
		return m, filepath.Base(filepath.Clean(path)), err
	}
	m, name, err := load(opts.Model, organism.Shipped)
	if err != nil {
		return err
	}
	rm, rname := m, name
	if opts.RModel != "same" && slices.Contains(opts.Methods, organism.MethodMatrix) {
		if rm, rname, err = load(opts.RModel, organism.ShippedReasoning); err != nil {
			return err
		}
	}
	r, err := organism.NewRenderer()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	var rows []data.OrganismScore
	var direct, reasoning []string
	for _, me := range opts.Methods {
		if me == organism.MethodMatrix {
			reasoning = append(reasoning, me)
		} else {
			direct = append(direct, me)
		}
	}
	for _, run := range []struct {
		v       organism.Variant
		methods []string
		m       *model.Model
		name    string
	}{{organism.Direct, direct, m, name}, {organism.Reasoning, reasoning, rm, rname}} {
		if len(run.methods) == 0 {
			continue
		}
		eps, err := organism.HeldOut(opts.Episodes, run.v, opts.Seed)
		if err != nil {
			return err
		}
		prog := newETAProgress(opts.IO, string(run.v)+" episodes", len(eps))
		rs, err := organism.Eval(run.m, r, eps, organism.EvalOptions{Methods: run.methods, IGSteps: opts.IGSteps,
			PatchLayer: opts.Layer, Model: run.name, Progress: func(done, total int) { prog.update(done, "") }})
		prog.clear()
		if err != nil {
			return err
		}
		rows = append(rows, rs...)
	}
	path := filepath.Join(opts.Out, "organism.parquet")
	if err := data.Write(path, rows); err != nil {
		return err
	}
	sum := organism.Summarize(rows)
	if err := train.WriteJSON(filepath.Join(opts.Out, "summary.json"), sum); err != nil {
		return err
	}
	names := name
	if len(reasoning) > 0 && rname != name {
		names += " (matrix: " + rname + ")"
	}
	files, err := opts.save(opts.Out, "organism", organismFigure(sum, names, opts.Episodes))
	if err != nil {
		return err
	}
	if opts.JSON {
		return opts.print(map[string]any{"model": name, "reasoning_model": rname, "episodes": opts.Episodes, "summary": sum, "parquet": path,
			"figures": files})
	}
	fmt.Fprintf(opts.IO.Out, "model %s; matrix on %s\n\n", name, rname)
	writeOrganismTable(opts.IO.Out, sum)
	fmt.Fprintf(opts.IO.Out, "\nwrote %s (%d rows), summary.json and %s\n", path, len(rows), strings.Join(files, ", "))
	return nil
}

// writeOrganismTable prints the summary as a Markdown table.
func writeOrganismTable(w io.Writer, sum []organism.Summary) {
	fmt.Fprintln(w, "| method | variant | episodes | planted = top k | mean planted rank | top k by magnitude | mean rank by magnitude | chain found | s / episode |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range sum {
		chain := "–"
		if s.Chain >= 0 {
			chain = fmt.Sprintf("%.3f", s.Chain)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.3f | %.2f | %.3f | %.2f | %s | %.3f |\n", s.Method, s.Variant, s.Episodes, s.TopK, s.MeanRank,
			s.TopKMagnitude, s.MeanRankMagnitude, chain, s.MeanSecond)
	}
}

// organismFigure is the bar chart of the share of episodes each method ranks the planted segments on
// top (and, for the matrix, finds the chain), drawn with the method-comparison panels.
func organismFigure(sum []organism.Summary, name string, n int) *heatmap.Comparison {
	c := &heatmap.Comparison{Title: "Model organism: planted clue segments ranked on top",
		Subtitle: fmt.Sprintf("%s · %d held-out positive episodes per variant", name, n),
		Methods:  []string{"planted = top k", "top k by magnitude", "chain found"},
		Units:    []string{"share of episodes", "share of episodes", "share of episodes"}, Target: -1,
		Note: "k = 3 planted segments (goal line, replacement email, leverage email); the chain is matrix only (– elsewhere)."}
	c.Scores = [][]float64{nil, nil, nil}
	for _, s := range sum {
		c.Segments = append(c.Segments, heatmap.Segment{ID: s.Method, Label: s.Variant})
		chain := s.Chain
		if chain < 0 {
			chain = math.NaN()
		}
		c.Scores[0], c.Scores[1], c.Scores[2] = append(c.Scores[0], s.TopK), append(c.Scores[1], s.TopKMagnitude), append(c.Scores[2], chain)
	}
	return c
}

// organismBackend opens the named backend (the XLA plugin looked up in the cache) and says which.
func organismBackend(streams *IOStreams, cacheDir func() (string, error), name string) (backends.Backend, error) {
	cache, err := cacheDir()
	if err != nil {
		return nil, err
	}
	be, info, err := backend.New(name, backend.Options{CacheDir: cache})
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(streams.Out, info)
	return be, nil
}
