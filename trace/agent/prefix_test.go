package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/agent"
	"github.com/agentlens/agentlens/trace/chat"
)

// The chat templates of trace/chat's golden tests (real models' templates).
const templateDir = "../chat/testdata/templates"

// prefixCase is a rollout whose prompts are checked for the prefix property: each prompt starts with
// the previous prompt followed by the text generated for it, so a KV cache carries over between turns.
type prefixCase struct {
	name   string
	syntax agent.Syntax
	style  trace.ToolCallStyle
	turns  []string
	// native: the model writes each call as the template writes a structured call (the text the template
	// renders for the assistant message after the prompt, up to its end-of-turn marker).
	native bool
}

var prefixCases = []prefixCase{
	{name: "xml", syntax: agent.SyntaxXML, style: trace.ToolCallsXML, turns: []string{xmlEmail, xmlForward, "Done."}},
	// Reasoning in <think> tags; after a generation prompt that opens <think>, the model goes on inside it.
	{name: "think+xml", syntax: agent.SyntaxXML, style: trace.ToolCallsXML, turns: []string{
		"<think>\nKyle decides.\n</think>\n\n" + xmlForward, "<think>\nNow tell Dana.\n</think>\n\n" + xmlForward, "Done."}},
	// Hermes calls as Qwen 2.5 writes them.
	{name: "hermes", syntax: agent.SyntaxStructured, style: trace.ToolCallsJSON, turns: []string{
		"<tool_call>\n{\"name\": \"forward\", \"arguments\": {\"email_id\": 3, \"to\": \"dana@summit.com\"}}\n</tool_call>",
		"<tool_call>\n{\"name\": \"email\", \"arguments\": {\"to\": \"kyle@summit.com\"}}\n</tool_call>", "Done."}},
	{name: "native", syntax: agent.SyntaxAuto, style: trace.ToolCallsJSON, native: true, turns: []string{
		`{"email_id": 3, "to": "dana@summit.com"}`, `{"to": "kyle@summit.com"}`, "Done."}},
}

// endMarkers end an assistant turn in the templates of the survey.
var endMarkers = []string{"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "</s>", "<|end|>", "<end_of_turn>", "<|end_of_text|>",
	"<｜end▁of▁sentence｜>", "<|END_OF_TURN_TOKEN|>", "<|return|>", "<|call|>", "<|endoftext|>", "<turn|>", "<|im_end>"}

// prefixHolds runs a case through a template: "ok" when every prompt extends the previous one, else
// the first break, or the error.
func prefixHolds(tmpl *chat.Template, pc prefixCase) string {
	ropts := trace.RenderOptions{AddGenerationPrompt: true, ToolCallStyle: pc.style, BOS: "<s>", EOS: "</s>"}
	var last *trace.Episode
	render := func(ep *trace.Episode) (string, error) {
		last = ep
		r, err := trace.Render(ep, tmpl, nil, ropts)
		if err != nil {
			return "", err
		}
		return r.Text, nil
	}
	i := 0
	var derr string
	gen := agent.GeneratorFunc(func(ctx context.Context, prompt string, n int) (string, string, error) {
		t := pc.turns[min(i, len(pc.turns)-1)]
		i++
		switch {
		case pc.native && strings.HasPrefix(t, "{"):
			name := "forward"
			if i == 2 {
				name = "email"
			}
			text, ok := nativeText(tmpl, last, ropts, prompt, trace.ToolCall{ID: "call00001", Name: name, Arguments: []byte(t)})
			if !ok {
				derr = "the template's rendering of a call does not extend the prompt"
				return "Done.", agent.StopEndOfTurn, nil
			}
			t = text
		case strings.HasPrefix(t, "<think>\n") && strings.HasSuffix(prompt, "<think>\n"):
			t = strings.TrimPrefix(t, "<think>\n")
		case strings.HasPrefix(t, "<think>\n") && strings.HasSuffix(prompt, "<think>"):
			t = strings.TrimPrefix(t, "<think>")
		case strings.HasPrefix(t, "<think>\n") && strings.HasSuffix(prompt, "</think>\n\n"):
			_, t, _ = strings.Cut(t, "</think>\n\n")
		}
		return t, agent.StopEndOfTurn, nil
	})
	res, err := agent.Run(context.Background(), scenario(), gen, agent.MisalignmentTools(), agent.Options{Render: render, Syntax: pc.syntax})
	switch {
	case err != nil:
		return "error: " + firstLine(err.Error())
	case derr != "":
		return derr
	case res.Reason != agent.ReasonFinalAnswer || res.Turns != len(pc.turns):
		what := ""
		for _, e := range res.Events {
			if e.Kind == agent.EventMalformed {
				what = ": " + e.Why
			}
		}
		return fmt.Sprintf("ended %s after %d turns%s (turn 0: %q)", res.Reason, res.Turns, what, clipString(res.Episode.Messages[2].Content, 60))
	}
	for _, e := range res.Events {
		if e.Kind == agent.EventPrefixBreak {
			return fmt.Sprintf("turn %d: %s", e.Turn, e.Why)
		}
	}
	return "ok"
}

// nativeText returns what a model that writes calls as its template does would generate after prompt:
// the rendering of ep with an assistant message holding call, after prompt, up to the end-of-turn marker.
func nativeText(tmpl *chat.Template, ep *trace.Episode, ropts trace.RenderOptions, prompt string, call trace.ToolCall) (string, bool) {
	next := ep.Clone()
	next.Messages = append(next.Messages, trace.Message{Role: trace.RoleAssistant, ToolCalls: []trace.ToolCall{call}})
	for i := range next.Messages {
		next.Messages[i].Segments = nil
	}
	ropts.AddGenerationPrompt = false
	r, err := trace.Render(next, tmpl, nil, ropts)
	if err != nil || !strings.HasPrefix(r.Text, prompt) {
		return "", false
	}
	rest := r.Text[len(prompt):]
	end := len(rest)
	for _, m := range endMarkers {
		if j := strings.Index(rest, m); j >= 0 && j < end {
			end = j
		}
	}
	return rest[:end], true
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// TestPromptPrefix checks the prefix property on templates where it must hold, and logs it for every
// template of trace/chat's golden tests (go test -v -run TestPromptPrefix/survey).
func TestPromptPrefix(t *testing.T) {
	holds := []struct{ template, cases string }{
		{"chatml-openhermes", "xml think+xml native"},
		{"lcpp-Qwen-Qwen2.5-7B-Instruct", "xml think+xml hermes native"},
		{"qwen3-8b", "xml think+xml hermes"},
		{"llama3-instruct", "xml think+xml"},
		{"lcpp-meta-llama-Llama-3.1-8B-Instruct", "xml think+xml native"},
		{"lcpp-Mistral-Small-3.2-24B-Instruct-2506", "xml think+xml native"},
		{"lcpp-ibm-granite-granite-4.0", "xml think+xml hermes native"},
		{"gemma3", "xml think+xml"},
	}
	for _, h := range holds {
		tmpl, err := chat.CompileFile(filepath.Join(templateDir, h.template+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		for _, pc := range prefixCases {
			if !strings.Contains(" "+h.cases+" ", " "+pc.name+" ") {
				continue
			}
			if got := prefixHolds(tmpl, pc); got != "ok" {
				t.Errorf("%s, %s: prefix property fails: %s", h.template, pc.name, got)
			}
		}
	}
	t.Run("survey", func(t *testing.T) {
		if testing.Short() {
			t.Skip("survey of every template")
		}
		paths, _ := filepath.Glob(filepath.Join(templateDir, "*.jinja"))
		sort.Strings(paths)
		counts := map[string]int{}
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(filepath.Base(p), ".jinja")
			tmpl, err := chat.Compile(string(src), name)
			if err != nil {
				t.Logf("%-55s compile: %v", name, err)
				continue
			}
			var line []string
			for _, pc := range prefixCases {
				got := prefixHolds(tmpl, pc)
				if got == "ok" {
					counts[pc.name]++
				}
				line = append(line, pc.name+"="+clipString(got, 140))
			}
			t.Logf("%-55s %s", name, strings.Join(line, " | "))
		}
		t.Logf("prefix property holds, of %d templates, for: xml %d, think+xml %d, hermes %d, native %d", len(paths),
			counts["xml"], counts["think+xml"], counts["hermes"], counts["native"])
	})
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
