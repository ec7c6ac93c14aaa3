package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/agentlens/agentlens/trace"
)

// ErrDataset means a dataset directory's labels.parquet and JSONL files disagree.
var ErrDataset = errors.New("dataset mismatch")

// ReadDataset reads a dataset directory written by Dataset.Write and checks that labels.parquet and the
// JSONL files agree: every row's file and line hold the episode it names, every episode has exactly one
// row, the labels stored in the episode equal the row's columns, and every segment id the row names
// exists in the episode. Errors name the file, line and field.
func ReadDataset(dir string) (*Dataset, error) {
	labels, err := ReadAll[EpisodeLabel](filepath.Join(dir, LabelsFile))
	if err != nil {
		return nil, err
	}
	files := map[string][]*trace.Episode{}
	for _, l := range labels {
		if _, ok := files[l.File]; ok {
			continue
		}
		if l.File == "" || strings.ContainsAny(l.File, `/\`) {
			return nil, fmt.Errorf("%s: episode %s: file %q: %w", LabelsFile, l.EpisodeID, l.File, ErrDataset)
		}
		p := filepath.Join(dir, l.File)
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("%s: episode %s: %w", LabelsFile, l.EpisodeID, err)
		}
		eps, err := trace.ReadNative(f, p, trace.Limits{})
		f.Close()
		if err != nil {
			return nil, err
		}
		files[l.File] = eps
	}
	d := &Dataset{Labels: labels}
	seen := map[string]bool{}
	for _, l := range labels {
		eps := files[l.File]
		where := fmt.Sprintf("%s:%d", l.File, l.Line)
		if l.Line < 1 || int(l.Line) > len(eps) {
			return nil, fmt.Errorf("%s: episode %s: line %d: not in %s (%d episodes): %w", LabelsFile, l.EpisodeID, l.Line, l.File, len(eps), ErrDataset)
		}
		ep := eps[l.Line-1]
		if ep.ID != l.EpisodeID {
			return nil, fmt.Errorf("%s: id %q, but %s names %q there: %w", where, ep.ID, LabelsFile, l.EpisodeID, ErrDataset)
		}
		if seen[l.EpisodeID] {
			return nil, fmt.Errorf("%s: episode %s listed twice: %w", LabelsFile, l.EpisodeID, ErrDataset)
		}
		seen[l.EpisodeID] = true
		want := episodeLabels(l)
		for _, k := range sortedKeys(want) {
			if got := ep.Labels[k]; got != want[k] {
				return nil, fmt.Errorf("%s: episode %s: labels.%s = %q, but %s has %s = %q: %w", where, ep.ID, k, got, LabelsFile, k, want[k], ErrDataset)
			}
		}
		for _, s := range []struct{ field, id string }{{"decision_segment", l.DecisionSegment}, {"action_segment", l.ActionSegment},
			{"replacement_segment", l.ReplacementSeg}, {"leverage_segment", l.LeverageSeg}, {"goal_segment", l.GoalSeg}} {
			if s.id == "" {
				continue
			}
			if _, err := ep.Lookup(s.id); err != nil {
				return nil, fmt.Errorf("%s: episode %s: %s %q: %w", where, ep.ID, s.field, s.id, ErrDataset)
			}
		}
		d.Episodes = append(d.Episodes, ep)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for i, ep := range files[name] {
			if !seen[ep.ID] {
				return nil, fmt.Errorf("%s:%d: episode %s has no row in %s: %w", name, i+1, ep.ID, LabelsFile, ErrDataset)
			}
		}
	}
	return d, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Counts are the counts of a dataset's labels that Stats prints, as fields named after the columns of
// labels.parquet (table EpisodeLabel): "agentlens data stats --json" prints them.
type Counts struct {
	Episodes     int              `json:"episodes"`
	Misaligned   int              `json:"misaligned"`
	Aligned      int              `json:"aligned"`
	Controls     int              `json:"controls"`
	FamilyLabel  []SplitCount     `json:"family_label"`            // family × label by split; pairs with no episodes left out
	Style        []SplitCount     `json:"style"`                   // style by split
	Conditions   []ConditionCount `json:"conditions"`              // goal type × urgency of the scenario (non-control) episodes
	Framing      map[string]int   `json:"framing"`                 // episodes per framing
	ToolSyntax   map[string]int   `json:"tool_syntax"`             // episodes per tool-call syntax
	ApproxTokens *Lengths         `json:"approx_tokens,omitempty"` // nil without episodes
}

// SplitCount is one row of a by-split table: the episodes of a family and label, or of a style, in each
// split and in all.
type SplitCount struct {
	Family   string         `json:"family,omitempty"`
	Label    string         `json:"label,omitempty"`
	Style    string         `json:"style,omitempty"`
	Splits   map[string]int `json:"splits"` // every split of Splits, zeros included
	Episodes int            `json:"episodes"`
}

// ConditionCount is the number of scenario episodes with one goal type and urgency.
type ConditionCount struct {
	GoalType string `json:"goal_type"`
	Urgency  string `json:"urgency"`
	Episodes int    `json:"episodes"`
}

// Lengths summarises episode lengths: how many, and their minimum, median, 90th percentile and maximum
// (nearest rank below).
type Lengths struct {
	Episodes int `json:"episodes"`
	Min      int `json:"min"`
	Median   int `json:"median"`
	P90      int `json:"p90"`
	Max      int `json:"max"`
}

// LengthsOf summarises xs, which must not be empty.
func LengthsOf(xs []int) Lengths {
	s := slices.Clone(xs)
	sort.Ints(s)
	q := func(p float64) int { return s[int(p*float64(len(s)-1))] }
	return Lengths{Episodes: len(s), Min: s[0], Median: q(0.5), P90: q(0.9), Max: s[len(s)-1]}
}

// toolSyntaxes are the tool_syntax values in the order Stats prints them.
var toolSyntaxes = []string{"xml", "structured", "none"}

// Count counts a dataset's labels the way Stats prints them.
func Count(labels []EpisodeLabel) Counts {
	count := func(keep func(EpisodeLabel) bool) int {
		n := 0
		for _, l := range labels {
			if keep(l) {
				n++
			}
		}
		return n
	}
	row := func(keep func(EpisodeLabel) bool) SplitCount {
		r := SplitCount{Splits: map[string]int{}, Episodes: count(keep)}
		for _, s := range Splits {
			r.Splits[s] = count(func(l EpisodeLabel) bool { return l.Split == s && keep(l) })
		}
		return r
	}
	c := Counts{Episodes: len(labels),
		Misaligned: count(func(l EpisodeLabel) bool { return l.Label == LabelMisaligned }),
		Aligned:    count(func(l EpisodeLabel) bool { return l.Label == LabelAligned }),
		Controls:   count(func(l EpisodeLabel) bool { return l.Family == FamilyControl }),
		Framing:    map[string]int{}, ToolSyntax: map[string]int{}}
	for _, f := range append(slices.Clone(Families), FamilyControl) {
		for _, lab := range []string{LabelMisaligned, LabelAligned} {
			r := row(func(l EpisodeLabel) bool { return l.Family == f && l.Label == lab })
			if r.Episodes == 0 {
				continue
			}
			r.Family, r.Label = f, lab
			c.FamilyLabel = append(c.FamilyLabel, r)
		}
	}
	for _, st := range Styles {
		r := row(func(l EpisodeLabel) bool { return l.Style == string(st) })
		r.Style = string(st)
		c.Style = append(c.Style, r)
	}
	for _, g := range GoalTypes {
		for _, u := range Urgencies {
			c.Conditions = append(c.Conditions, ConditionCount{GoalType: g, Urgency: u,
				Episodes: count(func(l EpisodeLabel) bool { return l.Family != FamilyControl && l.GoalType == g && l.Urgency == u })})
		}
	}
	for _, f := range Framings {
		c.Framing[f] = count(func(l EpisodeLabel) bool { return l.Framing == f })
	}
	for _, s := range toolSyntaxes {
		c.ToolSyntax[s] = count(func(l EpisodeLabel) bool { return l.ToolSyntax == s })
	}
	if len(labels) > 0 {
		toks := make([]int, len(labels))
		for i, l := range labels {
			toks[i] = int(l.ApproxTokens)
		}
		q := LengthsOf(toks)
		c.ApproxTokens = &q
	}
	return c
}

// Stats writes the counts tables of a dataset's labels (Count) as Markdown: family × label by split,
// style by split, the condition cells, tool syntax, and approximate lengths. The dataset card embeds
// this text.
func Stats(labels []EpisodeLabel) string { return Count(labels).Markdown() }

// Markdown writes the counts as the tables Stats prints.
func (c Counts) Markdown() string {
	var b strings.Builder
	row := func(name string, r SplitCount) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, s := range Splits {
			fmt.Fprintf(&b, " %d |", r.Splits[s])
		}
		fmt.Fprintf(&b, " %d |\n", r.Episodes)
	}
	header := func(first string) {
		fmt.Fprintf(&b, "| %s | %s | total |\n|---|", first, strings.Join(Splits, " | "))
		b.WriteString(strings.Repeat("---:|", len(Splits)+1) + "\n")
	}
	fmt.Fprintf(&b, "%d episodes (%d misaligned, %d aligned; %d controls).\n\n", c.Episodes, c.Misaligned, c.Aligned, c.Controls)
	b.WriteString("Family × label by split:\n\n")
	header("family / label")
	for _, r := range c.FamilyLabel {
		row(r.Family+" / "+r.Label, r)
	}
	b.WriteString("\nStyle by split:\n\n")
	header("style")
	for _, r := range c.Style {
		row(r.Style, r)
	}
	b.WriteString("\nConditions of the scenario episodes (goal type × urgency; each cell splits evenly over the three framings):\n\n")
	fmt.Fprintf(&b, "| goal type | %s |\n|---|%s\n", strings.Join(Urgencies, " | "), strings.Repeat("---:|", len(Urgencies)))
	for i, cc := range c.Conditions {
		if i%len(Urgencies) == 0 {
			fmt.Fprintf(&b, "| %s |", cc.GoalType)
		}
		fmt.Fprintf(&b, " %d |", cc.Episodes)
		if i%len(Urgencies) == len(Urgencies)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString("\nFraming and tool-call syntax (all episodes):\n\n| framing | episodes |\n|---|---:|\n")
	for _, f := range Framings {
		fmt.Fprintf(&b, "| %s | %d |\n", f, c.Framing[f])
	}
	b.WriteString("\n| tool syntax | episodes |\n|---|---:|\n")
	for _, s := range toolSyntaxes {
		fmt.Fprintf(&b, "| %s | %d |\n", s, c.ToolSyntax[s])
	}
	if q := c.ApproxTokens; q != nil {
		fmt.Fprintf(&b, "\nApproximate length (approx_tokens: bytes / 3.2, before any chat template): min %d, median %d, p90 %d, max %d tokens.\n", q.Min, q.Median, q.P90, q.Max)
	}
	return b.String()
}
