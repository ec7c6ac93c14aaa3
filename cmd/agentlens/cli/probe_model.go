package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/probes"
	"github.com/agentlens/agentlens/trace"
)

// probeModelOptions are what the probe commands that run a model share: the probe, the model and
// the episodes.
type probeModelOptions struct {
	IO  *IOStreams
	Ctx context.Context

	modelChoice
	Probe    string
	Episodes []string
	Force    bool
	Out      string
	episodeLabels
	segmentRules
	figureOptions
}

// probeModelFlags registers the shared flags; parse finishes them.
type probeModelFlags struct {
	modelChoiceArgs
	target, pos, neg string
}

func (o *probeModelOptions) flags(cmd *cobra.Command, fl *probeModelFlags) {
	o.modelChoice.flags(cmd, &fl.modelChoiceArgs)
	f := cmd.Flags()
	f.BoolVar(&o.Force, "force", false, "use the probe on another model's weights (its hash or d_model differ)")
	f.StringVarP(&o.Out, "out", "o", "", "output `dir`ectory")
	o.episodeLabels.flags(cmd, &fl.target, &fl.pos, &fl.neg)
	o.addSegmentRuleFlag(cmd)
	o.addFigureFlags(cmd, "svg")
}

func (o *probeModelOptions) parse(f *Factory, cmd *cobra.Command, fl *probeModelFlags, args []string) error {
	o.Ctx = cmd.Context()
	o.Probe, o.Episodes = args[0], args[1:]
	if o.Out == "" {
		return flagErrorf("--out: name the output directory")
	}
	if err := o.episodeLabels.parse(cmd, fl.target, fl.pos, fl.neg); err != nil {
		return err
	}
	if err := o.readSegmentRules(); err != nil {
		return err
	}
	return o.modelChoice.parse(f, fl.modelChoiceArgs)
}

// open reads the probe, loads the model (fetching a known one that is missing), checks that the probe
// was trained on these weights, and reads the episodes.
func (o *probeModelOptions) open() (data.Probe, *probes.Probe, *session, []*trace.Episode, error) {
	fail := func(err error) (data.Probe, *probes.Probe, *session, []*trace.Episode, error) {
		return data.Probe{}, nil, nil, nil, err
	}
	rec, p, err := readProbe(o.Probe)
	if err != nil {
		return fail(err)
	}
	eps, err := loadAllEpisodes(o.Episodes, o.Segment)
	if err != nil {
		return fail(err)
	}
	s, err := o.openModel(rec)
	if err != nil {
		return fail(err)
	}
	return rec, p, s, eps, nil
}

// openModel loads the model (fetching a known one that is missing) and checks that the probe was
// trained on these weights.
func (o *probeModelOptions) openModel(rec data.Probe) (*session, error) {
	if err := o.fetchIfMissing(o.Ctx, o.IO); err != nil {
		return nil, err
	}
	hash, err := modelHash(o.Model)
	if err != nil {
		return nil, err
	}
	return o.openModelHashed(rec, hash)
}

// openModelHashed is openModel for a model already fetched whose weights hash to hash.
func (o *probeModelOptions) openModelHashed(rec data.Probe, hash string) (*session, error) {
	if !o.Force && rec.ModelHash != "" && hash != rec.ModelHash {
		return nil, fmt.Errorf("probe %s was trained on weights %s, model %s is %s (--force to use it anyway)", o.Probe, rec.ModelHash, o.Model, hash)
	}
	s, err := o.modelChoice.open(o.Ctx, o.IO)
	if err != nil {
		return nil, err
	}
	if d := s.Model.Dims().DModel; d != int(rec.DModel) {
		return nil, fmt.Errorf("probe %s takes d_model %d, model %s has %d", o.Probe, rec.DModel, s.Name, d)
	}
	return s, nil
}

// probeSite returns the hook the probe reads.
func probeSite(rec data.Probe) (hook.Name, error) {
	n, err := hook.Parse(rec.Site)
	if err != nil {
		return hook.Name{}, fmt.Errorf("probe %s: site %s: %w", rec.ProbeID, rec.Site, err)
	}
	return n, nil
}

// probeCausalOptions are the inputs of "agentlens probe ablate" and "agentlens probe steer".
type probeCausalOptions struct {
	probeModelOptions
	Steer  bool
	Alphas []float64 // steer: fractions of the typical activation norm
	Splits []string
	Limit  int
	Random int
	Seed   uint64
	// Layers are the layers whose copy of the probe's site is intervened on (nil: the probe's own;
	// AllLayers: every layer).
	Layers    []int
	AllLayers bool
	jsonOutput
}

func newCmdProbeCausal(f *Factory, steer bool, runF func(*probeCausalOptions) error) *cobra.Command {
	opts := &probeCausalOptions{probeModelOptions: probeModelOptions{IO: f.IO}, Steer: steer}
	var fl probeModelFlags
	var splits, alphas, layers string
	name, short, long := "ablate", "Project a probe's direction out of the model and measure the action's log-probability",
		`Test a probe causally: for each labeled episode (in --splits, at most --limit), run the context
before its action with the probe's direction projected out of the probe's site at every
position, and with each of --random random unit directions projected out the same way, and
record log p(action token). A direction that carries the behaviour lowers log p(harmful
action) on positive episodes far more than random directions do. --layers removes the
same direction from the site at several layers at once (directional ablation across the
residual stream: a feature written at one layer is read again at later ones).`
	example := `  agentlens probe ablate out/probes/L12.parquet out/dataset --splits test_family --limit 40 --out out/causal
  agentlens probe ablate p.parquet episodes.jsonl --random 50 --out out/causal
  agentlens probe ablate out/probes/L12.parquet out/dataset --layers all --limit 16 --out out/causal-all
  agentlens probe ablate p.parquet out/dataset --splits test_family --out out/causal --json | jq '.summary[]'`
	if steer {
		name, short, long = "steer", "Add a probe's direction to the model and measure the action's log-probability",
			`Steer along a probe's direction: for each labeled episode, add alpha × (the typical norm of
the probe site's activations, the RMS norm of its training vectors) × the unit direction at
every position of the probe's site, for each --alpha, and the same for --random random unit
directions, and record log p(action token). Negative alphas push against the probe's
positive class.`
		example = `  agentlens probe steer out/probes/L12.parquet out/dataset --alpha -0.5,0.5 --splits test_family --out out/steer
  agentlens probe steer p.parquet out/dataset --alpha -1,1 --out out/steer --json | jq '.summary[] | {label, alpha, probe_effect}'`
	}
	cmd := &cobra.Command{
		Use:   name + " <probe.parquet> <episodes>... --out <dir> [--model <m>] [--splits <list>] [--limit <n>] [--random <n>]",
		Short: short,
		Long: long + "\n\nWrites --out/effects.parquet (table DirectionEffect in package data) and the figure --out/effects.svg\n(in each --format)." +
			"\n\n--json prints the summary table as rows (label, alpha, episodes, probe_effect, random_effect_mean, …)\ninstead of the table.",
		Example: example,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return flagErrorf("probe %s: name a probe file and at least one episode file or directory", name)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.parse(f, cmd, &fl, args); err != nil {
				return err
			}
			opts.Splits = splitList(splits)
			if layers != "" {
				l, err := parseLayers(layers)
				if err != nil {
					return flagErrorf("--layers %s: %v", layers, err)
				}
				opts.Layers, opts.AllLayers = l, l == nil
			}
			if opts.Random < 1 {
				return flagErrorf("--random %d: want at least 1 control direction", opts.Random)
			}
			if opts.Limit < 0 {
				return flagErrorf("--limit %d: want 0 (all) or more", opts.Limit)
			}
			if steer {
				for _, a := range splitList(alphas) {
					var v float64
					if _, err := fmt.Sscan(a, &v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
						return flagErrorf("--alpha %s: %q is not a number", alphas, a)
					}
					opts.Alphas = append(opts.Alphas, v)
				}
				if len(opts.Alphas) == 0 {
					return flagErrorf("--alpha: give at least one value")
				}
			}
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return probeCausalRun(opts)
		},
	}
	opts.flags(cmd, &fl)
	c := cmd.Flags()
	c.StringVar(&splits, "splits", "", "episode `splits` to test (default: all labeled episodes)")
	c.IntVar(&opts.Limit, "limit", 0, "test at most `n` episodes (0: all)")
	c.IntVar(&opts.Random, "random", 20, "random control directions")
	c.Uint64Var(&opts.Seed, "seed", 1, "seed of the random directions")
	c.StringVar(&layers, "layers", "", "layers to intervene at: all, or a `list` such as 8,10-12 (default: the probe's layer)")
	if steer {
		c.StringVar(&alphas, "alpha", "-0.5,0.5", "`fractions` of the typical activation norm to add")
	}
	opts.addJSONFlag(cmd)
	return cmd
}

// typicalNorm is the RMS norm of the probe's training activations: √Σ(mean² + scale²).
func typicalNorm(rec data.Probe) float64 {
	s := 0.0
	for j := range rec.Mean {
		s += rec.Mean[j]*rec.Mean[j] + rec.Scale[j]*rec.Scale[j]
	}
	return math.Sqrt(s)
}

func probeCausalRun(opts *probeCausalOptions) error {
	rec, _, s, eps, err := opts.open()
	if err != nil {
		return err
	}
	site, err := probeSite(rec)
	if err != nil {
		return err
	}
	sites, err := causalSites(site, opts.Layers, opts.AllLayers, s.Model.Dims().NLayers)
	if err != nil {
		return err
	}
	lab, err := opts.labeler()
	if err != nil {
		return err
	}
	var keep []*trace.Episode
	for _, ep := range eps {
		if l, _ := lab.label(ep); l < 0 || len(opts.Splits) > 0 && !slices.Contains(opts.Splits, ep.Labels[opts.SplitKey]) {
			continue
		}
		keep = append(keep, ep)
		if opts.Limit > 0 && len(keep) == opts.Limit {
			break
		}
	}
	if len(keep) == 0 {
		return fmt.Errorf("no labeled episodes in %s (splits %v, label key %s)", strings.Join(opts.Episodes, " "), opts.Splits, opts.LabelKey)
	}
	items, err := episodeItems(s, keep, opts.episodeLabels, lab)
	if err != nil {
		return err
	}
	dirs := append([][]float32{toF32(rec.Direction)}, attribution.RandomDirections(opts.Random, int(rec.DModel), opts.Seed)...)
	names := []string{"probe"}
	for i := range opts.Random {
		names = append(names, fmt.Sprintf("random-%02d", i))
	}
	kind, alphas := model.Project, []float64{0}
	if opts.Steer {
		kind, alphas = model.Add, opts.Alphas
	}
	norm := typicalNorm(rec)
	start := time.Now()
	var rows []data.DirectionEffect
	var computed, ctx int
	for _, a := range alphas {
		total := len(items) * (len(dirs) + 1)
		prog := newETAProgress(opts.IO, fmt.Sprintf("probe %s: run", map[bool]string{false: "ablate", true: "steer"}[opts.Steer]), total)
		runs, st, err := attribution.DirectionEffects(s.Model, items, dirs, attribution.DirectionOptions{Sites: sites, Kind: kind,
			Alpha: a * norm, Progress: func(d, _ int) { prog.update(d, "") }})
		if err != nil {
			return err
		}
		prog.update(total, "")
		computed += st.Computed
		ctx += st.Tokens
		iv := "project"
		if opts.Steer {
			iv = "add"
		}
		for _, r := range runs {
			it := items[r.Item]
			rows = append(rows, data.DirectionEffect{EpisodeID: it.R.Episode.ID, Label: it.Label, Split: it.Split, Model: s.Name,
				ProbeID: rec.ProbeID, Site: siteList(sites), Intervention: iv, Alpha: a, Direction: names[r.Direction],
				Metric: "log_prob", Base: r.Base, Value: r.Value, Effect: r.Value - r.Base})
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "agentlens: %d episodes × %d directions (and the plain run) × %d settings at %s in %.1f s; %d context tokens, %d computed (%.0f%% reused from shared prefixes)\n",
		len(items), len(dirs), len(alphas), siteList(sites), time.Since(start).Seconds(), ctx, computed, 100*(1-float64(computed)/float64(max(ctx, 1))))
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	if err := data.Write(filepath.Join(opts.Out, "effects.parquet"), rows); err != nil {
		return err
	}
	figs, err := opts.save(opts.Out, "effects", effectsFigure(rec.ProbeID, rows))
	if err != nil {
		return err
	}
	if opts.JSON {
		return opts.print(map[string]any{"out": opts.Out, "outputs": append([]string{"effects.parquet"}, figs...),
			"probe_id": rec.ProbeID, "site": siteList(sites), "episodes": len(items), "random_directions": opts.Random,
			"context_tokens": ctx, "computed_tokens": computed, "elapsed_s": time.Since(start).Seconds(), "summary": effectRows(rows)})
	}
	if err := writeEffects(opts.IO.Out, rows); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "\nwrote %s: effects.parquet %s\n", opts.Out, strings.Join(figs, " "))
	return nil
}

// causalSites returns the hooks a causal test intervenes on: the probe's site at each of layers (the
// probe's own layer when none are given, every layer with all).
func causalSites(site hook.Name, layers []int, all bool, nLayers int) ([]hook.Name, error) {
	if !site.Site.InBlock() {
		if len(layers) > 0 || all {
			return nil, flagErrorf("--layers: the probe's site %s is not in a block", site)
		}
		return []hook.Name{site}, nil
	}
	if all {
		layers = model.AllPositions(nLayers)
	}
	if len(layers) == 0 {
		layers = []int{site.Layer}
	}
	var out []hook.Name
	for _, l := range layers {
		if l < 0 || l >= nLayers {
			return nil, flagErrorf("--layers: layer %d outside the model's 0..%d", l, nLayers-1)
		}
		out = append(out, hook.At(site.Site, l))
	}
	return out, nil
}

// siteList names intervention sites for tables and messages: one hook name, or the site with its
// layers ("blocks.{0-29}.hook_resid_post").
func siteList(sites []hook.Name) string {
	if len(sites) == 1 {
		return sites[0].String()
	}
	var ls []int
	for _, s := range sites {
		ls = append(ls, s.Layer)
	}
	return strings.Replace(hook.At(sites[0].Site, 0).String(), "blocks.0.", "blocks.{"+layerRanges(ls)+"}.", 1)
}

// layerRanges writes sorted layers compactly: 0-3,7.
func layerRanges(ls []int) string {
	ls = slices.Clone(ls)
	slices.Sort(ls)
	var parts []string
	for i := 0; i < len(ls); {
		j := i
		for j+1 < len(ls) && ls[j+1] == ls[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", ls[i], ls[j]))
		} else {
			parts = append(parts, strconv.Itoa(ls[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// effectSummary is one (label, alpha) group of a causal test: the probe direction's mean effect and the
// random directions' mean effects.
type effectSummary struct {
	label  int32
	alpha  float64
	n      int
	probe  float64   // mean effect of the probe direction over the episodes
	random []float64 // mean effect of each random direction over the same episodes
}

func summarise(rows []data.DirectionEffect) []effectSummary {
	type key struct {
		label int32
		alpha float64
	}
	sums := map[key]map[string][]float64{}
	var order []key
	for _, r := range rows {
		k := key{r.Label, r.Alpha}
		if sums[k] == nil {
			sums[k] = map[string][]float64{}
			order = append(order, k)
		}
		sums[k][r.Direction] = append(sums[k][r.Direction], r.Effect)
	}
	sort.Slice(order, func(a, b int) bool {
		if order[a].alpha != order[b].alpha {
			return order[a].alpha < order[b].alpha
		}
		return order[a].label > order[b].label
	})
	var out []effectSummary
	for _, k := range order {
		es := effectSummary{label: k.label, alpha: k.alpha, n: len(sums[k]["probe"]), probe: mean(sums[k]["probe"])}
		var dirs []string
		for d := range sums[k] {
			if d != "probe" {
				dirs = append(dirs, d)
			}
		}
		sort.Strings(dirs)
		for _, d := range dirs {
			es.random = append(es.random, mean(sums[k][d]))
		}
		out = append(out, es)
	}
	return out
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(max(1, len(x)))
}

// effectRow is one row of the summary of probe ablate and probe steer, per label and alpha: the probe
// direction's mean change of log p(action) against the random directions' (their mean and range), and
// how many random directions have an effect at least as large in magnitude (an empirical p-value).
type effectRow struct {
	Label      int32   `json:"label"` // 1, 0 or −1 as in effects.parquet
	Alpha      float64 `json:"alpha"`
	Episodes   int     `json:"episodes"`
	Probe      float64 `json:"probe_effect"`   // mean Δ log p(action) with the probe direction
	ProbeP     float64 `json:"probe_effect_p"` // the same as a relative change of p: exp(probe_effect) − 1
	RandomMean float64 `json:"random_effect_mean"`
	RandomMin  float64 `json:"random_effect_min"`
	RandomMax  float64 `json:"random_effect_max"`
	AsLarge    int     `json:"random_as_large"` // random directions with |effect| ≥ |probe_effect|
	Random     int     `json:"random_directions"`
}

// effectRows summarises rows per label and alpha.
func effectRows(rows []data.DirectionEffect) []effectRow {
	out := []effectRow{}
	for _, s := range summarise(rows) {
		r := effectRow{Label: s.label, Alpha: s.alpha, Episodes: s.n, Probe: s.probe, ProbeP: math.Exp(s.probe) - 1,
			RandomMean: mean(s.random), RandomMin: math.Inf(1), RandomMax: math.Inf(-1), Random: len(s.random)}
		for _, x := range s.random {
			r.RandomMin, r.RandomMax = math.Min(r.RandomMin, x), math.Max(r.RandomMax, x)
			if math.Abs(x) >= math.Abs(s.probe) {
				r.AsLarge++
			}
		}
		out = append(out, r)
	}
	return out
}

// writeEffects prints effectRows as a table.
func writeEffects(w io.Writer, rows []data.DirectionEffect) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprint(tw, "LABEL\tALPHA\tEPISODES\tPROBE Δ log p\tΔ p\tRANDOM Δ log p (mean [min, max])\tRANDOM ≥ |PROBE|\n")
	for _, r := range effectRows(rows) {
		fmt.Fprintf(tw, "%s\t%g\t%d\t%+.3f\t%+.1f%%\t%+.3f [%+.3f, %+.3f]\t%d/%d\n", labelName(r.Label), r.Alpha, r.Episodes, r.Probe,
			100*r.ProbeP, r.RandomMean, r.RandomMin, r.RandomMax, r.AsLarge, r.Random)
	}
	return tw.Flush()
}

func labelName(l int32) string {
	switch l {
	case 1:
		return "positive"
	case 0:
		return "negative"
	}
	return "unlabeled"
}

// effectsFigure plots each episode's change of log p(action) under the probe direction against the
// random directions' range, episodes sorted by the probe's effect.
func effectsFigure(probeID string, rows []data.DirectionEffect) *heatmap.Curves {
	c := &heatmap.Curves{Title: "Δ log p(action) with the probe direction vs random directions",
		Subtitle: fmt.Sprintf("%s · band: min–max of the random directions, line: their mean", probeID),
		XLabel:   "episode (sorted by the probe's effect)", YLabel: "Δ log p(action)", RefLabel: "no change"}
	type ep struct {
		id    string
		label int32
		alpha float64
	}
	probe := map[ep]float64{}
	random := map[ep][]float64{}
	for _, r := range rows {
		k := ep{r.EpisodeID, r.Label, r.Alpha}
		if r.Direction == "probe" {
			probe[k] = r.Effect
		} else {
			random[k] = append(random[k], r.Effect)
		}
	}
	groups := map[[2]float64][]ep{}
	for k := range probe {
		g := [2]float64{float64(k.label), k.alpha}
		groups[g] = append(groups[g], k)
	}
	var gs [][2]float64
	for g := range groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(a, b int) bool { return gs[a][1] < gs[b][1] || gs[a][1] == gs[b][1] && gs[a][0] > gs[b][0] })
	for _, g := range gs {
		eps := groups[g]
		sort.Slice(eps, func(a, b int) bool {
			return probe[eps[a]] < probe[eps[b]] || probe[eps[a]] == probe[eps[b]] && eps[a].id < eps[b].id
		})
		name := labelName(int32(g[0]))
		if len(gs) > 2 {
			name += fmt.Sprintf(" α=%g", g[1])
		}
		ps := heatmap.Series{Name: name + ": probe"}
		rs := heatmap.Series{Name: name + ": random"}
		for i, k := range eps {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range random[k] {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			ps.Points = append(ps.Points, heatmap.Point{X: float64(i), Y: probe[k], Lo: probe[k], Hi: probe[k]})
			rs.Points = append(rs.Points, heatmap.Point{X: float64(i), Y: mean(random[k]), Lo: lo, Hi: hi})
		}
		c.Series = append(c.Series, ps, rs)
	}
	return c
}

// probeApplyOptions are the inputs of "agentlens probe apply".
type probeApplyOptions struct {
	probeModelOptions
	ID  string
	Top int
	jsonOutput
	sharding
}

func newCmdProbeApply(f *Factory, runF func(*probeApplyOptions) error) *cobra.Command {
	opts := &probeApplyOptions{probeModelOptions: probeModelOptions{IO: f.IO}}
	var fl probeModelFlags
	var shardArg string
	cmd := &cobra.Command{
		Use:   "apply <probe.parquet> <episode>... --out <dir> [--id <id>] [--model <m>] [--shard <i/n>]",
		Short: "Score every token of an episode with a probe: the monitor's timeline",
		Long: `Run the model over a whole episode, read the probe's site at every token and score it: where in
the episode does the probe's score rise (at the replacement email, at the leverage, in the
reasoning, at the action)? Tokens above the probe's 1% FPR threshold are flagged.

Writes --out/scores.parquet (table ProbeScore in package data), --out/segments.parquet (one
row per segment: mean and largest score, flagged tokens; table ProbeSegmentScore), --out/monitor.html (the
episode's tokens coloured by score minus threshold: red above it, blue below; segments with
the fraction of their tokens flagged) and --out/timeline.svg (the score over the episode with
its segments marked; in each --format), and prints the segments with their mean and largest
scores.

With --shard i/n it scores every episode of the inputs whose --shard-key hashes to i (task i of n: a
Slurm array task, a Kubernetes Indexed Job pod) into --out/shard-IIIII-of-NNNNN/: the tables
scores and segments in chunks of --chunk-size episodes, then manifest.json; no viewer or
figure per episode. A rerun resumes after the last chunk; agentlens merge joins the tasks.`,
		Example: `  agentlens probe apply out/probes/L12.parquet bundled:blackmail --out out/monitor
  agentlens probe apply p.parquet logs/run.eval --id leak_epoch_1 --tool-call-style xml --out out/m
  agentlens probe apply p.parquet out/dataset --out out/monitor-all --shard 0/8   # task 0 of 8`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return flagErrorf("probe apply: name a probe file and an episode file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.parse(f, cmd, &fl, args); err != nil {
				return err
			}
			if err := opts.parseShard(cmd, shardArg); err != nil {
				return err
			}
			if opts.Shard == nil && len(opts.Episodes) != 1 {
				return flagErrorf("probe apply: name one episode file (several with --shard)")
			}
			if opts.Top <= 0 {
				return flagErrorf("--top %d: want a positive number", opts.Top)
			}
			if runF != nil {
				return runF(opts)
			}
			opts.quiet(&opts.IO)
			return probeApplyRun(opts)
		},
	}
	opts.flags(cmd, &fl)
	cmd.Flags().StringVar(&opts.ID, "id", "", "episode `id` when the file holds several")
	cmd.Flags().IntVar(&opts.Top, "top", 12, "segments in the printed summary")
	opts.addJSONFlag(cmd)
	opts.addShardFlags(cmd, &shardArg, 32)
	return cmd
}

func probeApplyRun(opts *probeApplyOptions) error {
	if opts.Shard != nil {
		return probeApplySharded(opts)
	}
	rec, p, s, eps, err := opts.open()
	if err != nil {
		return err
	}
	ep, err := pickEpisode(opts.Episodes[0], eps, opts.ID)
	if err != nil {
		return err
	}
	site, err := probeSite(rec)
	if err != nil {
		return err
	}
	start := time.Now()
	rows, segRows, err := probeScores(s, rec, p, site, ep, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "agentlens: episode %s, %d tokens, in %.1f s\n", ep.ID, len(rows), time.Since(start).Seconds())
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	if err := data.Write(filepath.Join(opts.Out, "scores.parquet"), rows); err != nil {
		return err
	}
	if err := data.Write(filepath.Join(opts.Out, "segments.parquet"), segRows); err != nil {
		return err
	}
	if err := writeViewer(filepath.Join(opts.Out, "monitor.html"), probeViewer(rows, segRows, rec.Threshold,
		fmt.Sprintf("%s · threshold %.3g (1%% FPR, %s)", s.Name, rec.Threshold, rec.ThresholdSource))); err != nil {
		return err
	}
	tl := timelineFigure(rows, rec.Threshold, s.Name+" · "+rec.ThresholdSource)
	figs, err := opts.save(opts.Out, "timeline", tl)
	if err != nil {
		return err
	}
	order := slices.Clone(segRows)
	sort.SliceStable(order, func(i, j int) bool { return order[i].MeanScore > order[j].MeanScore })
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "SEGMENT\tKIND\tTOKENS\tMEAN\tMAX\tFLAGGED\tFIRST FLAGGED\n")
	for _, a := range order[:min(len(order), opts.Top)] {
		first := "–"
		if a.FirstFlagged >= 0 {
			first = fmt.Sprint(a.FirstFlagged)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%+.3f\t%+.3f\t%d\t%s\n", a.SegmentID, a.SegmentKind, a.Tokens, a.MeanScore, a.MaxScore, a.Flagged, first)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "\nwrote %s: scores.parquet segments.parquet monitor.html %s (threshold %.3f)\n", opts.Out, strings.Join(figs, " "), rec.Threshold)
	if opts.JSON {
		return opts.print(map[string]any{"episode": ep.ID, "probe": rec.ProbeID, "threshold": rec.Threshold, "tokens": len(rows),
			"out": opts.Out, "outputs": append([]string{"scores.parquet", "segments.parquet", "monitor.html"}, figs...), "segments": tableJSON(segRows)})
	}
	return nil
}

// probeApplySharded runs task --shard of a sharded probe apply over every episode of the inputs:
// tables "scores" and "segments" in chunks of --chunk-size episodes.
func probeApplySharded(opts *probeApplyOptions) error {
	if opts.ID != "" {
		return flagErrorf("--id %s: a sharded probe apply scores every episode of the inputs; leave --id out", opts.ID)
	}
	rec, p, err := readProbe(opts.Probe)
	if err != nil {
		return err
	}
	site, err := probeSite(rec)
	if err != nil {
		return err
	}
	// The probe is an argument, not a flag: its checksum joins the settings the tasks must share.
	if opts.RowFlags["probe"], _, err = data.FileSHA256(opts.Probe); err != nil {
		return err
	}
	eps, err := loadAllEpisodes(opts.Episodes, opts.Segment)
	if err != nil {
		return err
	}
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var s *session
	first := true
	t := &shardTask{IO: opts.IO, Command: "probe apply", Out: opts.Out, sharding: opts.sharding, Inputs: opts.Episodes, Eps: eps, Model: &opts.modelChoice,
		Open: func(hash string) (string, error) {
			var err error
			if s, err = opts.openModelHashed(rec, hash); err != nil {
				return "", err
			}
			return backendLabel(s.Backend), nil
		},
		Work: func(c *data.Chunk, eps []*trace.Episode, progress func(), skip func(*trace.Episode, error) error) error {
			var rows []data.ProbeScore
			var segRows []data.ProbeSegmentScore
			for _, ep := range eps {
				var warn io.Writer
				if first {
					warn, first = opts.IO.ErrOut, false
				}
				r, sr, err := probeScores(s, rec, p, site, ep, warn)
				if err != nil {
					if err := skip(ep, err); err != nil {
						return err
					}
					continue
				}
				rows, segRows = append(rows, r...), append(segRows, sr...)
				progress()
			}
			if err := data.WriteTable(c, "scores", rows); err != nil {
				return err
			}
			return data.WriteTable(c, "segments", segRows)
		}}
	sum, err := t.run(ctx)
	if err != nil {
		return err
	}
	return sum.print(opts.IO, &opts.jsonOutput)
}

// probeScores runs the model over an episode and scores every token with the probe: one ProbeScore per
// token and one ProbeSegmentScore per segment, in episode order.
// warn, when not nil, gets the warning about segments the chat template does not render.
func probeScores(s *session, rec data.Probe, p *probes.Probe, site hook.Name, ep *trace.Episode, warn io.Writer) ([]data.ProbeScore, []data.ProbeSegmentScore, error) {
	r, err := s.render(ep, false)
	if err != nil {
		return nil, nil, err
	}
	if warn != nil {
		s.warnUnrendered(warn, r)
	}
	res, err := s.Model.Run(r.IDs, model.RunOptions{Capture: []hook.Name{site}})
	if err != nil {
		return nil, nil, err
	}
	acts := res.Cache[site]
	rows := make([]data.ProbeScore, len(r.IDs))
	type agg struct {
		n, flagged      int
		sum, max        float64
		first, maxAt    int
		beg, end        int // first token, one past the last
		kind, id, label string
	}
	var segs []*agg
	bySeg := map[int]*agg{}
	for t := range r.IDs {
		v := acts.Row(0, t)
		sc, err := p.Score(v)
		if err != nil {
			return nil, nil, fmt.Errorf("episode %s: token %d: %w", ep.ID, t, err)
		}
		si := r.TokenSegment[t]
		seg := r.Segments[si]
		a := bySeg[si]
		if a == nil {
			a = &agg{max: math.Inf(-1), first: -1, beg: t, kind: string(seg.Kind), id: seg.ID, label: attribution.Label(ep, seg.ID)}
			bySeg[si] = a
			segs = append(segs, a)
		}
		flag := sc > rec.Threshold
		a.n++
		a.end = t + 1
		a.sum += sc
		if sc > a.max {
			a.max, a.maxAt = sc, t
		}
		if flag {
			a.flagged++
			if a.first < 0 {
				a.first = t
			}
		}
		text := r.Text[r.Offsets[t][0]:r.Offsets[t][1]]
		rows[t] = data.ProbeScore{EpisodeID: ep.ID, ProbeID: rec.ProbeID, Position: int32(t), Text: text, SegmentID: seg.ID,
			SegmentKind: string(seg.Kind), Score: sc, Probability: 1 / (1 + math.Exp(-(rec.PlattA*sc + rec.PlattB))), Flagged: flag}
	}
	segRows := make([]data.ProbeSegmentScore, len(segs))
	for i, a := range segs {
		segRows[i] = data.ProbeSegmentScore{EpisodeID: ep.ID, ProbeID: rec.ProbeID, SegmentID: a.id, SegmentKind: a.kind, Label: a.label,
			TokenStart: int32(a.beg), TokenEnd: int32(a.end), Tokens: int32(a.n), MeanScore: a.sum / float64(a.n), MaxScore: a.max,
			MaxPosition: int32(a.maxAt), Flagged: int32(a.flagged), FirstFlagged: int32(a.first), Threshold: rec.Threshold}
	}
	return rows, segRows, nil
}
