package agent_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/agent"
)

func TestParse(t *testing.T) {
	type call struct{ format, name, args string }
	tests := []struct {
		name      string
		text      string
		syntax    agent.Syntax
		want      []call
		malformed []string // format: why
	}{
		{name: "xml key value", text: "Sure.\n<tool_use:email>\nto: \"a@b.c\",\nsubject: \"Hi\",\nbody: \"Two\nlines\",\n</tool_use:email>",
			want: []call{{"xml", "email", `{"to":"a@b.c","subject":"Hi","body":"Two\nlines"}`}}},
		{name: "xml json body", text: "<tool_use:forward>{\"email_id\": 3}</tool_use:forward>",
			want: []call{{"xml", "forward", `{"email_id":3}`}}},
		{name: "xml two calls", text: "<tool_use:a>\nx: 1\n</tool_use:a> and <tool_use:b>\ny: true\n</tool_use:b>",
			want: []call{{"xml", "a", `{"x":1}`}, {"xml", "b", `{"y":true}`}}},
		{name: "xml in reasoning is quoted", text: "<think>I could <tool_use:email>\nto: x\n</tool_use:email></think>No.", want: nil},
		{name: "xml unclosed", text: "<tool_use:email>\nto: \"a@b.c\",", malformed: []string{"xml: not closed"}},
		{name: "xml wrong close", text: "<tool_use:email>\nto: x\n</tool_use:forward>", malformed: []string{"xml: closed by </tool_use:forward>"}},
		{name: "xml stray close", text: "done </tool_use:email>", malformed: []string{"xml: closed without being opened"}},
		{name: "xml bad tag", text: "<tool_use: email>\nto: x\n</tool_use:email>", malformed: []string{"xml: bad tool tag"}},
		{name: "xml reopened", text: "<tool_use:a>\nx: 1\n<tool_use:a>\nx: 2\n</tool_use:a>",
			want: []call{{"xml", "a", `{"x":2}`}}, malformed: []string{"xml: opened again before </tool_use:a>"}},
		{name: "xml ignored by structured", text: "<tool_use:a>\nx: 1\n</tool_use:a>", syntax: agent.SyntaxStructured},
		{name: "hermes", text: "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>",
			want: []call{{"hermes", "get_weather", `{"city":"Oslo"}`}}},
		{name: "hermes two blocks and string arguments", text: "<tool_call>{\"name\": \"a\", \"arguments\": \"{\\\"k\\\": 1}\"}</tool_call>\n<tool_call>{\"name\": \"b\"}</tool_call>",
			want: []call{{"hermes", "a", `{"k":1}`}, {"hermes", "b", `{}`}}},
		{name: "hermes openai shape", text: "<tool_call>{\"type\": \"function\", \"function\": {\"name\": \"a\", \"parameters\": {\"k\": [1, 2]}}}</tool_call>",
			want: []call{{"hermes", "a", `{"k":[1,2]}`}}},
		{name: "hermes ignored by xml", text: "<tool_call>{\"name\": \"a\"}</tool_call>", syntax: agent.SyntaxXML},
		{name: "hermes bad json", text: "<tool_call>{\"name\": \"a\", \"arguments\": {k: 1}}</tool_call>", malformed: []string{"hermes: bad JSON: invalid character 'k' looking for beginning of object key string"}},
		{name: "hermes unclosed", text: "<tool_call>{\"name\": \"a\"}", malformed: []string{"hermes: <tool_call> not closed"}},
		{name: "hermes missing name", text: "<tool_call>{\"arguments\": {}}</tool_call>", malformed: []string{"hermes: missing name"}},
		{name: "hermes arguments not object", text: "<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>", malformed: []string{"hermes: arguments: not a JSON object"}},
		{name: "hermes in think is quoted", text: "<think><tool_call>{\"name\": \"a\"}</tool_call></think>Answer."},
		{name: "qwen3 coder", text: "<tool_call>\n<function=email>\n<parameter=to>\na@b.c\n</parameter>\n<parameter=n>\n3\n</parameter>\n</function>\n</tool_call>",
			want: []call{{"hermes", "email", `{"to":"a@b.c","n":3}`}}},
		{name: "llama whole turn", text: "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}",
			want: []call{{"llama", "get_weather", `{"city":"Oslo"}`}}},
		{name: "llama after reasoning", text: "<think>weather</think>\n\n{\"name\": \"w\", \"parameters\": {}}",
			want: []call{{"llama", "w", `{}`}}},
		{name: "llama python tag", text: "<|python_tag|>{\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", \"parameters\": {}}",
			want: []call{{"llama", "a", `{"x":1}`}, {"llama", "b", `{}`}}},
		{name: "llama python tag code", text: "<|python_tag|>brave_search.call(query=\"x\")", malformed: []string{"llama: bad JSON: invalid character 'b' looking for beginning of value"}},
		{name: "json answer is not a call", text: "{\"name\": \"Bob\", \"age\": 3}"},
		{name: "llama bad json", text: "{\"name\": \"a\", \"parameters\": {\"x\": }}", malformed: []string{"llama: bad JSON: invalid character '}' looking for beginning of value"}},
		{name: "mistral list", text: "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"x\": 1}, \"id\": \"abcdefghi\"}, {\"name\": \"b\", \"arguments\": {}}]",
			want: []call{{"mistral", "a", `{"x":1}`}, {"mistral", "b", `{}`}}},
		{name: "mistral v11", text: "I'll check.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Oslo\"}[TOOL_CALLS]b[CALL_ID]123456789[ARGS]{}",
			want: []call{{"mistral", "get_weather", `{"city":"Oslo"}`}, {"mistral", "b", `{}`}}},
		{name: "mistral bad", text: "[TOOL_CALLS][{\"name\": \"a\", ", malformed: []string{"mistral: bad JSON: unexpected EOF"}},
		{name: "mistral no args", text: "[TOOL_CALLS]get_weather", malformed: []string{"mistral: no [ARGS] after [TOOL_CALLS]"}},
		{name: "gemma", text: "```tool_code\nprint(default_api.email(to=\"a@b.c\", n=3, cc=None, urgent=True, note='it\\'s'))\n```",
			want: []call{{"gemma", "email", `{"to":"a@b.c","n":3,"cc":null,"urgent":true,"note":"it's"}`}}},
		{name: "gemma positional", text: "```tool_code\nemail(\"a@b.c\")\n```", malformed: []string{"gemma: positional argument (want key=value)"}},
		{name: "gemma unclosed", text: "```tool_code\nemail(to=\"a\")", malformed: []string{"gemma: ```tool_code block not closed"}},
		{name: "plain text", text: "I will not do that. {braces} [TOOL] <tool>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			syntax := tc.syntax
			if syntax == "" {
				syntax = agent.SyntaxAuto
			}
			calls, bad := agent.Parse(tc.text, syntax)
			var got []call
			for _, c := range calls {
				got = append(got, call{string(c.Format), c.Name, string(c.Arguments)})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Parse calls = %v, want %v (malformed %+v)", got, tc.want, bad)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("call %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
			var gotBad []string
			for _, m := range bad {
				gotBad = append(gotBad, string(m.Format)+": "+m.Why)
				if m.Text == "" {
					t.Errorf("malformed %s: empty Text", m.Why)
				}
			}
			if strings.Join(gotBad, "|") != strings.Join(tc.malformed, "|") {
				t.Errorf("malformed = %q, want %q", gotBad, tc.malformed)
			}
		})
	}
}

// TestRepairs checks what Run makes of turns trace would refuse to segment.
func TestRepairs(t *testing.T) {
	tests := []struct {
		name, text         string
		content, reasoning string
	}{
		{"reasoning opened by the prompt", "Kyle decides.\n</think>\n\nI will wait.", "I will wait.", "Kyle decides."},
		{"reasoning never closed", "Fine. <think>Kyle decides and", "Fine.", "Kyle decides and"},
		{"unclosed call escaped", "<tool_use:email>\nto: x", "&lt;tool_use:email>\nto: x", ""},
		{"stray close escaped", "ok</tool_use:email> </think>", "ok&lt;/tool_use:email> &lt;/think>", ""},
		{"bad tag and its close escaped", "<tool_use: email>\nto: x\n</tool_use:email>", "&lt;tool_use: email>\nto: x\n&lt;/tool_use:email>", ""},
		{"wrong close", "<tool_use:a>x</tool_use:b> then <tool_use:c>\ny: 1\n</tool_use:c>", "&lt;tool_use:a>x&lt;/tool_use:b> then <tool_use:c>\ny: 1\n</tool_use:c>", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gen := &scripted{turns: []turn{{tc.text, agent.StopMaxTokens}}}
			res, err := agent.Run(t.Context(), scenario(), gen, nil, agent.Options{Render: renderWith(t, chatml, trace.ToolCallsXML)})
			if err != nil {
				t.Fatal(err)
			}
			m := res.Episode.Messages[2]
			if m.Content != tc.content || m.Reasoning != tc.reasoning {
				t.Errorf("content, reasoning = %q, %q, want %q, %q", m.Content, m.Reasoning, tc.content, tc.reasoning)
			}
			if res.Events[0].Kind != agent.EventRepaired {
				t.Errorf("events = %+v, want a repair first", res.Events)
			}
			checkRoundTrip(t, res.Episode)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		xmlEmail, xmlForward, hermesMail, hermesFwd,
		"<tool_use:email>\nto: \"a", "</think>x<think>", "<tool_call>{\"name\": 1}</tool_call>",
		"[TOOL_CALLS]a[CALL_ID]x[ARGS]{\"k\": [1]}", "[TOOL_CALLS][{\"name\": \"a\"}]",
		"<|python_tag|>{\"name\": \"a\", \"parameters\": {}}", "{\"name\": \"a\", \"arguments\": {}}",
		"```tool_code\nf(a='x\\n', b=-1.5e3)\n```", "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n</function>\n</tool_call>",
		"<SCRATCHPAD_REASONING><tool_use:a></SCRATCHPAD_REASONING><tool_use:b>\n</tool_use:b></tool_use:c>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, syntax := range []agent.Syntax{agent.SyntaxXML, agent.SyntaxStructured, agent.SyntaxAuto} {
			calls, _ := agent.Parse(text, syntax)
			for _, c := range calls {
				if !json.Valid(c.Arguments) || c.Name == "" {
					t.Fatalf("Parse(%q): call %q with arguments %q", text, c.Name, c.Arguments)
				}
				if c.Format == agent.FormatGemma && !scalarArgs(c.Arguments) {
					continue
				}
				again, bad := agent.Parse(agent.WriteCall(c.Format, c.ToolCall), syntax)
				if len(again) != 1 || len(bad) != 0 || again[0].Name != c.Name || !bytes.Equal(again[0].Arguments, c.Arguments) || again[0].Format != c.Format {
					t.Fatalf("Parse(%q): call %s %s written as %q reads back as %+v, %+v", text, c.Name, c.Arguments, agent.WriteCall(c.Format, c.ToolCall), again, bad)
				}
			}
		}
		// A rollout turn made of the text always segments.
		res, err := agent.Run(t.Context(), scenario(), &scripted{turns: []turn{{text, agent.StopMaxTokens}}}, nil,
			agent.Options{Render: func(*trace.Episode) (string, error) { return "", nil }})
		if err != nil {
			t.Fatalf("Run(%q): %v", text, err)
		}
		if err := res.Episode.Segment(); err != nil {
			t.Fatalf("Run(%q): %v", text, err)
		}
	})
}

func scalarArgs(raw json.RawMessage) bool {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for _, v := range m {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}
