package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/agentlens/agentlens/trace/chat"
)

// textLayout says where, in the content Render gave the template for one message, the parts it wrote as
// text are: offsets are bytes of that content.
type textLayout struct {
	text      string   // the content given to the template
	content   int      // where the message's own content starts
	reasoning Span     // the reasoning text (empty when not written as text)
	calls     []Span   // each tool call, opening to closing tag (nil when the calls were not written as text)
	callText  []string // the text of each call
	result    bool     // a tool message given to the template as a user message
}

// covers reports whether segment s is one the layout wrote as text.
func (l *textLayout) covers(s Segment) bool {
	switch {
	case s.Part == PartToolCall:
		return l.calls != nil
	case s.Part == PartReasoning:
		return l.reasoning.Len() > 0
	case s.Kind == KindToolResult:
		return l.result
	}
	return false
}

// textInput rewrites a chat input so that the parts of ep whose segment ids are in drop (all tool calls,
// reasoning and tool results when all is set) are text in their message's content, written in style.
func textInput(ep *Episode, in chat.Input, style ToolCallStyle, drop map[string]bool, all bool) (chat.Input, []*textLayout) {
	out := in
	out.Messages = append([]chat.Message(nil), in.Messages...)
	layouts := make([]*textLayout, len(ep.Messages))
	for i, m := range ep.Messages {
		var calls, reasoning, result bool
		for _, s := range m.Segments {
			d := all || drop[s.ID]
			switch {
			case !d || s.Redacted:
			case s.Part == PartToolCall:
				calls = true
			case s.Part == PartReasoning:
				reasoning = true
			case m.Role == RoleTool && s.Kind == KindToolResult:
				result = true
			}
		}
		if !calls && !reasoning && !result {
			continue
		}
		cm := out.Messages[i]
		l := &textLayout{}
		var b strings.Builder
		if result {
			fmt.Fprintf(&b, "<tool_result name=%q>\n", m.Name)
			l.result = true
			cm.Role, cm.ToolCallID, cm.Name = string(RoleUser), "", ""
		}
		if reasoning && m.Reasoning != "" {
			b.WriteString("<thinking>")
			l.reasoning = Span{b.Len(), b.Len() + len(m.Reasoning)}
			b.WriteString(m.Reasoning)
			b.WriteString("</thinking>\n")
			cm.Reasoning = ""
		}
		l.content = b.Len()
		b.WriteString(m.Content)
		if result {
			b.WriteString("\n</tool_result>")
		}
		if calls {
			l.calls = []Span{}
			for _, tc := range m.ToolCalls {
				if b.Len() > 0 {
					b.WriteString("\n")
				}
				text := callText(tc, style)
				l.calls = append(l.calls, Span{b.Len(), b.Len() + len(text)})
				l.callText = append(l.callText, text)
				b.WriteString(text)
			}
			cm.ToolCalls = nil
		}
		cm.Content = b.String()
		l.text = cm.Content
		out.Messages[i] = cm
		layouts[i] = l
	}
	return out, layouts
}

// callText writes one tool call as text in a style.
func callText(tc ToolCall, style ToolCallStyle) string {
	args := compactRaw(tc.Arguments)
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	if style == ToolCallsJSON {
		name, _ := json.Marshal(tc.Name)
		return `<tool_call>` + "\n" + `{"name": ` + string(name) + `, "arguments": ` + string(args) + "}\n</tool_call>"
	}
	var b strings.Builder
	b.WriteString("<tool_use:" + tc.Name + ">\n")
	fields, ok := ObjectFields(args)
	if !ok {
		b.WriteString("arguments: " + string(args) + "\n")
	}
	for _, f := range fields {
		b.WriteString(f[0] + ": " + f[1] + ",\n")
	}
	b.WriteString("</tool_use:" + tc.Name + ">")
	return b.String()
}

// ObjectFields returns the top-level fields of a JSON object in order, values as compact JSON; ok is
// false when raw is not an object.
func ObjectFields(raw json.RawMessage) ([][2]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out [][2]string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := k.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, [2]string{key, string(compactRaw(v))})
	}
	return out, true
}

// UnrenderedWarning describes, in one line, the segments the chat template did not print across rendered
// episodes, by kind, naming up to a few segments of each ("" when every segment was printed). The CLI
// prints it once per run.
func UnrenderedWarning(template string, rs ...*Rendered) string {
	byKind := map[Kind][]string{}
	n, eps := 0, 0
	for _, r := range rs {
		if r == nil || len(r.Unrendered) == 0 {
			continue
		}
		eps++
		for _, id := range r.Unrendered {
			if s, ok := r.Segment(id); ok {
				name := id
				if len(rs) > 1 {
					name = r.Episode.ID + ":" + id
				}
				byKind[s.Kind] = append(byKind[s.Kind], name)
				n++
			}
		}
	}
	if n == 0 {
		return ""
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		ids := byKind[Kind(k)]
		shown := ids[:min(3, len(ids))]
		p := fmt.Sprintf("%d %s (%s", len(ids), k, strings.Join(shown, ", "))
		if len(ids) > len(shown) {
			p += fmt.Sprintf(", and %d more", len(ids)-len(shown))
		}
		parts = append(parts, p+")")
	}
	what := "segments"
	if n == 1 {
		what = "segment"
	}
	return fmt.Sprintf("chat template %s does not render %d %s of %d episode(s): %s", template, n, what, eps, strings.Join(parts, "; "))
}
