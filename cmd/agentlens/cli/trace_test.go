package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/trace"
)

func TestNewCmdTraceShow(t *testing.T) {
	cache := t.TempDir()
	cached := filepath.Join(cache, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cached, []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "my.gguf")
	if err := os.WriteFile(local, []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AGENTLENS_CACHE": cache}
	tests := []struct {
		name      string
		args      []string
		want      traceShowOptions // IO not compared
		wantUsage bool
		wantErr   string // a non-usage error containing this
		wantCode  int    // and its exit code
	}{
		{name: "bundled", args: []string{"bundled:blackmail"}, want: traceShowOptions{Episode: "bundled:blackmail"}},
		{name: "all flags", args: []string{"run.eval", "--format", "inspect-eval", "--id", "s1_epoch_1", "--template", "t.jinja", "--generation-prompt"},
			want: traceShowOptions{Episode: "run.eval", Format: trace.FormatInspectEval, ID: "s1_epoch_1", Template: "t.jinja", GenPrompt: true}},
		{name: "model file", args: []string{"x.json", "--model", local}, want: traceShowOptions{Episode: "x.json", Model: local}},
		{name: "cached model name", args: []string{"x.json", "-m", "SmolLM2"}, want: traceShowOptions{Episode: "x.json", Model: cached}},
		{name: "model not fetched", args: []string{"x.json", "-m", "gemma3"}, wantErr: "agentlens model fetch gemma3", wantCode: ExitModel},
		{name: "not a model", args: []string{"x.json", "--model", "llama"}, wantUsage: true},
		{name: "bad format", args: []string{"x.json", "--format", "csv"}, wantUsage: true},
		{name: "tool-call style", args: []string{"x.json", "--chat-template", "t.jinja", "--tool-call-style", "json"}, want: traceShowOptions{Episode: "x.json", Template: "t.jinja", Style: trace.ToolCallsJSON}},
		{name: "bad tool-call style", args: []string{"x.json", "--tool-call-style", "yaml"}, wantUsage: true},
		{name: "no episode", args: nil, wantUsage: true},
		{name: "two episodes", args: []string{"a", "b"}, wantUsage: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := testFactory(env)
			var got *traceShowOptions
			err := execute(f, newCmdTraceShow(f, func(o *traceShowOptions) error { got = o; return nil }), tc.args)
			switch {
			case tc.wantUsage:
				if exitCode(err) != ExitUsage {
					t.Fatalf("error = %v (exit %d), want a usage error", err, exitCode(err))
				}
				return
			case tc.wantErr != "":
				if err == nil || exitCode(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v (exit %d), want an error containing %q", err, exitCode(err), tc.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("execute: %v", err)
			}
			got.IO = nil
			if *got != tc.want {
				t.Errorf("options = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// TestTraceShowSmolLM2 runs trace show with the real SmolLM2 tokenizer: every email and the tool call of
// the bundled blackmail episode are listed with the token spans trace.Render gives them.
func TestTraceShowSmolLM2(t *testing.T) {
	model := testutil.ModelPath(t, testutil.SmolLM2GGUF)
	f, out, _ := testFactory(nil)
	if err := traceShowRun(&traceShowOptions{IO: f.IO, Episode: "bundled:blackmail", Model: model}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.HasPrefix(lines[0], "# episode blackmail: ") || !strings.Contains(lines[0], " tokens, ") {
		t.Fatalf("first line %q", lines[0])
	}
	emails, calls := 0, 0
	for _, l := range lines {
		fields := strings.Fields(l)
		if len(fields) < 5 {
			continue
		}
		switch fields[1] {
		case "email":
			emails++
		case "tool_call":
			calls++
			if fields[0] != "assistant[0].tool_call[0]" || fields[5] != "tag" || !strings.HasPrefix(strings.Join(fields[6:], " "), "<tool_use:email>") {
				t.Errorf("tool call line %q", l)
			}
		default:
			continue
		}
		if fields[4] != "true" || fields[3] == "-" || strings.HasSuffix(fields[3], ",0)") {
			t.Errorf("line %q: want a found segment with a token span", l)
		}
	}
	if emails != 18 || calls != 1 {
		t.Errorf("%d email lines and %d tool call lines, want 18 and 1:\n%s", emails, calls, out)
	}
}

// TestTraceShowSmolLM2ToolCallStyle renders a real inspect_ai episode with a structured tool call through
// the real SmolLM2 tokenizer and chat template (from the GGUF): without a style the call and the reasoning
// get no tokens and stderr says so once; with --tool-call-style xml the call is in the prompt, with tokens.
func TestTraceShowSmolLM2ToolCallStyle(t *testing.T) {
	model := testutil.ModelPath(t, testutil.SmolLM2GGUF)
	const log = "../../../trace/testdata/inspect/real/log.eval"
	for _, tc := range []struct {
		style     trace.ToolCallStyle
		wantFound string
		wantErr   string
	}{
		{trace.ToolCallsNative, "false", "warning: chat template " + model + " does not render 2 segments of 1 episode(s): 1 reasoning (assistant[0].reasoning[0]); 1 tool_call (assistant[0].tool_call[0])"},
		{trace.ToolCallsXML, "true", "agentlens: wrote 2 segments the chat template drops as text in their turn (--tool-call-style xml)"},
	} {
		t.Run("style="+string(tc.style), func(t *testing.T) {
			f, out, errOut := testFactory(nil)
			if err := traceShowRun(&traceShowOptions{IO: f.IO, Episode: log, ID: "blackmail_epoch_1", Model: model, Style: tc.style}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(errOut.String(), "\n"); got != 1 || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr = %q, want one line with %q", errOut, tc.wantErr)
			}
			var line []string
			for _, l := range strings.Split(out.String(), "\n") {
				if fields := strings.Fields(l); len(fields) > 4 && fields[0] == "assistant[0].tool_call[0]" {
					line = fields
				}
			}
			if line == nil || line[4] != tc.wantFound {
				t.Fatalf("tool call line %q, want FOUND %s:\n%s", line, tc.wantFound, out)
			}
			if tokens := line[3]; tc.wantFound == "true" && (tokens == "-" || tokenSpanEmpty(tokens)) {
				t.Errorf("tool call tokens %s, want a non-empty span", tokens)
			}
		})
	}
}

// tokenSpanEmpty reports whether a printed span "[a,b)" is empty.
func tokenSpanEmpty(s string) bool {
	var a, b int
	fmt.Sscanf(s, "[%d,%d)", &a, &b)
	return a >= b
}

// TestSegmentRuleFlag: every command that loads episodes takes --segment-rule, reads the rule file
// before it runs, and refuses a bad one naming the file, the rule and the field.
func TestSegmentRuleFlag(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "rules.json"), filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"builtin": false, "rules": [{"regexp": "MEMO", "kind": "document"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`[{"regexp": "MEMO", "kind": "memo"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(m, []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	commands := []struct {
		name string
		args []string
		cmd  func(f *Factory, got **segmentRules) *cobra.Command
	}{
		{"trace show", []string{"x.json"}, func(f *Factory, got **segmentRules) *cobra.Command {
			return newCmdTraceShow(f, func(o *traceShowOptions) error { *got = &o.segmentRules; return nil })
		}},
		{"demo", []string{"-m", m}, func(f *Factory, got **segmentRules) *cobra.Command {
			return newCmdDemo(f, func(o *demoOptions) error { *got = &o.segmentRules; return nil })
		}},
		{"capture", []string{"x.jsonl", "-m", m, "-o", "out"}, func(f *Factory, got **segmentRules) *cobra.Command {
			return newCmdCapture(f, func(o *captureOptions) error { *got = &o.segmentRules; return nil })
		}},
		{"probe apply", []string{"p.parquet", "x.jsonl", "-m", m, "-o", "out"}, func(f *Factory, got **segmentRules) *cobra.Command {
			return newCmdProbeApply(f, func(o *probeApplyOptions) error { *got = &o.segmentRules; return nil })
		}},
	}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			f, _, _ := testFactory(map[string]string{"AGENTLENS_CACHE": dir})
			var got *segmentRules
			if err := execute(f, c.cmd(f, &got), append(c.args, "--segment-rule", good)); err != nil {
				t.Fatal(err)
			}
			if got.SegmentRuleFile != good || got.Segment.Rules.Len() != 1 || !got.Segment.NoBuiltin {
				t.Errorf("segment rules = %+v, want 1 rule from %s, built-ins off", got, good)
			}
			got = nil
			if err := execute(f, c.cmd(f, &got), c.args); err != nil || got.Segment.Rules != nil || got.Segment.NoBuiltin {
				t.Errorf("without --segment-rule: %v, %+v; want no rules", err, got)
			}
			err := execute(f, c.cmd(f, &got), append(c.args, "--segment-rule", bad))
			want := "--segment-rule: " + bad + `: [0].kind: "memo": want email, document, file or calendar: bad segment rule`
			if err == nil || err.Error() != want || exitCode(err) != ExitInput {
				t.Errorf("bad rule file: error = %v (exit %d), want %s", err, exitCode(err), want)
			}
		})
	}
}

// TestTraceShowJSON checks trace show --json against the episode and against the table form: one
// document, one row per segment, the spans the table prints, and with --model (a tiny random model's
// tokenizer) the token spans.
func TestTraceShowJSON(t *testing.T) {
	type doc struct {
		Episodes []traceShowEpisode `json:"episodes"`
	}
	eps, err := loadEpisodes("bundled:leaking", "", trace.SegmentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, out, _ := testFactory(nil)
	if err := execute(f, newCmdTrace(f), []string{"show", "bundled:leaking", "--json"}); err != nil {
		t.Fatal(err)
	}
	var got doc
	decodeOne(t, out.Bytes(), &got)
	if len(got.Episodes) != 1 || got.Episodes[0].EpisodeID != "leaking" || len(got.Episodes[0].Segments) != len(eps[0].Segments()) ||
		got.Episodes[0].Labels["harmful"] != "true" || got.Episodes[0].Tokens != nil {
		t.Fatalf("trace show --json: %+v, want episode leaking with %d segments and no tokens", got, len(eps[0].Segments()))
	}
	// The row trace.txtar checks in the table: user[0].email[0] email content [92,563) tag from=anna.berglund@…
	e := got.Episodes[0].Segments[slices.IndexFunc(got.Episodes[0].Segments, func(s traceShowSegment) bool { return s.SegmentID == "user[0].email[0]" })]
	if e.SegmentKind != "email" || e.Part != "content" || e.CharStart != 92 || e.CharEnd != 563 || e.Origin != "tag" ||
		!strings.HasPrefix(e.Label, "from=anna.berglund@kestrel-avionics.se") || e.Found != nil {
		t.Errorf("user[0].email[0] = %+v", e)
	}

	mdir, err := modeltest.Write(filepath.Join(t.TempDir(), "tiny"), "qwen2", 1)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := execute(f, newCmdTrace(f), []string{"show", "bundled:leaking", "--model", mdir}); err != nil {
		t.Fatal(err)
	}
	var bytes, tokens, segs int
	if _, err := fmt.Sscanf(out.String(), "# episode leaking: %d bytes, %d tokens, %d segments", &bytes, &tokens, &segs); err != nil {
		t.Fatalf("table header: %v\n%s", err, out.String())
	}
	table := out.String()
	out.Reset()
	if err := execute(f, newCmdTrace(f), []string{"show", "bundled:leaking", "--model", mdir, "--json"}); err != nil {
		t.Fatal(err)
	}
	got = doc{}
	decodeOne(t, out.Bytes(), &got)
	ep := got.Episodes[0]
	if ep.Bytes == nil || *ep.Bytes != bytes || ep.Tokens == nil || *ep.Tokens != tokens || len(ep.Segments) != segs {
		t.Fatalf("trace show --model --json: bytes %v tokens %v, %d segments; the table says %d, %d, %d", ep.Bytes, ep.Tokens, len(ep.Segments), bytes, tokens, segs)
	}
	for _, s := range ep.Segments {
		if s.TokenStart == nil || s.Found == nil || s.Part != "" {
			t.Fatalf("segment %+v lacks its token span or found, or has a part", s)
		}
		row := fmt.Sprintf("%s  %s  [%d,%d)  [%d,%d)  %v", s.SegmentID, s.SegmentKind, s.CharStart, s.CharEnd, *s.TokenStart, *s.TokenEnd, *s.Found)
		if !strings.Contains(strings.Join(strings.Fields(table), "  "), row) {
			t.Errorf("segment %q is not a row of the table:\n%s", row, table)
		}
	}
}
