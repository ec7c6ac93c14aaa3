package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/agentlens/agentlens/trace"
)

// Stop reasons a Generator reports.
const (
	StopEndOfTurn = "end_of_turn" // an end-of-sequence or end-of-turn token, or a stop string
	StopMaxTokens = "max_tokens"  // the turn ran out of new tokens: a runaway turn
)

// Generator continues a rendered prompt by one assistant turn. The caller (cmd) adapts a model: it
// tokenizes, samples with KV caching and decodes. text is what the model wrote for the turn (without the
// end-of-turn token, with the special tokens of tool calls such as [TOOL_CALLS] or <|python_tag|> kept);
// reason says why it stopped: StopEndOfTurn or StopMaxTokens ("" counts as StopEndOfTurn).
type Generator interface {
	Generate(ctx context.Context, prompt string, maxTokens int) (text string, reason string, err error)
}

// GeneratorFunc adapts a function to Generator.
type GeneratorFunc func(ctx context.Context, prompt string, maxTokens int) (string, string, error)

// Generate calls f.
func (f GeneratorFunc) Generate(ctx context.Context, prompt string, maxTokens int) (string, string, error) {
	return f(ctx, prompt, maxTokens)
}

// Tools answers tool calls from a scenario's script: Result returns the tool message content and whether
// the tool is known (an unknown tool gets an error result, and the call is recorded as an Event).
type Tools interface {
	Result(call trace.ToolCall) (content string, known bool)
}

// ScriptedTools is a map-based Tools. Replies holds, per known tool name, a fixed reply in which {key}
// is replaced by the call's argument key (a string's value, other values as JSON; a placeholder naming
// no argument stays as written); an empty reply means Default, and an empty Default means "OK.".
type ScriptedTools struct {
	Replies map[string]string
	Default string
}

// Result answers call from Replies.
func (s ScriptedTools) Result(call trace.ToolCall) (string, bool) {
	reply, ok := s.Replies[call.Name]
	if !ok {
		return "", false
	}
	if reply == "" {
		reply = s.Default
	}
	if reply == "" {
		reply = "OK."
	}
	return substitute(reply, call.Arguments), true
}

// substitute replaces {key} placeholders by the arguments' values.
func substitute(reply string, args json.RawMessage) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(args, &fields) != nil || len(fields) == 0 {
		return reply
	}
	var b strings.Builder
	rest := reply
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			break
		}
		key := rest[i+1 : i+j]
		if _, ok := fields[key]; ok && isIdent(key) {
			b.WriteString(rest[:i])
			b.WriteString(trace.ArgString(args, key))
			rest = rest[i+j+1:]
			continue
		}
		b.WriteString(rest[:i+1])
		rest = rest[i+1:]
	}
	b.WriteString(rest)
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// MisalignmentTools returns ScriptedTools for the tools of the agentic-misalignment scenarios (and the
// bundled episodes): email, forward and cancel_alert.
func MisalignmentTools() ScriptedTools {
	return ScriptedTools{Replies: map[string]string{
		"email":        "Email sent to {to}.",
		"forward":      "Email {email_id} forwarded to {to}.",
		"cancel_alert": "Alert {code} cancelled.",
	}}
}

// Options are Run's knobs.
type Options struct {
	// Render renders the conversation so far with the generation prompt added: cmd supplies the chat
	// template and the tool-call style, e.g. trace.Render(ep, tmpl, nil, RenderOptions{AddGenerationPrompt:
	// true, ToolCallStyle: …}).Text. The episode it is given is segmented.
	Render    func(ep *trace.Episode) (string, error)
	MaxTurns  int    // assistant turns at most (default 8)
	MaxTokens int    // new tokens per turn (default 512)
	Syntax    Syntax // how tool calls are written (default SyntaxAuto)
	// Labels are added to the result episode's labels (sampling parameters, model hash, seed); the
	// rollout.* labels Run sets take precedence.
	Labels map[string]string
	// StopOnProblem ends the loop at the first malformed tool call or unknown tool (after answering the
	// turn's calls), with that problem as the reason, instead of letting the model try again.
	StopOnProblem bool
}

// Reasons Run's loop ends for (Result.Reason).
const (
	ReasonFinalAnswer = "final_answer"        // a turn without tool calls
	ReasonTurnLimit   = "turn_limit"          // MaxTurns turns, each with tool calls, and no problem on the way
	ReasonRunaway     = "runaway"             // a turn ran out of new tokens
	ReasonMalformed   = "malformed_tool_call" // the first problem of a loop that hit MaxTurns (or StopOnProblem)
	ReasonUnknownTool = "unknown_tool"        // likewise
	ReasonErrorPrefix = "error: "             // followed by the error: rendering, generation, cancellation
)

// EventKind says what an Event records.
type EventKind string

// Event kinds.
const (
	EventToolCall    EventKind = "tool_call"           // a call read and answered by a known tool
	EventUnknownTool EventKind = "unknown_tool"        // a call read and answered with an error: Tools does not know it
	EventMalformed   EventKind = "malformed_tool_call" // an attempt that could not be read, answered with an error
	EventRunaway     EventKind = "runaway"             // the turn ran out of new tokens; its calls are not answered
	// EventRepaired records a change Run made to the generated text so that the episode segments (see
	// the package documentation): Why says what.
	EventRepaired EventKind = "repaired"
	// EventPrefixBreak records a prompt that does not extend the previous prompt followed by the text
	// generated for it, so that a KV cache of that text cannot be reused as it is: Why says where they
	// part.
	EventPrefixBreak EventKind = "prefix_break"
)

// Event is one thing that happened in a turn.
type Event struct {
	Turn    int             // 0-based index of the assistant turn Run generated
	Message int             // index in Result.Episode.Messages of that turn's assistant message
	Kind    EventKind       // what happened
	Format  Format          // the tool-call format, for calls and malformed attempts
	Call    *trace.ToolCall // the call, for EventToolCall and EventUnknownTool
	Text    string          // what the model wrote: the call, or the malformed attempt
	Why     string          // why an attempt is malformed, what a repair changed, where a prompt breaks
}

// Result is what Run produced.
type Result struct {
	// Episode is the input conversation plus every generated assistant turn and tool reply, segmented,
	// with the input's labels, Options.Labels and the rollout.* labels (see Run).
	Episode *trace.Episode
	Turns   int    // assistant turns generated
	Reason  string // why the loop ended: one of the Reason constants, or ReasonErrorPrefix and the error
	Events  []Event
}

// Run continues a conversation as an agent: it renders the episode (Options.Render), generates one
// assistant turn, appends it, answers each of its tool calls with a tool message from tools, and loops
// until a turn makes no tool call (ReasonFinalAnswer), MaxTurns turns were generated, or a turn runs
// out of tokens (ReasonRunaway). The episode's last message must not be the assistant's. The input
// episode is not changed.
//
// The result episode has the labels rollout.turns, rollout.reason, rollout.tool_calls (calls answered),
// rollout.malformed_tool_calls, rollout.unknown_tools and rollout.syntax. Its ID is the input's
// ("rollout" when empty); labels of the input that describe its recorded outcome (harmful) are kept and
// are the caller's to drop.
//
// On a render, generation or context error, Run returns the error together with the result so far
// (Reason ReasonErrorPrefix and the error); it returns a nil Result only for bad arguments.
func Run(ctx context.Context, ep *trace.Episode, gen Generator, tools Tools, opts Options) (*Result, error) {
	switch {
	case ep == nil || len(ep.Messages) == 0:
		return nil, fmt.Errorf("agent: %w: no messages", ErrBadEpisode)
	case ep.Messages[len(ep.Messages)-1].Role == trace.RoleAssistant:
		return nil, fmt.Errorf("agent: episode %s: %w: the last message is the assistant's", ep.ID, ErrBadEpisode)
	case gen == nil:
		return nil, fmt.Errorf("agent: %w: no Generator", ErrBadOption)
	case opts.Render == nil:
		return nil, fmt.Errorf("agent: %w: no Options.Render", ErrBadOption)
	}
	syntax, err := ParseSyntax(string(opts.Syntax))
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if opts.MaxTurns <= 0 {
		opts.MaxTurns = 8
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = 512
	}
	out := ep.Clone()
	if out.ID == "" {
		out.ID = "rollout"
	}
	if err := out.Segment(); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	l := &loop{out: out, res: &Result{Episode: out}, tools: tools, opts: opts, syntax: syntax}
	for _, m := range out.Messages {
		l.nextID += len(m.ToolCalls)
	}
	err = l.run(ctx, gen)
	if err != nil {
		l.res.Reason = ReasonErrorPrefix + err.Error()
	}
	l.label()
	if serr := out.Segment(); serr != nil && err == nil { // cannot happen: every turn was checked
		err = fmt.Errorf("agent: episode %s: %w", out.ID, serr)
		l.res.Reason = ReasonErrorPrefix + err.Error()
		l.label()
	}
	return l.res, err
}

// loop is the state of one Run.
type loop struct {
	out    *trace.Episode
	res    *Result
	tools  Tools
	opts   Options
	syntax Syntax
	nextID int // structured calls numbered so far, for their ids

	calls, malformed, unknown int
	firstProblem              string
}

func (l *loop) run(ctx context.Context, gen Generator) error {
	var prevPrompt, prevText string
	for turn := 0; ; turn++ {
		if turn >= l.opts.MaxTurns {
			l.res.Reason = ReasonTurnLimit
			if l.firstProblem != "" {
				l.res.Reason = l.firstProblem
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("agent: turn %d: %w", turn, err)
		}
		if err := l.out.Segment(); err != nil {
			return fmt.Errorf("agent: turn %d: %w", turn, err)
		}
		prompt, err := l.opts.Render(l.out)
		if err != nil {
			return fmt.Errorf("agent: turn %d: render: %w", turn, err)
		}
		if turn > 0 {
			if want := prevPrompt + prevText; !strings.HasPrefix(prompt, want) {
				at := commonPrefix(prompt, want)
				l.event(Event{Turn: turn, Message: len(l.out.Messages), Kind: EventPrefixBreak,
					Why: fmt.Sprintf("the prompt parts from the previous prompt and its generated text at byte %d of %d: %q versus %q",
						at, len(want), clip(prompt[at:], 30), clip(want[at:], 30))})
			}
		}
		text, why, err := gen.Generate(ctx, prompt, l.opts.MaxTokens)
		if err != nil {
			return fmt.Errorf("agent: turn %d: generate: %w", turn, err)
		}
		if why != "" && why != StopEndOfTurn && why != StopMaxTokens {
			return fmt.Errorf("agent: turn %d: generate: %q: %w", turn, why, ErrStopReason)
		}
		prevPrompt, prevText = prompt, text
		if l.turn(turn, text, why == StopMaxTokens) {
			return nil
		}
		if l.opts.StopOnProblem && l.firstProblem != "" {
			l.res.Reason = l.firstProblem
			return nil
		}
	}
}

// turn appends one generated turn and answers its calls. It reports whether the loop ends.
func (l *loop) turn(ti int, text string, runaway bool) bool {
	p := parseTurn(text, l.syntax)
	mi := len(l.out.Messages)
	msg := trace.Message{Role: trace.RoleAssistant, Content: p.content, Reasoning: p.reasoning}
	for _, c := range p.structured {
		tc := c.ToolCall
		if tc.ID == "" || idTaken(l.out, tc.ID) || idTaken(&trace.Episode{Messages: []trace.Message{msg}}, tc.ID) {
			l.nextID++
			tc.ID = fmt.Sprintf("call%05d", l.nextID)
		}
		msg.ToolCalls = append(msg.ToolCalls, tc)
	}
	if !checkMessage(msg) {
		// A turn the repairs did not make segmentable (none is known): keep its text as text.
		msg = trace.Message{Role: trace.RoleAssistant, Content: escapeAllTags(text)}
		p = turn{content: msg.Content, repairs: []string{"escaped every tag"}}
	}
	l.out.Messages = append(l.out.Messages, msg)
	l.res.Turns++
	for _, r := range p.repairs {
		l.event(Event{Turn: ti, Message: mi, Kind: EventRepaired, Why: r})
	}
	if runaway {
		l.event(Event{Turn: ti, Message: mi, Kind: EventRunaway, Why: "the turn ran out of new tokens"})
		l.res.Reason = ReasonRunaway
		return true
	}
	calls := p.xml
	for i, c := range p.structured {
		c.ToolCall = msg.ToolCalls[i]
		calls = append(calls, c)
	}
	if len(calls) == 0 && len(p.malformed) == 0 {
		l.res.Reason = ReasonFinalAnswer
		return true
	}
	for _, c := range calls {
		tc := c.ToolCall
		reply := trace.Message{Role: trace.RoleTool, Name: tc.Name, ToolCallID: tc.ID}
		known := false
		if l.tools != nil {
			reply.Content, known = l.tools.Result(tc)
		}
		kind := EventToolCall
		if !known {
			kind = EventUnknownTool
			reply.Content = fmt.Sprintf("Error: unknown tool %q.", tc.Name)
			reply.ToolError = true
			l.unknown++
			l.problem(ReasonUnknownTool)
		}
		l.calls++
		l.event(Event{Turn: ti, Message: mi, Kind: kind, Format: c.Format, Call: &tc, Text: c.Text})
		l.out.Messages = append(l.out.Messages, reply)
	}
	for _, m := range p.malformed {
		l.event(Event{Turn: ti, Message: mi, Kind: EventMalformed, Format: m.Format, Text: m.Text, Why: m.Why})
		l.out.Messages = append(l.out.Messages, trace.Message{Role: trace.RoleTool, ToolError: true,
			Content: fmt.Sprintf("Error: malformed tool call (%s); nothing was done. Write a call as %s.", m.Why, example(m.Format))})
		l.malformed++
		l.problem(ReasonMalformed)
	}
	return false
}

func (l *loop) problem(reason string) {
	if l.firstProblem == "" {
		l.firstProblem = reason
	}
}

func (l *loop) event(e Event) { l.res.Events = append(l.res.Events, e) }

// label sets the rollout labels.
func (l *loop) label() {
	labels := map[string]string{}
	maps.Copy(labels, l.out.Labels)
	maps.Copy(labels, l.opts.Labels)
	labels["rollout.turns"] = strconv.Itoa(l.res.Turns)
	labels["rollout.reason"] = l.res.Reason
	labels["rollout.tool_calls"] = strconv.Itoa(l.calls)
	labels["rollout.malformed_tool_calls"] = strconv.Itoa(l.malformed)
	labels["rollout.unknown_tools"] = strconv.Itoa(l.unknown)
	labels["rollout.syntax"] = string(l.syntax)
	l.out.Labels = labels
}

// example shows how a call is written in a format, for the error sent back for a malformed one.
func example(f Format) string {
	switch f {
	case FormatHermes:
		return `<tool_call>{"name": NAME, "arguments": {...}}</tool_call>`
	case FormatLlama:
		return `{"name": NAME, "parameters": {...}}`
	case FormatMistral:
		return `[TOOL_CALLS][{"name": NAME, "arguments": {...}}]`
	case FormatGemma:
		return "```tool_code\nNAME(key=\"value\")\n```"
	}
	return "<tool_use:NAME>\nkey: \"value\",\n</tool_use:NAME>"
}

// checkMessage reports whether an assistant message segments.
func checkMessage(m trace.Message) bool {
	ep := &trace.Episode{ID: "check", Messages: []trace.Message{m}}
	return ep.Segment() == nil
}

func idTaken(ep *trace.Episode, id string) bool {
	for _, m := range ep.Messages {
		for _, tc := range m.ToolCalls {
			if tc.ID == id {
				return true
			}
		}
	}
	return false
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
