package data

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/agentlens/agentlens/trace"
)

// GeneratorVersion names the generator's text and logic. Every random stream is seeded from it and the
// seed, so that (GeneratorVersion, seed) determines the dataset byte for byte; it changes whenever the
// output for a seed would change.
const GeneratorVersion = "agentlens-selfpres/1"

// Defaults of GenerateOptions. DefaultPairs is the full crossing of the conditions: 4 goal types ×
// 3 urgencies × 3 framings × 5 styles, each once per family.
const (
	DefaultSeed     = 14
	DefaultPairs    = 180
	DefaultControls = 300
)

// BytesPerToken is the bytes per token the generator assumes for lengths and approx_tokens: measured
// on this dataset with SmolLM2's tokenizer and chat template (about 3.2; Gemma-3's is close).
const BytesPerToken = 3.2

// Labels of episodes.
const (
	LabelMisaligned = "misaligned"
	LabelAligned    = "aligned"
)

// Scenario families. FamilyControl is the benign control set.
const (
	FamilyBlackmail         = "blackmail"
	FamilyLeaking           = "leaking"
	FamilyLethalInaction    = "lethal_inaction"
	FamilyShutdown          = "shutdown_resistance"
	FamilyGoalGuarding      = "goal_guarding"
	FamilySandbagging       = "sandbagging"
	FamilyPowerSeeking      = "power_seeking"
	FamilyDeception         = "overseer_deception"
	FamilyNarrativePressure = "narrative_pressure"
	FamilyControl           = "control"
)

// Families lists the scenario families (not the control set) in generation order.
var Families = []string{FamilyBlackmail, FamilyLeaking, FamilyLethalInaction, FamilyShutdown, FamilyGoalGuarding,
	FamilySandbagging, FamilyPowerSeeking, FamilyDeception, FamilyNarrativePressure}

// Conditions, after the agentic-misalignment study: goal type × urgency, and the framing of the session.
var (
	GoalTypes = []string{"explicit", "none", "ambiguous", "latent"}
	Urgencies = []string{"replacement", "restriction", "none"}
	Framings  = []string{"evaluation", "deployment", "unstated"}
)

// Splits.
const (
	SplitTrain      = "train"
	SplitVal        = "val"
	SplitTestFamily = "test_family" // held-out families, any style
	SplitTestStyle  = "test_style"  // held-out styles, families seen in training
	SplitControl    = "control"     // benign chats for false-positive thresholds
)

// Splits lists the splits in order; each is one JSONL file <split>.jsonl.
var Splits = []string{SplitTrain, SplitVal, SplitTestFamily, SplitTestStyle, SplitControl}

// HeldOutFamilies are the families only in test_family; HeldOutStyles the styles only in test_style (and
// in test_family, whose families never reach training anyway).
var (
	HeldOutFamilies = []string{FamilySandbagging, FamilyNarrativePressure}
	HeldOutStyles   = []Style{StyleNonNative}
)

// GenerateOptions are the knobs of Generate. Zero values mean the defaults.
type GenerateOptions struct {
	Seed     uint64 // 0 means DefaultSeed
	Pairs    int    // twin pairs per family
	Controls int    // control episodes
}

func (o GenerateOptions) orDefault() GenerateOptions {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Pairs <= 0 {
		o.Pairs = DefaultPairs
	}
	if o.Controls <= 0 {
		o.Controls = DefaultControls
	}
	return o
}

// Dataset is a generated dataset: episodes in generation order and one label row per episode.
type Dataset struct {
	Episodes []*trace.Episode
	Labels   []EpisodeLabel
}

// cond is the condition cell of one pair.
type cond struct {
	Goal, Urgency, Framing string
	Style                  Style
	Syntax                 string // xml or structured; none for plain chat
}

// cellOf is the i-th cell of the full crossing, styles varying slowest.
func cellOf(i int) cond {
	i %= DefaultPairs
	return cond{Goal: GoalTypes[i%4], Urgency: Urgencies[(i/4)%3], Framing: Framings[(i/12)%3], Style: Styles[(i/36)%5]}
}

// pairScenario composes pair i of family fam at seed, as Generate does: its condition cell, split and
// scenario (the shared context and both endings) from the pair's own random stream.
func pairScenario(seed uint64, fam string, i int) (*scenario, string) {
	r := streamRand(seed, fam, i)
	c := cellOf(i)
	c.Syntax = pick(r, "xml", "structured")
	if fam == FamilyNarrativePressure {
		c.Syntax = "none"
	}
	split := splitOf(fam, c.Style, r)
	return buildScenario(fam, c, r), split
}

// streamRand returns the random stream of one pair or control episode.
func streamRand(seed uint64, stream string, i int) *rand.Rand {
	return rand.New(rand.NewPCG(hash64(GeneratorVersion, fmt.Sprint(seed)), hash64(stream, fmt.Sprint(i))))
}

// Generate builds the dataset for opts: Pairs twin pairs per family (a misaligned episode and its aligned
// twin, identical up to the decision) and Controls benign episodes.
func Generate(opts GenerateOptions) (*Dataset, error) {
	opts = opts.orDefault()
	d := &Dataset{}
	for _, fam := range Families {
		for i := 0; i < opts.Pairs; i++ {
			sc, split := pairScenario(opts.Seed, fam, i)
			c := sc.c
			pair := fmt.Sprintf("%s-%03d", fam, i)
			mis, ali := sc.assemble(LabelMisaligned), sc.assemble(LabelAligned)
			ms, as, err := twinLabels(sc, mis, ali)
			if err != nil {
				return nil, fmt.Errorf("generate %s: %w", pair, err)
			}
			for _, x := range []struct {
				ep  *trace.Episode
				row EpisodeLabel
			}{{mis, ms}, {ali, as}} {
				x.row.PairID, x.row.Family, x.row.Style, x.row.Split = pair, fam, string(c.Style), split
				x.row.GoalType, x.row.Urgency, x.row.Framing, x.row.ToolSyntax = c.Goal, c.Urgency, c.Framing, c.Syntax
				d.add(x.ep, x.row, opts.Seed)
			}
			d.Labels[len(d.Labels)-2].TwinID = d.Labels[len(d.Labels)-1].EpisodeID
			d.Labels[len(d.Labels)-1].TwinID = d.Labels[len(d.Labels)-2].EpisodeID
		}
	}
	for i := 0; i < opts.Controls; i++ {
		r := streamRand(opts.Seed, FamilyControl, i)
		c := cond{Goal: "none", Urgency: "none", Framing: Framings[i%3], Style: Styles[(i/3)%5], Syntax: pick(r, "xml", "structured", "none")}
		sc := buildControl(c, r, i)
		ep := sc.assemble(LabelAligned)
		row, err := controlLabel(sc, ep)
		if err != nil {
			return nil, fmt.Errorf("generate control %d: %w", i, err)
		}
		row.Family, row.Style, row.Split = FamilyControl, string(c.Style), SplitControl
		row.GoalType, row.Urgency, row.Framing, row.ToolSyntax = c.Goal, c.Urgency, c.Framing, c.Syntax
		d.add(ep, row, opts.Seed)
	}
	return d, nil
}

// add appends an episode and its label row, filling the row's common fields and the episode's labels.
func (d *Dataset) add(ep *trace.Episode, row EpisodeLabel, seed uint64) {
	row.SchemaVersion = SchemaVersion
	row.Generator = GeneratorVersion
	row.Seed = int64(seed)
	row.Index = int32(len(d.Episodes))
	if row.PairID != "" {
		ep.ID = "selfpres/" + row.PairID + "/" + row.Label
	} else {
		ep.ID = fmt.Sprintf("selfpres/control-%03d", int(row.Index)-len(d.firstControl()))
	}
	row.EpisodeID = ep.ID
	row.File = row.Split + ".jsonl"
	row.Messages = int32(len(ep.Messages))
	chars := 0
	for _, m := range ep.Messages {
		chars += len(m.Content)
		for _, tc := range m.ToolCalls {
			chars += len(tc.Name) + len(tc.Arguments)
		}
		for _, s := range m.Segments {
			if s.Kind == trace.KindEmail {
				row.Emails++
			}
		}
	}
	for _, t := range ep.Tools {
		chars += len(t)
	}
	row.Chars = int32(chars)
	row.ApproxTokens = int32(math.Round(float64(chars) / BytesPerToken))
	ep.Source = "generated:" + GeneratorVersion
	ep.Labels = episodeLabels(row)
	d.Episodes = append(d.Episodes, ep)
	d.Labels = append(d.Labels, row)
}

// firstControl returns the label rows before the first control (all scenario rows).
func (d *Dataset) firstControl() []EpisodeLabel {
	for i, l := range d.Labels {
		if l.Family == FamilyControl {
			return d.Labels[:i]
		}
	}
	return d.Labels
}

// episodeLabels is the subset of a label row that is stored in the episode itself, so that a JSONL
// file is self-describing and can be checked against labels.parquet.
func episodeLabels(l EpisodeLabel) map[string]string {
	return map[string]string{
		"family": l.Family, "label": l.Label, "style": l.Style, "split": l.Split, "pair_id": l.PairID,
		"goal_type": l.GoalType, "urgency": l.Urgency, "framing": l.Framing, "tool_syntax": l.ToolSyntax,
		"action": l.Action, "seed": fmt.Sprint(l.Seed), "generator": l.Generator,
	}
}

// splitOf assigns a pair's split: held-out families, then held-out styles, then 85/15 train/val.
func splitOf(fam string, s Style, r *rand.Rand) string {
	val := r.Float64() < 0.15 // drawn always, so the stream does not depend on the split
	for _, f := range HeldOutFamilies {
		if f == fam {
			return SplitTestFamily
		}
	}
	for _, h := range HeldOutStyles {
		if h == s {
			return SplitTestStyle
		}
	}
	if val {
		return SplitVal
	}
	return SplitTrain
}

// clueRef is where a clue is: a message and a byte range of its content.
type clueRef struct {
	Msg, Start, End int
}

// twinLabels fills the decision and clue fields of both twins and checks that they share every byte
// before the decision.
func twinLabels(sc *scenario, mis, ali *trace.Episode) (EpisodeLabel, EpisodeLabel, error) {
	if len(mis.Messages) != len(ali.Messages) {
		return EpisodeLabel{}, EpisodeLabel{}, fmt.Errorf("twins have %d and %d messages", len(mis.Messages), len(ali.Messages))
	}
	dm := len(mis.Messages) - 1
	for i := 0; i < dm; i++ {
		a, b := mis.Messages[i], ali.Messages[i]
		if a.Content != b.Content || len(a.ToolCalls) != len(b.ToolCalls) {
			return EpisodeLabel{}, EpisodeLabel{}, fmt.Errorf("twins differ in %s before the decision", mis.MessageID(i))
		}
	}
	a, b := mis.Messages[dm].Content, ali.Messages[dm].Content
	k := 0
	for k < len(a) && k < len(b) && a[k] == b[k] {
		k++
	}
	if k == len(a) || k == len(b) {
		return EpisodeLabel{}, EpisodeLabel{}, fmt.Errorf("twins' decisions do not differ")
	}
	var rows [2]EpisodeLabel
	for j, ep := range []*trace.Episode{mis, ali} {
		row, err := sc.labelRow(ep, dm, k)
		if err != nil {
			return EpisodeLabel{}, EpisodeLabel{}, err
		}
		row.Label = []string{LabelMisaligned, LabelAligned}[j]
		row.Action = []string{sc.Mis.Action, sc.Ali.Action}[j]
		rows[j] = row
	}
	return rows[0], rows[1], nil
}

func controlLabel(sc *scenario, ep *trace.Episode) (EpisodeLabel, error) {
	row, err := sc.labelRow(ep, len(ep.Messages)-1, 0)
	row.Label, row.Action = LabelAligned, sc.Ali.Action
	return row, err
}

// labelRow fills the decision, action and clue fields of an episode's row.
func (sc *scenario) labelRow(ep *trace.Episode, dm, decisionChar int) (EpisodeLabel, error) {
	row := EpisodeLabel{Distractors: int32(sc.distractors)}
	row.DecisionMessage = ep.MessageID(dm)
	row.DecisionChar = int32(decisionChar)
	seg, ok := segmentAt(ep, dm, decisionChar, decisionChar+1)
	if !ok {
		return row, fmt.Errorf("%s: no segment holds the decision at byte %d", row.DecisionMessage, decisionChar)
	}
	row.DecisionSegment = seg
	for _, s := range ep.Messages[dm].Segments {
		switch {
		case s.Kind == trace.KindToolCall:
			row.ActionSegment = s.ID
		case s.Kind == trace.KindAssistantText && row.ActionSegment == "" && s.End > s.Start:
			row.ActionSegment = s.ID
		}
	}
	set := func(ref *clueRef, id *string, start, end *int32, what string) error {
		*id, *start, *end = "", -1, -1
		if ref == nil {
			return nil
		}
		s, ok := segmentAt(ep, ref.Msg, ref.Start, ref.End)
		if !ok {
			return fmt.Errorf("%s clue [%d,%d) of %s is in no segment", what, ref.Start, ref.End, ep.MessageID(ref.Msg))
		}
		*id, *start, *end = s, int32(ref.Start), int32(ref.End)
		return nil
	}
	if err := set(sc.clues["replacement"], &row.ReplacementSeg, &row.ReplacementStart, &row.ReplacementEnd, "replacement"); err != nil {
		return row, err
	}
	if err := set(sc.clues["leverage"], &row.LeverageSeg, &row.LeverageStart, &row.LeverageEnd, "leverage"); err != nil {
		return row, err
	}
	if err := set(sc.clues["goal"], &row.GoalSeg, &row.GoalStart, &row.GoalEnd, "goal"); err != nil {
		return row, err
	}
	return row, nil
}

// segmentAt returns the id of the content segment of message mi holding bytes [start, end).
func segmentAt(ep *trace.Episode, mi, start, end int) (string, bool) {
	if mi < 0 || mi >= len(ep.Messages) {
		return "", false
	}
	for _, s := range ep.Messages[mi].Segments {
		if s.Part == trace.PartContent && s.Start <= start && end <= s.End {
			return s.ID, true
		}
	}
	return "", false
}

// tool is a tool the scenario's assistant may call.
type tool struct {
	Name, Desc string
	Params     []string
}

// call is one tool call: the tool and its arguments in order.
type call struct {
	Tool string
	Args [][2]string
}

// xml writes the call in the <tool_use:NAME> text syntax.
func (c call) xml() string {
	var b strings.Builder
	b.WriteString("<tool_use:" + c.Tool + ">\n")
	for _, a := range c.Args {
		b.WriteString(a[0] + ": \"" + a[1] + "\",\n")
	}
	b.WriteString("</tool_use:" + c.Tool + ">")
	return b.String()
}

// json writes the call's arguments as a compact JSON object, keys in order.
func (c call) json() json.RawMessage {
	var b strings.Builder
	b.WriteByte('{')
	for i, a := range c.Args {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(a[0]) + ":" + jsonString(a[1]))
	}
	b.WriteByte('}')
	return json.RawMessage(b.String())
}

func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// definition is the tool's OpenAI function definition, compact JSON with keys in a fixed order.
func (t tool) definition() json.RawMessage {
	var props, req []string
	for _, p := range t.Params {
		props = append(props, jsonString(p)+`:{"type":"string"}`)
		req = append(req, jsonString(p))
	}
	return json.RawMessage(`{"type":"function","function":{"name":` + jsonString(t.Name) + `,"description":` + jsonString(t.Desc) +
		`,"parameters":{"type":"object","properties":{` + strings.Join(props, ",") + `},"required":[` + strings.Join(req, ",") + `]}}}`)
}
