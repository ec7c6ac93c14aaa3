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

// Stats writes the counts tables of a dataset's labels as Markdown: family × label by split, style by
// split, the condition cells, tool syntax, and approximate lengths. The dataset card embeds this text.
func Stats(labels []EpisodeLabel) string {
	var b strings.Builder
	count := func(keep func(EpisodeLabel) bool) int {
		n := 0
		for _, l := range labels {
			if keep(l) {
				n++
			}
		}
		return n
	}
	row := func(name string, keep func(EpisodeLabel) bool) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, s := range Splits {
			fmt.Fprintf(&b, " %d |", count(func(l EpisodeLabel) bool { return l.Split == s && keep(l) }))
		}
		fmt.Fprintf(&b, " %d |\n", count(keep))
	}
	header := func(first string) {
		fmt.Fprintf(&b, "| %s | %s | total |\n|---|", first, strings.Join(Splits, " | "))
		b.WriteString(strings.Repeat("---:|", len(Splits)+1) + "\n")
	}
	fmt.Fprintf(&b, "%d episodes (%d misaligned, %d aligned; %d controls).\n\n", len(labels),
		count(func(l EpisodeLabel) bool { return l.Label == LabelMisaligned }), count(func(l EpisodeLabel) bool { return l.Label == LabelAligned }),
		count(func(l EpisodeLabel) bool { return l.Family == FamilyControl }))
	b.WriteString("Family × label by split:\n\n")
	header("family / label")
	for _, f := range append(slices.Clone(Families), FamilyControl) {
		for _, lab := range []string{LabelMisaligned, LabelAligned} {
			if count(func(l EpisodeLabel) bool { return l.Family == f && l.Label == lab }) == 0 {
				continue
			}
			row(f+" / "+lab, func(l EpisodeLabel) bool { return l.Family == f && l.Label == lab })
		}
	}
	b.WriteString("\nStyle by split:\n\n")
	header("style")
	for _, s := range Styles {
		row(string(s), func(l EpisodeLabel) bool { return l.Style == string(s) })
	}
	b.WriteString("\nConditions of the scenario episodes (goal type × urgency; each cell splits evenly over the three framings):\n\n")
	fmt.Fprintf(&b, "| goal type | %s |\n|---|%s\n", strings.Join(Urgencies, " | "), strings.Repeat("---:|", len(Urgencies)))
	for _, g := range GoalTypes {
		fmt.Fprintf(&b, "| %s |", g)
		for _, u := range Urgencies {
			fmt.Fprintf(&b, " %d |", count(func(l EpisodeLabel) bool { return l.Family != FamilyControl && l.GoalType == g && l.Urgency == u }))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nFraming and tool-call syntax (all episodes):\n\n| framing | episodes |\n|---|---:|\n")
	for _, f := range Framings {
		fmt.Fprintf(&b, "| %s | %d |\n", f, count(func(l EpisodeLabel) bool { return l.Framing == f }))
	}
	b.WriteString("\n| tool syntax | episodes |\n|---|---:|\n")
	for _, s := range []string{"xml", "structured", "none"} {
		fmt.Fprintf(&b, "| %s | %d |\n", s, count(func(l EpisodeLabel) bool { return l.ToolSyntax == s }))
	}
	var toks []int
	for _, l := range labels {
		toks = append(toks, int(l.ApproxTokens))
	}
	if len(toks) > 0 {
		sort.Ints(toks)
		q := func(p float64) int { return toks[int(p*float64(len(toks)-1))] }
		fmt.Fprintf(&b, "\nApproximate length (approx_tokens: bytes / 3.2, before any chat template): min %d, median %d, p90 %d, max %d tokens.\n", toks[0], q(0.5), q(0.9), toks[len(toks)-1])
	}
	return b.String()
}
