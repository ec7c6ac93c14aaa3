package trace

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentlens/agentlens/trace/chat"
)

// Renderer renders a chat input with message spans; *chat.Template is one.
type Renderer interface {
	Render(chat.Input) (chat.Rendered, error)
}

// EncodeFunc tokenizes text for a model: token ids and, for each token, its byte span [start, end) in
// text. Special tokens the tokenizer adds itself (a BOS) have an empty span. Adapting a tokenizer is one
// line, e.g. func(s string) ([]int, [][2]int, error) { e := tok.Encode(s, false); return e.IDs, e.Offsets, nil }.
type EncodeFunc func(text string) (ids []int, spans [][2]int, err error)

// RenderOptions are the chat-template inputs that do not come from the episode.
type RenderOptions struct {
	AddGenerationPrompt bool
	BOS, EOS            string         // bos_token and eos_token for the template
	Extra               map[string]any // extra template variables
	Now                 time.Time      // what strftime_now reports; zero means a fixed 2025-01-01 for reproducible prompts
	// ToolCallStyle, when set, is the fallback for templates that drop parts of an episode: the structured
	// tool calls and reasoning of an assistant message the template did not print are written as text in
	// its content (see ToolCallStyle), and a tool message it did not print is given to it as a user
	// message holding <tool_result name="…">…</tool_result>. The empty style renders only what the
	// template prints.
	ToolCallStyle ToolCallStyle
}

// ToolCallStyle says how Render writes, as text in the assistant turn, what a chat template does not
// render. Reasoning is written as <thinking>…</thinking> before the content in both styles.
type ToolCallStyle string

// Tool-call styles.
const (
	ToolCallsNative ToolCallStyle = ""     // only what the template renders
	ToolCallsXML    ToolCallStyle = "xml"  // <tool_use:NAME>\nkey: value,\n…</tool_use:NAME>, as the agentic-misalignment prompts write calls
	ToolCallsJSON   ToolCallStyle = "json" // <tool_call>\n{"name": NAME, "arguments": {…}}\n</tool_call>, as Hermes-style templates do
)

// ParseToolCallStyle checks a style name ("" is ToolCallsNative).
func ParseToolCallStyle(s string) (ToolCallStyle, error) {
	switch ToolCallStyle(s) {
	case ToolCallsNative, ToolCallsXML, ToolCallsJSON:
		return ToolCallStyle(s), nil
	}
	return "", fmt.Errorf("tool-call style %q: want xml or json: %w", s, ErrBadOption)
}

// Span is a half-open range [Start, End): bytes of Rendered.Text, or token indices.
type Span struct{ Start, End int }

// Len returns End-Start.
func (s Span) Len() int { return s.End - s.Start }

// TemplateID is the id of the segment that owns rendered text outside every message (a generation prompt,
// a preamble the template prints before the first message is owned by that message instead).
const TemplateID = "template"

// RenderedSegment is where one segment landed in a rendered episode.
//
// For content segments Char is the segment's bytes in Text and Tokens the tokens assigned to it (see
// Rendered.TokenSegment). Every message also has a template segment "<message id>.template" whose Char and
// Tokens are the whole rendered message (role header and end-of-turn tokens included) and so overlap its
// content segments; the per-token map says which of those tokens are template tokens.
type RenderedSegment struct {
	ID      string
	Kind    Kind
	Message int  // index into Episode.Messages; -1 for TemplateID
	Char    Span // bytes of Rendered.Text
	Tokens  Span // token indices
	// Found is true when the template printed the segment: for content and reasoning segments, when
	// Text[Char] equals the segment's text exactly; for a structured tool call, when the template printed
	// it (its span then covers name through arguments as the template wrote them). A segment that is not
	// found has an empty Char span where it would have been.
	Found bool
}

// Rendered is an episode rendered for one model: text, tokens, and the map from every token to a segment.
type Rendered struct {
	Episode  *Episode
	Text     string
	IDs      []int    // token ids; empty when rendered without a tokenizer
	Offsets  [][2]int // byte span of each token in Text
	Segments []RenderedSegment
	// TokenSegment[i] is the index into Segments of the segment token i belongs to: the segment owning the
	// token's first non-whitespace byte (its first byte when it is all whitespace). Tokens with an empty
	// span (added BOS) belong to TemplateID; tokens in a message but outside its content segments belong to
	// the message's template segment.
	TokenSegment []int
	Messages     []chat.MessageSpan // the renderer's spans, one per message
	// Unrendered lists the ids of the segments the template did not print, in episode order (redacted
	// reasoning, which is never given to the template, is not counted). A target in one of them cannot be
	// selected; see UnrenderedWarning and RenderOptions.ToolCallStyle.
	Unrendered []string
	// AsText lists the ids of the segments that RenderOptions.ToolCallStyle wrote as text because the
	// template did not print them.
	AsText []string
}

// Segment returns the rendered segment with the given id.
func (r *Rendered) Segment(id string) (RenderedSegment, bool) {
	for _, s := range r.Segments {
		if s.ID == id {
			return s, true
		}
	}
	return RenderedSegment{}, false
}

// TokenAt returns the index of the token whose span contains byte pos (the first token starting at or after
// pos when none does), or len(IDs).
func (r *Rendered) TokenAt(pos int) int {
	lo, hi := 0, len(r.Offsets)
	for lo < hi { // first token with end > pos
		mid := (lo + hi) / 2
		if r.Offsets[mid][1] > pos {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// tokenEnd returns the number of tokens that start before byte pos.
func (r *Rendered) tokenEnd(pos int) int {
	return sort.Search(len(r.Offsets), func(i int) bool { return r.Offsets[i][0] >= pos && r.Offsets[i][1] > r.Offsets[i][0] })
}

// ChatInput converts an episode to the chat template's input.
func ChatInput(ep *Episode, opts RenderOptions) chat.Input {
	in := chat.Input{AddGenerationPrompt: opts.AddGenerationPrompt, BOS: opts.BOS, EOS: opts.EOS, Extra: opts.Extra, Now: opts.Now}
	if in.Now.IsZero() {
		in.Now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	for _, t := range ep.Tools {
		in.Tools = append(in.Tools, chat.Tool(t))
	}
	for _, m := range ep.Messages {
		cm := chat.Message{Role: string(m.Role), Content: m.Content, ToolCallID: m.ToolCallID, Name: m.Name, Reasoning: m.Reasoning}
		for _, tc := range m.ToolCalls {
			args := tc.Arguments
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			cm.ToolCalls = append(cm.ToolCalls, chat.ToolCall{ID: tc.ID, Name: tc.Name, Arguments: args})
		}
		in.Messages = append(in.Messages, cm)
	}
	return in
}

// Render renders a segmented episode through a chat template and, when enc is not nil, tokenizes the
// result and maps every token to its segment. The episode is segmented first if it is not yet.
func Render(ep *Episode, tmpl Renderer, enc EncodeFunc, opts RenderOptions) (*Rendered, error) {
	for i := range ep.Messages {
		if ep.Messages[i].Segments == nil {
			if err := ep.Segment(); err != nil {
				return nil, err
			}
			break
		}
	}
	if err := checkText(ep); err != nil {
		return nil, fmt.Errorf("render episode %s: %w", ep.ID, err)
	}
	in := ChatInput(ep, opts)
	cr, err := tmpl.Render(in)
	if err != nil && opts.ToolCallStyle == ToolCallsNative {
		return nil, fmt.Errorf("render episode %s: %w", ep.ID, err)
	}
	var r *Rendered
	if err == nil {
		if r, err = locateSegments(ep, cr, nil, droppedReasoning(ep, tmpl, in)); err != nil {
			return nil, err
		}
	}
	if opts.ToolCallStyle != ToolCallsNative && (r == nil || len(r.Unrendered) > 0) {
		// Render again with what the template dropped (or, when it refused the episode, every tool call,
		// reasoning block and tool result) written as text.
		drop := map[string]bool{}
		if r != nil {
			for _, id := range r.Unrendered {
				drop[id] = true
			}
		}
		fin, layouts := textInput(ep, in, opts.ToolCallStyle, drop, r == nil)
		cr2, err2 := tmpl.Render(fin)
		if err2 != nil {
			if err == nil {
				err = err2
			}
			return nil, fmt.Errorf("render episode %s: %w", ep.ID, err)
		}
		r2, err2 := locateSegments(ep, cr2, layouts, nil)
		if err2 != nil {
			return nil, err2
		}
		for i, l := range layouts {
			if l == nil {
				continue
			}
			for _, s := range ep.Messages[i].Segments {
				if l.covers(s) {
					r2.AsText = append(r2.AsText, s.ID)
				}
			}
		}
		r = r2
	}
	if enc == nil {
		return r, nil
	}
	ids, spans, err := enc(r.Text)
	if err != nil {
		return nil, fmt.Errorf("render episode %s: tokenize: %w", ep.ID, err)
	}
	if err := checkTokens(r.Text, ids, spans); err != nil {
		return nil, fmt.Errorf("render episode %s: %w", ep.ID, err)
	}
	r.IDs, r.Offsets = ids, spans
	r.mapTokens()
	return r, nil
}

// checkText rejects text that is not valid UTF-8 (templates print it changed) and text with runes of
// the supplementary private use planes 15 and 16, which trace/chat uses as span sentinels: in either case
// no span into the rendered text could be trusted.
func checkText(ep *Episode) error {
	bad := func(s string) (int, string) {
		for i, r := range s {
			switch {
			case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
				return i, "invalid UTF-8"
			case r >= 0xF0000:
				return i, fmt.Sprintf("private-use rune %U", r)
			}
		}
		return -1, ""
	}
	for i, m := range ep.Messages {
		fields := []struct{ name, text string }{{"content", m.Content}, {"reasoning", m.Reasoning}, {"name", m.Name}}
		for j, tc := range m.ToolCalls {
			fields = append(fields, struct{ name, text string }{fmt.Sprintf("tool_calls[%d]", j), tc.Name + string(tc.Arguments)})
		}
		for _, f := range fields {
			if at, what := bad(f.text); at >= 0 {
				return fmt.Errorf("message %s: %s: %s at byte %d: %w", ep.MessageID(i), f.name, what, at, ErrFormat)
			}
		}
	}
	return nil
}

func checkTokens(text string, ids []int, spans [][2]int) error {
	if len(ids) != len(spans) {
		return fmt.Errorf("%d ids but %d spans: %w", len(ids), len(spans), ErrTokenizer)
	}
	// Spans may overlap: byte-level tokenizers report every token that holds part of a multi-byte
	// character with the whole character's span (as Hugging Face does), so "✓" split into three tokens
	// gives [15,19) [16,19) [16,19). Starts and ends must still not go backwards.
	prevStart, prevEnd := 0, 0
	for i, s := range spans {
		if s[0] < 0 || s[1] < s[0] || s[1] > len(text) {
			return fmt.Errorf("token %d: span [%d,%d) outside text of %d bytes: %w", i, s[0], s[1], len(text), ErrTokenizer)
		}
		if s[0] < s[1] {
			if s[0] < prevStart || s[1] < prevEnd {
				return fmt.Errorf("token %d: span [%d,%d) goes back before the previous token [%d,%d): %w", i, s[0], s[1], prevStart, prevEnd, ErrTokenizer)
			}
			prevStart, prevEnd = s[0], s[1]
		}
	}
	return nil
}

// mapTokens fills TokenSegment and every segment's Tokens.
func (r *Rendered) mapTokens() {
	owner := make([]int32, len(r.Text))
	// Message spans → their template segments; content segments → themselves. Segments are in message
	// order with each message's template segment first, so later writes refine earlier ones.
	for si, s := range r.Segments {
		if si == 0 || !s.Found || (s.Kind != KindTemplate && s.Char.Len() == 0) {
			continue
		}
		for p := s.Char.Start; p < s.Char.End; p++ {
			owner[p] = int32(si)
		}
	}
	r.TokenSegment = make([]int, len(r.IDs))
	first := make([]int, len(r.Segments))
	last := make([]int, len(r.Segments))
	for i := range first {
		first[i] = -1
	}
	for t, sp := range r.Offsets {
		seg := 0
		if sp[0] < sp[1] {
			p := sp[0]
			for q := sp[0]; q < sp[1]; q++ {
				if c := r.Text[q]; c != ' ' && c != '\n' && c != '\t' && c != '\r' {
					p = q
					break
				}
			}
			seg = int(owner[p])
		}
		r.TokenSegment[t] = seg
		if first[seg] < 0 {
			first[seg] = t
		}
		last[seg] = t + 1
	}
	for si := range r.Segments {
		s := &r.Segments[si]
		switch {
		case s.Kind == KindTemplate && si > 0:
			s.Tokens = Span{r.TokenAt(s.Char.Start), r.tokenEnd(s.Char.End)}
			if s.Tokens.End < s.Tokens.Start {
				s.Tokens.End = s.Tokens.Start
			}
		case si == 0:
			s.Tokens = Span{0, len(r.IDs)}
		case first[si] >= 0:
			s.Tokens = Span{first[si], last[si]}
		default:
			at := r.TokenAt(s.Char.Start)
			s.Tokens = Span{at, at}
		}
	}
}

// droppedReasoning returns the ids of the reasoning segments whose reasoning channel the template does not
// print, found by rendering in once more with each message's reasoning replaced by a probe word: searching
// for the reasoning's own text can match a role header or the content (a reasoning "a" is "found" in
// "assistant"). It returns nil when no message has reasoning or the probe does not render.
func droppedReasoning(ep *Episode, tmpl Renderer, in chat.Input) map[string]bool {
	probe := in
	probe.Messages = append([]chat.Message(nil), in.Messages...)
	words := map[int]string{}
	for i, m := range probe.Messages {
		if m.Reasoning != "" {
			words[i] = fmt.Sprintf("agentlensreasoningprobe%dz", i)
			probe.Messages[i].Reasoning = words[i]
		}
	}
	if len(words) == 0 {
		return nil
	}
	pr, err := tmpl.Render(probe)
	if err != nil {
		return nil
	}
	dropped := map[string]bool{}
	for i, w := range words {
		if !strings.Contains(pr.Text, w) {
			for _, s := range ep.Messages[i].Segments {
				if s.Part == PartReasoning {
					dropped[s.ID] = true
				}
			}
		}
	}
	return dropped
}

// locateSegments builds a Rendered (without tokens) from the renderer's output: where each segment of ep
// landed in cr.Text. layouts, when not nil, says for each message which parts Render wrote as text into
// the content it gave the template (nil entries: none); segments in dropped are known not to be printed.
func locateSegments(ep *Episode, cr chat.Rendered, layouts []*textLayout, dropped map[string]bool) (*Rendered, error) {
	if len(cr.Messages) != len(ep.Messages) {
		return nil, fmt.Errorf("render episode %s: renderer returned %d message spans for %d messages", ep.ID, len(cr.Messages), len(ep.Messages))
	}
	r := &Rendered{Episode: ep, Text: cr.Text, Messages: cr.Messages}
	r.Segments = append(r.Segments, RenderedSegment{ID: TemplateID, Kind: KindTemplate, Message: -1, Char: Span{0, len(cr.Text)}, Found: true})
	for i, m := range ep.Messages {
		ms := cr.Messages[i]
		var l *textLayout
		if layouts != nil {
			l = layouts[i]
		}
		mid := ep.MessageID(i)
		r.Segments = append(r.Segments, RenderedSegment{ID: mid + ".template", Kind: KindTemplate, Message: i,
			Char: Span{ms.Message.Start, ms.Message.End}, Found: true})
		cursor := ms.Message.Start
		if ms.ContentFound {
			cursor = ms.Content.Start
		}
		// exact places a span of the content given to the template in the rendered text; with a layout,
		// the content Render wrote is looked for in the message when the renderer could not place it.
		found, base, given := ms.ContentFound, ms.Content.Start, len(m.Content)
		if l != nil && l.text != "" {
			given = len(l.text)
		}
		if !found && l != nil && l.text != "" {
			if j := strings.Index(cr.Text[ms.Message.Start:ms.Message.End], l.text); j >= 0 {
				found, base = true, ms.Message.Start+j
				cursor = base
			}
		}
		exact := func(sp Span) Span { return Span{base + sp.Start, base + sp.End} }
		for _, s := range m.Segments {
			rs := RenderedSegment{ID: s.ID, Kind: s.Kind, Message: i}
			text := ep.Text(s)
			switch {
			case s.Redacted || dropped[s.ID]:
				rs.Char = Span{cursor, cursor}
			case s.Part == PartToolCall && l != nil && l.calls != nil:
				if found {
					rs.Char, rs.Found = exact(l.calls[s.Call]), true
				} else if j := strings.Index(cr.Text[ms.Message.Start:ms.Message.End], l.callText[s.Call]); j >= 0 {
					rs.Char = Span{ms.Message.Start + j, ms.Message.Start + j + len(l.callText[s.Call])}
					rs.Found = true
				} else {
					rs.Char = Span{ms.Message.End, ms.Message.End}
				}
			case s.Part == PartToolCall:
				if s.Call < len(ms.ToolCalls) && ms.ToolCalls[s.Call].Len() > 0 {
					rs.Char = Span{ms.ToolCalls[s.Call].Start, ms.ToolCalls[s.Call].End}
					rs.Found = true
				} else {
					rs.Char = Span{ms.Message.End, ms.Message.End}
				}
			case s.Part == PartReasoning && l != nil && l.reasoning.Len() > 0 && found:
				rs.Char, rs.Found = exact(l.reasoning), true
			case s.Part == PartContent && found:
				off := 0
				if l != nil {
					off = l.content
				}
				rs.Char = exact(Span{off + s.Start, off + s.End})
				rs.Found = true
			case s.Part == PartReasoning && found && text != "":
				// The content is placed: the reasoning channel is printed before or after it, not inside.
				rs.Char = Span{cursor, cursor}
				if j := strings.Index(cr.Text[ms.Message.Start:base], text); j >= 0 {
					rs.Char, rs.Found = Span{ms.Message.Start + j, ms.Message.Start + j + len(text)}, true
				} else if end := base + given; end <= ms.Message.End {
					if j := strings.Index(cr.Text[end:ms.Message.End], text); j >= 0 {
						rs.Char, rs.Found = Span{end + j, end + j + len(text)}, true
					}
				}
			default:
				// The template transformed the content (or this is the reasoning channel): find the
				// segment's text in order inside the message.
				lo, hi := cursor, ms.Message.End
				if s.Part == PartReasoning {
					lo = ms.Message.Start
				}
				if lo > hi {
					hi = lo
				}
				if j := strings.Index(cr.Text[lo:hi], text); j >= 0 && text != "" {
					rs.Char = Span{lo + j, lo + j + len(text)}
					rs.Found = true
					if s.Part == PartContent {
						cursor = rs.Char.End
					}
				} else {
					rs.Char = Span{cursor, cursor}
					rs.Found = text == "" && s.Part == PartContent
				}
			}
			if !rs.Found && !s.Redacted {
				r.Unrendered = append(r.Unrendered, s.ID)
			}
			r.Segments = append(r.Segments, rs)
		}
	}
	return r, nil
}
