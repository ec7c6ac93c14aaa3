package cli

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/probes"
)

// The tables "agentlens heatmap" recognises, by the row type of package data they hold.
const (
	tableTokens      = "TokenAttribution"
	tableSegments    = "SegmentAttribution"
	tableMatrix      = "SegmentMatrixEntry"
	tablePatch       = "PatchEntry"
	tableAttention   = "AttentionEntry"
	tableMetrics     = "ProbeMetric"
	tableEffects     = "DirectionEffect"
	tableScores      = "ProbeScore"
	tableProbeSegs   = "ProbeSegmentScore"
	tableProbe       = "Probe"
	tableActivations = "Activation"
	tableLabels      = "EpisodeLabel"
)

// tableColumns are the columns of each table, most specific first: a file is the first table whose
// every column it has.
var tableColumns = []struct {
	table string
	cols  []string
}{
	{tableMatrix, data.Columns[data.SegmentMatrixEntry]()},
	{tablePatch, data.Columns[data.PatchEntry]()},
	{tableAttention, data.Columns[data.AttentionEntry]()},
	{tableTokens, data.Columns[data.TokenAttribution]()},
	{tableSegments, data.Columns[data.SegmentAttribution]()},
	{tableMetrics, data.Columns[data.ProbeMetric]()},
	{tableEffects, data.Columns[data.DirectionEffect]()},
	{tableScores, data.Columns[data.ProbeScore]()},
	{tableProbeSegs, data.Columns[data.ProbeSegmentScore]()},
	{tableProbe, data.Columns[data.Probe]()},
	{tableActivations, data.Columns[data.Activation]()},
	{tableLabels, data.Columns[data.EpisodeLabel]()},
}

// heatmapKinds are the figures each table can be drawn as, its default first.
var heatmapKinds = map[string][]string{
	tableTokens:    {"strip", "viewer"},
	tableSegments:  {"bars", "compare", "strip", "viewer"},
	tableMatrix:    {"matrix", "viewer"},
	tablePatch:     {"patch"},
	tableAttention: {"attention"},
	tableMetrics:   {"sweep"},
	tableEffects:   {"effects"},
	tableScores:    {"timeline", "strip", "viewer"},
	tableProbeSegs: {"bars"},
	tableProbe:     {"roc"},
}

// tableOf names the table a Parquet file holds, from its columns.
func tableOf(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return "", fmt.Errorf("%s: not a parquet file: %w", path, err)
	}
	have := map[string]bool{}
	for _, fl := range pf.Schema().Fields() {
		have[fl.Name()] = true
	}
	for _, t := range tableColumns {
		if !slices.ContainsFunc(t.cols, func(c string) bool { return !have[c] }) {
			return t.table, nil
		}
	}
	var names []string
	for n := range have {
		names = append(names, n)
	}
	slices.Sort(names)
	return "", fmt.Errorf("%s: %w: not an agentlens table (columns %s)", path, data.ErrSchema, strings.Join(names, ", "))
}

// heatmapOptions are the inputs of "agentlens heatmap".
type heatmapOptions struct {
	IO     *IOStreams
	Tables []string // the Parquet file; for roc, the probe file and the activations
	Kind   string   // "" = the table's default
	Out    string   // output directory ("" = the table's)
	Name   string   // file name without extension ("" = the kind's usual name)
	Method string   // bars, strip: the method ("" = the first)
	// Segment picks the passage of strip (a segment id) and the segment of attention-heads (an id
	// or a kind); Tokens a token range a-b for strip.
	Segment string
	Tokens  string
	// Threshold is the timeline's threshold line (NaN: read from segments.parquet beside the scores,
	// else between the flagged and unflagged scores).
	Threshold float64
	figureOptions
	jsonOutput
}

func newCmdHeatmap(f *Factory, runF func(*heatmapOptions) error) *cobra.Command {
	opts := &heatmapOptions{IO: f.IO}
	var threshold string
	cmd := &cobra.Command{
		Use:   "heatmap <table.parquet> [<activations>...] [--kind <kind>] [--format png,svg,pdf] [--out <dir>]",
		Short: "Redraw a paper figure from an agentlens Parquet table",
		Long: `Read a table written by an agentlens command and draw it as PNG, SVG or PDF, at one- or
two-column width, the way the command that wrote it does. The table is recognised by its
columns; --kind picks among the figures it can give (the first is the default):

  tokens.parquet (TokenAttribution)       strip: one passage's tokens coloured by score
  segments.parquet (SegmentAttribution)   bars: segment → target bars of one --method, with the
                                          deletion effects beside them; compare: every method side
                                          by side; strip (from tokens.parquet beside it)
  matrix.parquet (SegmentMatrixEntry)     matrix: segment × segment, lower triangle
  patch.parquet (PatchEntry)              patch: layer × segment per method and site, layer × head,
                                          layer × position
  attention.parquet (AttentionEntry)      attention: attention-target, attention-heads (--segment:
                                          an id or a kind), attention-segments, rollout
  sweep.parquet, eval.parquet (ProbeMetric)  sweep: AUROC by layer with bootstrap bands
  effects.parquet (DirectionEffect)       effects: Δ log p with the probe direction vs random ones
  scores.parquet (ProbeScore)             timeline: the probe score over the episode, segments
                                          marked; strip: the scores on the tokens
  probe segments.parquet (ProbeSegmentScore)  bars: mean probe score per segment
  probe.parquet (Probe) + activations     roc: ROC curve of each split

  viewer (tokens, segments, matrix, scores): the interactive episode viewer, one HTML file
                                          (heatmap.html; monitor.html for probe scores) with every
                                          method of the directory's tables to switch between

Strip passages: --segment ID, or --tokens A-B, else the segment with the largest share
(at most 400 tokens around its largest score). Figures go to --out (default: the table's
directory) under the name the writing command uses (segments, methods, passage, matrix,
patch-SITE, attention-target, sweep, effects, timeline, roc), or --name.`,
		Example: `  agentlens heatmap out/demo/segments.parquet --format pdf --figure-width one
  agentlens heatmap out/attr/segments.parquet --kind compare --format png,pdf --no-title
  agentlens heatmap out/attr/tokens.parquet --segment 'user[0].email[3]' --format png
  agentlens heatmap out/matrix/matrix.parquet --format all --out paper/figs
  agentlens heatmap out/flow/attention.parquet --segment email --format pdf
  agentlens heatmap out/probes/sweep.parquet --format pdf --figure-width one
  agentlens heatmap out/probes/L12.parquet out/acts --kind roc --format png
  agentlens heatmap out/attr/segments.parquet --kind viewer --out /tmp/view`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return flagErrorf("heatmap: name a Parquet table")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Tables = args
			opts.Threshold = math.NaN()
			if threshold != "" {
				v, err := strconv.ParseFloat(threshold, 64)
				if err != nil {
					return flagErrorf("--threshold %s: not a number", threshold)
				}
				opts.Threshold = v
			}
			if runF != nil {
				return runF(opts)
			}
			opts.quiet(&opts.IO)
			return heatmapRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Kind, "kind", "", "figure `kind`: strip, bars, compare, matrix, patch, attention, sweep, effects, timeline, roc, viewer (default: the table's first)")
	fl.StringVarP(&opts.Out, "out", "o", "", "output `dir`ectory (default: the table's)")
	fl.StringVar(&opts.Name, "name", "", "file `name` without extension (default: the kind's usual name)")
	fl.StringVar(&opts.Method, "method", "", "bars, strip: the attribution `method` (default: the table's first)")
	fl.StringVar(&opts.Segment, "segment", "", "strip: the segment `id` to show; attention: the segment id or kind of attention-heads")
	fl.StringVar(&opts.Tokens, "tokens", "", "strip: the token `range` to show, e.g. 1200-1450")
	fl.StringVar(&threshold, "threshold", "", "timeline: the threshold `score` to draw (default: the probe's, from segments.parquet beside the scores)")
	fl.BoolVar(&opts.JSON, "json", false, "print the files written as JSON")
	opts.addFigureFlags(cmd, "svg")
	cmd.GroupID = groupAnalysis
	return cmd
}

// heatmapSummary is the --json output of "agentlens heatmap".
type heatmapSummary struct {
	Table string   `json:"table"`
	Kind  string   `json:"kind"`
	Files []string `json:"files"`
}

func heatmapRun(opts *heatmapOptions) error {
	path := opts.Tables[0]
	table, err := tableOf(path)
	if err != nil {
		return err
	}
	kinds := heatmapKinds[table]
	if len(kinds) == 0 {
		return flagErrorf("%s holds %s rows, which agentlens draws no figure of (tables with figures: tokens, segments, matrix, patch, attention, sweep, effects, scores, probe)", path, table)
	}
	kind := opts.Kind
	if kind == "" {
		kind = kinds[0]
	}
	if !slices.Contains(kinds, kind) {
		return flagErrorf("--kind %s: %s (%s) draws as %s", kind, path, table, strings.Join(kinds, ", "))
	}
	if len(opts.Tables) > 1 && kind != "roc" {
		return flagErrorf("heatmap: one table at a time (%d given); only --kind roc takes activations after the probe", len(opts.Tables))
	}
	if kind == "roc" && len(opts.Tables) < 2 {
		return flagErrorf("--kind roc: name the probe file and then its activations")
	}
	out := opts.Out
	if out == "" {
		out = filepath.Dir(path)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if kind == "viewer" {
		return heatmapViewer(opts, path, table, out)
	}
	figs, err := heatmapFigures(opts, path, table, kind)
	if err != nil {
		return err
	}
	if opts.Name != "" && len(figs) == 1 {
		figs[0].name = opts.Name
	}
	sum := heatmapSummary{Table: table, Kind: kind}
	for _, nf := range figs {
		names, err := opts.save(out, nf.name, nf.fig)
		if err != nil {
			return err
		}
		for _, n := range names {
			sum.Files = append(sum.Files, filepath.Join(out, n))
		}
	}
	if opts.JSON {
		return opts.print(sum)
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s\n", strings.Join(sum.Files, " "))
	return nil
}

// heatmapViewer writes the episode viewer of an attribution output directory (heatmap.html) or of a
// probe's scores (monitor.html).
func heatmapViewer(opts *heatmapOptions, path, table, out string) error {
	var e *heatmap.Episode
	name := "heatmap"
	if table == tableScores {
		rows, err := data.ReadAll[data.ProbeScore](path)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return fmt.Errorf("%s: no scores", path)
		}
		segs, _ := readIfExists[data.ProbeSegmentScore](filepath.Join(filepath.Dir(path), "segments.parquet"))
		th, source := opts.Threshold, "--threshold"
		if math.IsNaN(th) {
			th, source = scoreThreshold(rows, segs)
		}
		e, name = probeViewer(rows, segs, th, fmt.Sprintf("threshold %.3g (%s)", th, source)), "monitor"
	} else {
		dir := filepath.Dir(path)
		t, err := readAttributionTables(dir)
		if err != nil {
			return err
		}
		target := -1
		if len(t.toks) > 0 {
			target = int(t.toks[0].TargetToken)
		} else if len(t.segs) > 0 {
			target = int(t.segs[0].TargetToken)
		}
		if e, err = t.viewer(dir, nil, target); err != nil {
			return err
		}
	}
	if opts.Name != "" {
		name = opts.Name
	}
	file := filepath.Join(out, name+".html")
	if err := writeViewer(file, e); err != nil {
		return err
	}
	if opts.JSON {
		return opts.print(heatmapSummary{Table: table, Kind: "viewer", Files: []string{file}})
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s\n", file)
	return nil
}

// scoreThreshold is a probe's threshold for its scores: the one segments.parquet beside them records,
// else halfway between the largest unflagged and the smallest flagged score; and where it came from.
func scoreThreshold(rows []data.ProbeScore, segs []data.ProbeSegmentScore) (float64, string) {
	if len(segs) > 0 {
		return segs[0].Threshold, "the probe's 1% FPR threshold"
	}
	lo, hi := math.Inf(-1), math.Inf(1) // largest unflagged, smallest flagged
	for _, r := range rows {
		if r.Flagged {
			hi = math.Min(hi, r.Score)
		} else {
			lo = math.Max(lo, r.Score)
		}
	}
	switch {
	case math.IsInf(hi, 1):
		return lo, "no token flagged: line at the largest score"
	case math.IsInf(lo, -1):
		return hi, "every token flagged: line at the smallest score"
	}
	return (lo + hi) / 2, "threshold between the flagged and unflagged scores"
}

// heatmapFigures reads the table and builds its figures of one kind.
func heatmapFigures(opts *heatmapOptions, path, table, kind string) ([]namedFigure, error) {
	switch table {
	case tableSegments, tableTokens:
		return attributionFigures(opts, path, table, kind)
	case tableMatrix:
		rows, err := data.ReadAll[data.SegmentMatrixEntry](path)
		if err != nil {
			return nil, err
		}
		m, err := matrixFigure(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []namedFigure{{"matrix", m}}, nil
	case tablePatch:
		rows, err := data.ReadAll[data.PatchEntry](path)
		if err != nil {
			return nil, err
		}
		figs := patchFigures(rows)
		if len(figs) == 0 {
			return nil, fmt.Errorf("%s: no patching cells", path)
		}
		return figs, nil
	case tableAttention:
		rows, err := data.ReadAll[data.AttentionEntry](path)
		if err != nil {
			return nil, err
		}
		figs, err := flowFigures(rows, opts.Segment)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return figs, nil
	case tableMetrics:
		rows, err := data.ReadAll[data.ProbeMetric](path)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s: no metrics", path)
		}
		return []namedFigure{{"sweep", sweepFigure(rows[0].Model, rows[0].Method, rows)}}, nil
	case tableEffects:
		rows, err := data.ReadAll[data.DirectionEffect](path)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s: no effects", path)
		}
		return []namedFigure{{"effects", effectsFigure(rows[0].ProbeID, rows)}}, nil
	case tableScores:
		return probeScoreFigures(opts, path, kind)
	case tableProbeSegs:
		rows, err := data.ReadAll[data.ProbeSegmentScore](path)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s: no segments", path)
		}
		fig := &heatmap.Figure{Title: fmt.Sprintf("%s: %s, mean score per segment", rows[0].EpisodeID, rows[0].ProbeID), Target: -1,
			Subtitle:     fmt.Sprintf("threshold %.3g (1%% FPR)", rows[0].Threshold),
			ScoreLabel:   "mean probe score − threshold",
			ScoreMeaning: "Bars right of zero: the segment's mean score is above the probe's 1% FPR threshold."}
		for _, r := range rows {
			fig.Segments = append(fig.Segments, heatmap.Segment{ID: r.SegmentID, Kind: r.SegmentKind, Label: r.Label, Score: r.MeanScore - r.Threshold})
		}
		return []namedFigure{{"segments", fig}}, nil
	case tableProbe:
		return rocFigures(opts)
	}
	return nil, fmt.Errorf("%s: no figure for table %s", path, table)
}

// attributionFigures draws segments.parquet and tokens.parquet: bars, compare and strip, reading the
// other table of the pair from the same directory when the kind needs it.
func attributionFigures(opts *heatmapOptions, path, table, kind string) ([]namedFigure, error) {
	dir := filepath.Dir(path)
	var segs []data.SegmentAttribution
	var toks []data.TokenAttribution
	var err error
	segPath, tokPath := path, filepath.Join(dir, "tokens.parquet")
	if table == tableTokens {
		segPath, tokPath = filepath.Join(dir, "segments.parquet"), path
	}
	needToks, needSegs := kind == "strip", table == tableSegments || kind != "strip"
	if needSegs || fileExists(segPath) {
		if segs, err = data.ReadAll[data.SegmentAttribution](segPath); err != nil && needSegs {
			return nil, err
		}
	}
	if needToks {
		if toks, err = data.ReadAll[data.TokenAttribution](tokPath); err != nil {
			return nil, fmt.Errorf("--kind strip needs the token scores: %w", err)
		}
	}
	switch kind {
	case "compare":
		c, err := comparisonFigure(segs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []namedFigure{{"methods", c}}, nil
	case "bars":
		method := opts.Method
		if method == "" && len(segs) > 0 {
			method = segs[0].Method
		}
		fig, err := segmentsFigure(segs, nil, method)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []namedFigure{{"segments", fig}}, nil
	}
	// strip
	method := opts.Method
	if method == "" && len(toks) > 0 {
		method = toks[0].Method
	}
	if len(segs) == 0 { // no segments.parquet: segments from the tokens themselves, shares from |score|
		total := 0.0
		for _, t := range toks {
			if t.Method != method {
				continue
			}
			if len(segs) == 0 || segs[len(segs)-1].SegmentID != t.SegmentID {
				segs = append(segs, data.SegmentAttribution{Method: method, SegmentID: t.SegmentID, SegmentKind: t.SegmentKind,
					TokenStart: t.Position, EpisodeID: t.EpisodeID, Model: t.Model, Metric: t.Metric, TargetToken: t.TargetToken})
			}
			segs[len(segs)-1].Share += math.Abs(t.Score)
			total += math.Abs(t.Score)
		}
		for i := range segs {
			segs[i].Share /= math.Max(total, 1e-300)
		}
	}
	fig, err := segmentsFigure(segs, toks, method)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	from, to, id, err := stripRange(fig, opts.Segment, opts.Tokens)
	if err != nil {
		return nil, err
	}
	s := fig.Strip(from, to)
	s.Title = fmt.Sprintf("%s: tokens %d–%d (%s)", fig.Title, from, to-1, id)
	return []namedFigure{{"passage", s}}, nil
}

// stripRange resolves a strip's passage: a segment id, a token range a-b, or the passage of the
// segment with the largest share.
func stripRange(fig *heatmap.Figure, segment, tokens string) (from, to int, id string, err error) {
	switch {
	case tokens != "":
		a, b, ok := strings.Cut(tokens, "-")
		from, err1 := strconv.Atoi(strings.TrimSpace(a))
		last, err2 := strconv.Atoi(strings.TrimSpace(b))
		if !ok || err1 != nil || err2 != nil || from < 0 || last < from {
			return 0, 0, "", flagErrorf("--tokens %s: want a range a-b of token positions", tokens)
		}
		if from >= len(fig.Tokens) {
			return 0, 0, "", flagErrorf("--tokens %s: the table has %d tokens", tokens, len(fig.Tokens))
		}
		return from, min(last+1, len(fig.Tokens)), "tokens " + tokens, nil
	case segment != "":
		si := slices.IndexFunc(fig.Segments, func(s heatmap.Segment) bool { return s.ID == segment })
		if si < 0 {
			var ids []string
			for _, s := range fig.Segments {
				ids = append(ids, s.ID)
			}
			return 0, 0, "", flagErrorf("--segment %s: no such segment (have %s)", segment, strings.Join(ids, ", "))
		}
		from, to = -1, -1
		for t, tok := range fig.Tokens {
			if tok.Segment == si {
				if from < 0 {
					from = t
				}
				to = t + 1
			}
		}
		if from < 0 {
			return 0, 0, "", fmt.Errorf("--segment %s: no scored tokens", segment)
		}
		return from, min(to, from+4*passageTokens), segment, nil
	}
	from, to, id = passage(fig, passageTokens)
	if to <= from {
		return 0, 0, "", errors.New("no scored tokens to draw")
	}
	return from, to, id, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// probeScoreFigures draws scores.parquet as a timeline or as a strip of the scores minus the
// threshold.
func probeScoreFigures(opts *heatmapOptions, path, kind string) ([]namedFigure, error) {
	rows, err := data.ReadAll[data.ProbeScore](path)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no scores", path)
	}
	th, source := opts.Threshold, "--threshold"
	if math.IsNaN(th) {
		segs, _ := readIfExists[data.ProbeSegmentScore](filepath.Join(filepath.Dir(path), "segments.parquet"))
		th, source = scoreThreshold(rows, segs)
	}
	if kind == "timeline" {
		t := timelineFigure(rows, th, source)
		return []namedFigure{{"timeline", t}}, nil
	}
	fig := &heatmap.Figure{Title: fmt.Sprintf("%s: %s", rows[0].EpisodeID, rows[0].ProbeID), Target: -1, ScoreLabel: "probe score − threshold"}
	index := map[string]int{}
	for _, r := range rows {
		si, ok := index[r.SegmentID]
		if !ok {
			si = len(fig.Segments)
			index[r.SegmentID] = si
			fig.Segments = append(fig.Segments, heatmap.Segment{ID: r.SegmentID, Kind: r.SegmentKind})
		}
		fig.Tokens = append(fig.Tokens, heatmap.Token{Text: r.Text, Score: r.Score - th, Segment: si})
		if r.Flagged {
			fig.Segments[si].Share++
		}
	}
	from, to, id, err := stripRange(fig, opts.Segment, opts.Tokens)
	if err != nil {
		return nil, err
	}
	s := fig.Strip(from, to)
	s.Title = fmt.Sprintf("%s: tokens %d–%d (%s)", fig.Title, from, to-1, id)
	s.Subtitle = fmt.Sprintf("red: above the threshold %.3g (%s), blue: below", th, source)
	return []namedFigure{{"passage", s}}, nil
}

// rocFigures scores activations with a probe and draws each split's ROC curve.
func rocFigures(opts *heatmapOptions) ([]namedFigure, error) {
	rec, p, err := readProbe(opts.Tables[0])
	if err != nil {
		return nil, err
	}
	t, _, _, err := loadTable(opts.Tables[1:])
	if err != nil {
		return nil, err
	}
	k := probes.Key{Layer: rec.Layer, Site: rec.Site, Position: rec.Position}
	if _, ok := t.Examples[k]; !ok {
		return nil, fmt.Errorf("activations %s: no labeled rows at %s layer %d, the probe's", strings.Join(opts.Tables[1:], " "), k, k.Layer)
	}
	c := &heatmap.Curves{Title: fmt.Sprintf("ROC of %s", rec.ProbeID), Subtitle: fmt.Sprintf("%s · %s layer %d @%s", t.Model, rec.Method, k.Layer, k.Position),
		XLabel: "false-positive rate", YLabel: "true-positive rate", Diagonal: true, YMin: 0, YMax: 1}
	var splits []string
	for _, s := range t.Splits[k] {
		if !slices.Contains(splits, s) {
			splits = append(splits, s)
		}
	}
	slices.Sort(splits)
	for _, sp := range splits {
		e := t.Select(k, sp)
		scores, err := p.ScoreAll(e.X)
		if err != nil {
			return nil, err
		}
		fpr, tpr, err := probes.ROC(scores, e.Y)
		if errors.Is(err, probes.ErrOneClass) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("split %s: %w", sp, err)
		}
		auc, _ := probes.AUROC(scores, e.Y)
		s := heatmap.Series{Name: fmt.Sprintf("%s (AUROC %.3f, n = %d)", sp, auc, e.Len())}
		for i := range fpr {
			s.Points = append(s.Points, heatmap.Point{X: fpr[i], Y: tpr[i], Lo: tpr[i], Hi: tpr[i]})
		}
		c.Series = append(c.Series, s)
	}
	if len(c.Series) == 0 {
		return nil, fmt.Errorf("activations %s: no split has both classes", strings.Join(opts.Tables[1:], " "))
	}
	return []namedFigure{{"roc", c}}, nil
}
