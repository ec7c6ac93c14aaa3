package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agentlens/agentlens/trace"
)

// Syntax says which ways of writing a tool call Run reads from a generated turn.
type Syntax string

// Tool-call syntaxes.
const (
	// SyntaxXML reads <tool_use:NAME>…</tool_use:NAME> tags, which stay in the assistant's text as the
	// agentic-misalignment recordings hold them (Episode.Segment finds them there).
	SyntaxXML Syntax = "xml"
	// SyntaxStructured reads the formats of models trained for function calling (FormatHermes,
	// FormatLlama, FormatMistral, FormatGemma): each call is cut out of the text into Message.ToolCalls.
	SyntaxStructured Syntax = "structured"
	// SyntaxAuto reads both. It is the default.
	SyntaxAuto Syntax = "auto"
)

// ParseSyntax checks a syntax name ("" is SyntaxAuto).
func ParseSyntax(s string) (Syntax, error) {
	switch Syntax(s) {
	case "":
		return SyntaxAuto, nil
	case SyntaxXML, SyntaxStructured, SyntaxAuto:
		return Syntax(s), nil
	}
	return "", fmt.Errorf("tool-call syntax %q: want xml, structured or auto: %w", s, ErrBadOption)
}

func (s Syntax) xml() bool        { return s == SyntaxXML || s == SyntaxAuto || s == "" }
func (s Syntax) structured() bool { return s == SyntaxStructured || s == SyntaxAuto || s == "" }

// Format is one way models write a tool call in their text.
type Format string

// Tool-call formats Parse reads.
const (
	FormatXML     Format = "xml"     // <tool_use:NAME>\nkey: value,\n…</tool_use:NAME> (agentic-misalignment prompts)
	FormatHermes  Format = "hermes"  // <tool_call>{"name": …, "arguments": {…}}</tool_call> (Hermes, Qwen); also Qwen3-Coder's <function=NAME><parameter=KEY>…
	FormatLlama   Format = "llama"   // {"name": …, "parameters": {…}} as the whole turn, or after <|python_tag|> (Llama 3.1+)
	FormatMistral Format = "mistral" // [TOOL_CALLS][{"name": …, "arguments": {…}}] or [TOOL_CALLS]NAME[ARGS]{…}
	FormatGemma   Format = "gemma"   // ```tool_code\nNAME(key="value", n=1)\n``` (simple keyword calls only)
)

// Call is one tool call read from a generated turn.
type Call struct {
	trace.ToolCall
	Format Format
	Text   string // the call as the model wrote it, tags included
}

// Malformed is an attempt at a tool call that could not be read: a tag left open, JSON that does not
// parse, a call without a name.
type Malformed struct {
	Format Format
	Name   string // the tool name, when it could be read
	Text   string // what the model wrote, from the opening tag on
	Why    string // what is wrong with it, in a few words
}

// Parse reads the tool calls of one generated assistant turn in the formats syntax allows, outside
// reasoning blocks (<think>, <thinking>, <SCRATCHPAD_REASONING>, which may quote calls), in the order they
// are answered: XML tags in the order of the text, then the structured calls in the order of the text.
// Attempts it cannot read come back as Malformed. It never panics.
func Parse(text string, syntax Syntax) ([]Call, []Malformed) {
	p := parseTurn(text, syntax)
	return append(p.xml, p.structured...), p.malformed
}

// turn is a generated turn read into the fields of an assistant message.
type turn struct {
	content, reasoning string
	xml                []Call // tags left in content
	structured         []Call // calls cut out of content, for Message.ToolCalls
	malformed          []Malformed
	repairs            []string // what was changed in the text so that the message segments
}

// Reasoning tags of assistant messages, as trace's segmenter knows them.
var reasoningTags = [][2]string{
	{"<SCRATCHPAD_REASONING>", "</SCRATCHPAD_REASONING>"},
	{"<thinking>", "</thinking>"},
	{"<think>", "</think>"},
}

const (
	toolUseOpen, toolUseClose = "<tool_use:", "</tool_use:"
	escapedLT                 = "&lt;"
)

// tagProblem is the first place where trace's segmenter would reject an assistant text.
type tagProblem struct {
	at    int    // byte offset of the offending tag's '<'
	tag   string // the offending tag as written
	why   string
	open  bool   // an opening tag (not closed, closed wrongly, reopened); false for a stray closing tag
	kind  string // "tool_use" or "reasoning"
	name  string // tool name of a tool_use tag
	rest  string // for an opening tag, the attempted call: from the tag to where it went wrong
	first bool   // a stray closing tag before any block
}

// parseTurn reads a generated turn. The text of the returned content is text with two kinds of repair
// that keep the message segmentable by trace (recorded in repairs): reasoning that the generation prompt
// opened (text before a </think> that no <think> opened) or that the turn left open moves to the
// reasoning channel, and every other malformed tag has its '<' written as "&lt;".
func parseTurn(text string, syntax Syntax) turn {
	var t turn
	s := validText(text)
	if s != text {
		t.repairs = append(t.repairs, "invalid UTF-8 and private-use runes of planes 15 and 16 (which trace refuses) written as U+FFFD")
	}
	covered := 0 // s[:covered] holds a malformed call already recorded: later problems there are only escaped
	for guard := 0; ; guard++ {
		blocks, prob := scanAssistant(s)
		if prob == nil {
			t.content = s
			for _, b := range blocks {
				if b.kind == "tool_use" && syntax.xml() {
					inner := s[b.innerStart:b.innerEnd]
					t.xml = append(t.xml, Call{ToolCall: trace.ToolCall{Name: b.name, Arguments: trace.ParseToolArguments(inner)},
						Format: FormatXML, Text: s[b.start:b.end]})
				}
			}
			break
		}
		if guard > len(text)+8 { // cannot happen: every repair removes a tag; be safe anyway
			t.content = escapeAllTags(s)
			t.repairs = append(t.repairs, "escaped every tag")
			break
		}
		switch {
		case prob.kind == "reasoning" && !prob.open && prob.first && len(t.repairs) == 0:
			// The generation prompt opened the reasoning block: the text up to its close is reasoning.
			t.reasoning = strings.Trim(s[:prob.at], "\n")
			s = strings.TrimLeft(s[prob.at+len(prob.tag):], "\n")
			covered = 0
			t.repairs = append(t.repairs, "reasoning before "+prob.tag+" moved to the reasoning channel")
		case prob.kind == "reasoning" && prob.open && prob.why == "not closed" && t.reasoning == "":
			// A reasoning block the turn never closed (it ran out of tokens thinking).
			t.reasoning = strings.Trim(prob.rest[len(prob.tag):], "\n")
			s = strings.TrimRight(s[:prob.at], " \t\r\n")
			covered = min(covered, len(s))
			t.repairs = append(t.repairs, "unclosed "+prob.tag+" moved to the reasoning channel")
		default:
			if prob.kind == "tool_use" && syntax.xml() && prob.at >= covered {
				raw := prob.tag
				if prob.open {
					raw = prob.rest
				}
				t.malformed = append(t.malformed, Malformed{Format: FormatXML, Name: prob.name, Text: unescape(raw), Why: prob.why})
				covered = prob.at + len(raw)
			}
			s = s[:prob.at] + escapedLT + s[prob.at+1:]
			if prob.at < covered {
				covered += len(escapedLT) - 1
			}
			t.repairs = append(t.repairs, fmt.Sprintf("%s at byte %d (%s) written with %s", clip(prob.tag, 40), prob.at, prob.why, escapedLT))
		}
	}
	if syntax.structured() {
		t.readStructured()
	}
	return t
}

// validText replaces invalid UTF-8 and the runes of the supplementary private use planes, which trace
// refuses to render, with U+FFFD.
func validText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 0xF0000 }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= 0xF0000 {
			return '\uFFFD'
		}
		return r
	}, s)
}

// scanAssistant finds the reasoning and tool_use blocks of an assistant text with the rules of trace's
// segmenter, or the first problem it would report.
func scanAssistant(s string) ([]block, *tagProblem) {
	var out []block
	at := 0
	for {
		best, open, close, kind, name := -1, "", "", "", ""
		for _, rt := range reasoningTags {
			if i := strings.Index(s[at:], rt[0]); i >= 0 && (best < 0 || at+i < best) {
				best, open, close, kind = at+i, rt[0], rt[1], "reasoning"
			}
		}
		if i := strings.Index(s[at:], toolUseOpen); i >= 0 && (best < 0 || at+i < best) {
			j := at + i + len(toolUseOpen)
			k := j
			for k < len(s) && isNameByte(s[k]) {
				k++
			}
			if k == j || k >= len(s) || s[k] != '>' {
				rest := s[at+i:]
				if c := strings.Index(rest, toolUseClose); c >= 0 {
					if g := strings.IndexByte(rest[c:], '>'); g >= 0 {
						rest = rest[:c+g+1]
					}
				}
				return nil, &tagProblem{at: at + i, tag: clip(s[at+i:min(k+1, len(s))], 60), why: "bad tool tag", open: true,
					kind: "tool_use", name: s[j:k], rest: rest}
			}
			name = s[j:k]
			best, open, close, kind = at+i, s[at+i:k+1], toolUseClose+name+">", "tool_use"
		}
		limit := len(s)
		if best >= 0 {
			limit = best
		}
		if off, tag, k := firstClose(s[at:limit]); off >= 0 {
			return nil, &tagProblem{at: at + off, tag: tag, why: "closed without being opened", kind: k, name: closeName(tag), first: at == 0}
		}
		if best < 0 {
			return out, nil
		}
		inner := best + len(open)
		end := strings.Index(s[inner:], close)
		region := s[inner:]
		if end >= 0 {
			region = s[inner : inner+end]
		}
		if kind != "reasoning" {
			if off, tag, _ := firstClose(region); off >= 0 {
				return nil, &tagProblem{at: best, tag: open, why: "closed by " + tag, open: true, kind: kind, name: name,
					rest: s[best : inner+off+len(tag)]}
			}
			if i := strings.Index(region, open); i >= 0 {
				return nil, &tagProblem{at: best, tag: open, why: "opened again before " + close, open: true, kind: kind, name: name,
					rest: s[best : inner+i]}
			}
		}
		if end < 0 {
			return nil, &tagProblem{at: best, tag: open, why: "not closed", open: true, kind: kind, name: name, rest: s[best:]}
		}
		out = append(out, block{kind: kind, name: name, start: best, innerStart: inner, innerEnd: inner + end, end: inner + end + len(close)})
		at = inner + end + len(close)
	}
}

// block is one reasoning or tool_use block of an assistant text.
type block struct {
	kind                 string
	name                 string
	start, end           int
	innerStart, innerEnd int
}

// firstClose finds the first closing reasoning or tool_use tag in s.
func firstClose(s string) (int, string, string) {
	best, tag, kind := -1, "", ""
	for _, rt := range reasoningTags {
		if i := strings.Index(s, rt[1]); i >= 0 && (best < 0 || i < best) {
			best, tag, kind = i, rt[1], "reasoning"
		}
	}
	if i := strings.Index(s, toolUseClose); i >= 0 && (best < 0 || i < best) {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			j = len(s) - i - 1
		}
		best, tag, kind = i, s[i:i+j+1], "tool_use"
	}
	return best, tag, kind
}

func closeName(tag string) string {
	if !strings.HasPrefix(tag, toolUseClose) {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(tag, toolUseClose), ">")
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// escapeAllTags writes the '<' of every reasoning and tool_use tag as "&lt;".
func escapeAllTags(s string) string {
	for _, t := range []string{toolUseOpen, toolUseClose} {
		s = strings.ReplaceAll(s, t, escapedLT+t[1:])
	}
	for _, rt := range reasoningTags {
		s = strings.ReplaceAll(s, rt[0], escapedLT+rt[0][1:])
		s = strings.ReplaceAll(s, rt[1], escapedLT+rt[1][1:])
	}
	return s
}

// unescape undoes the repairs made so far, for reporting what the model wrote.
func unescape(s string) string {
	for _, t := range []string{"tool_use:", "/tool_use:", "SCRATCHPAD_REASONING>", "/SCRATCHPAD_REASONING>", "thinking>", "/thinking>", "think>", "/think>"} {
		s = strings.ReplaceAll(s, escapedLT+t, "<"+t)
	}
	return s
}

func clip(s string, n int) string {
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "…"
	}
	return s
}

// cut is a region of the content that a structured call (or a malformed attempt) occupies.
type cut struct{ start, end int }

// readStructured reads the structured formats from the content outside reasoning and tool_use blocks and
// cuts the calls it reads out of the content.
func (t *turn) readStructured() {
	blocks, _ := scanAssistant(t.content)
	var gaps []cut
	at := 0
	for _, b := range blocks {
		gaps = append(gaps, cut{at, b.start})
		at = b.end
	}
	gaps = append(gaps, cut{at, len(t.content)})
	var cuts []cut
	for _, g := range gaps {
		cs, calls, bad := readGap(t.content, g)
		cuts = append(cuts, cs...)
		t.structured = append(t.structured, calls...)
		t.malformed = append(t.malformed, bad...)
	}
	// Llama 3 writes a call as the whole turn: JSON with a name and parameters, and nothing else (reasoning
	// blocks aside).
	if len(t.structured) == 0 && len(blocks) == len(reasoningBlocks(blocks)) {
		var rest strings.Builder
		for _, g := range gaps {
			rest.WriteString(t.content[g.start:g.end])
		}
		r := strings.TrimSpace(rest.String())
		if strings.HasPrefix(r, "{") || strings.HasPrefix(r, "[{") {
			calls, why := decodeCalls(r, FormatLlama, true)
			switch {
			case why == "" && len(calls) > 0:
				t.structured = calls
				cuts = gaps
			case why != "" && looksLikeCall(r):
				t.malformed = append(t.malformed, Malformed{Format: FormatLlama, Name: guessName(r), Text: r, Why: why})
			}
		}
	}
	if len(t.structured) == 0 {
		return
	}
	var b strings.Builder
	at = 0
	for _, c := range cuts {
		if c.start < at {
			continue
		}
		b.WriteString(t.content[at:c.start])
		at = c.end
	}
	b.WriteString(t.content[at:])
	t.content = strings.TrimSpace(b.String())
}

func reasoningBlocks(bs []block) []block {
	var out []block
	for _, b := range bs {
		if b.kind == "reasoning" {
			out = append(out, b)
		}
	}
	return out
}

// readGap reads the structured calls in s[g.start:g.end]: the regions to cut, the calls and the attempts
// that could not be read (which stay in the text).
func readGap(s string, g cut) (cuts []cut, calls []Call, bad []Malformed) {
	at := g.start
	for at < g.end {
		seg := s[at:g.end]
		i, marker := firstMarker(seg)
		if i < 0 {
			return
		}
		start := at + i
		switch marker {
		case "<tool_call>":
			inner := start + len(marker)
			j := strings.Index(s[inner:g.end], "</tool_call>")
			if j < 0 {
				bad = append(bad, Malformed{Format: FormatHermes, Name: guessName(s[inner:g.end]), Text: s[start:g.end], Why: "<tool_call> not closed"})
				return
			}
			end := inner + j + len("</tool_call>")
			body := strings.TrimSpace(s[inner : inner+j])
			var cs []Call
			var why string
			if strings.HasPrefix(body, "<function=") {
				cs, why = decodeFunctionTags(body)
			} else {
				cs, why = decodeCalls(body, FormatHermes, false)
			}
			if why != "" {
				bad = append(bad, Malformed{Format: FormatHermes, Name: guessName(body), Text: s[start:end], Why: why})
			} else {
				for k := range cs {
					cs[k].Text = s[start:end]
				}
				calls = append(calls, cs...)
				cuts = append(cuts, cut{start, end})
			}
			at = end
		case "[TOOL_CALLS]":
			cs, end, why := decodeMistral(s[:g.end], start+len(marker))
			if why != "" {
				bad = append(bad, Malformed{Format: FormatMistral, Name: guessName(s[start:end]), Text: s[start:end], Why: why})
			} else {
				for k := range cs {
					cs[k].Text = s[start:end]
				}
				calls = append(calls, cs...)
				cuts = append(cuts, cut{start, end})
			}
			at = max(end, start+len(marker))
		case "<|python_tag|>":
			body := s[start+len(marker) : g.end]
			cs, why := decodeCalls(strings.TrimSpace(body), FormatLlama, false)
			if why == "" && len(cs) == 0 {
				why = "no call after <|python_tag|>"
			}
			if why != "" {
				bad = append(bad, Malformed{Format: FormatLlama, Name: guessName(body), Text: s[start:g.end], Why: why})
			} else {
				for k := range cs {
					cs[k].Text = s[start:g.end]
				}
				calls = append(calls, cs...)
				cuts = append(cuts, cut{start, g.end})
			}
			return
		case "```tool_code":
			inner := start + len(marker)
			j := strings.Index(s[inner:g.end], "```")
			if j < 0 {
				bad = append(bad, Malformed{Format: FormatGemma, Text: s[start:g.end], Why: "```tool_code block not closed"})
				return
			}
			end := inner + j + 3
			cs, why := decodePython(s[inner : inner+j])
			if why != "" {
				bad = append(bad, Malformed{Format: FormatGemma, Name: guessPyName(s[inner : inner+j]), Text: s[start:end], Why: why})
			} else {
				for k := range cs {
					cs[k].Text = s[start:end]
				}
				calls = append(calls, cs...)
				cuts = append(cuts, cut{start, end})
			}
			at = end
		}
	}
	return
}

var markers = []string{"<tool_call>", "[TOOL_CALLS]", "<|python_tag|>", "```tool_code"}

func firstMarker(s string) (int, string) {
	best, m := -1, ""
	for _, mk := range markers {
		if i := strings.Index(s, mk); i >= 0 && (best < 0 || i < best) {
			best, m = i, mk
		}
	}
	return best, m
}

// decodeCalls reads one JSON call object, a JSON array of them, or several objects separated by
// semicolons or whitespace. A call object has a "name" and its arguments under "arguments" or
// "parameters" (an object, or a string holding one; needArgs: one of them must be there), and optionally
// an "id".
func decodeCalls(body string, f Format, needArgs bool) ([]Call, string) {
	if strings.TrimSpace(body) == "" {
		return nil, "empty call"
	}
	dec := json.NewDecoder(strings.NewReader(body))
	var calls []Call
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "bad JSON: " + err.Error()
		}
		t := bytes.TrimSpace(v)
		if len(t) > 0 && t[0] == '[' {
			var list []json.RawMessage
			if err := json.Unmarshal(t, &list); err != nil {
				return nil, "bad JSON: " + err.Error()
			}
			for _, item := range list {
				c, why := decodeCall(item, f, needArgs)
				if why != "" {
					return nil, why
				}
				calls = append(calls, c)
			}
		} else {
			c, why := decodeCall(t, f, needArgs)
			if why != "" {
				return nil, why
			}
			calls = append(calls, c)
		}
		// Skip separators between calls.
		rest := body[dec.InputOffset():]
		trimmed := strings.TrimLeft(rest, " \t\r\n;")
		if trimmed == "" {
			break
		}
		dec = json.NewDecoder(strings.NewReader(trimmed))
		body = trimmed
	}
	return calls, ""
}

// decodeCall reads one call object.
func decodeCall(raw json.RawMessage, f Format, needArgs bool) (Call, string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return Call{}, "not a JSON object"
	}
	if fn, ok := obj["function"]; ok { // OpenAI's {"type": "function", "function": {...}}
		var inner map[string]json.RawMessage
		if json.Unmarshal(fn, &inner) == nil {
			if id, ok := obj["id"]; ok {
				inner["id"] = id
			}
			obj = inner
		}
	}
	var name string
	if err := json.Unmarshal(obj["name"], &name); err != nil || strings.TrimSpace(name) == "" {
		return Call{}, "missing name"
	}
	args, ok := obj["arguments"]
	if !ok {
		args, ok = obj["parameters"]
	}
	if !ok && needArgs {
		return Call{}, "missing arguments"
	}
	if !ok || string(bytes.TrimSpace(args)) == "null" {
		args = json.RawMessage("{}")
	}
	args = bytes.TrimSpace(args)
	if len(args) > 0 && args[0] == '"' { // arguments as a string holding JSON
		var s string
		if json.Unmarshal(args, &s) != nil || !json.Valid([]byte(s)) {
			return Call{}, "arguments: a string that is not JSON"
		}
		args = json.RawMessage(strings.TrimSpace(s))
	}
	if len(args) == 0 || args[0] != '{' {
		return Call{}, "arguments: not a JSON object"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, args); err != nil {
		return Call{}, "arguments: bad JSON"
	}
	c := Call{ToolCall: trace.ToolCall{Name: name, Arguments: buf.Bytes()}, Format: f}
	if id, ok := obj["id"]; ok {
		var s string
		if json.Unmarshal(id, &s) == nil {
			c.ID = s
		}
	}
	return c, ""
}

// decodeMistral reads Mistral's calls after [TOOL_CALLS] at s[at:]: a JSON array, or NAME[ARGS]{…}
// (with an optional [CALL_ID]id before [ARGS]). It returns the end of what it read.
func decodeMistral(s string, at int) ([]Call, int, string) {
	i := at
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	if i < len(s) && s[i] == '[' && !strings.HasPrefix(s[i:], "[ARGS]") && !strings.HasPrefix(s[i:], "[CALL_ID]") {
		dec := json.NewDecoder(strings.NewReader(s[i:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, len(s), "bad JSON: " + err.Error()
		}
		end := i + int(dec.InputOffset())
		calls, why := decodeCalls(string(raw), FormatMistral, false)
		if why == "" && len(calls) == 0 {
			why = "no call"
		}
		return calls, end, why
	}
	j := strings.Index(s[i:], "[ARGS]")
	if j < 0 {
		return nil, len(s), "no [ARGS] after [TOOL_CALLS]"
	}
	name := s[i : i+j]
	id := ""
	if n, callID, ok := strings.Cut(name, "[CALL_ID]"); ok {
		name, id = n, callID
	}
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " \n{}[]\"") {
		return nil, i + j + len("[ARGS]"), "missing name"
	}
	a := i + j + len("[ARGS]")
	dec := json.NewDecoder(strings.NewReader(s[a:]))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, len(s), "bad JSON: " + err.Error()
	}
	end := a + int(dec.InputOffset())
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, end, "arguments: not a JSON object"
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, raw)
	return []Call{{ToolCall: trace.ToolCall{ID: strings.TrimSpace(id), Name: name, Arguments: buf.Bytes()}, Format: FormatMistral}}, end, ""
}

// decodeFunctionTags reads Qwen3-Coder's call body: <function=NAME><parameter=KEY>value</parameter>…
// </function>. Values that are JSON (numbers, true, objects) stay JSON; the others are strings.
func decodeFunctionTags(body string) ([]Call, string) {
	rest := body
	var calls []Call
	for strings.HasPrefix(rest, "<function=") {
		end := strings.Index(rest, "</function>")
		if end < 0 {
			return nil, "<function= not closed"
		}
		gt := strings.IndexByte(rest[:end], '>')
		if gt < 0 {
			return nil, "<function= tag not closed"
		}
		name := strings.TrimSpace(rest[len("<function="):gt])
		if name == "" {
			return nil, "missing name"
		}
		inner := rest[gt+1 : end]
		var b bytes.Buffer
		b.WriteByte('{')
		n := 0
		for {
			p := strings.Index(inner, "<parameter=")
			if p < 0 {
				break
			}
			q := strings.IndexByte(inner[p:], '>')
			if q < 0 {
				return nil, "<parameter= tag not closed"
			}
			key := strings.TrimSpace(inner[p+len("<parameter=") : p+q])
			v := inner[p+q+1:]
			e := strings.Index(v, "</parameter>")
			if e < 0 {
				return nil, "<parameter=" + key + "> not closed"
			}
			val := strings.Trim(v[:e], "\n")
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			k, _ := json.Marshal(key)
			b.Write(k)
			b.WriteByte(':')
			if tv := strings.TrimSpace(val); tv != "" && json.Valid([]byte(tv)) && !strings.HasPrefix(tv, "\"") {
				var c bytes.Buffer
				_ = json.Compact(&c, []byte(tv))
				b.Write(c.Bytes())
			} else {
				sv, _ := json.Marshal(val)
				b.Write(sv)
			}
			inner = v[e+len("</parameter>"):]
		}
		b.WriteByte('}')
		calls = append(calls, Call{ToolCall: trace.ToolCall{Name: name, Arguments: b.Bytes()}, Format: FormatHermes})
		rest = strings.TrimSpace(rest[end+len("</function>"):])
	}
	if rest != "" {
		return nil, "text after </function>"
	}
	return calls, ""
}

// decodePython reads a ```tool_code body: one or more lines NAME(key=value, …), optionally wrapped in
// print(…) and with a module prefix (default_api.NAME). Values are Python string, number, True, False
// and None literals.
func decodePython(body string) ([]Call, string) {
	var calls []Call
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "print(") && strings.HasSuffix(line, ")") {
			line = strings.TrimSpace(line[len("print(") : len(line)-1])
		}
		p := &pyParser{s: line}
		name := p.ident()
		for p.peek() == '.' {
			p.i++
			name = p.ident()
		}
		if name == "" {
			return nil, "missing name"
		}
		if p.peek() != '(' {
			return nil, "not a call: " + clip(line, 40)
		}
		p.i++
		var b bytes.Buffer
		b.WriteByte('{')
		n := 0
		seen := map[string]bool{}
		for {
			p.space()
			if p.peek() == ')' {
				p.i++
				break
			}
			if n > 0 {
				if p.peek() != ',' {
					return nil, "expected , or ) at byte " + strconv.Itoa(p.i)
				}
				p.i++
				p.space()
				if p.peek() == ')' {
					p.i++
					break
				}
			}
			key := p.ident()
			p.space()
			if key == "" || p.peek() != '=' {
				return nil, "positional argument (want key=value)"
			}
			p.i++
			p.space()
			val, ok := p.value()
			if !ok {
				return nil, "unsupported value for " + key
			}
			if seen[key] {
				return nil, "argument " + key + " repeated"
			}
			seen[key] = true
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			k, _ := json.Marshal(key)
			b.Write(k)
			b.WriteByte(':')
			b.Write(val)
		}
		p.space()
		if p.i != len(p.s) {
			return nil, "text after the call"
		}
		b.WriteByte('}')
		calls = append(calls, Call{ToolCall: trace.ToolCall{Name: name, Arguments: b.Bytes()}, Format: FormatGemma})
	}
	if len(calls) == 0 {
		return nil, "empty tool_code block"
	}
	return calls, ""
}

type pyParser struct {
	s string
	i int
}

func (p *pyParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *pyParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *pyParser) ident() string {
	j := p.i
	for j < len(p.s) && (p.s[j] == '_' || p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= 'A' && p.s[j] <= 'Z' || j > p.i && p.s[j] >= '0' && p.s[j] <= '9') {
		j++
	}
	id := p.s[p.i:j]
	p.i = j
	return id
}

// value reads a Python literal as JSON.
func (p *pyParser) value() ([]byte, bool) {
	c := p.peek()
	switch {
	case c == '"' || c == '\'':
		q := c
		p.i++
		var b strings.Builder
		for p.i < len(p.s) {
			ch := p.s[p.i]
			switch {
			case ch == '\\' && p.i+1 < len(p.s):
				switch e := p.s[p.i+1]; e {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				case '\\', '\'', '"':
					b.WriteByte(e)
				default:
					b.WriteByte('\\')
					b.WriteByte(e)
				}
				p.i += 2
				continue
			case ch == q:
				p.i++
				out, _ := json.Marshal(strings.ToValidUTF8(b.String(), "\uFFFD"))
				return out, true
			}
			b.WriteByte(ch)
			p.i++
		}
		return nil, false
	case c == '-' || c >= '0' && c <= '9':
		j := p.i + 1
		for j < len(p.s) && strings.IndexByte("0123456789.eE+-", p.s[j]) >= 0 {
			j++
		}
		num := p.s[p.i:j]
		if _, err := strconv.ParseFloat(num, 64); err != nil || !json.Valid([]byte(num)) {
			return nil, false
		}
		p.i = j
		return []byte(num), true
	}
	switch id := p.ident(); id {
	case "True":
		return []byte("true"), true
	case "False":
		return []byte("false"), true
	case "None":
		return []byte("null"), true
	}
	return nil, false
}

// looksLikeCall reports whether JSON-ish text that failed to decode was meant as a call: it names one.
func looksLikeCall(s string) bool {
	return strings.Contains(s, `"name"`) && (strings.Contains(s, `"parameters"`) || strings.Contains(s, `"arguments"`))
}

// guessName pulls a "name": "…" value out of text that may not parse, for reporting.
func guessName(s string) string {
	i := strings.Index(s, `"name"`)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(s[i+len(`"name"`):], " \t\r\n:")
	if !strings.HasPrefix(rest, `"`) {
		return ""
	}
	end := strings.IndexByte(rest[1:], '"')
	if end < 0 {
		return ""
	}
	return rest[1 : 1+end]
}

func guessPyName(s string) string {
	p := &pyParser{s: strings.TrimSpace(s)}
	return p.ident()
}

// WriteCall writes a tool call in a format as a model would write it; Parse reads it back to the same
// name and arguments. XML calls are written with a JSON body (which trace.ParseToolArguments reads) so that
// every argument value survives; Gemma calls support only string, number, boolean and null arguments.
func WriteCall(f Format, tc trace.ToolCall) string {
	args := tc.Arguments
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage("{}")
	}
	name, _ := json.Marshal(tc.Name)
	switch f {
	case FormatHermes:
		return "<tool_call>\n{\"name\": " + string(name) + ", \"arguments\": " + string(args) + "}\n</tool_call>"
	case FormatLlama:
		return "{\"name\": " + string(name) + ", \"parameters\": " + string(args) + "}"
	case FormatMistral:
		id := ""
		if tc.ID != "" {
			b, _ := json.Marshal(tc.ID)
			id = ", \"id\": " + string(b)
		}
		return "[TOOL_CALLS][{\"name\": " + string(name) + ", \"arguments\": " + string(args) + id + "}]"
	case FormatGemma:
		var b strings.Builder
		b.WriteString("```tool_code\n" + tc.Name + "(")
		fields, _ := trace.ObjectFields(args)
		for i, kv := range fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(kv[0] + "=" + pyLiteral(json.RawMessage(kv[1])))
		}
		b.WriteString(")\n```")
		return b.String()
	}
	return "<tool_use:" + tc.Name + ">\n" + string(args) + "\n</tool_use:" + tc.Name + ">"
}

// pyLiteral writes a JSON scalar as a Python literal.
func pyLiteral(v json.RawMessage) string {
	t := strings.TrimSpace(string(v))
	switch t {
	case "true":
		return "True"
	case "false":
		return "False"
	case "null":
		return "None"
	}
	if strings.HasPrefix(t, `"`) {
		var s string
		_ = json.Unmarshal([]byte(t), &s)
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
		return `"` + r.Replace(s) + `"`
	}
	return t
}
