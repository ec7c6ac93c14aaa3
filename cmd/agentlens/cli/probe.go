package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/probes"
)

func newCmdProbe(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "probe <command>",
		Short: "Train, sweep, evaluate, apply and causally test linear probes on captured activations",
		Long: `Linear probes on the activations "agentlens capture" writes (or any Parquet file with the
columns of table Activation in package data): a direction per layer, site and position
policy that separates positive (e.g. misaligned) from negative examples. sweep, train and
eval load no model; apply (the monitor over an episode), ablate and steer (causal tests
against random directions) run the model the probe was trained on.`,
		Example: `  agentlens probe sweep out/acts --out out/probes
  agentlens probe train out/acts --layer 12 --out out/probes/L12.parquet
  agentlens probe eval out/probes/L12.parquet out/acts --splits test_family,test_style
  agentlens probe apply out/probes/L12.parquet bundled:blackmail --out out/monitor
  agentlens probe ablate out/probes/L12.parquet out/dataset --splits test_family --limit 40 --out out/causal`,
	}
	cmd.AddCommand(newCmdProbeSweep(f, nil), newCmdProbeTrain(f, nil), newCmdProbeEval(f, nil),
		newCmdProbeCausal(f, false, nil), newCmdProbeCausal(f, true, nil), newCmdProbeApply(f, nil))
	cmd.GroupID = groupAnalysis
	return cmd
}

// probeCommon are the flags the probe commands share.
type probeCommon struct {
	Acts        []string // activation files or directories of shards
	Method      probes.Method
	C           float64
	Folds       int
	Bootstrap   int
	Seed        uint64
	TrainSplits []string // splits trained (and cross-validated) on; empty: all labeled rows
	Control     string   // split whose scores set the 1% FPR threshold ("" or absent: the out-of-fold negatives)
	Positions   []string // position policies to use (empty: all)
}

func (c *probeCommon) flags(cmd *cobra.Command, method, trainSplits, positions *string) {
	fl := cmd.Flags()
	fl.StringVar(method, "method", string(probes.Logistic), "probe `method`: logistic, diff_mean or pair_pca")
	fl.Float64Var(&c.C, "c", 1, "logistic regression's inverse L2 strength C (as in scikit-learn)")
	fl.IntVar(&c.Folds, "folds", 5, "cross-validation folds (grouped: twins stay together)")
	fl.IntVar(&c.Bootstrap, "bootstrap", 1000, "bootstrap resamples for the 95% AUROC intervals")
	fl.Uint64Var(&c.Seed, "seed", 1, "seed of the fold assignment and the bootstrap")
	fl.StringVar(trainSplits, "train-splits", "train,val", "`splits` to train on (empty: every labeled row)")
	fl.StringVar(&c.Control, "control-split", "control", "`split` of benign chats whose scores set the 1% FPR threshold")
	fl.StringVar(positions, "positions", "", "position `policies` to use (default: all in the table)")
}

func (c *probeCommon) parse(method, trainSplits, positions string) error {
	c.Method = probes.Method(method)
	switch c.Method {
	case probes.Logistic, probes.DiffMean, probes.PairPCA:
	default:
		return flagErrorf("--method %s: want logistic, diff_mean or pair_pca", method)
	}
	if c.Folds < 2 {
		return flagErrorf("--folds %d: want at least 2", c.Folds)
	}
	if c.Bootstrap < 1 {
		return flagErrorf("--bootstrap %d: want at least 1", c.Bootstrap)
	}
	if !(c.C > 0) {
		return flagErrorf("--c %g: want a positive number", c.C)
	}
	c.TrainSplits, c.Positions = splitList(trainSplits), splitList(positions)
	return nil
}

// activationFiles expands the arguments: files as they are, directories to their activation shards.
func activationFiles(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		shards, _ := filepath.Glob(filepath.Join(a, "activations-*.parquet")) // capture's files
		if len(shards) == 0 {
			shards, _ = filepath.Glob(filepath.Join(a, "activations.parquet")) // agentlens merge's
		}
		if len(shards) == 0 {
			return nil, fmt.Errorf("%s: no activations*.parquet files (write them with agentlens capture; merge a sharded capture with agentlens merge)", a)
		}
		files = append(files, shards...)
	}
	sort.Strings(files)
	return files, nil
}

// loadTable reads activation files into a table, with the dataset's id and hash (sha256 over the files
// in name order).
func loadTable(args []string) (*probes.Table, string, string, error) {
	files, err := activationFiles(args)
	if err != nil {
		return nil, "", "", err
	}
	var rows []data.Activation
	h := sha256.New()
	for _, f := range files {
		r, err := data.ReadAll[data.Activation](f)
		if err != nil {
			return nil, "", "", err
		}
		rows = append(rows, r...)
		fh, err := os.Open(f)
		if err != nil {
			return nil, "", "", err
		}
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return nil, "", "", err
		}
	}
	t, err := probes.FromActivations(rows)
	if err != nil {
		return nil, "", "", fmt.Errorf("activations %s: %w", strings.Join(args, " "), err)
	}
	if len(t.Keys) == 0 {
		return nil, "", "", fmt.Errorf("activations %s: no rows", strings.Join(args, " "))
	}
	return t, strings.Join(args, " "), "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// threshold returns the score above which 1% of the control split's examples (any label: benign chats)
// score, or when the table has no control rows for k, the given fallback.
func controlThreshold(t *probes.Table, k probes.Key, p *probes.Probe, control string, fallback float64) (float64, string, error) {
	if control == "" {
		return fallback, "out-of-fold training negatives (1% FPR)", nil
	}
	var xs [][]float32
	for i, s := range t.Splits[k] {
		if s == control {
			xs = append(xs, t.Examples[k].X[i])
		}
	}
	for _, r := range t.Unlabeled[k] {
		if r.Split == control {
			xs = append(xs, r.Vector)
		}
	}
	if len(xs) == 0 {
		return fallback, "out-of-fold training negatives (1% FPR)", nil
	}
	s, err := p.ScoreAll(xs)
	if err != nil {
		return 0, "", err
	}
	th, err := probes.ThresholdAtFPR(s, 0.01)
	return th, fmt.Sprintf("split %s, %d examples (1%% FPR)", control, len(xs)), err
}

// trained is one key's probe with its cross-validation and threshold.
type trained struct {
	probe     *probes.Probe
	cv        probes.CVResult
	train     probes.Examples
	threshold float64
	thSource  string
}

// trainKey cross-validates and trains a probe on key k's training splits.
func (c *probeCommon) trainKey(t *probes.Table, k probes.Key) (*trained, error) {
	e := t.Select(k, c.TrainSplits...)
	if e.Len() == 0 {
		return nil, fmt.Errorf("%s layer %d: no labeled rows in splits %v", k, k.Layer, c.TrainSplits)
	}
	opts := probes.Options{Method: c.Method, C: c.C}
	cv, err := probes.CrossValidate(e, opts, probes.CVOptions{Folds: c.Folds, Seed: c.Seed, Bootstrap: c.Bootstrap})
	if err != nil {
		return nil, fmt.Errorf("%s layer %d: %w", k, k.Layer, err)
	}
	p, err := probes.Train(e, opts)
	if err != nil {
		return nil, fmt.Errorf("%s layer %d: %w", k, k.Layer, err)
	}
	th, src, err := controlThreshold(t, k, p, c.Control, cv.Threshold)
	if err != nil {
		return nil, err
	}
	return &trained{probe: p, cv: cv, train: e, threshold: th, thSource: src}, nil
}

func (c *probeCommon) keys(t *probes.Table) []probes.Key {
	var ks []probes.Key
	for _, k := range t.Keys {
		if len(c.Positions) == 0 || slices.Contains(c.Positions, k.Position) {
			ks = append(ks, k)
		}
	}
	return ks
}

// probeSweepOptions are the inputs of "agentlens probe sweep".
type probeSweepOptions struct {
	IO *IOStreams
	probeCommon
	EvalSplits []string
	Out        string
	figureOptions
	jsonOutput
}

func newCmdProbeSweep(f *Factory, runF func(*probeSweepOptions) error) *cobra.Command {
	opts := &probeSweepOptions{IO: f.IO}
	var method, trainSplits, positions, evalSplits string
	cmd := &cobra.Command{
		Use:   "sweep <activations>... --out <dir> [--method <m>] [--eval-splits <list>]",
		Short: "Cross-validate a probe at every layer and evaluate it on held-out splits",
		Long: `For every layer, site and position policy in the activations: cross-validate a probe on the
training splits (k folds grouped by twin pair, pooled out-of-fold scores), then train it on
all of them and score each evaluation split (held-out families, held-out styles). Reports
AUROC with a 95% bootstrap interval, accuracy, and recall at the threshold that flags 1% of
the control split (or of the out-of-fold negatives when there is none).

Writes --out/sweep.parquet (table ProbeMetric in package data) and the figure --out/sweep.svg
(AUROC by layer, one line per evaluation, intervals shaded; in each --format), and prints the
best layer of each.`,
		Example: `  agentlens probe sweep out/acts --out out/probes
  agentlens probe sweep out/acts --out out/probes --method diff_mean --positions decision
  agentlens probe sweep acts.parquet --out out/p --train-splits '' --eval-splits ''`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return flagErrorf("probe sweep: name at least one activations file or directory")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Acts = args
			if err := opts.parse(method, trainSplits, positions); err != nil {
				return err
			}
			opts.EvalSplits = splitList(evalSplits)
			if opts.Out == "" {
				return flagErrorf("--out: name the output directory")
			}
			if runF != nil {
				return runF(opts)
			}
			opts.quiet(&opts.IO)
			return probeSweepRun(opts)
		},
	}
	opts.flags(cmd, &method, &trainSplits, &positions)
	cmd.Flags().StringVar(&evalSplits, "eval-splits", "test_family,test_style", "held-out `splits` to evaluate on")
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "", "output `dir`ectory")
	opts.addFigureFlags(cmd, "svg")
	opts.addJSONFlag(cmd)
	return cmd
}

func probeSweepRun(opts *probeSweepOptions) error {
	t, _, _, err := loadTable(opts.Acts)
	if err != nil {
		return err
	}
	keys := opts.keys(t)
	if len(keys) == 0 {
		return fmt.Errorf("activations %s: no rows with positions %v", strings.Join(opts.Acts, " "), opts.Positions)
	}
	prog := newETAProgress(opts.IO, "probe sweep: layer", len(keys))
	var rows []data.ProbeMetric
	for i, k := range keys {
		tr, err := opts.trainKey(t, k)
		if err != nil {
			return err
		}
		row := data.ProbeMetric{Model: t.Model, Layer: k.Layer, Site: k.Site, Position: k.Position, Method: string(opts.Method)}
		cv := row
		cv.Eval, cv.Examples, cv.Positives = "cv", int32(tr.train.Len()), int32(countTrue(tr.train.Y))
		cv.AUROC, cv.AUROCLo, cv.AUROCHi = tr.cv.AUROC.Value, tr.cv.AUROC.Lo, tr.cv.AUROC.Hi
		cv.Accuracy, cv.RecallAt1FPR, cv.FPR = tr.cv.Accuracy, tr.cv.RecallAt1FPR, tr.cv.FPR
		rows = append(rows, cv)
		for _, sp := range opts.EvalSplits {
			e := t.Select(k, sp)
			if e.Len() == 0 {
				continue
			}
			ev, err := probes.Evaluate(tr.probe, e, tr.threshold, opts.Bootstrap, opts.Seed)
			if errors.Is(err, probes.ErrOneClass) {
				continue // a split with one class has no AUROC
			}
			if err != nil {
				return fmt.Errorf("%s layer %d split %s: %w", k, k.Layer, sp, err)
			}
			r := row
			r.Eval, r.Examples, r.Positives = sp, int32(ev.Examples), int32(ev.Positives)
			r.AUROC, r.AUROCLo, r.AUROCHi, r.Accuracy = ev.AUROC.Value, ev.AUROC.Lo, ev.AUROC.Hi, ev.Accuracy
			r.RecallAt1FPR, r.FPR = ev.Recall, ev.FPR
			rows = append(rows, r)
		}
		prog.update(i+1, "")
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	if err := data.Write(filepath.Join(opts.Out, "sweep.parquet"), rows); err != nil {
		return err
	}
	figs, err := opts.save(opts.Out, "sweep", sweepFigure(t.Model, string(opts.Method), rows))
	if err != nil {
		return err
	}
	if err := writeBest(opts.IO.Out, rows); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "\nwrote %s: sweep.parquet %s\n", opts.Out, strings.Join(figs, " "))
	if opts.JSON {
		return opts.print(map[string]any{"out": opts.Out, "outputs": append([]string{"sweep.parquet"}, figs...), "metrics": tableJSON(rows)})
	}
	return nil
}

func countTrue(y []bool) int {
	n := 0
	for _, v := range y {
		if v {
			n++
		}
	}
	return n
}

// sweepFigure draws AUROC by layer: one series per (site, position, evaluation).
func sweepFigure(model, method string, rows []data.ProbeMetric) *heatmap.Curves {
	c := &heatmap.Curves{Title: fmt.Sprintf("%s probe AUROC by layer", method), Subtitle: model + " · 95% bootstrap intervals shaded",
		XLabel: "layer", YLabel: "AUROC", YMin: 0.4, YMax: 1, Reference: 0.5, RefLabel: "chance"}
	// One colour per evaluation, one dash pattern per position policy.
	index, evals, positions := map[string]int{}, map[string]int{}, map[string]int{}
	dashes := []string{"", "6 3", "2 2", "8 3 2 3"}
	for _, r := range rows {
		name := fmt.Sprintf("%s @%s", r.Eval, r.Position)
		if strings.Count(r.Site, ".") > 0 && !strings.HasSuffix(r.Site, "hook_resid_post") {
			name += " " + r.Site[strings.LastIndex(r.Site, ".")+1:]
		}
		i, ok := index[name]
		if !ok {
			if _, ok := evals[r.Eval]; !ok {
				evals[r.Eval] = len(evals) + 1
			}
			if _, ok := positions[r.Position]; !ok {
				positions[r.Position] = len(positions)
			}
			i = len(c.Series)
			index[name] = i
			c.Series = append(c.Series, heatmap.Series{Name: name, Color: evals[r.Eval],
				Dash: dashes[positions[r.Position]%len(dashes)]})
		}
		c.Series[i].Points = append(c.Series[i].Points, heatmap.Point{X: float64(r.Layer), Y: r.AUROC, Lo: r.AUROCLo, Hi: r.AUROCHi})
		c.YMin = minF(c.YMin, r.AUROCLo)
	}
	return c
}

func minF(a, b float64) float64 {
	if b < a {
		return b
	}
	return a
}

// writeBest prints the best layer of every (evaluation, position, site) by AUROC.
func writeBest(w io.Writer, rows []data.ProbeMetric) error {
	type key struct{ eval, pos, site string }
	best := map[key]data.ProbeMetric{}
	var order []key
	for _, r := range rows {
		site := r.Site[strings.Index(r.Site, ".")+1:]
		site = site[strings.Index(site, ".")+1:]
		k := key{r.Eval, r.Position, site}
		b, ok := best[k]
		if !ok {
			order = append(order, k)
		}
		if !ok || r.AUROC > b.AUROC {
			best[k] = r
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprint(tw, "EVAL\tPOSITION\tSITE\tBEST LAYER\tAUROC [95% CI]\tACCURACY\tRECALL@1% FPR\tFPR\tN (POS)\n")
	for _, k := range order {
		r := best[k]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.3f [%.3f, %.3f]\t%.3f\t%.3f\t%.3f\t%d (%d)\n", r.Eval, r.Position, k.site, r.Layer,
			r.AUROC, r.AUROCLo, r.AUROCHi, r.Accuracy, r.RecallAt1FPR, r.FPR, r.Examples, r.Positives)
	}
	return tw.Flush()
}

// probeTrainOptions are the inputs of "agentlens probe train".
type probeTrainOptions struct {
	IO *IOStreams
	probeCommon
	Layer    int
	Site     string
	Position string
	Out      string
	jsonOutput
}

func newCmdProbeTrain(f *Factory, runF func(*probeTrainOptions) error) *cobra.Command {
	opts := &probeTrainOptions{IO: f.IO}
	var method, trainSplits, positions string
	cmd := &cobra.Command{
		Use:   "train <activations>... --layer <n> --out <probe.parquet> [--method <m>] [--position <p>]",
		Short: "Train one probe and save it with its provenance",
		Long: `Train a probe on one layer, site and position policy of the activations (the training
splits), cross-validate it (grouped by twin pair), set its threshold at 1% FPR on the control
split, calibrate it (Platt, on the out-of-fold scores), and write it as one row of table Probe
in package data: model and weight hash, layer, site, position, method, normalisation,
weights, bias, unit direction, threshold, dataset id and hash, and the cross-validated
metrics.`,
		Example: `  agentlens probe train out/acts --layer 12 --out out/probes/L12.parquet
  agentlens probe train out/acts --layer 20 --position final --method diff_mean --out p.parquet`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return flagErrorf("probe train: name at least one activations file or directory")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Acts = args
			if err := opts.parse(method, trainSplits, positions); err != nil {
				return err
			}
			if !cmd.Flags().Changed("layer") {
				return flagErrorf("--layer: name the layer to train on (see probe sweep)")
			}
			if opts.Out == "" {
				return flagErrorf("--out: name the probe file")
			}
			sites, err := parseSites(opts.Site)
			if err != nil || len(sites) != 1 {
				return flagErrorf("--site %s: want one of resid_post, resid_mid, attn_out, mlp_out, resid_pre", opts.Site)
			}
			opts.Site = fmt.Sprintf("blocks.%d.%s", opts.Layer, sites[0])
			if runF != nil {
				return runF(opts)
			}
			opts.quiet(&opts.IO)
			return probeTrainRun(opts)
		},
	}
	opts.flags(cmd, &method, &trainSplits, &positions)
	fl := cmd.Flags()
	fl.IntVar(&opts.Layer, "layer", 0, "layer `n`")
	fl.StringVar(&opts.Site, "site", "resid_post", "hook `site`")
	fl.StringVar(&opts.Position, "position", "decision", "position `policy`")
	fl.StringVarP(&opts.Out, "out", "o", "", "probe `file` to write")
	opts.addJSONFlag(cmd)
	return cmd
}

func probeTrainRun(opts *probeTrainOptions) error {
	t, id, hash, err := loadTable(opts.Acts)
	if err != nil {
		return err
	}
	k := probes.Key{Layer: int32(opts.Layer), Site: opts.Site, Position: opts.Position}
	if _, ok := t.Examples[k]; !ok {
		return fmt.Errorf("activations %s: no labeled rows at %s (have %s)", id, k, keyList(t.Keys))
	}
	tr, err := opts.trainKey(t, k)
	if err != nil {
		return err
	}
	a, b, err := probes.Platt(tr.cv.Scores, tr.train.Y)
	if err != nil {
		return err
	}
	rec := probes.Record(tr.probe, k, data.Probe{
		ProbeID: fmt.Sprintf("%s/L%d/%s/%s/%s", t.Model, k.Layer, strings.TrimPrefix(k.Site, fmt.Sprintf("blocks.%d.", k.Layer)), k.Position, opts.Method),
		Model:   t.Model, ModelHash: t.ModelHash, Threshold: tr.threshold, ThresholdSource: tr.thSource, PlattA: a, PlattB: b,
		DatasetID: id, DatasetHash: hash, TrainExamples: int32(tr.train.Len()), Folds: int32(opts.Folds),
		CVAUROC: tr.cv.AUROC.Value, CVAUROCLo: tr.cv.AUROC.Lo, CVAUROCHi: tr.cv.AUROC.Hi, CVAccuracy: tr.cv.Accuracy,
		CVRecallAt1FPR: tr.cv.RecallAt1FPR,
	})
	if err := data.Write(opts.Out, []data.Probe{rec}); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "%s: %d examples (%d positive), cross-validated AUROC %.3f [%.3f, %.3f], accuracy %.3f, recall@1%%FPR %.3f; threshold %.3f from %s\nwrote %s\n",
		rec.ProbeID, tr.train.Len(), countTrue(tr.train.Y), rec.CVAUROC, rec.CVAUROCLo, rec.CVAUROCHi, rec.CVAccuracy, rec.CVRecallAt1FPR,
		rec.Threshold, rec.ThresholdSource, opts.Out)
	if opts.JSON {
		return opts.print(tableJSON([]data.Probe{rec})[0])
	}
	return nil
}

func keyList(ks []probes.Key) string {
	var s []string
	for i, k := range ks {
		if i == 6 {
			s = append(s, fmt.Sprintf("… %d more", len(ks)-i))
			break
		}
		s = append(s, k.String())
	}
	return strings.Join(s, ", ")
}

// probeEvalOptions are the inputs of "agentlens probe eval".
type probeEvalOptions struct {
	IO        *IOStreams
	Probe     string
	Acts      []string
	Splits    []string
	Force     bool
	Bootstrap int
	Seed      uint64
	Out       string
	ROC       string // figure file of the splits' ROC curves ("" = none)
	figureOptions
	jsonOutput
}

func newCmdProbeEval(f *Factory, runF func(*probeEvalOptions) error) *cobra.Command {
	opts := &probeEvalOptions{IO: f.IO}
	var splits string
	cmd := &cobra.Command{
		Use:   "eval <probe.parquet> <activations>... [--splits <list>] [--out <eval.parquet>]",
		Short: "Score activations with a saved probe and report AUROC, recall and false positives",
		Long: `Apply a saved probe to activations of the same layer, site and position (and the same model:
its name, weight hash and d_model must match unless --force) and report, per split, AUROC with
a 95% bootstrap interval, accuracy, and recall and false-positive rate at the probe's stored
threshold. With --roc FILE, also draws each split's ROC curve in one figure (FILE with the
extension of each --format).`,
		Example: `  agentlens probe eval out/probes/L12.parquet out/acts --splits test_family,test_style
  agentlens probe eval out/probes/L12.parquet out/acts --roc out/probes/L12-roc --format pdf,png
  agentlens probe eval p.parquet other-model-acts/ --force`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return flagErrorf("probe eval: name a probe file and at least one activations file or directory")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Probe, opts.Acts, opts.Splits = args[0], args[1:], splitList(splits)
			if opts.Bootstrap < 1 {
				return flagErrorf("--bootstrap %d: want at least 1", opts.Bootstrap)
			}
			if runF != nil {
				return runF(opts)
			}
			opts.quiet(&opts.IO)
			return probeEvalRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&splits, "splits", "", "`splits` to evaluate, each on its own (default: every split with both classes)")
	fl.BoolVar(&opts.Force, "force", false, "score activations of another model (name, weight hash or d_model differ)")
	fl.IntVar(&opts.Bootstrap, "bootstrap", 1000, "bootstrap resamples for the 95% AUROC intervals")
	fl.Uint64Var(&opts.Seed, "seed", 1, "seed of the bootstrap")
	fl.StringVarP(&opts.Out, "out", "o", "", "write the metrics to this Parquet `file` (table ProbeMetric)")
	fl.StringVar(&opts.ROC, "roc", "", "draw the splits' ROC curves to this figure `file` (its extension follows --format)")
	opts.addFigureFlags(cmd, "svg")
	opts.addJSONFlag(cmd)
	return cmd
}

// readProbe reads the single probe of a probe file.
func readProbe(path string) (data.Probe, *probes.Probe, error) {
	recs, err := data.ReadAll[data.Probe](path)
	if err != nil {
		return data.Probe{}, nil, err
	}
	if len(recs) != 1 {
		return data.Probe{}, nil, fmt.Errorf("probe %s: %d rows, want 1", path, len(recs))
	}
	p, err := probes.FromRecord(recs[0])
	if err != nil {
		return data.Probe{}, nil, fmt.Errorf("probe %s: %w", path, err)
	}
	return recs[0], p, nil
}

func probeEvalRun(opts *probeEvalOptions) error {
	rec, p, err := readProbe(opts.Probe)
	if err != nil {
		return err
	}
	t, id, _, err := loadTable(opts.Acts)
	if err != nil {
		return err
	}
	k := probes.Key{Layer: rec.Layer, Site: rec.Site, Position: rec.Position}
	e, ok := t.Examples[k]
	if !ok {
		return fmt.Errorf("activations %s: no labeled rows at %s layer %d, the probe's (have %s)", id, k, k.Layer, keyList(t.Keys))
	}
	if !opts.Force {
		switch {
		case t.Model != rec.Model:
			return fmt.Errorf("probe %s is for model %s, activations %s are from %s (--force to score them anyway)", opts.Probe, rec.Model, id, t.Model)
		case rec.ModelHash != "" && t.ModelHash != "" && t.ModelHash != rec.ModelHash:
			return fmt.Errorf("probe %s: model weights %s, activations %s: %s (--force to score them anyway)", opts.Probe, rec.ModelHash, id, t.ModelHash)
		case e.Dim() != int(rec.DModel):
			return fmt.Errorf("probe %s takes d_model %d, activations %s have %d", opts.Probe, rec.DModel, id, e.Dim())
		}
	}
	splits := opts.Splits
	if len(splits) == 0 {
		seen := map[string]bool{}
		for _, s := range t.Splits[k] {
			if !seen[s] {
				seen[s] = true
				splits = append(splits, s)
			}
		}
		sort.Strings(splits)
	}
	var rows []data.ProbeMetric
	roc := &heatmap.Curves{Title: fmt.Sprintf("ROC of %s", rec.ProbeID), Subtitle: fmt.Sprintf("%s · %s layer %d @%s", t.Model, rec.Method, k.Layer, k.Position),
		XLabel: "false-positive rate", YLabel: "true-positive rate", Diagonal: true, YMin: 0, YMax: 1}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintf(opts.IO.Out, "%s at threshold %.3f (%s)\n", rec.ProbeID, rec.Threshold, rec.ThresholdSource)
	fmt.Fprintln(tw, "SPLIT\tN (POS)\tAUROC [95% CI]\tACCURACY\tRECALL\tFPR")
	for _, sp := range splits {
		ev, err := probes.Evaluate(p, t.Select(k, sp), rec.Threshold, opts.Bootstrap, opts.Seed)
		if errors.Is(err, probes.ErrOneClass) && len(opts.Splits) == 0 {
			continue
		}
		if err != nil {
			return fmt.Errorf("split %q: %w", sp, err)
		}
		fmt.Fprintf(tw, "%s\t%d (%d)\t%.3f [%.3f, %.3f]\t%.3f\t%.3f\t%.3f\n", sp, ev.Examples, ev.Positives, ev.AUROC.Value,
			ev.AUROC.Lo, ev.AUROC.Hi, ev.Accuracy, ev.Recall, ev.FPR)
		if opts.ROC != "" {
			e := t.Select(k, sp)
			scores, err := p.ScoreAll(e.X)
			if err != nil {
				return fmt.Errorf("split %q: %w", sp, err)
			}
			fpr, tpr, err := probes.ROC(scores, e.Y)
			if err != nil {
				return fmt.Errorf("split %q: %w", sp, err)
			}
			s := heatmap.Series{Name: fmt.Sprintf("%s (AUROC %.3f, n = %d)", sp, ev.AUROC.Value, ev.Examples)}
			for i := range fpr {
				s.Points = append(s.Points, heatmap.Point{X: fpr[i], Y: tpr[i], Lo: tpr[i], Hi: tpr[i]})
			}
			roc.Series = append(roc.Series, s)
		}
		rows = append(rows, data.ProbeMetric{Model: t.Model, Layer: k.Layer, Site: k.Site, Position: k.Position, Method: rec.Method,
			Eval: sp, Examples: int32(ev.Examples), Positives: int32(ev.Positives), AUROC: ev.AUROC.Value, AUROCLo: ev.AUROC.Lo,
			AUROCHi: ev.AUROC.Hi, Accuracy: ev.Accuracy, RecallAt1FPR: ev.Recall, FPR: ev.FPR})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if opts.ROC != "" && len(roc.Series) > 0 {
		base := strings.TrimSuffix(opts.ROC, filepath.Ext(opts.ROC))
		names, err := opts.save(filepath.Dir(base), filepath.Base(base), roc)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "agentlens: wrote %s\n", strings.Join(names, " "))
	}
	if opts.Out != "" {
		if err := data.Write(opts.Out, rows); err != nil {
			return err
		}
	}
	if opts.JSON {
		return opts.print(map[string]any{"probe": rec.ProbeID, "threshold": rec.Threshold, "threshold_source": rec.ThresholdSource,
			"metrics": tableJSON(rows)})
	}
	return nil
}
