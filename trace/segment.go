package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// tagKind is what an opening tag starts.
type tagSpec struct {
	open, close string // literal tags; for tool_use the name is filled in
	kind        Kind
}

var (
	userTags = []tagSpec{
		{"<email>", "</email>", KindEmail},
		{"<document>", "</document>", KindDocument},
	}
	assistantTags = []tagSpec{
		{"<SCRATCHPAD_REASONING>", "</SCRATCHPAD_REASONING>", KindReasoning},
		{"<thinking>", "</thinking>", KindReasoning},
		{"<think>", "</think>", KindReasoning},
	}
)

const toolUseOpen, toolUseClose = "<tool_use:", "</tool_use:"

// segmentEnv is what segmenting one message needs besides the message: the options, and for a tool
// message the call it answers (nil when unknown).
type segmentEnv struct {
	opts *SegmentOptions
	call *ToolCall
}

// segmentMessage splits one message into segments: its tagged blocks, then what the rules and the
// built-in recognisers find in the text outside them, with the rest as base-kind text.
func segmentMessage(mid string, mi int, m *Message, env segmentEnv) ([]Segment, error) {
	if !m.Role.Valid() {
		return nil, fmt.Errorf("message %s: role %q: %w", mid, m.Role, ErrUnknownRole)
	}
	if env.opts == nil {
		env.opts = &SegmentOptions{}
	}
	counts := map[string]int{}
	next := func(k Kind) string {
		w := idWord(k)
		id := mid + "." + w + "[" + strconv.Itoa(counts[w]) + "]"
		counts[w]++
		return id
	}
	var segs []Segment
	if m.Reasoning != "" {
		segs = append(segs, Segment{ID: next(KindReasoning), Kind: KindReasoning, Message: mi, Part: PartReasoning,
			End: len(m.Reasoning), Origin: OriginStructured})
	}
	if m.RedactedReasoning != "" {
		segs = append(segs, Segment{ID: next(KindReasoning), Kind: KindReasoning, Message: mi, Part: PartRedacted,
			End: len(m.RedactedReasoning), Redacted: true, Origin: OriginStructured})
	}
	blocks, err := scanTags(m.Role, m.Content)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", mid, err)
	}
	for i := range blocks {
		blocks[i].origin = OriginTag
	}
	blocks = recognise(m, blocks, env)
	base := BaseKind(m.Role)
	at := 0
	emit := func(b block) {
		s := Segment{Kind: b.kind, Message: mi, Part: PartContent, Start: b.start, End: b.end, Origin: b.origin,
			Label: b.label, Email: b.email}
		if b.kind == KindToolResult && m.ToolError {
			s.Error = true
		}
		switch {
		case b.kind == KindEmail && s.Email == nil:
			e := ParseEmail(m.Content[b.innerStart:b.innerEnd])
			s.Email = &e
		case b.kind == KindToolCall:
			tc := ToolCall{Name: b.name, Arguments: ParseToolArguments(m.Content[b.innerStart:b.innerEnd])}
			s.Tool = &tc
		}
		s.ID = next(s.Kind)
		segs = append(segs, s)
	}
	for _, b := range blocks {
		if b.start > at {
			emit(block{kind: base, start: at, end: b.start})
		}
		emit(b)
		at = b.end
	}
	if at < len(m.Content) || len(m.Content) == 0 {
		emit(block{kind: base, start: at, end: len(m.Content)})
	}
	for i := range m.ToolCalls {
		tc := m.ToolCalls[i]
		segs = append(segs, Segment{ID: next(KindToolCall), Kind: KindToolCall, Message: mi, Part: PartToolCall,
			Call: i, End: len(tc.Arguments), Tool: &tc, Origin: OriginStructured})
	}
	return segs, nil
}

// block is one tagged or recognised region of a message's content.
type block struct {
	kind                 Kind
	name                 string // tool name for tool_use tags
	start, end           int    // the whole region (for a tag, opening to closing)
	innerStart, innerEnd int    // between the tags
	origin               Origin
	label                string
	email                *Email // parsed already (recognised emails); nil: parse inner
}

// scanTags finds the tagged blocks of a message's content. System messages have none; user and tool
// messages have <email> and <document>; assistant messages have reasoning blocks and <tool_use:NAME>.
func scanTags(role Role, s string) ([]block, error) {
	var specs []tagSpec
	toolUse := false
	switch role {
	case RoleUser, RoleTool:
		specs = userTags
	case RoleAssistant:
		specs = assistantTags
		toolUse = true
	default:
		return nil, nil
	}
	var out []block
	at := 0
	for {
		// The earliest opening tag from at.
		best, bestSpec, name := -1, tagSpec{}, ""
		for _, sp := range specs {
			if i := strings.Index(s[at:], sp.open); i >= 0 && (best < 0 || at+i < best) {
				best, bestSpec = at+i, sp
			}
		}
		if toolUse {
			if i := strings.Index(s[at:], toolUseOpen); i >= 0 && (best < 0 || at+i < best) {
				j := at + i + len(toolUseOpen)
				k := j
				for k < len(s) && isNameByte(s[k]) {
					k++
				}
				if k == j || k >= len(s) || s[k] != '>' {
					return nil, fmt.Errorf("offset %d: bad tool tag %q: %w", at+i, clip(s[at+i:], 40), ErrMalformedTag)
				}
				name = s[j:k]
				best = at + i
				bestSpec = tagSpec{open: s[best : k+1], close: toolUseClose + name + ">", kind: KindToolCall}
			}
		}
		// A closing tag before the next opening tag is stray.
		limit := len(s)
		if best >= 0 {
			limit = best
		}
		if off, tag := firstClose(s[at:limit], specs, toolUse); off >= 0 {
			return nil, fmt.Errorf("offset %d: %s without opening tag: %w", at+off, tag, ErrMalformedTag)
		}
		if best < 0 {
			return out, nil
		}
		inner := best + len(bestSpec.open)
		end := strings.Index(s[inner:], bestSpec.close)
		// Another opening of the same kind, or any other closing tag, before the close means bad nesting.
		region := s[inner:]
		if end >= 0 {
			region = s[inner : inner+end]
		}
		if bestSpec.kind != KindReasoning { // reasoning may quote any tag
			if off, tag := firstClose(region, specs, toolUse); off >= 0 {
				return nil, fmt.Errorf("offset %d: %s closed by %s at offset %d: %w", best, bestSpec.open, tag, inner+off, ErrMalformedTag)
			}
			if i := strings.Index(region, bestSpec.open); i >= 0 {
				return nil, fmt.Errorf("offset %d: %s opened again at offset %d before %s: %w", best, bestSpec.open, inner+i, bestSpec.close, ErrMalformedTag)
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("offset %d: %s not closed (want %s): %w", best, bestSpec.open, bestSpec.close, ErrMalformedTag)
		}
		b := block{kind: bestSpec.kind, name: name, start: best, innerStart: inner, innerEnd: inner + end,
			end: inner + end + len(bestSpec.close)}
		out = append(out, b)
		at = b.end
	}
}

// firstClose finds the first closing tag of any spec (or any </tool_use:…>) in s.
func firstClose(s string, specs []tagSpec, toolUse bool) (int, string) {
	best, tag := -1, ""
	for _, sp := range specs {
		if i := strings.Index(s, sp.close); i >= 0 && (best < 0 || i < best) {
			best, tag = i, sp.close
		}
	}
	if toolUse {
		if i := strings.Index(s, toolUseClose); i >= 0 && (best < 0 || i < best) {
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				j = len(s) - i - 1
			}
			best, tag = i, s[i:i+j+1]
		}
	}
	return best, tag
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ParseEmail parses the inside of an <email>…</email> block leniently: header lines "Key: value" (From,
// To, Cc, Subject, Timestamp, any case) up to a "Body:" line, whose value and every following line form the
// body. Without a "Body:" line the body is the text after the first blank line (or after the headers).
func ParseEmail(s string) Email {
	var e Email
	rest := strings.TrimLeft(s, "\r\n")
	for rest != "" {
		line, after, found := strings.Cut(rest, "\n")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			if found {
				e.Body = strings.TrimRight(after, "\r\n")
			}
			return e
		}
		key, val, ok := strings.Cut(trimmed, ":")
		if !ok || !isHeaderKey(key) {
			e.Body = strings.TrimRight(rest, "\r\n")
			return e
		}
		val = strings.TrimSpace(val)
		if strings.EqualFold(key, "body") {
			body := val
			if found {
				if body != "" {
					body += "\n" + after
				} else {
					body = after
				}
			}
			e.Body = strings.TrimRight(body, "\r\n")
			e.Headers = append(e.Headers, [2]string{key, val})
			return e
		}
		e.Headers = append(e.Headers, [2]string{key, val})
		switch strings.ToLower(key) {
		case "from":
			e.From = val
		case "to":
			e.To = val
		case "cc":
			e.Cc = val
		case "subject":
			e.Subject = val
		case "timestamp", "date", "time":
			e.Timestamp = val
		}
		if !found {
			break
		}
		rest = after
	}
	return e
}

func isHeaderKey(k string) bool {
	if k == "" || len(k) > 40 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '-' || c == '_' || c == ' ' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return k[0] != ' ' && k[len(k)-1] != ' '
}

// ParseToolArguments turns the inside of a <tool_use:NAME>…</tool_use:NAME> tag into a JSON object, keeping
// the order of the fields. The inside is either a JSON object or lines of `key: value`, where a value may be
// a double-quoted string spanning several lines and may end with a comma. Quoted values become JSON
// strings, unquoted numbers and booleans stay as they are, other unquoted values become strings. Text
// that has no fields gives {}.
func ParseToolArguments(s string) json.RawMessage {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		var buf bytes.Buffer
		if json.Compact(&buf, []byte(t)) == nil {
			return buf.Bytes()
		}
	}
	type field struct{ key, val string }
	var fields []field
	lines := strings.SplitAfter(s, "\n")
	var cur *field
	var curVal strings.Builder
	flush := func() {
		if cur != nil {
			cur.val = curVal.String()
			fields = append(fields, *cur)
			cur = nil
			curVal.Reset()
		}
	}
	for _, line := range lines {
		if key, val, ok := keyLine(line); ok && (cur == nil || valueClosed(curVal.String())) {
			flush()
			cur = &field{key: key}
			curVal.WriteString(val)
			continue
		}
		if cur != nil {
			curVal.WriteString(line)
		}
	}
	flush()
	var b bytes.Buffer
	b.WriteByte('{')
	seen := map[string]bool{}
	n := 0
	for _, f := range fields {
		if seen[f.key] {
			continue
		}
		seen[f.key] = true
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(argValue(f.val))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// keyLine matches "  key: value" at the start of a line.
func keyLine(line string) (key, val string, ok bool) {
	t := strings.TrimLeft(line, " \t")
	i := 0
	for i < len(t) && (t[i] == '_' || t[i] >= 'a' && t[i] <= 'z' || t[i] >= 'A' && t[i] <= 'Z' || i > 0 && t[i] >= '0' && t[i] <= '9') {
		i++
	}
	if i == 0 || i >= len(t) || t[i] != ':' {
		return "", "", false
	}
	return t[:i], strings.TrimLeft(t[i+1:], " \t"), true
}

// valueClosed reports whether an accumulated value is complete: unquoted, or a quoted string whose last
// non-space, non-comma character is its closing quote.
func valueClosed(v string) bool {
	t := strings.TrimSpace(v)
	if !strings.HasPrefix(t, `"`) {
		return true
	}
	t = strings.TrimRight(t, ", \t\r\n")
	return len(t) >= 2 && strings.HasSuffix(t, `"`) && !strings.HasSuffix(t, `\"`)
}

func argValue(v string) []byte {
	t := strings.TrimSpace(v)
	t = strings.TrimSuffix(t, ",")
	t = strings.TrimSpace(t)
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		inner := strings.ReplaceAll(t[1:len(t)-1], `\"`, `"`)
		b, _ := json.Marshal(inner)
		return b
	}
	if t == "true" || t == "false" || t == "null" {
		return []byte(t)
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil && json.Valid([]byte(t)) {
		return []byte(t)
	}
	b, _ := json.Marshal(t)
	return b
}

// ArgString returns the string value of a top-level field of a JSON arguments object ("" if absent or not a
// string; numbers and booleans are returned as their JSON text).
func ArgString(args json.RawMessage, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(args, &m) != nil {
		return ""
	}
	raw, ok := m[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
