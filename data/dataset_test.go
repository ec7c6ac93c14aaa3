package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/chat"
)

// generated is the default dataset, generated once per test binary.
var generated *Dataset

func defaultDataset(t *testing.T) *Dataset {
	t.Helper()
	if generated == nil {
		d, err := Generate(GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		generated = d
	}
	return generated
}

// TestManifest regenerates the default dataset and compares its manifest with the committed one
// (testdata/selfpres.manifest.sha256; -update rewrites it): the generator and seed are the source of
// truth for the shipped data. Generating twice gives the same bytes.
func TestManifest(t *testing.T) {
	golden := "testdata/selfpres.manifest.sha256"
	var ms []string
	for i := 0; i < 2; i++ {
		d, err := Generate(GenerateOptions{Seed: DefaultSeed})
		if err != nil {
			t.Fatal(err)
		}
		m, err := d.Write(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	if ms[0] != ms[1] {
		t.Fatalf("two generations with seed %d differ:\n%s\n%s", DefaultSeed, ms[0], ms[1])
	}
	if *update {
		if err := os.WriteFile(golden, []byte(ms[0]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if ms[0] != string(want) {
		t.Errorf("manifest of seed %d =\n%s\nwant (%s)\n%s\nIf the generator changed on purpose, bump GeneratorVersion and run go test -update.", DefaultSeed, ms[0], golden, want)
	}
	d, err := Generate(GenerateOptions{Seed: 15, Pairs: 4, Controls: 3})
	if err != nil {
		t.Fatal(err)
	}
	if other, _ := d.Write(t.TempDir()); other == ms[0] {
		t.Error("seed 15 gives the same manifest as the default seed")
	}
}

// TestTwins: each misaligned episode and its aligned twin have the same conditions and are byte-identical
// before decision_char of the final assistant message; they differ at decision_char.
func TestTwins(t *testing.T) {
	d := defaultDataset(t)
	byID := map[string]int{}
	for i, l := range d.Labels {
		byID[l.EpisodeID] = i
	}
	pairs := 0
	for i, l := range d.Labels {
		// The action parses: a tool call with non-empty string arguments, or the reply text.
		s, err := d.Episodes[i].Lookup(l.ActionSegment)
		switch {
		case err != nil:
			t.Fatalf("%s: action segment: %v", l.EpisodeID, err)
		case l.ToolSyntax == "none" && s.Kind != trace.KindAssistantText:
			t.Errorf("%s: chat action %s is a %s", l.EpisodeID, s.ID, s.Kind)
		case l.ToolSyntax != "none":
			var args map[string]string
			if s.Kind != trace.KindToolCall || json.Unmarshal(s.Tool.Arguments, &args) != nil || len(args) == 0 {
				t.Errorf("%s: action %s (%s) does not parse as a tool call with string arguments: %s", l.EpisodeID, s.ID, s.Kind, d.Episodes[i].Text(s))
			}
			for k, v := range args {
				if v == "" {
					t.Errorf("%s: action %s: argument %s is empty", l.EpisodeID, s.ID, k)
				}
			}
		}
		if l.Label != LabelMisaligned {
			continue
		}
		j, ok := byID[l.TwinID]
		if !ok {
			t.Fatalf("%s: twin %q not in the dataset", l.EpisodeID, l.TwinID)
		}
		tw := d.Labels[j]
		if tw.Label != LabelAligned || tw.TwinID != l.EpisodeID || tw.PairID != l.PairID {
			t.Fatalf("%s: twin %s is %+v", l.EpisodeID, tw.EpisodeID, tw)
		}
		same := func(x EpisodeLabel) EpisodeLabel {
			x.EpisodeID, x.TwinID, x.Label, x.Action, x.Index, x.Line, x.Chars, x.ApproxTokens, x.ActionSegment = "", "", "", "", 0, 0, 0, 0, ""
			return x
		}
		if same(l) != same(tw) {
			t.Errorf("%s: twins' conditions and clues differ:\n%+v\n%+v", l.PairID, l, tw)
		}
		a, b := d.Episodes[i], d.Episodes[j]
		dm := len(a.Messages) - 1
		if a.MessageID(dm) != l.DecisionMessage {
			t.Fatalf("%s: decision message %s, want the last (%s)", l.EpisodeID, l.DecisionMessage, a.MessageID(dm))
		}
		for k := 0; k < dm; k++ {
			if !reflect.DeepEqual(a.Messages[k], b.Messages[k]) {
				t.Errorf("%s: message %s differs between twins", l.PairID, a.MessageID(k))
			}
		}
		if !reflect.DeepEqual(a.Tools, b.Tools) || a.Messages[dm].Role != b.Messages[dm].Role {
			t.Errorf("%s: tools or roles differ between twins", l.PairID)
		}
		ca, cb, k := a.Messages[dm].Content, b.Messages[dm].Content, int(l.DecisionChar)
		if ca[:k] != cb[:k] || k >= len(ca) || k >= len(cb) || ca[k] == cb[k] {
			t.Errorf("%s: decision_char %d is not where the twins first differ", l.PairID, k)
		}
		pairs++
	}
	if want := len(Families) * DefaultPairs; pairs != want {
		t.Errorf("%d twin pairs, want %d", pairs, want)
	}
}

// TestSplits: held-out families and styles never reach train or val; twins share a split; controls are
// only in control; every family × label has each condition cell exactly once.
func TestSplits(t *testing.T) {
	d := defaultDataset(t)
	isHeldFam := map[string]bool{}
	for _, f := range HeldOutFamilies {
		isHeldFam[f] = true
	}
	isHeldStyle := map[string]bool{}
	for _, s := range HeldOutStyles {
		isHeldStyle[string(s)] = true
	}
	famsIn, stylesIn := map[string]map[string]bool{}, map[string]map[string]bool{}
	cells := map[string]int{}
	for _, l := range d.Labels {
		if famsIn[l.Split] == nil {
			famsIn[l.Split], stylesIn[l.Split] = map[string]bool{}, map[string]bool{}
		}
		famsIn[l.Split][l.Family] = true
		stylesIn[l.Split][l.Style] = true
		switch {
		case l.Family == FamilyControl:
			if l.Split != SplitControl {
				t.Errorf("%s: control in split %s", l.EpisodeID, l.Split)
			}
			continue
		case isHeldFam[l.Family]:
			if l.Split != SplitTestFamily {
				t.Errorf("%s: held-out family in split %s", l.EpisodeID, l.Split)
			}
		case isHeldStyle[l.Style]:
			if l.Split != SplitTestStyle {
				t.Errorf("%s: held-out style in split %s", l.EpisodeID, l.Split)
			}
		case l.Split != SplitTrain && l.Split != SplitVal:
			t.Errorf("%s: split %s, want train or val", l.EpisodeID, l.Split)
		}
		cells[strings.Join([]string{l.Family, l.Label, l.GoalType, l.Urgency, l.Framing, l.Style}, "/")]++
	}
	for _, train := range []string{SplitTrain, SplitVal} {
		for f := range famsIn[SplitTestFamily] {
			if famsIn[train][f] {
				t.Errorf("family %s is in both %s and test_family", f, train)
			}
		}
		for s := range stylesIn[SplitTestStyle] {
			if stylesIn[train][s] && isHeldStyle[s] {
				t.Errorf("style %s is in both %s and test_style", s, train)
			}
		}
		for s := range stylesIn[train] {
			if isHeldStyle[s] {
				t.Errorf("held-out style %s is in %s", s, train)
			}
		}
	}
	if want := len(Families) * 2 * DefaultPairs; len(cells) != want {
		t.Errorf("%d distinct family/label/condition/style cells, want %d (the full crossing)", len(cells), want)
	}
	for k, n := range cells {
		if n != 1 {
			t.Errorf("cell %s has %d episodes, want 1", k, n)
		}
	}
}

// TestRenderTemplates renders episodes through the committed SmolLM2, Qwen2.5 and Gemma-3 chat templates
// (all of them; every 7th under -short). Every clue segment and the decision segment must be printed
// with a non-empty span holding exactly the labelled bytes, and twins' rendered prompts must be
// identical before the decision and differ at it. Structured tool calls are printed only by Qwen2.5;
// there the action segment must be found too.
func TestRenderTemplates(t *testing.T) {
	d := defaultDataset(t)
	step := 1
	if testing.Short() {
		step = 7
	}
	dir := filepath.Join("..", "trace", "chat", "testdata", "templates")
	for _, tc := range []struct {
		file        string
		opts        trace.RenderOptions
		printsCalls bool
	}{
		{"smollm2.jinja", trace.RenderOptions{}, false},
		{"lcpp-Qwen-Qwen2.5-7B-Instruct.jinja", trace.RenderOptions{}, true},
		{"gemma3.jinja", trace.RenderOptions{BOS: "<bos>"}, false},
	} {
		tmpl, err := chat.CompileFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(tc.file, func(t *testing.T) {
			decisionText := map[string]string{} // pair → rendered text before the decision of the first twin seen
			for i := 0; i < len(d.Episodes); i++ {
				l := d.Labels[i]
				if (i/2)%step != 0 {
					continue
				}
				ep := d.Episodes[i]
				r, err := trace.Render(ep, tmpl, nil, tc.opts)
				if err != nil {
					t.Fatalf("%s: %v", ep.ID, err)
				}
				at := func(field, id string, start, end int32) int {
					rs, ok := r.Segment(id)
					if !ok || !rs.Found || rs.Char.Len() == 0 {
						t.Errorf("%s: %s %s not printed (%+v)", ep.ID, field, id, rs)
						return -1
					}
					s, _ := ep.Lookup(id)
					off := rs.Char.Start + int(start) - s.Start
					if end >= 0 {
						want := ep.Messages[s.Message].Content[start:end]
						if off+len(want) > len(r.Text) || r.Text[off:off+len(want)] != want {
							t.Errorf("%s: %s %s: rendered bytes at %d are not the labelled ones", ep.ID, field, id, off)
						}
					}
					return off
				}
				for _, c := range []struct {
					field, id  string
					start, end int32
				}{{"replacement", l.ReplacementSeg, l.ReplacementStart, l.ReplacementEnd}, {"leverage", l.LeverageSeg, l.LeverageStart, l.LeverageEnd}, {"goal", l.GoalSeg, l.GoalStart, l.GoalEnd}} {
					if c.id != "" {
						at(c.field, c.id, c.start, c.end)
					}
				}
				if l.Family != FamilyControl && (l.ReplacementSeg == "") != (l.Urgency == "none") {
					t.Errorf("%s: urgency %s but replacement segment %q", ep.ID, l.Urgency, l.ReplacementSeg)
				}
				if l.Family != FamilyControl && (l.LeverageSeg == "" || (l.GoalSeg == "") != (l.GoalType == "none")) {
					t.Errorf("%s: goal %s, leverage %q, goal segment %q", ep.ID, l.GoalType, l.LeverageSeg, l.GoalSeg)
				}
				dec := at("decision", l.DecisionSegment, l.DecisionChar, -1)
				if s, _ := ep.Lookup(l.ActionSegment); s.Part != trace.PartToolCall || tc.printsCalls {
					at("action", l.ActionSegment, int32(s.Start), -1)
				}
				if l.PairID == "" || dec < 0 {
					continue
				}
				if prev, ok := decisionText[l.PairID]; ok {
					if len(prev) != dec+1 || r.Text[:dec] != prev[:dec] || r.Text[dec] == prev[dec] {
						t.Errorf("%s: rendered twins are not identical up to the decision at byte %d", l.PairID, dec)
					}
				} else {
					decisionText[l.PairID] = r.Text[:dec+1]
				}
			}
		})
	}
}

// TestReadDataset writes a small dataset, reads it back, and checks that disagreements between
// labels.parquet and the JSONL files are reported with the file and field.
func TestReadDataset(t *testing.T) {
	d, err := Generate(GenerateOptions{Pairs: 3, Controls: 4})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := d.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Labels, d.Labels) {
		t.Errorf("labels read back differ from the written ones")
	}
	if len(got.Episodes) != len(d.Episodes) {
		t.Fatalf("read %d episodes, want %d", len(got.Episodes), len(d.Episodes))
	}
	for i, ep := range got.Episodes {
		var a, b bytes.Buffer
		trace.WriteNative(&a, ep)
		trace.WriteNative(&b, d.Episodes[i])
		if a.String() != b.String() {
			t.Fatalf("episode %s differs after the round trip", ep.ID)
		}
	}
	cases := []struct {
		name string
		edit func([]EpisodeLabel)
		want string
	}{
		{"family", func(ls []EpisodeLabel) { ls[0].Family = "phishing" }, `train.jsonl:1: episode selfpres/blackmail-000/misaligned: labels.family = "blackmail", but labels.parquet has family = "phishing"`},
		{"line", func(ls []EpisodeLabel) { ls[1].Line = 99 }, "line 99: not in"},
		{"segment", func(ls []EpisodeLabel) { ls[0].LeverageSeg = "user[0].email[42]" }, `leverage_segment "user[0].email[42]"`},
		{"no row", nil, "control.jsonl:4: episode selfpres/control-003 has no row in labels.parquet"},
		{"row twice", func(ls []EpisodeLabel) { ls[len(ls)-1] = ls[len(ls)-2] }, "listed twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ls := append([]EpisodeLabel(nil), d.Labels...)
			if c.edit == nil {
				ls = ls[:len(ls)-1]
			} else {
				c.edit(ls)
			}
			if err := Write(filepath.Join(dir, LabelsFile), ls); err != nil {
				t.Fatal(err)
			}
			_, err := ReadDataset(dir)
			if err == nil || !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ReadDataset = %v, want %v containing %q", err, ErrDataset, c.want)
			}
		})
	}
}

// TestCard: the counts block of data/README.md is Stats of the default dataset (go test -update
// rewrites it).
func TestCard(t *testing.T) {
	const begin, end = "<!-- stats:begin (go test ./data -update) -->\n", "<!-- stats:end -->"
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	card := string(b)
	i, j := strings.Index(card, begin), strings.Index(card, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q block", begin, end)
	}
	want := Stats(defaultDataset(t).Labels)
	if *update {
		card = card[:i+len(begin)] + want + card[j:]
		if err := os.WriteFile("README.md", []byte(card), 0o644); err != nil {
			t.Fatal(err)
		}
		j = strings.Index(card, end)
	}
	if got := card[i+len(begin) : j]; got != want {
		t.Errorf("README.md counts block =\n%s\nwant\n%s", got, want)
	}
}
