package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/trace/chat"
)

func TestNewCmdDataGenerate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		want      dataGenerateOptions // IO not compared
		wantUsage string              // a usage error containing this
	}{
		{name: "defaults", args: []string{"--out", "ds"}, want: dataGenerateOptions{Out: "ds", Seed: data.DefaultSeed, Pairs: data.DefaultPairs, Controls: data.DefaultControls}},
		{name: "all flags", args: []string{"-o", "ds", "--seed", "7", "--pairs", "3", "--controls", "5"}, want: dataGenerateOptions{Out: "ds", Seed: 7, Pairs: 3, Controls: 5}},
		{name: "no out", args: nil, wantUsage: "--out is required"},
		{name: "seed zero", args: []string{"--out", "ds", "--seed", "0"}, wantUsage: "--seed 0: want a seed from 1 to 9223372036854775807"},
		{name: "seed too large", args: []string{"--out", "ds", "--seed", "9223372036854775808"}, wantUsage: "--seed 9223372036854775808: want a seed from 1"},
		{name: "negative seed", args: []string{"--out", "ds", "--seed", "-3"}, wantUsage: `invalid argument "-3" for "--seed"`},
		{name: "no pairs", args: []string{"--out", "ds", "--pairs", "0"}, wantUsage: "--pairs 0: want at least 1"},
		{name: "no controls", args: []string{"--out", "ds", "--controls", "-1"}, wantUsage: "--controls -1: want at least 1"},
		{name: "out is a file", args: []string{"--out", file}, wantUsage: "exists and is not a directory"},
		{name: "stray argument", args: []string{"--out", "ds", "extra"}, wantUsage: "accepts 0 arg(s), received 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseFlags(t, newCmdDataGenerate, tc.args, tc.wantUsage)
			if got == nil {
				return
			}
			got.IO = nil
			if *got != tc.want {
				t.Errorf("options = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestNewCmdDataStats(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name      string
		args      []string
		want      dataStatsOptions
		wantUsage string
	}{
		{name: "dir", args: []string{dir}, want: dataStatsOptions{Dir: dir}},
		{name: "template", args: []string{dir, "--chat-template", "t.jinja"}, want: dataStatsOptions{Dir: dir, Template: "t.jinja"}},
		{name: "deprecated --template", args: []string{dir, "--template", "t.jinja"}, want: dataStatsOptions{Dir: dir, Template: "t.jinja"}},
		{name: "missing dir", args: []string{filepath.Join(dir, "nope")}, wantUsage: "not a dataset directory"},
		{name: "not a model", args: []string{dir, "--model", "llama"}, wantUsage: "--model llama: not a file"},
		{name: "no dir", args: nil, wantUsage: "accepts 1 arg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseFlags(t, newCmdDataStats, tc.args, tc.wantUsage)
			if got == nil {
				return
			}
			got.IO = nil
			if *got != tc.want {
				t.Errorf("options = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// TestDataStatsSmolLM2 reports real token lengths with the cached SmolLM2 tokenizer (skipped without it).
func TestDataStatsSmolLM2(t *testing.T) {
	model := testutil.ModelPath(t, testutil.SmolLM2GGUF)
	dir := t.TempDir()
	f, out, _ := testFactory(nil)
	if err := dataGenerateRun(&dataGenerateOptions{IO: f.IO, Out: dir, Seed: 3, Pairs: 2, Controls: 2}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := dataStatsRun(&dataStatsOptions{IO: f.IO, Dir: dir, Model: model}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| all | 38 | ") {
		t.Errorf("stats output lacks the token row for all 38 episodes:\n%s", out)
	}
}

// TestDataTwinsTokenized renders twin pairs with the real SmolLM2 and Gemma-3 tokenizers (skipped when
// not cached): the twins' token ids are identical before the token holding the decision byte, and every
// clue segment and the decision segment own at least one token.
func TestDataTwinsTokenized(t *testing.T) {
	d, err := data.Generate(data.GenerateOptions{Pairs: 8, Controls: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ file, template string }{
		{testutil.SmolLM2GGUF, ""},
		{testutil.Gemma3GGUF, filepath.Join("..", "..", "..", "trace", "chat", "testdata", "templates", "gemma3.jinja")},
	} {
		t.Run(m.file, func(t *testing.T) {
			model := testutil.ModelPath(t, m.file)
			var p prompter
			if p.Tok, err = openTokenizer(model); err != nil {
				t.Fatal(err)
			}
			if p.Tmpl, err = chat.Select(model, p.Tok.ChatTemplate(), m.template); err != nil {
				t.Fatal(err)
			}
			first := map[string][]int{}
			for i, ep := range d.Episodes {
				l := d.Labels[i]
				r, err := p.render(ep, false)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range []string{l.DecisionSegment, l.ReplacementSeg, l.LeverageSeg, l.GoalSeg} {
					if rs, ok := r.Segment(id); id != "" && (!ok || rs.Tokens.Len() == 0) {
						t.Errorf("%s: segment %s has no tokens (%+v)", ep.ID, id, rs)
					}
				}
				if l.PairID == "" {
					continue
				}
				rs, _ := r.Segment(l.DecisionSegment)
				s, _ := ep.Lookup(l.DecisionSegment)
				k := r.TokenAt(rs.Char.Start + int(l.DecisionChar) - s.Start)
				if prev, ok := first[l.PairID]; !ok {
					first[l.PairID] = r.IDs[:k]
				} else if !slices.Equal(prev, r.IDs[:k]) {
					t.Errorf("%s: twins' tokens differ before the decision token %d", l.PairID, k)
				}
			}
		})
	}
}

// parseFlags runs a command's flag parsing on args through its runF and returns the options it built,
// or, when wantUsage is set, checks that parsing fails with a usage error containing it and returns nil.
func parseFlags[O any](t *testing.T, newCmd func(*Factory, func(*O) error) *cobra.Command, args []string, wantUsage string) *O {
	t.Helper()
	f, _, _ := testFactory(nil)
	var got *O
	err := execute(f, newCmd(f, func(o *O) error { got = o; return nil }), args)
	if wantUsage != "" {
		if exitCode(err) != ExitUsage || !strings.Contains(err.Error(), wantUsage) {
			t.Fatalf("error = %v (exit %d), want a usage error containing %q", err, exitCode(err), wantUsage)
		}
		return nil
	}
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	return got
}

// TestDataJSON checks that data generate and data stats with --json print one JSON document holding
// what the text form prints: the same episode counts, manifest total and table cells.
func TestDataJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	f, out, _ := testFactory(nil)
	if err := execute(f, newCmdData(f), []string{"generate", "--out", dir, "--seed", "7", "--pairs", "4", "--controls", "6", "--json"}); err != nil {
		t.Fatal(err)
	}
	var gen dataGenerateSummary
	decodeOne(t, out.Bytes(), &gen)
	manifest, err := os.ReadFile(filepath.Join(dir, "MANIFEST.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(manifest)), "\n")
	inSplits := 0
	for _, n := range gen.Splits {
		inSplits += n
	}
	// 9 families × 4 pairs × 2 twins + 6 controls, as data.txtar has it.
	if gen.Episodes != 78 || inSplits != 78 || gen.Splits["control"] != 6 || gen.Seed != 7 || gen.Out != dir ||
		gen.ManifestTotal != strings.Fields(lines[len(lines)-1])[0] || len(gen.ManifestTotal) != 64 {
		t.Errorf("data generate --json = %+v; manifest ends %q", gen, lines[len(lines)-1])
	}

	out.Reset()
	if err := execute(f, newCmdData(f), []string{"stats", dir}); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	out.Reset()
	if err := execute(f, newCmdData(f), []string{"stats", dir, "--json"}); err != nil {
		t.Fatal(err)
	}
	var st dataStatsSummary
	decodeOne(t, out.Bytes(), &st)
	if head := fmt.Sprintf("%d episodes (%d misaligned, %d aligned; %d controls).", st.Episodes, st.Misaligned, st.Aligned, st.Controls); st.Episodes != 78 || !strings.Contains(table, head) {
		t.Errorf("data stats --json totals %q, not in the table:\n%s", head, table)
	}
	if len(st.FamilyLabel) != 19 || st.ApproxTokens == nil || st.Tokens != nil {
		t.Errorf("data stats --json: %d family × label rows (want 9 × 2 + control), approx_tokens %v, tokens %v",
			len(st.FamilyLabel), st.ApproxTokens, st.Tokens)
	}
	// Every family × label row of the JSON is a row of the table, cell for cell.
	for _, r := range st.FamilyLabel {
		row := "| " + r.Family + " / " + r.Label + " |"
		for _, s := range data.Splits {
			row += fmt.Sprintf(" %d |", r.Splits[s])
		}
		row += fmt.Sprintf(" %d |\n", r.Episodes)
		if !strings.Contains(table, row) {
			t.Errorf("row %q of --json is not in the table:\n%s", row, table)
		}
	}
	if r := st.FamilyLabel[len(st.FamilyLabel)-1]; r.Family != "control" || r.Splits["control"] != 6 {
		t.Errorf("last family × label row = %+v, want control with 6 in split control", r)
	}

	// With --model (a tiny random model's tokenizer), the token lengths of the table, per family and in all.
	mdir, err := modeltest.Write(filepath.Join(t.TempDir(), "tiny"), "qwen2", 1)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := execute(f, newCmdData(f), []string{"stats", dir, "--model", mdir}); err != nil {
		t.Fatal(err)
	}
	table = out.String()
	out.Reset()
	if err := execute(f, newCmdData(f), []string{"stats", dir, "--model", mdir, "--json"}); err != nil {
		t.Fatal(err)
	}
	st = dataStatsSummary{}
	decodeOne(t, out.Bytes(), &st)
	if st.Tokens == nil || st.Tokens.All.Episodes != 78 || len(st.Tokens.Families) != 10 || st.Episodes != 78 {
		t.Fatalf("data stats --model --json: %+v, want token lengths of 78 episodes in 10 families", st.Tokens)
	}
	for fam, q := range st.Tokens.Families {
		if row := fmt.Sprintf("| %s | %s |\n", fam, lengthCells(q)); !strings.Contains(table, row) {
			t.Errorf("token row %q of --json is not in the table:\n%s", row, table)
		}
	}
	if row := fmt.Sprintf("| all | %s |\n", lengthCells(st.Tokens.All)); !strings.Contains(table, row) || st.Tokens.All.Min > st.Tokens.All.Max {
		t.Errorf("token row %q of --json is not in the table:\n%s", row, table)
	}
}
