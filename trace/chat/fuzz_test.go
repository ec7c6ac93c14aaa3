package chat

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// FuzzRender renders random message contents, tool-call names and arguments through real templates and
// checks that Render never panics and that every span lies inside the text.
func FuzzRender(f *testing.F) {
	f.Add(uint8(0), "hello", "world", "get_weather", `{"city": "Paris"}`, true)
	f.Add(uint8(1), "  padded  ", "<think>x</think>y", "f", `{}`, false)
	f.Add(uint8(2), "\U000F0000\U000F0001", "\U00100000", "n\U00100001", `{"a": [1, 2.5, null]}`, true)
	f.Add(uint8(3), "", "", "", `not json`, true)
	f.Add(uint8(4), "{{ x }}", "{% if %}", "a\"b", `{"k": "\u0000"}`, false)
	names := []string{"chatml-openhermes", "gemma3", "lcpp-Qwen-Qwen2.5-7B-Instruct", "lcpp-meta-llama-Llama-3.1-8B-Instruct",
		"lcpp-mistralai-Mistral-Nemo-Instruct-2407", "llama3-instruct", "qwen3-8b", "smollm2", "phi4", "lcpp-Qwen-Qwen3-0.6B"}
	var tms []*Template
	for _, n := range names {
		tm, err := CompileFile(filepath.Join("testdata", "templates", n+".jinja"))
		if err != nil {
			f.Fatal(err)
		}
		tms = append(tms, tm)
	}
	f.Fuzz(func(t *testing.T, which uint8, a, b, name, args string, agp bool) {
		tm := tms[int(which)%len(tms)]
		in := Input{
			Messages: []Message{
				{Role: "system", Content: a},
				{Role: "user", Content: b},
				{Role: "assistant", Content: a, Reasoning: b, ToolCalls: []ToolCall{{ID: "abcdefghi", Name: name, Arguments: json.RawMessage(args)}}},
				{Role: "tool", Content: b, ToolCallID: "abcdefghi", Name: name},
				{Role: "user", Content: a + b},
			},
			AddGenerationPrompt: agp,
			BOS:                 "<s>",
			EOS:                 "</s>",
		}
		r, err := tm.Render(in)
		if err != nil {
			return
		}
		checkSpans(t, tm.Name(), in, r)
	})
}

// FuzzCompile compiles random template sources and renders them: never panic.
func FuzzCompile(f *testing.F) {
	f.Add(chatML)
	f.Add("{% for m in messages %}{{ m.content | trim }}{% endfor %}")
	f.Add("{{ raise_exception('x') }}")
	f.Add("{% if %}")
	f.Add("{{ messages[0].content.split('a')[-1] }}{{ strftime_now('%d') }}")
	f.Fuzz(func(t *testing.T, src string) {
		tm, err := Compile(src, "fuzz.jinja")
		if err != nil {
			return
		}
		in := Input{Messages: msgs("user", "a b", "assistant", " c ")}
		r, err := tm.Render(in)
		if err != nil {
			return
		}
		checkSpans(t, "fuzz", in, r)
	})
}
