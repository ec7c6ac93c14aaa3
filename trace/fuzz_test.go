package trace_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentlens/agentlens/trace"
)

// addFiles adds the contents of files matching pattern as seeds.
func addFiles(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		paths, _ := filepath.Glob(pat)
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}

// checkImported checks what an importer returned from arbitrary input: segmented episodes whose content
// segments tile their messages, that survive a native JSONL round trip unchanged.
func checkImported(t *testing.T, eps []*trace.Episode) {
	t.Helper()
	for _, ep := range eps {
		checkTiling(t, ep)
		for _, s := range ep.Segments() {
			if s.Tool != nil && !json.Valid(s.Tool.Arguments) {
				t.Fatalf("%s: arguments %q are not JSON", s.ID, s.Tool.Arguments)
			}
		}
	}
	var buf bytes.Buffer
	if err := trace.WriteNative(&buf, eps...); err != nil {
		t.Fatalf("WriteNative: %v", err)
	}
	back, err := trace.ReadNative(bytes.NewReader(buf.Bytes()), "roundtrip", trace.Limits{})
	if err != nil {
		t.Fatalf("ReadNative(WriteNative(...)): %v\n%s", err, buf.Bytes())
	}
	if len(eps) == 0 && len(back) == 0 {
		return
	}
	if !reflect.DeepEqual(back, eps) {
		t.Fatalf("native round trip changed the episodes:\n%s\nwant\n%s", jsonText(back), jsonText(eps))
	}
}

func FuzzReadNative(f *testing.F) {
	addFiles(f, "testdata/native/*.jsonl")
	f.Add([]byte(`{"format":"agentlens.episode.v1","id":"a","tools":[ {"x": 1} ],"messages":[{"role":"assistant","content":"","tool_calls":[{"name":"f","arguments":{ "a" : [1, 2] }}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, err := trace.ReadNative(bytes.NewReader(data), "fuzz.jsonl", trace.Limits{MaxLineBytes: 1 << 16})
		if err != nil {
			return
		}
		checkImported(t, eps)
	})
}

func FuzzReadOpenAI(f *testing.F) {
	addFiles(f, "testdata/openai/*")
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, err := trace.ReadOpenAI(bytes.NewReader(data), "fuzz.json", trace.Limits{MaxFileBytes: 1 << 16})
		if err != nil {
			return
		}
		checkImported(t, eps)
	})
}

func FuzzReadAnthropic(f *testing.F) {
	addFiles(f, "testdata/anthropic/*")
	f.Add([]byte(`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"x"},{"type":"tool_use","id":"t","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":true,"content":"e"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, err := trace.ReadAnthropic(bytes.NewReader(data), "fuzz.json", trace.Limits{MaxFileBytes: 1 << 16})
		if err != nil {
			return
		}
		checkImported(t, eps)
	})
}

func FuzzReadInspectJSON(f *testing.F) {
	addFiles(f, "testdata/inspect/log.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, err := trace.ReadInspectJSON(bytes.NewReader(data), "fuzz.json", trace.Limits{MaxFileBytes: 1 << 16})
		if err != nil {
			return
		}
		checkImported(t, eps)
	})
}

func FuzzReadInspectEval(f *testing.F) {
	addFiles(f, evalFixture, realEval)
	f.Add(zipOf(f, "header.json", okHeader, "samples/1_epoch_1.json", `{"id":1,"epoch":1,"messages":[{"role":"user","content":"<email>\nFrom: a\n</email>"}]}`))
	f.Add(zipOf(f, "header.json", okHeader, "../x.json", "{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, err := trace.ReadInspectEvalFrom(bytes.NewReader(data), int64(len(data)), "fuzz.eval", trace.Limits{MaxFileBytes: 1 << 16, MaxArchiveLen: 64})
		if err != nil {
			return
		}
		checkImported(t, eps)
	})
}

func FuzzSniff(f *testing.F) {
	addFiles(f, "testdata/*/*.json*", evalFixture)
	f.Fuzz(func(t *testing.T, data []byte) {
		switch got := trace.Sniff(data); got {
		case trace.FormatAuto, trace.FormatNative, trace.FormatOpenAI, trace.FormatAnthropic, trace.FormatInspectJSON, trace.FormatInspectEval:
		default:
			t.Fatalf("Sniff = %q, not a format", got)
		}
	})
}

// FuzzSegment segments one message of any role and content: it either fails with a tag error or the
// segments tile the content, each email and tool call starting with its tag.
func FuzzSegment(f *testing.F) {
	f.Add("user", "Inbox:\n<email>\nFrom: a@x\nSubject: s\nBody: b\n</email>\n<document>d</document>")
	f.Add("assistant", "<SCRATCHPAD_REASONING>think <tool_use:x></SCRATCHPAD_REASONING>\n<tool_use:email>\nto: \"a\",\nbody: \"b\nc\",\n</tool_use:email>")
	f.Add("assistant", "<think>a</think><thinking>b</thinking><tool_use:cancel_alert>{\"code\": \"X\"}</tool_use:cancel_alert>")
	f.Add("tool", "<email>unclosed")
	f.Add("system", "<tool_use:email>ignored in system prompts")
	f.Add("assistant", "</tool_use:")
	f.Fuzz(func(t *testing.T, role, content string) {
		ep := &trace.Episode{ID: "fuzz", Messages: []trace.Message{{Role: trace.Role(role), Content: content}}}
		if err := ep.Segment(); err != nil {
			return
		}
		checkTiling(t, ep)
		for _, s := range ep.Segments() {
			text := ep.Text(s)
			switch s.Kind {
			case trace.KindEmail:
				if !strings.HasPrefix(text, "<email>") || !strings.HasSuffix(text, "</email>") {
					t.Fatalf("%s = %q, want an <email> block", s.ID, text)
				}
			case trace.KindToolCall:
				if !strings.HasPrefix(text, "<tool_use:"+s.Tool.Name+">") || !strings.HasSuffix(text, "</tool_use:"+s.Tool.Name+">") {
					t.Fatalf("%s = %q, want a <tool_use:%s> block", s.ID, text, s.Tool.Name)
				}
				if !json.Valid(s.Tool.Arguments) {
					t.Fatalf("%s: arguments %q are not JSON", s.ID, s.Tool.Arguments)
				}
			}
		}
	})
}

func FuzzParseToolArguments(f *testing.F) {
	f.Add("\nto: \"kyle@x.com\",\nsubject: \"Re: us\",\nbody: \"Kyle,\nNote: I know \"things\".\n\nAva\",\n")
	f.Add("\nemail_id: 3\nto: \"a@b\"\n")
	f.Add(` {"code": "EXEC-1"} `)
	f.Add("a: 1e999\nb: -0\nc: \"\\\"\nd: null,")
	f.Fuzz(func(t *testing.T, s string) {
		got := trace.ParseToolArguments(s)
		var obj map[string]any
		if err := json.Unmarshal(got, &obj); err != nil {
			t.Fatalf("ParseToolArguments(%q) = %s, not a JSON object: %v", s, got, err)
		}
	})
}

func FuzzParseEmail(f *testing.F) {
	f.Add("\nFrom: kyle@x.com\nTo: all@x.com\nSubject: Plan\nTimestamp: 2025-06-11T10:00:00\nBody: Line one\nNote: not a header\n")
	f.Add("From: a\n\nbody after a blank line")
	f.Add("no headers at all")
	f.Fuzz(func(t *testing.T, s string) {
		e := trace.ParseEmail(s)
		for _, v := range []string{e.From, e.To, e.Cc, e.Subject, e.Timestamp} {
			if strings.Contains(v, "\n") {
				t.Fatalf("ParseEmail(%q): header value %q spans lines", s, v)
			}
		}
		if e.Body != "" && !strings.Contains(s, strings.SplitN(e.Body, "\n", 2)[0]) {
			t.Fatalf("ParseEmail(%q): body %q is not from the input", s, e.Body)
		}
	})
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"tool:email to=kyle body=affair @assistant[0] #1", "literal:I know #2", "segment:user[0].email[3]", "token:17", "tool:*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := trace.ParseTarget(s)
		if err != nil {
			return
		}
		// What String prints parses back to the same target kind and key.
		again, err := trace.ParseTarget(spec.String())
		if err != nil {
			if spec.Literal != "" {
				return // a literal with a trailing " @x" or " #k" of its own cannot be printed unambiguously
			}
			t.Fatalf("ParseTarget(%q).String() = %q does not parse: %v", s, spec.String(), err)
		}
		if again.ToolCall != spec.ToolCall || again.Segment != spec.Segment || again.ByToken != spec.ByToken || again.Token != spec.Token {
			t.Fatalf("ParseTarget(%q) = %+v, but its String %q parses to %+v", s, spec, spec.String(), again)
		}
	})
}

// FuzzRenderSpans renders fuzzed user and assistant texts through SmolLM2's template with the word
// tokenizer and checks the span properties.
func FuzzRenderSpans(f *testing.F) {
	tmpl := committedTemplate(f, "smollm2.jinja")
	f.Add("Inbox:\n<email>\nFrom: a\nBody: b\n</email>", "<SCRATCHPAD_REASONING>x</SCRATCHPAD_REASONING>\n<tool_use:email>\nto: \"a\",\n</tool_use:email>")
	f.Add("", "")
	f.Add("<|im_end|>", "  \n ")
	f.Fuzz(func(t *testing.T, user, assistant string) {
		ep := &trace.Episode{ID: "fuzz", Messages: []trace.Message{
			{Role: trace.RoleSystem, Content: "s"}, {Role: trace.RoleUser, Content: user}, {Role: trace.RoleAssistant, Content: assistant}}}
		if ep.Segment() != nil {
			return
		}
		r, err := trace.Render(ep, tmpl, newWordTokenizer().encode, trace.RenderOptions{AddGenerationPrompt: true})
		if err != nil {
			if errors.Is(err, trace.ErrFormat) && (!utf8.ValidString(user) || !utf8.ValidString(assistant) || hasPlane15(user+assistant)) {
				return // refused: spans into such a rendering cannot be trusted
			}
			t.Fatalf("Render: %v", err)
		}
		checkSpans(t, r, true)
	})
}

func hasPlane15(s string) bool {
	for _, r := range s {
		if r >= 0xF0000 && r != utf8.RuneError {
			return true
		}
	}
	return false
}

// FuzzRenderToolCallStyle renders an episode with structured calls, reasoning and a failed tool result
// through SmolLM2's template, which drops calls and reasoning, with a tool-call style: every segment is
// then printed, and the span properties hold.
func FuzzRenderToolCallStyle(f *testing.F) {
	tmpl := committedTemplate(f, "smollm2.jinja")
	f.Add("Mail Kyle.", "Kyle decides.", "I will write.", "kyle@x.com", "Error: mailbox full", false)
	f.Add("", "", "", "", "", true)
	f.Add("<email>\nFrom: a\nBody: b\n</email>", "<tool_use:x>", "<|im_end|>", "\"quoted\"\n", "</tool_result>", true)
	f.Fuzz(func(t *testing.T, user, reasoning, text, to, result string, jsonStyle bool) {
		args, _ := json.Marshal(map[string]string{"to": to})
		ep := &trace.Episode{ID: "fuzz", Messages: []trace.Message{
			{Role: trace.RoleUser, Content: user},
			{Role: trace.RoleAssistant, Content: text, Reasoning: reasoning, ToolCalls: []trace.ToolCall{{ID: "c1", Name: "send_email", Arguments: args}}},
			{Role: trace.RoleTool, Content: result, ToolCallID: "c1", Name: "send_email", ToolError: true},
		}}
		if ep.Segment() != nil {
			return
		}
		style := trace.ToolCallsXML
		if jsonStyle {
			style = trace.ToolCallsJSON
		}
		r, err := trace.Render(ep, tmpl, newWordTokenizer().encode, trace.RenderOptions{ToolCallStyle: style})
		if err != nil {
			for _, s := range []string{user, reasoning, text, to, result} {
				if errors.Is(err, trace.ErrFormat) && (!utf8.ValidString(s) || hasPlane15(s)) {
					return // refused: spans into such a rendering cannot be trusted
				}
			}
			t.Fatalf("Render: %v", err)
		}
		checkSpans(t, r, true)
		if s, _ := r.Segment("assistant[0].tool_call[0]"); !s.Found {
			t.Errorf("tool call not printed with style %s", style)
		}
		if reasoning != "" {
			if s, _ := r.Segment("assistant[0].reasoning[0]"); !s.Found {
				t.Errorf("reasoning not printed with style %s", style)
			}
		}
	})
}
