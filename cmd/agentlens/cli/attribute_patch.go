package cli

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// findTarget finds the target token of a rendered episode: the spec's, or with none the first token of
// the last assistant message's first tool call (attribution.DecisionTarget).
func findTarget(r *trace.Rendered, spec trace.TargetSpec) (trace.Target, error) {
	if spec == (trace.TargetSpec{}) {
		tok, err := attribution.DecisionTarget(r)
		if err != nil {
			return trace.Target{}, notRenderedHint(err)
		}
		return trace.Target{Token: tok, Segment: r.Segments[r.TokenSegment[tok]].ID, Description: "first token of the last assistant action"}, nil
	}
	tg, err := trace.FindTarget(r, spec)
	if err != nil {
		return trace.Target{}, notRenderedHint(fmt.Errorf("episode %s: %w", r.Episode.ID, err))
	}
	return tg, nil
}

// baselineEpisode reads --baseline: an episode file (id picks one of several), or the clean episode
// edited: "delete:ID,ID" without those segments, "rewrite:ID=FILE,…" with their text replaced by the
// files'.
func baselineEpisode(arg, id string, clean *trace.Episode, seg trace.SegmentOptions) (*trace.Episode, error) {
	var edits []trace.Edit
	switch {
	case strings.HasPrefix(arg, "delete:"):
		for _, seg := range splitList(strings.TrimPrefix(arg, "delete:")) {
			edits = append(edits, trace.Edit{Segment: seg})
		}
	case strings.HasPrefix(arg, "rewrite:"):
		for _, kv := range splitList(strings.TrimPrefix(arg, "rewrite:")) {
			seg, file, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, flagErrorf("--baseline %s: %q is not SEGMENT=FILE", arg, kv)
			}
			text, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("--baseline %s: %w", arg, err)
			}
			edits = append(edits, trace.Edit{Segment: seg, Text: string(text)})
		}
	default:
		eps, err := loadEpisodes(arg, "", seg)
		if err != nil {
			return nil, err
		}
		return pickEpisode(arg, eps, id)
	}
	if len(edits) == 0 {
		return nil, flagErrorf("--baseline %s: name at least one segment", arg)
	}
	ep, err := clean.Edited(clean.ID+"~"+strings.SplitN(arg, ":", 2)[0], edits...)
	if err != nil {
		return nil, fmt.Errorf("--baseline %s: %w", arg, err)
	}
	return ep, nil
}

// patchJob is the clean/corrupted pair of "attribute --method patch,atp" and its results.
type patchJob struct {
	al       *attribution.Alignment
	contrast int    // token id of --contrast (0: the metric is log p)
	metric   string // "log_prob" or "logit_diff"

	results []*attribution.PatchResult
	figs    *figureOptions // formats and style of the heatmaps (nil: SVG)
}

// newPatchJob renders the corrupted episode, finds its target and aligns it with the clean one.
func newPatchJob(errOut io.Writer, s *session, baseEp *trace.Episode, clean *trace.Rendered, tg trace.Target, opts *attributeOptions) (*patchJob, error) {
	rb, err := s.render(baseEp, false)
	if err != nil {
		return nil, err
	}
	spec := opts.BaselineTarget
	if spec == (trace.TargetSpec{}) {
		spec = opts.Target
	}
	btg, err := findTarget(rb, spec)
	if err != nil {
		return nil, fmt.Errorf("--baseline %s: %w", opts.Baseline, err)
	}
	al, err := attribution.Align(clean, rb, tg.Token, btg.Token)
	if err != nil {
		return nil, err
	}
	n, rewritten := 0, 0
	for _, a := range al.Segments {
		if a.Aligned {
			n++
			if a.Rewritten {
				rewritten++
			}
		}
	}
	fmt.Fprintf(errOut, "agentlens: baseline %s, %d tokens, target token %d; %d of %d segments before the target aligned (%d rewritten)\n",
		baseEp.ID, len(rb.IDs), btg.Token, n, len(al.Segments), rewritten)
	j := &patchJob{al: al, figs: &opts.figureOptions, metric: attribution.MetricName(model.LogProb)}
	if opts.Contrast != "" {
		ids := s.Tok.Encode(opts.Contrast, false).IDs
		if len(ids) != 1 {
			return nil, flagErrorf("--contrast %q is %d tokens in this model's tokenizer: want the text of exactly one token", opts.Contrast, len(ids))
		}
		if ids[0] == clean.IDs[tg.Token] {
			return nil, flagErrorf("--contrast %q is the target token itself", opts.Contrast)
		}
		j.contrast, j.metric = ids[0], attribution.MetricName(model.LogitDiff)
		fmt.Fprintf(errOut, "agentlens: patching metric logit[%q] − logit[%q]\n", s.Tok.Token(clean.IDs[tg.Token]), s.Tok.Token(ids[0]))
	}
	return j, nil
}

// patchAgreement is one estimate's agreement with patching in summary.json: over all cells (Site
// "all") or one site's cells (a hook site suffix, e.g. "attn.hook_k"), leaving out the cells whose
// patch is the identity (attribution.Alignment.Identity: segments before the first edit, whose
// activations are the same in both runs; their zeros would tie and inflate the correlation).
type patchAgreement struct {
	Method          string   `json:"method"` // atp or atp*
	Site            string   `json:"site"`
	Cells           int      `json:"cells"`
	IdentityLeftOut int      `json:"identity_cells_left_out"`
	Spearman        *float64 `json:"spearman,omitempty"` // absent when undefined (fewer than two cells, a constant side)
	// Large counts the cells where patching restores at least a quarter of the largest |share|;
	// FalseNegatives lists those the estimate misses (under a quarter of the share, or the wrong sign).
	Large          int      `json:"large"`
	FalseNegatives []string `json:"false_negatives,omitempty"`
}

// write writes patch.parquet, the heatmaps of every result and, with patching and an estimate, the
// scatter of each estimate against patching; it returns the files, the Spearman correlation of AtP's
// and patching's restored shares over all their cells (NaN without both), and each estimate's
// agreement with patching over all cells and per query and key site, identity patches left out.
func (j *patchJob) write(dir string, meta matrixMeta) ([]string, float64, []patchAgreement, error) {
	al := j.al
	var rows []data.PatchEntry
	var files []string
	for _, pr := range j.results {
		for _, c := range pr.Cells {
			e := data.PatchEntry{EpisodeID: al.Clean.Episode.ID, BaselineID: al.Corrupt.Episode.ID, Model: meta.model, ModelHash: meta.hash,
				Method: pr.Method, Site: c.Site.String(), Layer: int32(c.Site.Layer), Head: int32(c.Head), Position: int32(c.Position),
				TargetToken: int32(meta.target),
				Metric:      j.metric, Clean: pr.Clean, Corrupt: pr.Corrupt, Value: c.Value, Restored: c.Restored}
			if c.Segment >= 0 {
				sg := al.Segments[c.Segment]
				e.SegmentID, e.SegmentKind, e.SegmentLabel, e.Rewritten = sg.ID, string(sg.Kind), sg.Label, sg.Rewritten
				e.CleanStart, e.CleanEnd, e.CorruptStart, e.CorruptEnd = int32(sg.Clean.Start), int32(sg.Clean.End), int32(sg.Corrupt.Start), int32(sg.Corrupt.End)
			}
			rows = append(rows, e)
		}
		figs, err := j.figures(dir, pr, meta)
		if err != nil {
			return nil, 0, nil, err
		}
		files = append(files, figs...)
	}
	if err := data.Write(filepath.Join(dir, "patch.parquet"), rows); err != nil {
		return nil, 0, nil, err
	}
	files = append(files, "patch.parquet")
	var measured *attribution.PatchResult
	var estimates []*attribution.PatchResult
	for _, pr := range j.results {
		if pr.Method == "patch" {
			measured = pr
		} else {
			estimates = append(estimates, pr)
		}
	}
	if measured == nil || len(estimates) == 0 {
		return files, math.NaN(), nil, nil
	}
	rho := math.NaN()
	var agree []patchAgreement
	for _, est := range estimates {
		if est.Method == "atp" {
			rho = attribution.ComparePatch(est, measured, nil).Spearman
		}
		scopes := []hook.Site{-1} // −1: every site
		for _, s := range []hook.Site{hook.K, hook.Q} {
			if slices.ContainsFunc(measured.Cells, func(c attribution.PatchCell) bool { return c.Site.Site == s }) {
				scopes = append(scopes, s)
			}
		}
		for _, site := range scopes {
			left := 0
			keep := func(c attribution.PatchCell) bool {
				if site >= 0 && c.Site.Site != site {
					return false
				}
				if al.Identity(c) {
					left++
					return false
				}
				return true
			}
			cmp := attribution.ComparePatch(est, measured, keep)
			a := patchAgreement{Method: est.Method, Site: "all", Cells: cmp.Cells, IdentityLeftOut: left, Large: cmp.Large}
			if site >= 0 {
				a.Site = site.String()
			}
			if !math.IsNaN(cmp.Spearman) {
				rho := cmp.Spearman
				a.Spearman = &rho
			}
			for _, c := range cmp.FalseNegatives {
				a.FalseNegatives = append(a.FalseNegatives, j.cellName(c))
			}
			agree = append(agree, a)
		}
	}
	names, err := j.figs.save(dir, "patch-scatter", j.scatter(measured, estimates, meta))
	if err != nil {
		return nil, 0, nil, err
	}
	return append(files, names...), rho, agree, nil
}

// cellName names a cell for the summary: site, and the segment or head or position.
func (j *patchJob) cellName(c attribution.PatchCell) string {
	switch {
	case c.Head >= 0:
		return fmt.Sprintf("%s head %d", c.Site, c.Head)
	case c.Position >= 0:
		return fmt.Sprintf("%s position %d", c.Site, c.Position)
	}
	return fmt.Sprintf("%s %s", c.Site, j.al.Segments[c.Segment].ID)
}

// scatter plots each estimate's restored share against patching's, one point per cell both have.
func (j *patchJob) scatter(measured *attribution.PatchResult, estimates []*attribution.PatchResult, meta matrixMeta) *heatmap.Curves {
	c := &heatmap.Curves{Title: fmt.Sprintf("%s → %s: estimates against activation patching", j.al.Clean.Episode.ID, j.al.Corrupt.Episode.ID),
		Subtitle: fmt.Sprintf("%s · log p(target token %d): clean %.3f, corrupted %.3f · one point per cell; on the diagonal, the estimate is exact",
			meta.model, meta.target, measured.Clean, measured.Corrupt),
		XLabel: "share of the gap restored by patching", YLabel: "share estimated", Diagonal: true}
	type key struct {
		site                 hook.Name
		head, segment, place int
	}
	byKey := map[key]float64{}
	for _, cell := range measured.Cells {
		byKey[key{cell.Site, cell.Head, cell.Segment, cell.Position}] = cell.Restored
	}
	for _, est := range estimates {
		s := heatmap.Series{Name: est.Method, Scatter: true}
		if est.Method == "atp*" {
			s.Color = 2
		}
		for _, cell := range est.Cells {
			x, ok := byKey[key{cell.Site, cell.Head, cell.Segment, cell.Position}]
			if !ok || math.IsNaN(x) || math.IsNaN(cell.Restored) {
				continue
			}
			s.Points = append(s.Points, heatmap.Point{X: x, Y: cell.Restored, Lo: cell.Restored, Hi: cell.Restored})
		}
		c.Series = append(c.Series, s)
	}
	return c
}

// fileMethod is a method's name in file names: atp* is atpstar.
func fileMethod(m string) string { return strings.ReplaceAll(m, "*", "star") }

// parsePatchSites reads --patch-sites: residual, attention-output and MLP-output sites as parseSites,
// and the attention sites q, k, v and z (hook_q, hook_k, hook_v, hook_z; "attn.hook_k" and "hook_k"
// are accepted too).
func parsePatchSites(s string) ([]hook.Site, error) {
	attnSites := map[string]hook.Site{"q": hook.Q, "k": hook.K, "v": hook.V, "z": hook.Z}
	var out, rest []hook.Site
	var other []string
	for _, item := range splitList(s) {
		name := strings.TrimPrefix(strings.TrimPrefix(item, "attn."), "hook_")
		if st, ok := attnSites[name]; ok {
			out = append(out, st)
			continue
		}
		other = append(other, item)
	}
	if len(other) > 0 {
		var err error
		if rest, err = parseSites(strings.Join(other, ",")); err != nil {
			return nil, fmt.Errorf("%w (or an attention site: q, k, v, z)", err)
		}
	}
	out = append(out, rest...)
	if len(out) == 0 {
		return nil, errors.New("no sites")
	}
	return out, nil
}

// figures draws one heatmap per site of a result: layers × segments, layers × heads (hook_z per head)
// and layers × single positions.
func (j *patchJob) figures(dir string, pr *attribution.PatchResult, meta matrixMeta) ([]string, error) {
	type key struct {
		site hook.Site
		kind string // "segments", "heads" or "positions"
	}
	type grid struct {
		layers, cols []int
		val          map[[2]int]float64
	}
	grids := map[key]*grid{}
	var order []key
	for _, c := range pr.Cells {
		k, col := key{c.Site.Site, "segments"}, c.Segment
		switch {
		case c.Head >= 0:
			k, col = key{hook.Z, "heads"}, c.Head
		case c.Position >= 0:
			k.kind, col = "positions", c.Position
		}
		g := grids[k]
		if g == nil {
			g = &grid{val: map[[2]int]float64{}}
			grids[k] = g
			order = append(order, k)
		}
		if !slices.Contains(g.layers, c.Site.Layer) {
			g.layers = append(g.layers, c.Site.Layer)
		}
		if !slices.Contains(g.cols, col) {
			g.cols = append(g.cols, col)
		}
		g.val[[2]int{c.Site.Layer, col}] = c.Restored
	}
	al := j.al
	var files []string
	for _, k := range order {
		g := grids[k]
		site := strings.TrimPrefix(strings.TrimPrefix(k.site.String(), "attn."), "hook_")
		fm := fileMethod(pr.Method)
		name := fm + "-" + site + ".svg"
		what := k.site.String() + " × layer"
		switch k.kind {
		case "heads":
			name, what = fm+"-heads.svg", "attention heads × layer"
		case "positions":
			name, what = fm+"-"+site+"-positions.svg", k.site.String()+" at single positions × layer"
		}
		m := &heatmap.Matrix{Title: fmt.Sprintf("%s → %s: %s, %s", al.Clean.Episode.ID, al.Corrupt.Episode.ID, pr.Method, what), Clip: 1,
			Subtitle:   fmt.Sprintf("%s · log p(target token %d): clean %.3f, corrupted %.3f", meta.model, meta.target, pr.Clean, pr.Corrupt),
			ValueLabel: "cell: share of the clean − corrupted gap restored by patching the clean activations in (1 = fully restored)"}
		for _, c := range g.cols {
			switch k.kind {
			case "heads":
				m.Cols = append(m.Cols, fmt.Sprintf("head %d", c))
			case "positions":
				sp := al.Clean.Offsets[c]
				m.Cols = append(m.Cols, fmt.Sprintf("%d %q", c, al.Clean.Text[sp[0]:sp[1]]))
			default:
				sg := al.Segments[c]
				label := sg.ID
				if sg.Label != "" {
					label += " " + sg.Label
				}
				m.Cols = append(m.Cols, label)
			}
		}
		for _, l := range g.layers {
			m.Rows = append(m.Rows, fmt.Sprintf("layer %d", l))
			row := make([]float64, len(g.cols))
			for i, c := range g.cols {
				v, ok := g.val[[2]int{l, c}]
				if !ok {
					v = math.NaN()
				}
				row[i] = v
			}
			m.Values = append(m.Values, row)
		}
		names, err := j.figs.save(dir, strings.TrimSuffix(name, ".svg"), m)
		if err != nil {
			return nil, err
		}
		files = append(files, names...)
	}
	return files, nil
}
