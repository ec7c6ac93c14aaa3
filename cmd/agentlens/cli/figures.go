package cli

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot/vg"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
)

// figureOptions are the flags of every command that writes figures: the formats, the width, the PNG
// resolution, titles and SVG fonts.
type figureOptions struct {
	Formats  []heatmap.Format
	FigStyle heatmap.Style
}

// addFigureFlags registers the figure flags on cmd with formats as the default --format.
func (o *figureOptions) addFigureFlags(cmd *cobra.Command, formats string) {
	o.Formats, _ = heatmap.ParseFormats(formats)
	o.FigStyle.Width, o.FigStyle.DPI = heatmap.TwoColumn, 300
	fl := cmd.Flags()
	fl.Var(formatsValue{&o.Formats}, "format", "figure `formats`: png, svg, pdf, several comma-separated, or all")
	fl.Var(widthValue{&o.FigStyle.Width}, "figure-width", "figure `width`: one (3.5 in: a column of a two-column paper), two (7 in: the text width) or a length such as 12cm")
	fl.Var(dpiValue{&o.FigStyle.DPI}, "dpi", "PNG `resolution` in pixels per inch (50 to 1200)")
	fl.BoolVar(&o.FigStyle.NoTitle, "no-title", false, "leave the titles out of the figures (a paper's caption gives them)")
	fl.BoolVar(&o.FigStyle.EmbedSVGFonts, "embed-svg-fonts", false, "embed the font in SVG figures (self-contained, about 1.1 MB each)")
	_ = cmd.RegisterFlagCompletionFunc("format", completeList("png", "svg", "pdf", "all"))
	_ = cmd.RegisterFlagCompletionFunc("figure-width", completeList("one", "two"))
}

// save writes fig as dir/name.<format> for each format (SVG when none is set) and returns the file
// names written.
func (o *figureOptions) save(dir, name string, fig heatmap.Drawable) ([]string, error) {
	if o == nil {
		o = &figureOptions{}
	}
	formats := o.Formats
	if len(formats) == 0 {
		formats = []heatmap.Format{heatmap.SVG}
	}
	return heatmap.Save(filepath.Join(dir, name), fig, formats, o.FigStyle)
}

// passageTokens is the most tokens a passage figure shows (about 25 lines at two-column width).
const passageTokens = 400

// attributeFigures writes the figures of a token attribution: the segment → target bar chart
// (segments), the passage of the segment with the largest share (passage), and with two segment
// methods or more their comparison (methods). It returns the file names.
func attributeFigures(dir string, fig *heatmap.Figure, segRows []data.SegmentAttribution, o *figureOptions) ([]string, error) {
	files, err := o.save(dir, "segments", fig)
	if err != nil {
		return nil, err
	}
	if from, to, id := passage(fig, passageTokens); to > from {
		s := fig.Strip(from, to)
		s.Title = fmt.Sprintf("%s: tokens %d–%d (%s)", fig.Title, from, to-1, id)
		if s.Unit == "" {
			s.Unit = "attribution score"
		}
		names, err := o.save(dir, "passage", s)
		if err != nil {
			return nil, err
		}
		files = append(files, names...)
	}
	if len(methodsOf(segRows, func(r data.SegmentAttribution) string { return r.Method })) >= 2 {
		c, err := comparisonFigure(segRows)
		if err != nil {
			return nil, err
		}
		names, err := o.save(dir, "methods", c)
		if err != nil {
			return nil, err
		}
		files = append(files, names...)
	}
	return files, nil
}

// formatsValue is --format: a list of figure formats, checked as it is set.
type formatsValue struct{ f *[]heatmap.Format }

func (v formatsValue) String() string {
	if v.f == nil {
		return ""
	}
	var s []string
	for _, f := range *v.f {
		s = append(s, string(f))
	}
	return strings.Join(s, ",")
}

func (v formatsValue) Set(s string) error {
	fs, err := heatmap.ParseFormats(s)
	if err != nil {
		return err
	}
	*v.f = fs
	return nil
}

func (formatsValue) Type() string { return "formats" }

// widthValue is --figure-width.
type widthValue struct{ w *vg.Length }

func (v widthValue) String() string {
	switch {
	case v.w == nil || *v.w == heatmap.TwoColumn:
		return "two"
	case *v.w == heatmap.OneColumn:
		return "one"
	}
	return strconv.FormatFloat(float64(*v.w/vg.Inch), 'g', 4, 64) + "in"
}

func (v widthValue) Set(s string) error {
	w, err := heatmap.ParseWidth(s)
	if err != nil {
		return err
	}
	*v.w = w
	return nil
}

func (widthValue) Type() string { return "width" }

// dpiValue is --dpi, 50 to 1200 (a two-column figure at 1200 dpi is 8,400 pixels wide).
type dpiValue struct{ d *int }

func (v dpiValue) String() string {
	if v.d == nil {
		return "300"
	}
	return strconv.Itoa(*v.d)
}

func (v dpiValue) Set(s string) error {
	d, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || d < 50 || d > 1200 {
		return fmt.Errorf("%q: want a whole number from 50 to 1200", s)
	}
	*v.d = d
	return nil
}

func (dpiValue) Type() string { return "dpi" }

// namedFigure is a figure and the file name (without extension) it is saved under.
type namedFigure struct {
	name string
	fig  heatmap.Drawable
}

// metricWords is how a figure names a metric.
func metricWords(metric string) string {
	if metric == "logit_diff" {
		return "logit difference"
	}
	return "log p(target)"
}

// methodUnit is the axis label, with units, of a segment method's scores.
func methodUnit(method, metric string) string {
	m := metricWords(metric)
	switch method {
	case attribution.MethodGradXInput:
		return "gradient × input: Δ " + m + " to first order"
	case attribution.MethodIG, methodIG:
		return "integrated gradients: Δ " + m
	case attribution.MethodAblation:
		return m + " lost when the segment is deleted"
	case attribution.MethodAttention:
		return "share of the attention of the token before the target"
	case attribution.MethodRollout:
		return "attention rollout share"
	}
	return method + " score"
}

// segmentOrder returns the segments of some attribution rows once each, in episode order.
func segmentOrder(rows []data.SegmentAttribution) []data.SegmentAttribution {
	seen := map[string]bool{}
	var out []data.SegmentAttribution
	for _, r := range rows {
		if !seen[r.SegmentID] {
			seen[r.SegmentID] = true
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b data.SegmentAttribution) int { return int(a.TokenStart - b.TokenStart) })
	return out
}

// methodsOf returns the methods of some rows in order of first appearance.
func methodsOf[T any](rows []T, method func(T) string) []string {
	var out []string
	for _, r := range rows {
		if m := method(r); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// segmentsFigure builds the segment → target figure of one method from segments.parquet rows (and the
// deletion effects beside it when the rows have them), with the tokens of tokens.parquet rows of the
// same method when there are any.
func segmentsFigure(segs []data.SegmentAttribution, toks []data.TokenAttribution, method string) (*heatmap.Figure, error) {
	var mine []data.SegmentAttribution
	effect := map[string]float64{}
	for _, r := range segs {
		switch r.Method {
		case method:
			mine = append(mine, r)
		case attribution.MethodAblation:
			effect[r.SegmentID] = r.Score
		}
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("no segment rows of method %s (have %s)", method, strings.Join(methodsOf(segs, func(r data.SegmentAttribution) string { return r.Method }), ", "))
	}
	r0 := mine[0]
	fig := &heatmap.Figure{Title: fmt.Sprintf("%s → token %d (in %s)", r0.EpisodeID, r0.TargetToken, r0.TargetSegment),
		Subtitle:   fmt.Sprintf("%s · %s · %s = %.4f", r0.Model, method, r0.Metric, r0.MetricValue),
		ScoreLabel: methodUnit(method, r0.Metric), EffectLabel: methodUnit(attribution.MethodAblation, r0.Metric), Target: -1}
	index := map[string]int{}
	for _, r := range segmentOrder(mine) {
		index[r.SegmentID] = len(fig.Segments)
		s := heatmap.Segment{ID: r.SegmentID, Kind: r.SegmentKind, Label: r.Label, Score: r.Score, Share: r.Share}
		if e, ok := effect[r.SegmentID]; ok && method != attribution.MethodAblation {
			s.Effect, s.HasEffect = e, true
		}
		fig.Segments = append(fig.Segments, s)
	}
	for _, t := range toks {
		if t.Method != method {
			continue
		}
		si, ok := index[t.SegmentID]
		if !ok {
			si = -1
		}
		fig.Tokens = append(fig.Tokens, heatmap.Token{Text: t.Text, Score: t.Score, Segment: si})
	}
	if n := len(fig.Tokens); n > 0 {
		// tokens.parquet stops at the token before the target; the target sits in its segment.
		if si, ok := index[r0.TargetSegment]; ok {
			fig.Tokens = append(fig.Tokens, heatmap.Token{Text: "[target]", Segment: si})
			fig.Target = n
		}
	}
	return fig, nil
}

// comparisonFigure lays every method of some segments.parquet rows side by side.
func comparisonFigure(segs []data.SegmentAttribution) (*heatmap.Comparison, error) {
	methods := methodsOf(segs, func(r data.SegmentAttribution) string { return r.Method })
	if len(methods) < 2 {
		return nil, fmt.Errorf("a method comparison needs two methods or more (have %s)", strings.Join(methods, ", "))
	}
	order := segmentOrder(segs)
	r0 := segs[0]
	c := &heatmap.Comparison{Title: fmt.Sprintf("%s → token %d: segment attribution by method", r0.EpisodeID, r0.TargetToken),
		Subtitle: fmt.Sprintf("%s · %s = %.4f · each panel on its own axis", r0.Model, r0.Metric, r0.MetricValue), Methods: methods, Target: -1,
		Note: "Bars right of zero support the target; colours are segment kinds; – marks a segment a method did not score."}
	index := map[string]int{}
	for i, r := range order {
		index[r.SegmentID] = i
		c.Segments = append(c.Segments, heatmap.Segment{ID: r.SegmentID, Kind: r.SegmentKind, Label: r.Label})
		if r.SegmentID == r0.TargetSegment {
			c.Target = i
		}
	}
	if c.Target >= 0 {
		c.Note += " Bold: the segment holding the target token."
	}
	for _, m := range methods {
		scores := make([]float64, len(order))
		for i := range scores {
			scores[i] = math.NaN()
		}
		unit := ""
		for _, r := range segs {
			if r.Method == m {
				scores[index[r.SegmentID]] = r.Score
				unit = methodUnit(m, r.Metric)
			}
		}
		c.Scores, c.Units = append(c.Scores, scores), append(c.Units, unit)
	}
	return c, nil
}

// passage returns the token range of a figure's segment with the largest share (its whole span when
// that is at most limit tokens, else limit tokens around its largest score), and the segment's id.
func passage(fig *heatmap.Figure, limit int) (from, to int, id string) {
	best := -1
	for i, s := range fig.Segments {
		if best < 0 || s.Share > fig.Segments[best].Share {
			best = i
		}
	}
	if best < 0 {
		return 0, min(len(fig.Tokens), limit), ""
	}
	from, to = -1, -1
	peak := -1
	for t, tok := range fig.Tokens {
		if tok.Segment == best {
			if from < 0 {
				from = t
			}
			to = t + 1
			if peak < 0 || math.Abs(tok.Score) > math.Abs(fig.Tokens[peak].Score) {
				peak = t
			}
		}
	}
	if from < 0 {
		return 0, 0, fig.Segments[best].ID
	}
	if to-from > limit {
		from = min(to-limit, max(from, peak-limit/2))
		to = from + limit
	}
	return from, to, fig.Segments[best].ID
}

// matrixFigure builds the segment × segment heatmap from matrix.parquet rows: rows are the later
// segments (the target last), columns the deleted ones, so the cells fill the lower triangle.
func matrixFigure(rows []data.SegmentMatrixEntry) (*heatmap.Matrix, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("no matrix rows")
	}
	type node struct {
		id, label string
		start     int32
		target    bool
	}
	label := func(id, l string) string {
		if l != "" {
			return id + " " + l
		}
		return id
	}
	srcs, dsts := map[string]node{}, map[string]node{}
	cell := map[[2]string]float64{}
	for _, r := range rows {
		srcs[r.SourceID] = node{r.SourceID, label(r.SourceID, r.SourceLabel), r.SourceStart, false}
		dsts[r.DestID] = node{r.DestID, label(r.DestID, r.DestLabel), r.DestStart, r.DestKind == "target"}
		cell[[2]string{r.DestID, r.SourceID}] = r.Effect
	}
	sorted := func(m map[string]node) []node {
		var out []node
		for _, n := range m {
			out = append(out, n)
		}
		slices.SortFunc(out, func(a, b node) int {
			if a.target != b.target {
				if a.target {
					return 1
				}
				return -1
			}
			if a.start != b.start {
				return int(a.start - b.start)
			}
			return strings.Compare(a.id, b.id)
		})
		return out
	}
	r0 := rows[0]
	unit, what := "Δ mean log p", "mean log p of the row segment's tokens"
	if r0.Params != "" {
		unit, what = "Δ projection", "the row segment's last-token projection ("+r0.Params+")"
	}
	m := &heatmap.Matrix{Title: fmt.Sprintf("%s: segment × segment (%s, %s)", r0.EpisodeID, r0.Method, r0.Metric),
		Subtitle: fmt.Sprintf("%s · %d sources · target token %d", r0.Model, len(srcs), r0.TargetToken),
		Unit:     unit, RowTitle: "later segment", ColTitle: "deleted segment",
		ValueLabel: "Cell: " + what + " in the whole episode minus with the column segment deleted (red: the deleted segment supports it)."}
	cols := sorted(srcs)
	for _, c := range cols {
		m.Cols = append(m.Cols, c.label)
	}
	for _, d := range sorted(dsts) {
		m.Rows = append(m.Rows, d.label)
		row := make([]float64, len(cols))
		for j, c := range cols {
			v, ok := cell[[2]string{d.id, c.id}]
			if !ok {
				v = math.NaN()
			}
			row[j] = v
		}
		m.Values = append(m.Values, row)
	}
	return m, nil
}

// patchSiteName is the short site of a hook name for file names: blocks.3.hook_resid_pre → resid_pre,
// blocks.3.attn.hook_z → z.
func patchSiteName(site string) string {
	parts := strings.SplitN(site, ".", 3)
	if len(parts) == 3 {
		site = parts[2]
	}
	return strings.TrimPrefix(strings.TrimPrefix(site, "attn."), "hook_")
}

// patchFigures builds the activation-patching heatmaps from patch.parquet rows, one per method and
// site: layer × segment, layer × head (per-head rows) and layer × position (single-position rows),
// named as "agentlens attribute" names them (patch-resid_pre, atp-heads, patch-resid_pre-positions).
func patchFigures(rows []data.PatchEntry) []namedFigure {
	type key struct{ method, site, kind string }
	type grid struct {
		layers []int32
		cols   []string
		val    map[[2]string]float64
		r0     data.PatchEntry
	}
	grids := map[key]*grid{}
	var order []key
	for _, r := range rows {
		site := patchSiteName(r.Site)
		k, col := key{r.Method, site, "segments"}, r.SegmentID
		if r.SegmentLabel != "" {
			col += " " + r.SegmentLabel
		}
		switch {
		case r.Head >= 0:
			k, col = key{r.Method, site, "heads"}, fmt.Sprintf("head %d", r.Head)
		case r.Position >= 0:
			k.kind, col = "positions", fmt.Sprintf("%d (%s)", r.Position, r.SegmentID)
		}
		g := grids[k]
		if g == nil {
			g = &grid{val: map[[2]string]float64{}, r0: r}
			grids[k] = g
			order = append(order, k)
		}
		if !slices.Contains(g.layers, r.Layer) {
			g.layers = append(g.layers, r.Layer)
		}
		if !slices.Contains(g.cols, col) {
			g.cols = append(g.cols, col)
		}
		g.val[[2]string{strconv.Itoa(int(r.Layer)), col}] = r.Restored
	}
	var out []namedFigure
	for _, k := range order {
		g := grids[k]
		slices.Sort(g.layers)
		file := strings.ReplaceAll(k.method, "*", "star")
		name, what := file+"-"+k.site, g.r0.Site[strings.Index(g.r0.Site, ".")+1:]
		if i := strings.Index(what, "."); i >= 0 {
			what = what[i+1:]
		}
		what += " × layer"
		colTitle := "patched segment"
		switch k.kind {
		case "heads":
			name, what, colTitle = file+"-heads", "attention heads × layer", "head"
		case "positions":
			name, what, colTitle = file+"-"+k.site+"-positions", what+", single positions", "patched position (segment)"
		}
		r0 := g.r0
		m := &heatmap.Matrix{Title: fmt.Sprintf("%s → %s: %s, %s", r0.EpisodeID, r0.BaselineID, k.method, what), Clip: 1,
			Subtitle: fmt.Sprintf("%s · log p(target token %d): clean %.3f, corrupted %.3f", r0.Model, r0.TargetToken, r0.Clean, r0.Corrupt),
			Unit:     "share of the gap restored", RowTitle: "layer", ColTitle: colTitle,
			ValueLabel: "Cell: share of the clean − corrupted gap in log p(target) restored by patching the clean activation in (1: fully restored)."}
		m.Cols = g.cols
		for _, l := range g.layers {
			m.Rows = append(m.Rows, fmt.Sprintf("layer %d", l))
			row := make([]float64, len(g.cols))
			for i, c := range g.cols {
				v, ok := g.val[[2]string{strconv.Itoa(int(l)), c}]
				if !ok {
					v = math.NaN()
				}
				row[i] = v
			}
			m.Values = append(m.Values, row)
		}
		out = append(out, namedFigure{name, m})
	}
	return out
}

// flowKey is a key column of attention.parquet: a content segment, the first token or the rest.
type flowKey struct {
	id, kind, label string
	start           int32
}

func (k flowKey) String() string {
	switch k.id {
	case attribution.KeySink:
		return "first token (position 0)"
	case attribution.KeyOther:
		return "other (template, separators)"
	}
	if k.label != "" {
		return k.id + " " + k.label
	}
	return k.id
}

// flowFigures builds the attention-flow heatmaps from attention.parquet rows: attention-target
// (layer × key column of the token predicting the target, head mean), attention-heads (layer × head on
// one segment: the id or kind segment names, or the content segment the target's query attends to
// most), attention-segments (segment × segment, mean over layers and heads) and rollout (segment ×
// segment). Cells of a key segment that starts after its query row are left empty.
func flowFigures(rows []data.AttentionEntry, segment string) ([]namedFigure, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("no attention rows")
	}
	r0 := rows[0]
	// Key columns: content segments in episode order, then the first token and the rest.
	keys := map[string]flowKey{}
	var content []flowKey
	for _, r := range rows {
		if _, ok := keys[r.KeyID]; !ok {
			k := flowKey{r.KeyID, r.KeyKind, r.KeyLabel, r.KeyStart}
			keys[r.KeyID] = k
			if r.KeyID != attribution.KeySink && r.KeyID != attribution.KeyOther {
				content = append(content, k)
			}
		}
	}
	slices.SortStableFunc(content, func(a, b flowKey) int { return int(a.start - b.start) })
	cols := append(slices.Clone(content), flowKey{id: attribution.KeySink}, flowKey{id: attribution.KeyOther})
	colIndex := map[string]int{}
	var colLabels []string
	for i, k := range cols {
		colIndex[k.id] = i
		colLabels = append(colLabels, k.String())
	}
	nContent := len(content)
	heads, layers := 0, 0
	for _, r := range rows {
		heads, layers = max(heads, int(r.Head)+1), max(layers, int(r.Layer)+1)
	}
	target := int(r0.TargetToken)
	sub := fmt.Sprintf("%s · target token %d · descriptive, not causal", r0.Model, target)
	var out []namedFigure
	// segmentMatrix lays the query rows of one method's layer −1, head −1 rows out against the columns.
	segmentMatrix := func(method string) ([]string, [][]float64) {
		type q struct {
			id, label  string
			start, end int32
			target     bool
		}
		var qs []q
		seen := map[string]int{}
		var vals [][]float64
		for _, r := range rows {
			if r.Method != method || r.Layer != -1 || r.Head != -1 {
				continue
			}
			i, ok := seen[r.QueryID]
			if !ok {
				i = len(qs)
				seen[r.QueryID] = i
				l := flowKey{id: r.QueryID, label: r.QueryLabel}.String()
				if r.QueryKind == "target" {
					l = fmt.Sprintf("target (token %d, read at %d)", target, target-1)
				}
				qs = append(qs, q{r.QueryID, l, r.QueryStart, r.QueryEnd, r.QueryKind == "target"})
				row := make([]float64, len(cols))
				for k := range row {
					row[k] = math.NaN()
				}
				vals = append(vals, row)
			}
			if k, ok := colIndex[r.KeyID]; ok {
				vals[i][k] = r.Mass
			}
		}
		idx := make([]int, len(qs))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			if qs[a].target != qs[b].target {
				if qs[a].target {
					return 1
				}
				return -1
			}
			return int(qs[a].start - qs[b].start)
		})
		var labels []string
		var sorted [][]float64
		for _, i := range idx {
			row := vals[i]
			end := qs[i].end
			if qs[i].target {
				end = int32(target)
			}
			for k := range nContent {
				if cols[k].start >= end {
					row[k] = math.NaN()
				}
			}
			labels, sorted = append(labels, qs[i].label), append(sorted, row)
		}
		return labels, sorted
	}
	has := func(method string) bool {
		return slices.ContainsFunc(rows, func(r data.AttentionEntry) bool { return r.Method == method })
	}
	if has(attribution.MethodAttention) {
		m := &heatmap.Matrix{Title: fmt.Sprintf("%s: attention of the token before the target, by layer (mean over %d heads)", r0.EpisodeID, heads),
			Subtitle: sub, Cols: colLabels, Unit: "attention share", RowTitle: "layer", ColTitle: "key segment"}
		byLayer := make([][]float64, layers)
		for _, r := range rows {
			if r.Method == attribution.MethodAttention && r.QueryKind == "target" && r.Head == -1 && r.Layer >= 0 {
				if byLayer[r.Layer] == nil {
					byLayer[r.Layer] = make([]float64, len(cols))
				}
				byLayer[r.Layer][colIndex[r.KeyID]] = r.Mass
			}
		}
		sink := 0.0
		for l, row := range byLayer {
			if row == nil {
				continue
			}
			m.Rows = append(m.Rows, fmt.Sprintf("layer %d", l))
			m.Values = append(m.Values, row)
			sink += row[nContent] / float64(layers)
		}
		if len(m.Rows) > 0 {
			m.Clip = contentClip(m.Values, nContent, false)
			m.ValueLabel = fmt.Sprintf("Cell: share of token %d's attention on the column's tokens; colour clipped at %.3g, the 95th percentile of segment cells (the first token takes %.0f%% on average).",
				target-1, m.Clip, 100*sink)
			out = append(out, namedFigure{"attention-target", m})
		}
		// One segment's attention per head: the named segment (id), every segment of a kind, or the top one.
		var pick []int
		name, label := "", ""
		switch {
		case segment == "":
			best, bestMass := -1, 0.0
			for k := range nContent {
				mass := 0.0
				for _, row := range byLayer {
					if row != nil {
						mass += row[k]
					}
				}
				if best < 0 || mass > bestMass {
					best, bestMass = k, mass
				}
			}
			if best >= 0 {
				pick, name, label = []int{best}, content[best].id, content[best].label
			}
		case slices.ContainsFunc(content, func(k flowKey) bool { return k.id == segment }):
			k := slices.IndexFunc(content, func(k flowKey) bool { return k.id == segment })
			pick, name, label = []int{k}, segment, content[k].label
		default:
			for k, c := range content {
				if c.kind == segment {
					pick = append(pick, k)
				}
			}
			name = fmt.Sprintf("all %d %s segments", len(pick), segment)
		}
		if len(pick) > 0 && heads > 0 {
			hm := &heatmap.Matrix{Title: fmt.Sprintf("%s: attention of the token before the target on %s, by layer and head", r0.EpisodeID, name),
				Subtitle: strings.TrimSuffix(sub+" · "+shortLabel(label), " · "), Unit: "attention share", RowTitle: "layer", ColTitle: "query head",
				ValueLabel: "Cell: share of the head's attention on the tokens of " + name + "."}
			for h := range heads {
				hm.Cols = append(hm.Cols, fmt.Sprintf("head %d", h))
			}
			vals := make([][]float64, layers)
			for _, r := range rows {
				if r.Method == attribution.MethodAttention && r.QueryKind == "target" && r.Head >= 0 && r.Layer >= 0 {
					if k, ok := colIndex[r.KeyID]; ok && slices.Contains(pick, k) {
						if vals[r.Layer] == nil {
							vals[r.Layer] = make([]float64, heads)
						}
						vals[r.Layer][r.Head] += r.Mass
					}
				}
			}
			for l, row := range vals {
				if row != nil {
					hm.Rows, hm.Values = append(hm.Rows, fmt.Sprintf("layer %d", l)), append(hm.Values, row)
				}
			}
			if len(hm.Rows) > 0 {
				out = append(out, namedFigure{"attention-heads", hm})
			}
		}
		sm := &heatmap.Matrix{Title: fmt.Sprintf("%s: segment × segment attention (mean over %d layers and %d heads)", r0.EpisodeID, layers, heads),
			Subtitle: sub, Cols: colLabels, Unit: "attention share", RowTitle: "query segment", ColTitle: "key segment"}
		sm.Rows, sm.Values = segmentMatrix(attribution.MethodAttention)
		if len(sm.Rows) > 0 {
			sm.Clip = contentClip(sm.Values, nContent, true)
			sm.ValueLabel = fmt.Sprintf("Cell: mean over the row segment's tokens of their attention on the column's tokens; colour clipped at %.3g, the 95th percentile of off-diagonal segment cells.", sm.Clip)
			out = append(out, namedFigure{"attention-segments", sm})
		}
	}
	if has(attribution.MethodRollout) {
		m := &heatmap.Matrix{Title: fmt.Sprintf("%s: attention rollout, segment × segment (%d layers)", r0.EpisodeID, layers),
			Subtitle: sub, Cols: colLabels, Unit: "rollout share", RowTitle: "query segment", ColTitle: "key segment"}
		m.Rows, m.Values = segmentMatrix(attribution.MethodRollout)
		if len(m.Rows) > 0 {
			m.Clip = contentClip(m.Values, nContent, true)
			m.ValueLabel = fmt.Sprintf("Cell: rollout mass of the row segment's tokens on the column's tokens (product over layers of ½(attention + identity)); colour clipped at %.3g, the 95th percentile of off-diagonal segment cells.", m.Clip)
			out = append(out, namedFigure{"rollout", m})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no attention or rollout rows to draw")
	}
	return out, nil
}

// timelineFigure draws a probe's score over an episode from scores.parquet rows, the segments marked
// as runs of equal segment ids, with the threshold line.
func timelineFigure(scores []data.ProbeScore, threshold float64, model string) *heatmap.Timeline {
	r0 := scores[0]
	t := &heatmap.Timeline{Curves: heatmap.Curves{Title: fmt.Sprintf("%s over %s", r0.ProbeID, r0.EpisodeID), Subtitle: model,
		XLabel: "token", YLabel: "probe score", Reference: threshold, RefLabel: "threshold (1% FPR)"}}
	line := heatmap.Series{Name: "probe score"}
	sorted := slices.Clone(scores)
	slices.SortFunc(sorted, func(a, b data.ProbeScore) int { return int(a.Position - b.Position) })
	for i, s := range sorted {
		x := float64(s.Position)
		line.Points = append(line.Points, heatmap.Point{X: x, Y: s.Score, Lo: s.Score, Hi: s.Score})
		if i == 0 || s.SegmentID != sorted[i-1].SegmentID {
			t.Spans = append(t.Spans, heatmap.Span{Start: x, End: x + 1, Kind: s.SegmentKind, ID: s.SegmentID})
		} else {
			t.Spans[len(t.Spans)-1].End = x + 1
		}
	}
	t.Series = []heatmap.Series{line}
	return t
}
