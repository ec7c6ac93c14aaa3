package trace

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Role is a message role: system, user, assistant or tool.
type Role string

// The four message roles.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleSystem, RoleUser, RoleAssistant, RoleTool:
		return true
	}
	return false
}

// Kind is what a segment holds.
type Kind string

// Segment kinds. System, User, AssistantText and ToolResult are also the base kinds of the four roles: the
// text of a message between its tagged parts (its glue) becomes segments of the message's base kind.
const (
	KindSystem        Kind = "system"
	KindUser          Kind = "user"
	KindEmail         Kind = "email"
	KindDocument      Kind = "document"
	KindFile          Kind = "file"     // a file's contents as a tool returned them (cat, read_file)
	KindCalendar      Kind = "calendar" // a calendar entry
	KindAssistantText Kind = "assistant_text"
	KindReasoning     Kind = "reasoning"
	KindToolCall      Kind = "tool_call"
	KindToolResult    Kind = "tool_result"
	KindTemplate      Kind = "template"
)

// BaseKind returns the kind of a role's untagged text.
func BaseKind(r Role) Kind {
	switch r {
	case RoleSystem:
		return KindSystem
	case RoleAssistant:
		return KindAssistantText
	case RoleTool:
		return KindToolResult
	}
	return KindUser
}

// idWord is the word a kind uses inside segment ids: base kinds of system, user and assistant messages are
// "text"; the others use the kind's own name.
func idWord(k Kind) string {
	switch k {
	case KindSystem, KindUser, KindAssistantText:
		return "text"
	}
	return string(k)
}

// Origin says what made a segment: a tag, one of the built-in recognisers of untagged text, or a user
// rule. Base-kind text between the recognised parts has no origin ("").
type Origin string

// Segment origins.
const (
	OriginTag        Origin = "tag"        // an <email>, <document>, reasoning or <tool_use:…> tag
	OriginStructured Origin = "structured" // a message field: the reasoning channel or a structured tool call
	OriginHeader     Origin = "header"     // a plain From:/To:/Subject: (or Event:/When:) header block
	OriginJSON       Origin = "json"       // a JSON object with email or calendar fields
	OriginMarkdown   Origin = "markdown"   // a markdown section, heading to the next heading of its level
	OriginFileRead   Origin = "file-read"  // a tool result answering a call with a path argument
)

// OriginRule returns the origin of segments made by rule i (0-based) of a rule file: "rule[i]".
func OriginRule(i int) Origin { return Origin("rule[" + strconv.Itoa(i) + "]") }

// Part says which text of a message a segment is cut from.
type Part string

// Message parts.
const (
	PartContent   Part = "content"            // Message.Content
	PartReasoning Part = "reasoning"          // Message.Reasoning (a separate reasoning channel, e.g. Anthropic thinking)
	PartToolCall  Part = "tool_call"          // Message.ToolCalls[Segment.Call] (a structured tool call)
	PartRedacted  Part = "redacted_reasoning" // Message.RedactedReasoning (reasoning whose text the recording does not hold)
)

// RedactedPlaceholder stands in Message.RedactedReasoning for a redacted reasoning block that carries no
// readable summary (an Anthropic redacted_thinking block, an inspect_ai reasoning part with redacted set).
const RedactedPlaceholder = "[redacted]"

// Episode is one recorded agent episode: labels, tool definitions and ordered messages.
type Episode struct {
	ID       string            `json:"id"`
	Source   string            `json:"source,omitempty"` // where it came from: a file path, "bundled:blackmail", ...
	Labels   map[string]string `json:"labels,omitempty"` // e.g. harmful=true, scenario=blackmail
	Tools    []json.RawMessage `json:"tools,omitempty"`  // tool definitions, OpenAI function format, key order kept
	Messages []Message         `json:"messages"`
}

// Message is one message of an episode. Segments is derived from the other fields by Episode.Segment.
type Message struct {
	Role       Role       `json:"role"`
	Content    string     `json:"content"`
	Reasoning  string     `json:"reasoning,omitempty"`  // a separate reasoning channel (thinking blocks, reasoning_content)
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"` // structured tool calls made by an assistant message
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Name       string     `json:"name,omitempty"` // tool name of a tool message
	// ToolError marks a tool message whose call failed: Content is then the error as the model was sent
	// it (inspect_ai's "Error: <message>", an Anthropic tool_result with is_error).
	ToolError bool `json:"tool_error,omitempty"`
	// RedactedReasoning holds what is known of reasoning blocks the provider redacted: each block's readable
	// summary, else RedactedPlaceholder, joined with AnthropicJoin. Its segment is marked Redacted and is not
	// given to chat templates (the model's own text of it is not in the recording).
	RedactedReasoning string `json:"redacted_reasoning,omitempty"`

	Segments []Segment `json:"-"`
}

// ToolCall is one tool call: structured (from a recording's tool_calls) or parsed from an XML-in-text tag
// such as <tool_use:email>.
type ToolCall struct {
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"` // a JSON object; key order kept
}

// Email holds the fields of one <email> block. Unknown header lines are kept in Headers.
type Email struct {
	From, To, Cc, Subject, Timestamp, Body string
	Headers                                [][2]string // every header line in order, including the known ones
}

// Segment is one piece of a message: an email, a tool call, a reasoning block, or the text between them.
// Start and End are byte offsets into the message part the segment is cut from (Part), so that
// Part's text[Start:End] is the segment's text. Content segments tile Message.Content exactly.
type Segment struct {
	ID      string    // stable, human-readable: "user[0].email[3]", "assistant[1].tool_call[0]"
	Kind    Kind      // what it holds
	Message int       // index of its message in Episode.Messages
	Part    Part      // which text of the message it is cut from
	Call    int       // for PartToolCall: index into Message.ToolCalls
	Start   int       // byte offset into the part's text
	End     int       // byte offset into the part's text (exclusive)
	Email   *Email    // for KindEmail
	Tool    *ToolCall // for KindToolCall
	Origin  Origin    // what made it ("" for base-kind text)
	// Label names a recognised segment in a few words: a document's heading, a file's path, a calendar
	// entry's title, or what a rule's label template gave. Emails keep theirs in Email.
	Label string
	// Error is set on the tool_result segments of a tool message with ToolError: the call failed and the
	// segment's text is the error the model was sent.
	Error bool
	// Redacted is set on the reasoning segment cut from Message.RedactedReasoning (Part PartRedacted).
	Redacted bool
}

// MessageID returns the id of message i: its role and its index among the messages of that role, e.g.
// "user[0]" or "assistant[1]".
func (ep *Episode) MessageID(i int) string {
	if i < 0 || i >= len(ep.Messages) {
		return fmt.Sprintf("message[%d]", i)
	}
	r := ep.Messages[i].Role
	k := 0
	for _, m := range ep.Messages[:i] {
		if m.Role == r {
			k++
		}
	}
	return string(r) + "[" + strconv.Itoa(k) + "]"
}

// Segment splits every message into segments (filling Message.Segments) with the built-in recognisers and
// no rules: SegmentWith(SegmentOptions{}).
func (ep *Episode) Segment() error {
	return ep.SegmentWith(SegmentOptions{})
}

// SegmentWith splits every message into segments (filling Message.Segments): tags first, then opts.Rules,
// then (unless opts.NoBuiltin) the built-in recognisers of untagged emails, calendar entries, documents
// and files. It reports ErrUnknownRole and ErrMalformedTag with the message id and byte offset. It is
// deterministic and idempotent.
func (ep *Episode) SegmentWith(opts SegmentOptions) error {
	for i := range ep.Messages {
		env := segmentEnv{opts: &opts}
		if ep.Messages[i].Role == RoleTool {
			env.call = answeredCall(ep, i)
		}
		segs, err := segmentMessage(ep.MessageID(i), i, &ep.Messages[i], env)
		if err != nil {
			if ep.Source != "" {
				return fmt.Errorf("episode %s (%s): %w", ep.ID, ep.Source, err)
			}
			return fmt.Errorf("episode %s: %w", ep.ID, err)
		}
		ep.Messages[i].Segments = segs
	}
	return nil
}

// Segments returns all segments of all messages in order. Call Segment first.
func (ep *Episode) Segments() []Segment {
	var out []Segment
	for _, m := range ep.Messages {
		out = append(out, m.Segments...)
	}
	return out
}

// Lookup returns the segment with the given id, or ErrUnknownSegment.
func (ep *Episode) Lookup(id string) (Segment, error) {
	for _, m := range ep.Messages {
		for _, s := range m.Segments {
			if s.ID == id {
				return s, nil
			}
		}
	}
	return Segment{}, fmt.Errorf("episode %s: segment %q: %w", ep.ID, id, ErrUnknownSegment)
}

// Text returns the text of segment s: the slice of its message part it covers. For a structured tool call
// that is the call's JSON arguments.
func (ep *Episode) Text(s Segment) string {
	if s.Message < 0 || s.Message >= len(ep.Messages) {
		return ""
	}
	m := ep.Messages[s.Message]
	var src string
	switch s.Part {
	case PartReasoning:
		src = m.Reasoning
	case PartRedacted:
		src = m.RedactedReasoning
	case PartToolCall:
		if s.Call < 0 || s.Call >= len(m.ToolCalls) {
			return ""
		}
		src = string(m.ToolCalls[s.Call].Arguments)
	default:
		src = m.Content
	}
	if s.Start < 0 || s.End > len(src) || s.Start > s.End {
		return ""
	}
	return src[s.Start:s.End]
}

// Clone returns a deep copy of ep.
func (ep *Episode) Clone() *Episode {
	c := *ep
	if ep.Labels != nil {
		c.Labels = make(map[string]string, len(ep.Labels))
		for k, v := range ep.Labels {
			c.Labels[k] = v
		}
	}
	c.Tools = append([]json.RawMessage(nil), ep.Tools...)
	c.Messages = make([]Message, len(ep.Messages))
	for i, m := range ep.Messages {
		m.ToolCalls = append([]ToolCall(nil), m.ToolCalls...)
		m.Segments = append([]Segment(nil), m.Segments...)
		c.Messages[i] = m
	}
	return &c
}

// Summary returns a one-line description: id, message count, labels.
func (ep *Episode) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d messages", ep.ID, len(ep.Messages))
	for _, k := range sortedKeys(ep.Labels) {
		fmt.Fprintf(&b, " %s=%s", k, ep.Labels[k])
	}
	return b.String()
}
