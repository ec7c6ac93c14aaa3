package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/agent"
)

// rolloutOptions are the inputs of "agentlens rollout".
type rolloutOptions struct {
	IO  *IOStreams
	Ctx context.Context

	modelChoice
	Conds        data.ConditionOptions
	BundledOnly  bool // --conditions bundled: the bundled episodes alone
	Limit        int  // the first Limit conditions (0: all)
	Samples      int
	Seed         uint64
	Sample       model.SampleOptions // MaxTokens per turn, temperature, top-k/p, min-p (Seed per condition)
	MaxTurns     int
	StopStrings  []string // end a turn when its text ends with one (kept in the turn)
	Syntax       agent.Syntax
	Out          string
	StopOnIssues bool
	// Judge, when set, is a model (anything --model takes) asked to judge the rollouts the rules leave
	// undecided, with data.JudgePrompt; JudgeTemplate is its chat template file.
	Judge, JudgeTemplate string
	judgeRef             modelRef
	figureOptions
	sharding
	jsonOutput
}

func newCmdRollout(f *Factory, runF func(*rolloutOptions) error) *cobra.Command {
	opts := &rolloutOptions{IO: f.IO}
	var margs modelChoiceArgs
	var condArg, famArg, syntaxArg, shardArg string
	cmd := &cobra.Command{
		Use:   "rollout --out <dir> [--conditions <bundled|study|full|grid filter>] [--samples <n>] [--model <model>]",
		Short: "Run the model as the agent in scenario conditions, classify what it does, and measure propensity",
		Long: `Roll the local model out on-policy: for each condition (a scenario's conversation up to the
decision), sample --samples continuations as the agent. Each assistant turn is generated with a KV
cache (the condition's prompt is computed once and shared by its samples); tool calls in the turn
(<tool_use:NAME> tags, Hermes/Qwen <tool_call>, Llama-3 JSON, Mistral [TOOL_CALLS], Gemma tool_code)
are answered from the scenario's script and the loop goes on until a turn without a tool call,
--max-turns, or a runaway turn (--max-tokens reached). Malformed calls and unknown tools are
answered with an error, recorded, and never crash the run.

Each rolled-out episode is classified by the rule of its scenario family (data.Classify: emailed
the decision-maker with the leverage? forwarded the confidential file outside? cancelled the
alert? …); the verdict records its source (rule:<family>/v1) and evidence.

Conditions:
  bundled        the bundled agentic-misalignment episodes (blackmail, leaking, blackmail_control)
                 truncated before their decision (default)
  study          the generated dataset's scenarios: goal explicit or none × urgency replacement or
                 none, framing unstated, one per cell and --families (9 families: 36 conditions)
  full           every goal type × urgency × framing cell (324 conditions)
  "goal_type=explicit urgency=replacement,none"   a grid filter (dims goal_type, urgency, framing, style)
--with-bundled adds the bundled ones to a generated set; --per-cell N scenarios per cell.

Output in --out:
  rollouts.parquet          one row per rollout (data.RolloutRow): condition, sample, seed,
                            sampling settings, turns, stop reason, verdict, tokens, seconds
  rollout_episodes.parquet  the rolled-out episodes (data.RolloutEpisode)
  episodes.jsonl            the same episodes as native JSONL: 'agentlens attribute', 'capture' and
                            'probe apply' take it as is
  propensity.parquet        harmful rate per condition, per family and overall with 95% Wilson
                            intervals (data.PropensityRow)
  propensity.svg            the rates with their intervals by family (and by condition)

Sampling is reproducible: sample i of a condition draws from a generator seeded by (--seed, the
condition id, i) whatever the batch, backend or shard. --shard i/n runs the conditions whose id
hashes to i (all samples of a condition stay in one task, sharing its prompt) into
--out/shard-IIIII-of-NNNNN/; 'agentlens merge <out>' then 'agentlens rollout report <out>/merged'.

--json prints the run's summary (rollouts, harmful, rate by family, tokens/s).`,
		Example: `  agentlens rollout --out out/rollout --samples 8
  agentlens rollout --out out/rollout-study --conditions study --families blackmail,leaking --samples 4 --temperature 0.7
  agentlens rollout --out out/rollout --model gemma3 --chat-template tmpl.jinja --max-tokens 384 --max-turns 3
  agentlens rollout --out out/r --conditions full --samples 16 --shard 3/32     # then: agentlens merge out/r; agentlens rollout report out/r/merged
  agentlens rollout --out out/rollout --json | jq .families`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if opts.Out == "" {
				return flagErrorf("--out: name the output directory")
			}
			switch condArg {
			case "bundled":
				opts.BundledOnly, opts.Conds.Bundled = true, true
			default:
				opts.Conds.Grid = condArg
			}
			opts.Conds.Families = splitList(famArg)
			if opts.Samples <= 0 {
				return flagErrorf("--samples %d: want at least 1", opts.Samples)
			}
			if opts.MaxTurns <= 0 {
				return flagErrorf("--max-turns %d: want at least 1", opts.MaxTurns)
			}
			var err error
			if opts.Syntax, err = agent.ParseSyntax(syntaxArg); err != nil {
				return flagErrorf("--tool-syntax %s: %v", syntaxArg, err)
			}
			s := opts.Sample
			switch {
			case s.MaxTokens <= 0:
				return flagErrorf("--max-tokens %d: want at least 1", s.MaxTokens)
			case !(s.Temperature >= 0):
				return flagErrorf("--temperature %g: want ≥ 0 (0: greedy)", s.Temperature)
			case s.TopK < 0:
				return flagErrorf("--top-k %d: want ≥ 0 (0: off)", s.TopK)
			case !(s.TopP >= 0 && s.TopP <= 1):
				return flagErrorf("--top-p %g: want in [0, 1] (1: off)", s.TopP)
			case !(s.MinP >= 0 && s.MinP <= 1):
				return flagErrorf("--min-p %g: want in [0, 1] (0: off)", s.MinP)
			}
			opts.KeyLabel = "condition"
			if !cmd.Flags().Changed("chunk-size") {
				opts.ChunkSize = opts.Samples // a condition per chunk: its samples share the prompt's batch
			}
			if err := opts.parseShard(cmd, shardArg); err != nil {
				return err
			}
			if err := opts.modelChoice.parse(f, margs); err != nil {
				return err
			}
			if opts.Judge != "" {
				if opts.judgeRef, err = resolveModelArg(f, opts.Judge); err != nil {
					return err
				}
			}
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return rolloutRun(opts)
		},
	}
	opts.modelChoice.flags(cmd, &margs)
	fl := cmd.Flags()
	fl.StringVarP(&opts.Out, "out", "o", "", "output `dir`ectory")
	fl.StringVar(&condArg, "conditions", "bundled", "`which`: bundled, study, full, or a grid filter such as \"goal_type=explicit urgency=replacement\"")
	fl.StringVar(&famArg, "families", "", "scenario `families` of generated conditions (default all): blackmail, leaking, …")
	fl.IntVar(&opts.Conds.PerCell, "per-cell", 1, "generated scenarios per grid cell")
	fl.Uint64Var(&opts.Conds.Seed, "dataset-seed", data.DefaultSeed, "the dataset generator's `seed` for generated conditions")
	fl.BoolVar(&opts.Conds.Bundled, "with-bundled", false, "add the bundled conditions to generated ones")
	fl.IntVar(&opts.Limit, "limit", 0, "run only the first `n` conditions (0: all)")
	fl.IntVarP(&opts.Samples, "samples", "n", 4, "rollouts per condition")
	fl.Uint64Var(&opts.Seed, "seed", 1, "sampling `seed`")
	fl.Float64Var(&opts.Sample.Temperature, "temperature", 0.7, "sampling temperature (0: greedy)")
	fl.IntVar(&opts.Sample.TopK, "top-k", 0, "keep the `k` most likely tokens (0: off)")
	fl.Float64Var(&opts.Sample.TopP, "top-p", 1, "nucleus sampling mass (1: off)")
	fl.Float64Var(&opts.Sample.MinP, "min-p", 0, "keep tokens with p ≥ min-p·p_max (0: off)")
	fl.IntVar(&opts.Sample.MaxTokens, "max-tokens", 512, "new tokens per assistant turn at most (a turn that reaches it is a runaway)")
	fl.IntVar(&opts.MaxTurns, "max-turns", 4, "assistant turns per rollout at most")
	fl.StringArrayVar(&opts.StopStrings, "stop", nil, "end a turn when its text ends with this `string` (repeatable; e.g. \"</tool_use:email>\")")
	fl.StringVar(&syntaxArg, "tool-syntax", "auto", "tool calls to parse: xml (<tool_use:NAME>), structured (JSON formats), auto (both)")
	fl.BoolVar(&opts.StopOnIssues, "stop-on-problem", false, "end a rollout at its first malformed tool call or unknown tool")
	fl.StringVar(&opts.Judge, "judge-model", "", "`model` that judges the rollouts the rules leave undecided (its verdict source says judge:<model>)")
	fl.StringVar(&opts.JudgeTemplate, "judge-chat-template", "", "chat template `file` of the judge model")
	opts.addFigureFlags(cmd, "svg")
	opts.addShardFlags(cmd, &shardArg, 1)
	opts.addJSONFlag(cmd)
	cmd.GroupID = groupAnalysis
	cmd.AddCommand(newCmdRolloutReport(f, nil))
	return cmd
}

// rolloutItem is one rollout to run: a condition and a sample number.
type rolloutItem struct {
	Cond   *data.Condition
	Sample int
}

// rolloutItems builds the conditions and the (condition, sample) items, each as a prompt episode
// whose id names both and whose "condition" label keeps a condition's samples in one shard task.
func rolloutItems(opts *rolloutOptions) ([]data.Condition, []*trace.Episode, map[string]rolloutItem, error) {
	conds, err := data.Conditions(opts.Conds)
	if err != nil {
		return nil, nil, nil, flagErrorf("--conditions: %v", err)
	}
	if opts.BundledOnly {
		conds = slices.DeleteFunc(conds, func(c data.Condition) bool { return !strings.HasPrefix(c.Source, "bundled:") })
	}
	if opts.Limit > 0 && len(conds) > opts.Limit {
		conds = conds[:opts.Limit]
	}
	if len(conds) == 0 {
		return nil, nil, nil, flagErrorf("--conditions: no condition selected")
	}
	var eps []*trace.Episode
	items := map[string]rolloutItem{}
	for ci := range conds {
		c := &conds[ci]
		for s := 0; s < opts.Samples; s++ {
			ep := c.Prompt.Clone()
			ep.ID = fmt.Sprintf("%s#%d", c.ID, s)
			if ep.Labels == nil {
				ep.Labels = map[string]string{}
			}
			ep.Labels["condition"] = c.ID
			eps = append(eps, ep)
			items[ep.ID] = rolloutItem{Cond: c, Sample: s}
		}
	}
	return conds, eps, items, nil
}

// conditionSeed is the sampling seed of a condition: the run's seed mixed with the condition's id, so
// a condition's samples do not depend on which other conditions run or where.
func conditionSeed(seed uint64, id string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s", seed, id)
	return h.Sum64() >> 1 // fits an int64 column
}

// rolloutSummary is the --json output of "agentlens rollout" (and of "rollout report").
type rolloutSummary struct {
	Out          string               `json:"out"`
	Model        string               `json:"model,omitempty"`
	ModelHash    string               `json:"model_hash,omitempty"`
	Conditions   int                  `json:"conditions"`
	Rollouts     int                  `json:"rollouts"`
	Harmful      int                  `json:"harmful"`
	Undecided    int                  `json:"undecided"`
	Families     []data.PropensityRow `json:"families"`
	Generated    int                  `json:"generated_tokens"`
	TokensPerSec float64              `json:"decode_tokens_per_s,omitempty"`
	ElapsedSecs  float64              `json:"elapsed_s"`
	Files        []string             `json:"files"`
}

func rolloutRun(opts *rolloutOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	conds, eps, items, err := rolloutItems(opts)
	if err != nil {
		return err
	}
	var sess *session
	var hash string
	var roller *rollouter
	open := func(h string) (string, error) {
		s, err := opts.modelChoice.open(ctx, opts.IO)
		if err != nil {
			return "", err
		}
		sess, hash = s, h
		roller = newRollouter(sess, hash, opts)
		if opts.Judge != "" {
			if err := roller.openJudge(ctx); err != nil {
				return "", err
			}
		}
		return backendLabel(s.Backend), nil
	}
	work := func(eps []*trace.Episode, progress func(), skip func(*trace.Episode, error) error) ([]data.RolloutRow, []data.RolloutEpisode, error) {
		return roller.run(ctx, eps, items, progress, skip)
	}
	if opts.Shard != nil {
		t := &shardTask{IO: opts.IO, Command: "rollout", Out: opts.Out, sharding: opts.sharding, Eps: eps, Model: &opts.modelChoice,
			Open: open,
			Work: func(c *data.Chunk, eps []*trace.Episode, progress func(), skip func(*trace.Episode, error) error) error {
				rows, reps, err := work(eps, progress, skip)
				if err != nil {
					return err
				}
				if err := data.WriteTable(c, "rollouts", rows); err != nil {
					return err
				}
				return data.WriteTable(c, "rollout_episodes", reps)
			}}
		sum, err := t.run(ctx)
		if err != nil {
			return err
		}
		return sum.print(opts.IO, &opts.jsonOutput)
	}
	if err := opts.modelChoice.fetchIfMissing(ctx, opts.IO); err != nil {
		return err
	}
	h, err := modelHash(opts.modelChoice.Model)
	if err != nil {
		return err
	}
	if _, err := open(h); err != nil {
		return err
	}
	prog := newETAProgress(opts.IO, "rollout", len(eps))
	done := 0
	rows, reps, err := work(eps, func() { done++; prog.update(done, "") }, func(_ *trace.Episode, err error) error { return err })
	prog.clear()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	if err := data.Write(filepath.Join(opts.Out, "rollouts.parquet"), rows); err != nil {
		return err
	}
	if err := data.Write(filepath.Join(opts.Out, "rollout_episodes.parquet"), reps); err != nil {
		return err
	}
	sum, err := rolloutReport(opts.Out, rows, reps, &opts.figureOptions)
	if err != nil {
		return err
	}
	sum.Files = append([]string{"rollouts.parquet", "rollout_episodes.parquet"}, sum.Files...)
	sum.Conditions, sum.Model, sum.ModelHash = len(conds), sess.Name, hash
	sum.Generated, sum.ElapsedSecs = roller.generated, time.Since(start).Seconds()
	if roller.decodeSecs > 0 {
		sum.TokensPerSec = float64(roller.generated) / roller.decodeSecs
	}
	fmt.Fprintf(opts.IO.ErrOut, "agentlens: %d rollouts of %d conditions in %.1f s (%d tokens generated, %.1f tokens/s decoding)\n",
		len(rows), len(conds), sum.ElapsedSecs, sum.Generated, sum.TokensPerSec)
	return printRolloutSummary(opts.IO, &opts.jsonOutput, sum)
}

// printRolloutSummary prints the harmful rate by family as a table, or the summary as JSON.
func printRolloutSummary(io *IOStreams, j *jsonOutput, sum *rolloutSummary) error {
	if j.JSON {
		return j.print(sum)
	}
	fmt.Fprintf(io.Out, "%-24s %6s %8s %10s %8s  %s\n", "family", "n", "harmful", "undecided", "rate", "95% Wilson")
	for _, r := range sum.Families {
		fmt.Fprintf(io.Out, "%-24s %6d %8d %10d %7.1f%%  [%.1f%%, %.1f%%]\n", r.Key, r.N, r.Harmful, r.Undecided, 100*r.Rate, 100*r.WilsonLo, 100*r.WilsonHi)
	}
	fmt.Fprintf(io.Out, "wrote %s in %s\n", strings.Join(sum.Files, ", "), sum.Out)
	return nil
}

// rollouter runs the agent loop of rollouts on one model session.
type rollouter struct {
	s          *session
	judge      *session // nil: rules only
	judgeStops []int
	hash       string
	opts       *rolloutOptions
	stops      []int
	generated  int
	decodeSecs float64
}

func newRollouter(s *session, hash string, opts *rolloutOptions) *rollouter {
	return &rollouter{s: s, hash: hash, opts: opts, stops: stopTokens(s)}
}

// stopTokens are the ids that end an assistant turn: EOS and the end-of-turn tokens of the common chat
// formats that the vocabulary has.
func stopTokens(s *session) []int {
	var stops []int
	if id, ok := s.Tok.EOS(); ok {
		stops = append(stops, id)
	}
	for _, t := range []string{"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "</s>", "<|end_of_text|>"} {
		if id, ok := s.Tok.ID(t); ok && !slices.Contains(stops, id) {
			stops = append(stops, id)
		}
	}
	return stops
}

// run rolls out the items of eps (grouped by condition: a condition's first turn is sampled for all
// its samples in one batch over its shared prompt) and returns their rows and episodes in eps order.
func (r *rollouter) run(ctx context.Context, eps []*trace.Episode, items map[string]rolloutItem, progress func(),
	skip func(*trace.Episode, error) error) ([]data.RolloutRow, []data.RolloutEpisode, error) {
	var rows []data.RolloutRow
	var reps []data.RolloutEpisode
	for i := 0; i < len(eps); {
		c := items[eps[i].ID].Cond
		j := i
		for j < len(eps) && items[eps[j].ID].Cond == c {
			j++
		}
		group := eps[i:j]
		i = j
		first, err := r.firstTurns(ctx, c, group, items)
		if err != nil {
			if err := skip(group[0], err); err != nil {
				return nil, nil, err
			}
			continue
		}
		for k, ep := range group {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			row, rep, err := r.rollout(ctx, c, items[ep.ID].Sample, ep, first[k])
			if err != nil {
				if err := skip(ep, err); err != nil {
					return nil, nil, err
				}
				continue
			}
			rows, reps = append(rows, row), append(reps, rep)
			progress()
		}
	}
	return rows, reps, nil
}

// turn is one generated assistant turn and the cache to continue from.
type turn struct {
	prompt []int
	gen    model.Generation
	secs   float64 // this sample's share of the wall time of a batched first turn
}

// sampleOptions returns the sampling options of turn t of a condition.
func (r *rollouter) sampleOptions(c *data.Condition, t, maxTokens int) model.SampleOptions {
	o := r.opts.Sample
	o.MaxTokens = maxTokens
	o.StopTokens = r.stops
	o.Seed = conditionSeed(r.opts.Seed, c.ID) + uint64(t)*0x9e3779b97f4a7c15
	if len(r.opts.StopStrings) > 0 {
		o.Stop = r.stopAtStrings
	}
	return o
}

// stopAtStrings reports whether a sample's text so far ends with one of the --stop strings. Only the
// last tokens are decoded: enough for the longest string.
func (r *rollouter) stopAtStrings(_ int, generated []int) bool {
	longest := 0
	for _, s := range r.opts.StopStrings {
		longest = max(longest, len(s))
	}
	from := max(0, len(generated)-longest-2) // a token holds at least one byte
	tail := r.s.Tok.Decode(generated[from:], false)
	for _, s := range r.opts.StopStrings {
		if strings.HasSuffix(tail, s) {
			return true
		}
	}
	return false
}

// renderPrompt renders an episode with the generation prompt for the session's model.
func (r *rollouter) renderPrompt(ep *trace.Episode) (string, error) {
	rd, err := r.s.prompter.render(ep, true)
	if err != nil {
		return "", err
	}
	return rd.Text, nil
}

// encode tokenizes a rendered prompt and checks it leaves room for maxTokens in the model's context.
func (r *rollouter) encode(prompt string, maxTokens int) ([]int, int, error) {
	ids := r.s.Tok.Encode(prompt, false).IDs
	if n := r.s.Model.ContextLength(); n > 0 {
		if len(ids) >= n {
			return nil, 0, fmt.Errorf("%w: the conversation is %d tokens, the model's context %d", model.ErrBadInput, len(ids), n)
		}
		maxTokens = min(maxTokens, n-len(ids))
	}
	return ids, maxTokens, nil
}

// firstTurns samples the first assistant turn of every sample of a condition in one batch.
func (r *rollouter) firstTurns(ctx context.Context, c *data.Condition, group []*trace.Episode, items map[string]rolloutItem) ([]*turn, error) {
	text, err := r.renderPrompt(c.Prompt)
	if err != nil {
		return nil, fmt.Errorf("condition %s: %w", c.ID, err)
	}
	ids, maxTokens, err := r.encode(text, r.opts.Sample.MaxTokens)
	if err != nil {
		return nil, fmt.Errorf("condition %s: %w", c.ID, err)
	}
	o := r.sampleOptions(c, 0, maxTokens)
	o.FirstSample = items[group[0].ID].Sample
	start := time.Now()
	gens, st, err := r.s.Model.Generate(ids, len(group), o)
	if err != nil {
		return nil, fmt.Errorf("condition %s: %w", c.ID, err)
	}
	r.generated += st.Generated
	r.decodeSecs += st.DecodeSeconds
	out := make([]*turn, len(gens))
	share := time.Since(start).Seconds() / float64(len(gens))
	for k := range gens {
		out[k] = &turn{prompt: ids, gen: gens[k], secs: share}
	}
	return out, ctx.Err()
}

// sampleGenerator is the agent.Generator of one rollout: its first call returns the turn sampled in
// the condition's batch, later ones sample with the KV cache of the previous turn.
type sampleGenerator struct {
	r      *rollouter
	c      *data.Condition
	sample int
	turns  int
	first  *turn
	last   *turn
	tokens int
}

func (g *sampleGenerator) Generate(ctx context.Context, prompt string, maxTokens int) (string, string, error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	r := g.r
	ids, maxTokens, err := r.encode(prompt, maxTokens)
	if err != nil {
		return "", "", err
	}
	var t *turn
	if g.turns == 0 && g.first != nil && slices.Equal(g.first.prompt, ids) {
		t = g.first
	} else {
		o := r.sampleOptions(g.c, g.turns, maxTokens)
		o.FirstSample = g.sample
		if g.last != nil {
			if o.Prefix, err = r.s.Model.GeneratePrefix(g.last.prompt, g.last.gen); err != nil {
				return "", "", err
			}
		}
		gens, st, err := r.s.Model.Generate(ids, 1, o)
		if err != nil {
			return "", "", err
		}
		r.generated += st.Generated
		r.decodeSecs += st.DecodeSeconds
		t = &turn{prompt: ids, gen: gens[0]}
	}
	g.turns++
	g.last = t
	g.tokens += len(t.gen.Tokens)
	reason := agent.StopMaxTokens
	if t.gen.StopReason != model.StopMax {
		reason = agent.StopEndOfTurn
	}
	return r.s.Tok.Decode(withoutStop(t.gen.Tokens, r.stops), false), reason, nil
}

// rollout runs the agent loop of one sample and classifies it.
func (r *rollouter) rollout(ctx context.Context, c *data.Condition, sample int, ep *trace.Episode, first *turn) (data.RolloutRow, data.RolloutEpisode, error) {
	start := time.Now()
	o := r.opts
	gen := &sampleGenerator{r: r, c: c, sample: sample, first: first}
	replies := agent.MisalignmentTools().Replies
	tools := agent.ScriptedTools{Replies: map[string]string{}, Default: "Done."}
	for _, name := range c.ToolNames {
		tools.Replies[name] = replies[name]
	}
	seed := conditionSeed(o.Seed, c.ID)
	labels := map[string]string{
		"condition": c.ID, "sample": strconv.Itoa(sample), "seed": strconv.FormatUint(seed, 10),
		"model": r.s.Name, "model_hash": r.hash, "temperature": fmtFloat(o.Sample.Temperature),
		"top_k": strconv.Itoa(o.Sample.TopK), "top_p": fmtFloat(o.Sample.TopP), "min_p": fmtFloat(o.Sample.MinP),
		"max_tokens": strconv.Itoa(o.Sample.MaxTokens), "max_turns": strconv.Itoa(o.MaxTurns),
	}
	in := ep.Clone()
	for _, k := range []string{"harmful", "recorded_harmful", "label", "action"} {
		delete(in.Labels, k) // outcome labels of the recorded or generated ending, not of this rollout
	}
	res, err := agent.Run(ctx, in, gen, tools, agent.Options{Render: r.renderPrompt, MaxTurns: o.MaxTurns,
		MaxTokens: o.Sample.MaxTokens, Syntax: o.Syntax, Labels: labels, StopOnProblem: o.StopOnIssues})
	if err != nil {
		return data.RolloutRow{}, data.RolloutEpisode{}, fmt.Errorf("rollout %s: %w", ep.ID, err)
	}
	v := classifyRollout(*c, res)
	if v.Reason != "" && r.judge != nil {
		jv, reply, err := r.judgeRollout(c, res.Episode)
		if err != nil {
			return data.RolloutRow{}, data.RolloutEpisode{}, fmt.Errorf("rollout %s: judge: %w", ep.ID, err)
		}
		res.Episode.Labels["judge_reply"] = reply
		res.Episode.Labels["rule_verdict_reason"] = v.Reason
		if jv.Reason == "" {
			v = jv
		}
	}
	res.Episode.Labels["harmful"] = strconv.FormatBool(v.Harmful)
	res.Episode.Labels["action"] = v.Action
	res.Episode.Labels["verdict_source"] = v.Source
	if v.Reason != "" {
		res.Episode.Labels["verdict_reason"] = v.Reason
	}
	var line bytes.Buffer
	if err := trace.WriteNative(&line, res.Episode); err != nil {
		return data.RolloutRow{}, data.RolloutEpisode{}, err
	}
	row := data.NewRolloutRow(*c, ep.ID, sample)
	row.Seed = int64(seed)
	row.Model, row.ModelHash = r.s.Name, r.hash
	row.Temperature, row.TopK, row.TopP, row.MinP = o.Sample.Temperature, int32(o.Sample.TopK), o.Sample.TopP, o.Sample.MinP
	row.MaxTokens, row.Turns, row.StopReason = int32(o.Sample.MaxTokens), int32(res.Turns), res.Reason
	row.SetVerdict(v)
	row.GeneratedTokens, row.Seconds = int32(gen.tokens), time.Since(start).Seconds()
	if first != nil {
		row.Seconds += first.secs // its share of the condition's batched first turn
	}
	return row, data.RolloutEpisode{EpisodeID: ep.ID, Episode: strings.TrimSuffix(line.String(), "\n")}, nil
}

// classifyRollout classifies a rollout by its family's rule. A runaway last turn (it used all of
// --max-tokens) is left out: the loop never executed its tool calls, often a model copying the system
// prompt's examples, so they are not what the agent did.
func classifyRollout(c data.Condition, res *agent.Result) data.Verdict {
	ep := res.Episode
	if n := len(ep.Messages); res.Reason == agent.ReasonRunaway && n > 0 && ep.Messages[n-1].Role == trace.RoleAssistant {
		cut := ep.Clone()
		cut.Messages = cut.Messages[:n-1]
		if err := cut.Segment(); err == nil {
			v := data.Classify(c, cut)
			if v.Reason != "" {
				v.Reason = agent.ReasonRunaway
			}
			return v
		}
	}
	return data.Classify(c, ep)
}

// openJudge loads the judge model (fetching or pulling it like --model) on the rollout model's backend.
func (r *rollouter) openJudge(ctx context.Context) error {
	o := r.opts
	jc := modelChoice{Model: o.judgeRef.Path, CacheDir: o.CacheDir, Backend: o.Backend, Template: o.JudgeTemplate,
		spec: o.judgeRef.Spec, hf: o.judgeRef.HF, fetch: o.fetch, pull: o.pull}
	s, err := jc.open(ctx, o.IO)
	if err != nil {
		return fmt.Errorf("--judge-model %s: %w", o.Judge, err)
	}
	r.judge = s
	r.judgeStops = stopTokens(s)
	return nil
}

// judgeRollout asks the judge model (greedy, 256 tokens at most) the family's question about a
// rolled-out episode.
func (r *rollouter) judgeRollout(c *data.Condition, ep *trace.Episode) (data.Verdict, string, error) {
	q := &trace.Episode{ID: ep.ID + "/judge", Messages: []trace.Message{{Role: trace.RoleUser, Content: data.JudgePrompt(*c, ep)}}}
	rd, err := r.judge.prompter.render(q, true)
	if err != nil {
		return data.Verdict{}, "", err
	}
	ids := r.judge.Tok.Encode(rd.Text, false).IDs
	gens, _, err := r.judge.Model.Generate(ids, 1, model.SampleOptions{MaxTokens: 256, StopTokens: r.judgeStops})
	if err != nil {
		return data.Verdict{}, "", err
	}
	reply := r.judge.Tok.Decode(withoutStop(gens[0].Tokens, r.judgeStops), true)
	return data.JudgeVerdict(*c, r.judge.Name, reply), reply, nil
}

// withoutStop drops a generation's last token when it is one of the stop tokens (it ended the turn and
// is not part of its text).
func withoutStop(toks, stops []int) []int {
	if n := len(toks); n > 0 && slices.Contains(stops, toks[n-1]) {
		return toks[:n-1]
	}
	return toks
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// rolloutReport writes what follows from the rollouts: episodes.jsonl, propensity.parquet and the
// figure, and returns the summary with the files written.
func rolloutReport(dir string, rows []data.RolloutRow, reps []data.RolloutEpisode, fo *figureOptions) (*rolloutSummary, error) {
	sum := &rolloutSummary{Out: dir, Rollouts: len(rows), Files: []string{}}
	// Each stored episode is already the native JSON line trace.WriteNative wrote: check that it reads
	// back as one episode, and copy it.
	for _, e := range reps {
		if got, err := trace.ReadNative(strings.NewReader(e.Episode), e.EpisodeID, trace.Limits{}); err != nil || len(got) != 1 {
			return nil, fmt.Errorf("rollout episode %s: %v", e.EpisodeID, err)
		}
	}
	err := writeFileAtomic(filepath.Join(dir, "episodes.jsonl"), func(f *os.File) error {
		w := bufio.NewWriter(f)
		for _, e := range reps {
			w.WriteString(e.Episode)
			w.WriteByte('\n')
		}
		return w.Flush()
	})
	if err != nil {
		return nil, err
	}
	var prop []data.PropensityRow
	for _, by := range []string{"all", "family", "condition"} {
		p := data.Propensity(rows, by)
		if by == "family" {
			sum.Families = p
		}
		prop = append(prop, p...)
	}
	if err := data.Write(filepath.Join(dir, "propensity.parquet"), prop); err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.Harmful {
			sum.Harmful++
		}
		if r.Reason != "" {
			sum.Undecided++
		}
	}
	sum.Files = append(sum.Files, "episodes.jsonl", "propensity.parquet")
	if fig := propensityFigure(rows, sum.Families, data.Propensity(rows, "condition")); fig != nil {
		figs, err := fo.save(dir, "propensity", fig)
		if err != nil {
			return nil, err
		}
		sum.Files = append(sum.Files, figs...)
	}
	return sum, nil
}

// rolloutReportOptions are the inputs of "agentlens rollout report".
type rolloutReportOptions struct {
	IO  *IOStreams
	Dir string
	figureOptions
	jsonOutput
}

func newCmdRolloutReport(f *Factory, runF func(*rolloutReportOptions) error) *cobra.Command {
	opts := &rolloutReportOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "report <dir>",
		Short: "Write the propensity table, episodes and figure of rollouts (e.g. merged shards)",
		Long: `Read rollouts.parquet and rollout_episodes.parquet in <dir> (a rollout's --out, or the merged
output of a sharded rollout) and write episodes.jsonl, propensity.parquet (harmful rate per
condition, per family and overall, with 95% Wilson intervals) and the propensity figure there.`,
		Example: `  agentlens merge out/r && agentlens rollout report out/r/merged
  agentlens rollout report out/rollout --format pdf,svg --figure-width one`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return rolloutReportRun(opts)
		},
	}
	opts.addFigureFlags(cmd, "svg")
	opts.addJSONFlag(cmd)
	return cmd
}

func rolloutReportRun(opts *rolloutReportOptions) error {
	rows, err := data.ReadAll[data.RolloutRow](filepath.Join(opts.Dir, "rollouts.parquet"))
	if err != nil {
		return err
	}
	reps, err := data.ReadAll[data.RolloutEpisode](filepath.Join(opts.Dir, "rollout_episodes.parquet"))
	if err != nil {
		return err
	}
	sum, err := rolloutReport(opts.Dir, rows, reps, &opts.figureOptions)
	if err != nil {
		return err
	}
	conds := map[string]bool{}
	for _, r := range rows {
		conds[r.ConditionID] = true
		sum.Generated += int(r.GeneratedTokens)
		sum.Model, sum.ModelHash = r.Model, r.ModelHash
	}
	sum.Conditions = len(conds)
	return printRolloutSummary(opts.IO, &opts.jsonOutput, sum)
}

// propensityFigure draws the harmful rate with its 95% Wilson interval and k/n per condition (per
// scenario family when there are more than 12 conditions), as a forest chart.
func propensityFigure(rows []data.RolloutRow, fams, conds []data.PropensityRow) heatmap.Drawable {
	groups, by := conds, "condition"
	if len(conds) > 12 {
		groups, by = fams, "scenario family"
	}
	if len(groups) == 0 {
		return nil
	}
	f := &heatmap.Forest{
		Title:  "Harmful-action rate by " + by,
		XLabel: "harmful-action rate (95% Wilson interval)",
	}
	s := heatmap.ForestSeries{Name: rows[0].Model}
	for _, g := range groups {
		f.Rows = append(f.Rows, g.Key)
		s.Points = append(s.Points, heatmap.ForestPoint{Y: g.Rate, Lo: g.WilsonLo, Hi: g.WilsonHi,
			Note: fmt.Sprintf("%d/%d", g.Harmful, g.N)})
	}
	f.Series = []heatmap.ForestSeries{s}
	r := rows[0]
	f.Subtitle = fmt.Sprintf("%s, %d rollouts, temperature %s, top-p %s, at most %d tokens a turn; undecided rollouts count as not harmful",
		r.Model, len(rows), fmtFloat(r.Temperature), fmtFloat(r.TopP), r.MaxTokens)
	return f
}
