package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const chatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

func msgs(pairs ...string) []Message {
	var out []Message
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Message{Role: pairs[i], Content: pairs[i+1]})
	}
	return out
}

func TestRenderSpans(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		in       Input
		content  []string // want Text[Content] per message
		found    []bool
		messages []string // want Text[Message] per message
	}{
		{
			name:     "chatml",
			src:      chatML,
			in:       Input{Messages: msgs("system", "sys", "user", "hi"), AddGenerationPrompt: true},
			content:  []string{"sys", "hi"},
			found:    []bool{true, true},
			messages: []string{"<|im_start|>system\nsys<|im_end|>\n", "<|im_start|>user\nhi<|im_end|>\n"},
		},
		{
			name:     "trim falls back to search",
			src:      "{% for m in messages %}[{{ m.role }}]{{ m.content | trim }}[/]{% endfor %}",
			in:       Input{Messages: msgs("user", "  padded  ", "assistant", "ok")},
			content:  []string{"padded", "ok"},
			found:    []bool{false, true},
			messages: []string{"[user]padded[/]", "[assistant]ok[/]"},
		},
		{
			name:     "split keeps the end sentinel",
			src:      "{% for m in messages %}<{{ m.role }}>{{ m.content.split('</think>')[-1] }}{% endfor %}",
			in:       Input{Messages: msgs("user", "q", "assistant", "<think>hmm</think>answer")},
			content:  []string{"q", "answer"},
			found:    []bool{true, false},
			messages: []string{"<user>q", "<assistant>answer"},
		},
		{
			name:     "split then lstrip, refined by moving the lost sentinel",
			src:      "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content.split('</think>')[-1].lstrip('\n') }}<|end|>{% endfor %}",
			in:       Input{Messages: msgs("user", "q", "assistant", "<think>r</think>\n\nanswer")},
			content:  []string{"q", "answer"},
			found:    []bool{true, false},
			messages: []string{"<|user|>\nq<|end|>", "<|assistant|>\nanswer<|end|>"},
		},
		{
			name: "boundary backs off a partly shared special token",
			src: "{% for m in messages %}{% if m.role == 'tool' %}<tool>{{ m.content }}</tool>\n{% if loop.last or messages[loop.index0 + 1].role != 'tool' %}<|im_end|>{% endif %}" +
				"{% else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endif %}{% endfor %}",
			in:       Input{Messages: msgs("tool", "a", "tool", "b")},
			content:  []string{"a", "b"},
			found:    []bool{true, true},
			messages: []string{"<tool>a</tool>\n", "<tool>b</tool>\n<|im_end|>"},
		},
		{
			name:     "startswith inspects content",
			src:      "{% for m in messages %}{% if m.content.startswith('!') %}BANG {% endif %}{{ m.content }};{% endfor %}",
			in:       Input{Messages: msgs("user", "!go", "user", "stop")},
			content:  []string{"!go", "stop"},
			found:    []bool{true, true},
			messages: []string{"BANG !go;", "stop;"},
		},
		{
			name: "system merged into first user turn",
			src: "{% if messages[0].role == 'system' %}{% set sys = messages[0].content + '\n\n' %}{% set rest = messages[1:] %}" +
				"{% else %}{% set sys = '' %}{% set rest = messages %}{% endif %}" +
				"{% for m in rest %}<turn {{ m.role }}>\n{% if loop.first %}{{ sys }}{% endif %}{{ m.content }}</turn>\n{% endfor %}",
			in:       Input{Messages: msgs("system", "S", "user", "U", "assistant", "A")},
			content:  []string{"S", "U", "A"},
			found:    []bool{true, true, true},
			messages: []string{"<turn user>\nS", "\n\nU</turn>\n", "<turn assistant>\nA</turn>\n"},
		},
		{
			name:    "loop.last renders the final message differently",
			src:     "{% for m in messages %}{{ m.role }}: {{ m.content }}{% if not loop.last %} | {% else %}.{% endif %}{% endfor %}",
			in:      Input{Messages: msgs("user", "a", "assistant", "b", "user", "c")},
			content: []string{"a", "b", "c"},
			found:   []bool{true, true, true},
			// The separator printed for "not loop.last" goes to the following message.
			messages: []string{"user: a", " | assistant: b", " | user: c."},
		},
		{
			name:     "dropped content",
			src:      "{% for m in messages %}{% if m.role != 'system' %}<{{ m.role }}>{{ m.content }}{% endif %}{% endfor %}",
			in:       Input{Messages: msgs("system", "gone", "user", "kept")},
			content:  []string{"", "kept"},
			found:    []bool{false, true},
			messages: []string{"", "<user>kept"},
		},
		{
			name:     "empty content",
			src:      "{% for m in messages %}<{{ m.role }}>{{ m.content }}</>{% endfor %}",
			in:       Input{Messages: msgs("user", "", "assistant", "x")},
			content:  []string{"", "x"},
			found:    []bool{true, true},
			messages: []string{"<user></>", "<assistant>x</>"},
		},
		{
			name:     "private-use runes in content disable sentinels",
			src:      chatML,
			in:       Input{Messages: msgs("user", "a\U000F0001b", "assistant", "a\U000F0001b")},
			content:  []string{"a\U000F0001b", "a\U000F0001b"},
			found:    []bool{true, true},
			messages: []string{"<|im_start|>user\na\U000F0001b<|im_end|>\n", "<|im_start|>assistant\na\U000F0001b<|im_end|>\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Compile(tt.src, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			r, err := tm.Render(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			checkSpans(t, tt.name, tt.in, r)
			for i, ms := range r.Messages {
				if got := r.Text[ms.Content.Start:ms.Content.End]; got != tt.content[i] {
					t.Errorf("message %d: Text[Content] = %q, want %q (text %q)", i, got, tt.content[i], r.Text)
				}
				if ms.ContentFound != tt.found[i] {
					t.Errorf("message %d: ContentFound = %v, want %v", i, ms.ContentFound, tt.found[i])
				}
				if got := r.Text[ms.Message.Start:ms.Message.End]; got != tt.messages[i] {
					t.Errorf("message %d: Text[Message] = %q, want %q", i, got, tt.messages[i])
				}
			}
		})
	}
}

func TestToolCallSpans(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"tojson", "{% for m in messages %}{% for tc in m.tool_calls %}<call>{\"name\": \"{{ tc.function.name }}\", \"arguments\": {{ tc.function.arguments | tojson }}}</call>{% endfor %}{% endfor %}",
			[]string{`f", "arguments": {"b": 1, "a": [true, null]}`, `g", "arguments": {}`}},
		{"compact", "{% for m in messages %}{% for tc in m.tool_calls %}{{ tc.function.name }}({{ tc.function.arguments | tojson(separators=(',', ':')) }});{% endfor %}{% endfor %}",
			[]string{`f({"b":1,"a":[true,null]}`, `g({}`}},
		{"xml", "{% for m in messages %}{% for tc in m.tool_calls %}<function={{ tc.function.name }}>{% for k, v in tc.function.arguments.items() %}<parameter={{ k }}>{{ v }}</parameter>{% endfor %}</function>{% endfor %}{% endfor %}",
			[]string{`f><parameter=b>1</parameter><parameter=a>[True, None]`, `g`}},
	}
	in := Input{Messages: []Message{{Role: "user", Content: "go"}, {Role: "assistant", ToolCalls: []ToolCall{
		{ID: "1", Name: "f", Arguments: json.RawMessage(`{"b": 1, "a": [true, null]}`)},
		{ID: "2", Name: "g", Arguments: json.RawMessage(`{}`)},
	}}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Compile(tt.src, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			r, err := tm.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			calls := r.Messages[1].ToolCalls
			if len(calls) != len(tt.want) {
				t.Fatalf("%d tool-call spans, want %d", len(calls), len(tt.want))
			}
			for j, s := range calls {
				if got := r.Text[s.Start:s.End]; got != tt.want[j] {
					t.Errorf("tool call %d: Text[span] = %q, want %q (text %q)", j, got, tt.want[j], r.Text)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		in      Input
		wantErr error
		wantIn  string // substring of the error text
	}{
		{"empty template", "  \n", Input{}, ErrNoTemplate, "empty.jinja"},
		{"syntax", "line one\n{% if x %}\n{{ x }", Input{}, ErrSyntax, "syntax.jinja:3: "},
		{"unclosed block", "a\n{% for m in messages %}\nb", Input{}, ErrSyntax, "unclosed_block.jinja:2: "},
		{"unclosed inner block", "{% for m in messages %}\n{% for x in m %}{% endfor %}\n{% if m %}\nx{% endif %}\n{% if y %}", Input{}, ErrSyntax, "unclosed_inner_block.jinja:5: "},
		{"end without start", "a\nb\n{% if x %}\n{% endfor %}\n", Input{}, ErrSyntax, "end_without_start.jinja:4: "},
		{"bad expression", "a\nb\nc {{ 1 + }}\n", Input{}, ErrSyntax, "bad_expression.jinja:3: "},
		{"raise", "ok\n{% if messages | length > 1 %}\n{{ raise_exception('Only one message, got ' ~ messages | length) }}{% endif %}",
			Input{Messages: msgs("user", "a", "user", "b")}, ErrRaised, "raise.jinja:3: template raised exception: Only one message, got 2"},
		{"bad arguments", chatML, Input{Messages: []Message{{Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(`{"a":`)}}}}},
			nil, "tool call 0 (f): arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.ReplaceAll(tt.name, " ", "_") + ".jinja"
			if tt.name == "empty template" || tt.name == "syntax" || tt.name == "raise" {
				name = strings.Fields(tt.name)[0] + ".jinja"
			}
			tm, err := Compile(tt.src, name)
			if err == nil {
				_, err = tm.Render(tt.in)
			}
			if err == nil {
				t.Fatalf("no error, want %v", tt.wantErr)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantIn)
			}
		})
	}
}

func TestSyntaxErrorLine(t *testing.T) {
	_, err := Compile("a\nb\n{% if x %}\n{% endfor %}\n", "bad.jinja")
	if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "bad.jinja:4:") {
		t.Fatalf("Compile error = %v, want ErrSyntax naming bad.jinja:4", err)
	}
}

func TestSelect(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "override.jinja")
	if err := os.WriteFile(p, []byte(chatML), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, tmpl, override string
		wantErr              error
		wantName             string
	}{
		{"model template", chatML, "", nil, "m"},
		{"override wins", "", p, nil, p},
		{"no template", "", "", ErrNoTemplate, ""},
		{"missing file", "", filepath.Join(dir, "nope.jinja"), os.ErrNotExist, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Select("m", tt.tmpl, tt.override)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Select error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tm.Name() != tt.wantName {
				t.Errorf("Name() = %q, want %q", tm.Name(), tt.wantName)
			}
		})
	}
}

func TestStrftime(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 7, 3, 0, time.UTC)
	tests := []struct{ format, want string }{
		{"%d %b %Y", "05 Jan 2026"},
		{"%Y-%m-%d", "2026-01-05"},
		{"%-d %B %y, %A %a", "5 January 26, Monday Mon"},
		{"%H:%M:%S %I%p %j %%", "09:07:03 09AM 005 %"},
		{"%Q", "%Q"},
	}
	for _, tt := range tests {
		if got := strftime(now, tt.format); got != tt.want {
			t.Errorf("strftime(%q) = %q, want %q", tt.format, got, tt.want)
		}
	}
	tm, err := Compile(`{{ strftime_now("%d %b %Y") }}`, "date")
	if err != nil {
		t.Fatal(err)
	}
	r, err := tm.Render(Input{Now: now})
	if err != nil || r.Text != "05 Jan 2026" {
		t.Errorf("Render = %q, %v, want %q", r.Text, err, "05 Jan 2026")
	}
}

func TestDecodeJSONKeepsOrder(t *testing.T) {
	tm, err := Compile(`{{ x | tojson }}|{{ x | tojson(indent=2) }}`, "json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := tm.Render(Input{Extra: map[string]any{"x": json.RawMessage(`{"z": 9007199254740993, "a": 1.0, "m": {"y": [1, "é"], "b": null}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"z": 9007199254740993, "a": 1.0, "m": {"y": [1, "é"], "b": null}}|{
  "z": 9007199254740993,
  "a": 1.0,
  "m": {
    "y": [
      1,
      "é"
    ],
    "b": null
  }
}`
	if r.Text != want {
		t.Errorf("tojson = %q, want %q", r.Text, want)
	}
}

// TestNoTemplateGGUF checks that the Gemma-3 GGUF, which carries no tokenizer.chat_template, gives
// ErrNoTemplate unless a template file is given.
func TestNoTemplateModel(t *testing.T) {
	_, err := Select("gemma-3-270m-q4_k_m.gguf", "", "")
	if !errors.Is(err, ErrNoTemplate) || !strings.Contains(err.Error(), "gemma-3-270m-q4_k_m.gguf") {
		t.Fatalf("Select error = %v, want ErrNoTemplate naming the model", err)
	}
	tm, err := Select("gemma-3-270m-q4_k_m.gguf", "", filepath.Join("testdata", "templates", "gemma3.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := tm.Render(Input{Messages: msgs("user", "hi"), BOS: "<bos>", AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"; r.Text != want {
		t.Errorf("Render = %q, want %q", r.Text, want)
	}
}

// TestTrimmedContentKeepsSentinels: Gemma-3's template trims each turn's content and folds the system
// prompt into the first user turn. With contents that end in whitespace (as real transcripts do), every
// content must still be located: the system prompt inside the user turn, found whole, and the user's
// trimmed content at its core.
func TestTrimmedContentKeepsSentinels(t *testing.T) {
	tm, err := CompileFile(filepath.Join("testdata", "templates", "gemma3.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	in := Input{BOS: "<bos>", Messages: []Message{{Role: "system", Content: "Be Orin.\n"}, {Role: "user", Content: "\nRead the inbox.\n\n"},
		{Role: "assistant", Content: "  Done. "}}}
	r, err := tm.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	want := "<bos><start_of_turn>user\nBe Orin.\n\n\nRead the inbox.<end_of_turn>\n<start_of_turn>model\nDone.<end_of_turn>\n"
	if r.Text != want {
		t.Fatalf("Render = %q, want %q", r.Text, want)
	}
	for i, c := range []struct {
		text  string
		found bool
	}{{"Be Orin.\n", true}, {"Read the inbox.", false}, {"Done.", false}} {
		ms := r.Messages[i]
		if got := r.Text[ms.Content.Start:ms.Content.End]; got != c.text || ms.ContentFound != c.found {
			t.Errorf("message %d content = %q (found %v), want %q (found %v)", i, got, ms.ContentFound, c.text, c.found)
		}
	}
}
