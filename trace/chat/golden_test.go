package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// casesFile mirrors testdata/cases.json, which internal/reference/chat/gen_golden.py also reads.
type casesFile struct {
	Now   time.Time         `json:"now"`
	BOS   string            `json:"bos"`
	EOS   string            `json:"eos"`
	Tools []json.RawMessage `json:"tools"`
	Cases []struct {
		Name                string                     `json:"name"`
		AddGenerationPrompt bool                       `json:"add_generation_prompt"`
		Tools               bool                       `json:"tools"`
		Extra               map[string]json.RawMessage `json:"extra"`
		Messages            []struct {
			Role       string `json:"role"`
			Content    string `json:"content"`
			Reasoning  string `json:"reasoning"`
			ToolCallID string `json:"tool_call_id"`
			Name       string `json:"name"`
			ToolCalls  []struct {
				ID        string          `json:"id"`
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"tool_calls"`
		} `json:"messages"`
	} `json:"cases"`
}

type goldenFile struct {
	Template string `json:"template"`
	Cases    []struct {
		Name  string  `json:"name"`
		Text  *string `json:"text"`
		Error string  `json:"error"`
	} `json:"cases"`
}

func loadCases(t testing.TB) (map[string]Input, []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cf casesFile
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatalf("testdata/cases.json: %v", err)
	}
	inputs := map[string]Input{}
	var names []string
	for _, c := range cf.Cases {
		in := Input{AddGenerationPrompt: c.AddGenerationPrompt, BOS: cf.BOS, EOS: cf.EOS, Now: cf.Now}
		if c.Tools {
			for _, tl := range cf.Tools {
				in.Tools = append(in.Tools, Tool(tl))
			}
		}
		if len(c.Extra) > 0 {
			in.Extra = map[string]any{}
			for k, v := range c.Extra {
				in.Extra[k] = v
			}
		}
		for _, m := range c.Messages {
			msg := Message{Role: m.Role, Content: m.Content, Reasoning: m.Reasoning, ToolCallID: m.ToolCallID, Name: m.Name}
			for _, tc := range m.ToolCalls {
				msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
			}
			in.Messages = append(in.Messages, msg)
		}
		inputs[c.Name] = in
		names = append(names, c.Name)
	}
	return inputs, names
}

// knownDivergent lists the cases where Hugging Face's Jinja (Python jinja2 in an immutable sandbox, with
// strict operations on undefined values and Markup escaping) raises or escapes and the Go engine, which is
// lenient there, renders. None involves raise_exception: every template-raised error is matched. Keys are
// "template/case"; a case listed here that starts to agree fails the test so the list stays exact.
var knownDivergent = map[string]string{}

func init() {
	add := func(tmpl, reason string, cases ...string) {
		for _, c := range cases {
			knownDivergent[tmpl+"/"+c] = reason
		}
	}
	all := []string{"plain", "plain_nogen", "system", "system_nogen", "tools_parallel", "tools_single",
		"tools_nocall", "unicode", "whitespace", "reasoning", "think_in_content", "no_thinking", "bad_roles"}
	noTools := []string{"plain", "plain_nogen", "system", "system_nogen", "unicode", "whitespace",
		"reasoning", "think_in_content", "no_thinking", "bad_roles"}
	toolCases := []string{"tools_parallel", "tools_single", "tools_nocall"}
	add("lcpp-CohereForAI-c4ai-command-r-plus-tool_use", "HF: iterating None tools / undefined attribute in +", all...)
	add("lcpp-NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", "HF: 'NoneType' object is not iterable (tools=None)", noTools...)
	add("lcpp-NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "HF: 'NoneType' object is not iterable (tools=None)", noTools...)
	add("lcpp-fireworks-ai-llama-3-firefunction-v2", "HF: 'functions' is undefined", all...)
	add("lcpp-Kimi-K2-Instruct", "HF sandbox: list.append is unsafe", "tools_parallel", "tools_single")
	add("lcpp-Kimi-K2-Thinking", "HF sandbox: list.append is unsafe", "tools_parallel", "tools_single")
	add("lcpp-llama-cpp-deepseek-r1", "HF: tojson of a generator", toolCases...)
	add("lcpp-meetkai-functionary-medium-v3.1", "HF: str + Markup('|safe') HTML-escapes the str", toolCases...)
	add("lcpp-meetkai-functionary-medium-v3.2", "HF: str + dict TypeError", "tools_parallel", "tools_single")
}

// TestGoldenParity renders every committed real chat template on every case and compares byte for byte with
// the output of Hugging Face transformers (internal/reference/chat/gen_golden.py).
func TestGoldenParity(t *testing.T) {
	inputs, _ := loadCases(t)
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	total, pass, diverged, raised := 0, 0, 0, 0
	templates, exactTemplates := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var g goldenFile
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		tm, err := CompileFile(filepath.Join("testdata", "templates", g.Template+".jinja"))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		templates++
		allOK := true
		for _, c := range g.Cases {
			total++
			if _, ok := knownDivergent[g.Template+"/"+c.Name]; ok {
				allOK = false
			}
			in, ok := inputs[c.Name]
			if !ok {
				t.Fatalf("%s: unknown case %s", f, c.Name)
			}
			r, err := tm.Render(in)
			key := g.Template + "/" + c.Name
			if reason, ok := knownDivergent[key]; ok {
				diverged++
				if c.Text == nil && err != nil || c.Text != nil && err == nil && r.Text == *c.Text {
					t.Errorf("%s: listed as divergent (%s) but now agrees with HF: remove it", key, reason)
				}
				continue
			}
			switch {
			case c.Text == nil && err == nil:
				allOK = false
				t.Errorf("%s/%s: rendered, want error like HF (%s)", g.Template, c.Name, c.Error)
			case c.Text == nil:
				pass++
				raised++
				if msg, ok := strings.CutPrefix(c.Error, "TemplateError: "); ok &&
					(!errors.Is(err, ErrRaised) || !strings.HasSuffix(err.Error(), msg)) {
					t.Errorf("%s/%s: error %v, want ErrRaised with %q", g.Template, c.Name, err, msg)
				}
			case err != nil:
				allOK = false
				t.Errorf("%s/%s: %v", g.Template, c.Name, err)
			case r.Text != *c.Text:
				allOK = false
				t.Errorf("%s/%s: text differs at byte %d:\ngot  %q\nwant %q", g.Template, c.Name,
					commonPrefix(r.Text, *c.Text), clip(r.Text, commonPrefix(r.Text, *c.Text)), clip(*c.Text, commonPrefix(r.Text, *c.Text)))
			default:
				pass++
				checkSpans(t, g.Template+"/"+c.Name, in, r)
			}
		}
		if allOK {
			exactTemplates++
		}
	}
	t.Logf("parity: %d/%d cases agree with HF (%d byte-exact renders, %d raised in both); %d known divergent; "+
		"%d/%d templates agree on every case", pass, total, pass-raised, raised, diverged, exactTemplates, templates)
}

func clip(s string, at int) string {
	lo := max(0, at-40)
	hi := min(len(s), at+80)
	return s[lo:hi]
}

// checkSpans checks the span invariants every rendering must satisfy.
func checkSpans(t *testing.T, name string, in Input, r Rendered) {
	t.Helper()
	if len(r.Messages) != len(in.Messages) {
		t.Errorf("%s: %d message spans, want %d", name, len(r.Messages), len(in.Messages))
		return
	}
	prev := 0
	for i, ms := range r.Messages {
		m := in.Messages[i]
		inside := func(s Span) bool { return 0 <= s.Start && s.Start <= s.End && s.End <= len(r.Text) }
		if !inside(ms.Message) || ms.Message.Start != prev {
			t.Errorf("%s: message %d span %v not contiguous after %d (len %d)", name, i, ms.Message, prev, len(r.Text))
		}
		prev = ms.Message.End
		if !inside(ms.Content) {
			t.Errorf("%s: message %d content span %v out of range", name, i, ms.Content)
			continue
		}
		if ms.ContentFound && r.Text[ms.Content.Start:ms.Content.End] != m.Content {
			t.Errorf("%s: message %d ContentFound but Text[%v] = %q, want %q", name, i, ms.Content,
				r.Text[ms.Content.Start:ms.Content.End], m.Content)
		}
		if len(ms.ToolCalls) != len(m.ToolCalls) {
			t.Errorf("%s: message %d: %d tool-call spans, want %d", name, i, len(ms.ToolCalls), len(m.ToolCalls))
		}
		for j, s := range ms.ToolCalls {
			if !inside(s) {
				t.Errorf("%s: message %d tool call %d span %v out of range", name, i, j, s)
			}
		}
	}
	if prev > len(r.Text) {
		t.Errorf("%s: last message ends at %d past text length %d", name, prev, len(r.Text))
	}
}

// TestGoldenErrorsNameFile checks that a real template's raise_exception names the file and the line of
// the call (line 19 of gemma3.jinja raises on roles that do not alternate).
func TestGoldenErrorsNameFile(t *testing.T) {
	inputs, _ := loadCases(t)
	tm, err := CompileFile(filepath.Join("testdata", "templates", "gemma3.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.Render(inputs["bad_roles"])
	if !errors.Is(err, ErrRaised) || !strings.Contains(err.Error(), "gemma3.jinja:19: ") ||
		!strings.HasSuffix(err.Error(), "Conversation roles must alternate user/assistant/user/assistant/...") {
		t.Fatalf("Render(bad_roles) error = %v, want ErrRaised naming gemma3.jinja:19 and the message", err)
	}
}

// TestGapMemo checks that reusing gap splits gives the same spans as rendering every prefix, on every
// golden case.
func TestGapMemo(t *testing.T) {
	inputs, names := loadCases(t)
	long := inputs["tools_parallel"]
	base := long.Messages
	long.Messages = append([]Message(nil), base...)
	for range 4 {
		long.Messages = append(long.Messages, base[1:]...)
	}
	inputs["long"] = long
	names = append(names, "long")
	files, _ := filepath.Glob(filepath.Join("testdata", "templates", "*.jinja"))
	for _, f := range files {
		tm, err := CompileFile(f)
		if err != nil {
			t.Fatal(err)
		}
		slow := *tm
		slow.noMemo = true
		for _, c := range names {
			r1, err1 := tm.Render(inputs[c])
			r2, err2 := slow.Render(inputs[c])
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("%s/%s: errors differ: %v vs %v", f, c, err1, err2)
			}
			if err1 == nil && !reflect.DeepEqual(r1, r2) {
				t.Errorf("%s/%s: memoised spans %+v, want %+v", f, c, r1.Messages, r2.Messages)
			}
		}
	}
}

// TestGoldenSpanStats renders every byte-exact golden case and checks that each located content lies in
// its own message span (only a system prompt may be moved elsewhere, as Mistral templates do), logging how
// many contents were located exactly.
func TestGoldenSpanStats(t *testing.T) {
	inputs, _ := loadCases(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	var messages, found, moved, calls, callsShown int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var g goldenFile
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		tm, err := CompileFile(filepath.Join("testdata", "templates", g.Template+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range g.Cases {
			if c.Text == nil {
				continue
			}
			in := inputs[c.Name]
			r, err := tm.Render(in)
			if err != nil || r.Text != *c.Text {
				continue
			}
			for i, ms := range r.Messages {
				messages++
				if ms.ContentFound {
					found++
				}
				if ms.Content.Len() > 0 && (ms.Content.Start < ms.Message.Start || ms.Content.End > ms.Message.End) {
					moved++
					if in.Messages[i].Role != "system" {
						t.Errorf("%s/%s: message %d (%s) content %v outside its message %v", g.Template, c.Name, i,
							in.Messages[i].Role, ms.Content, ms.Message)
					}
				}
				for _, s := range ms.ToolCalls {
					calls++
					if s.Len() > 0 {
						callsShown++
					}
				}
			}
		}
	}
	t.Logf("%d/%d message contents located exactly (ContentFound); %d system prompts moved out of their message; "+
		"%d/%d tool calls located (the rest are not printed by their template)", found, messages, moved, callsShown, calls)
}
