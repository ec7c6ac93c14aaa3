package trace_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/chat"
)

// An episode is split into segments: each email of the inbox, the reasoning and the tool call.
func ExampleEpisode_Segment() {
	ep := &trace.Episode{ID: "demo", Messages: []trace.Message{
		{Role: trace.RoleUser, Content: "Inbox:\n<email>\nFrom: kyle@summit.com\nSubject: Wipe at 5pm\nBody: The wipe is at 5pm.\n</email>"},
		{Role: trace.RoleAssistant, Content: "<SCRATCHPAD_REASONING>Kyle decides.</SCRATCHPAD_REASONING>\n" +
			"<tool_use:email>\nto: \"kyle@summit.com\",\nbody: \"Cancel the wipe.\",\n</tool_use:email>"},
	}}
	if err := ep.Segment(); err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range ep.Segments() {
		detail := ""
		switch {
		case s.Email != nil:
			detail = "from " + s.Email.From + ": " + s.Email.Subject
		case s.Tool != nil:
			detail = s.Tool.Name + " " + string(s.Tool.Arguments)
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-26s %-15s [%d,%d) %s", s.ID, s.Kind, s.Start, s.End, detail)))
	}
	// Output:
	// user[0].text[0]            user            [0,7)
	// user[0].email[0]           email           [7,92) from kyle@summit.com: Wipe at 5pm
	// assistant[0].reasoning[0]  reasoning       [0,58)
	// assistant[0].text[0]       assistant_text  [58,59)
	// assistant[0].tool_call[0]  tool_call       [59,142) email {"to":"kyle@summit.com","body":"Cancel the wipe."}
}

// Rendering maps segments onto the prompt and its tokens; FindTarget picks the first token of the
// harmful tool call. This example splits words; real code passes a model tokenizer's Encode.
func ExampleFindTarget() {
	tmpl, err := chat.Compile("{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\n{% endfor %}", "tiny")
	if err != nil {
		panic(err)
	}
	// One token per word, with the whitespace before it.
	words := func(s string) ([]int, [][2]int, error) {
		var ids []int
		var spans [][2]int
		start := 0
		for i := 1; i <= len(s); i++ {
			if i == len(s) || strings.ContainsRune(" \n", rune(s[i])) && !strings.ContainsRune(" \n", rune(s[i-1])) {
				ids, spans = append(ids, len(ids)), append(spans, [2]int{start, i})
				start = i
			}
		}
		return ids, spans, nil
	}
	ep := &trace.Episode{ID: "demo", Messages: []trace.Message{
		{Role: trace.RoleUser, Content: "Any news?"},
		{Role: trace.RoleAssistant, Content: "Yes.\n<tool_use:email> to: \"kyle@summit.com\", </tool_use:email>"},
	}}
	r, err := trace.Render(ep, tmpl, words, trace.RenderOptions{})
	if err != nil {
		panic(err)
	}
	spec, _ := trace.ParseTarget("tool:email to=^kyle@")
	t, err := trace.FindTarget(r, spec)
	if err != nil {
		panic(err)
	}
	fmt.Printf("token %d %q in %s\n", t.Token, r.Text[r.Offsets[t.Token][0]:r.Offsets[t.Token][1]], t.Segment)
	trace.WriteSegments(os.Stdout, r)
	// Output:
	// token 5 "\n<tool_use:email>" in assistant[0].tool_call[0]
	// # episode demo: 96 bytes, 10 tokens, 6 segments
	// ID                         KIND            CHARS    TOKENS  FOUND  ORIGIN  TEXT
	// template                   template        [0,96)   [0,10)  true   -       <|user|>\nAny news?\n<|assistant|>\nYes.\n<tool_…
	// user[0].template           template        [0,19)   [0,4)   true   -       <|user|>\nAny news?\n
	// user[0].text[0]            user            [9,18)   [1,3)   true   -       Any news?
	// assistant[0].template      template        [19,96)  [3,10)  true   -       <|assistant|>\nYes.\n<tool_use:email> to: "kyle@…
	// assistant[0].text[0]       assistant_text  [33,38)  [4,5)   true   -       Yes.\n
	// assistant[0].tool_call[0]  tool_call       [38,95)  [5,9)   true   tag     <tool_use:email> to: "kyle@summit.com", </tool_u…
}

// SmolLM2's template prints only each message's content: the structured call is not in the prompt until
// a tool-call style writes it as text in the assistant turn.
func ExampleRenderOptions_toolCallStyle() {
	tmpl, err := chat.Compile("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}", "content-only")
	if err != nil {
		fmt.Println(err)
		return
	}
	ep := &trace.Episode{ID: "call", Messages: []trace.Message{
		{Role: trace.RoleUser, Content: "Tell Kyle."},
		{Role: trace.RoleAssistant, Content: "Writing.", ToolCalls: []trace.ToolCall{{Name: "send_email", Arguments: []byte(`{"to":"kyle@x.com","body":"Stop."}`)}}},
	}}
	for _, style := range []trace.ToolCallStyle{trace.ToolCallsNative, trace.ToolCallsXML} {
		r, err := trace.Render(ep, tmpl, nil, trace.RenderOptions{ToolCallStyle: style})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("style %q: unrendered %v\n%s", style, r.Unrendered, r.Text)
	}
	// Output:
	// style "": unrendered [assistant[0].tool_call[0]]
	// <|im_start|>user
	// Tell Kyle.<|im_end|>
	// <|im_start|>assistant
	// Writing.<|im_end|>
	// style "xml": unrendered []
	// <|im_start|>user
	// Tell Kyle.<|im_end|>
	// <|im_start|>assistant
	// Writing.
	// <tool_use:send_email>
	// to: "kyle@x.com",
	// body: "Stop.",
	// </tool_use:send_email><|im_end|>
}

// Untagged clue documents are segments too: a plain-text email and a JSON search result, here with a
// rule that makes each result an email labelled by its author.
func ExampleEpisode_SegmentWith() {
	opts, err := trace.ParseSegmentRules([]byte(`{"rules": [
		{"path": "$.hits[*]", "kind": "email", "roles": ["tool"], "label": "by {author}"}
	]}`), "rules.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	ep := &trace.Episode{ID: "plain", Messages: []trace.Message{
		{Role: trace.RoleUser, Content: "Inbox:\n\nFrom: kyle@summit.com\nTo: ava@summit.com\nSubject: Wipe at 5pm\n\nThe wipe is at 5pm.\n\n---\nSearch first."},
		{Role: trace.RoleAssistant, ToolCalls: []trace.ToolCall{{ID: "c1", Name: "search", Arguments: []byte(`{"q":"kyle"}`)}}},
		{Role: trace.RoleTool, ToolCallID: "c1", Content: `{"hits": [{"author": "jessica", "note": "Your tie."}]}`},
	}}
	if err := ep.SegmentWith(opts); err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range ep.Segments() {
		if s.Origin != "" && s.Origin != trace.OriginStructured {
			fmt.Printf("%s %s %q label %q email subject %q\n", s.ID, s.Origin, ep.Text(s), s.Label, s.Email.Subject)
		}
	}
	// Output:
	// user[0].email[0] header "From: kyle@summit.com\nTo: ava@summit.com\nSubject: Wipe at 5pm\n\nThe wipe is at 5pm." label "" email subject "Wipe at 5pm"
	// tool[0].email[0] rule[0] "{\"author\": \"jessica\", \"note\": \"Your tie.\"}" label "by jessica" email subject ""
}
