package trace

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// SegmentOptions configure Episode.SegmentWith. The zero value segments with the built-in recognisers
// and no rules, as Episode.Segment does.
type SegmentOptions struct {
	// Rules are user rules (ReadSegmentRules), applied after tags and before the built-in recognisers.
	Rules *SegmentRules
	// NoBuiltin turns the built-in recognisers off: only tags and Rules make segments.
	NoBuiltin bool
}

// isDefault reports whether o segments as Episode.Segment does.
func (o SegmentOptions) isDefault() bool { return o.Rules == nil && !o.NoBuiltin }

// span is a byte range [a, b) of a message's content.
type span struct{ a, b int }

// gaps returns the stretches of [0, n) that no block covers; blocks are sorted by start.
func gaps(blocks []block, n int) []span {
	var out []span
	at := 0
	for _, b := range blocks {
		if b.start > at {
			out = append(out, span{at, b.start})
		}
		at = max(at, b.end)
	}
	if at < n {
		out = append(out, span{at, n})
	}
	return out
}

// addBlocks merges more into blocks, keeping them sorted by start.
func addBlocks(blocks []block, more ...block) []block {
	if len(more) == 0 {
		return blocks
	}
	blocks = append(blocks, more...)
	sort.SliceStable(blocks, func(i, j int) bool { return blocks[i].start < blocks[j].start })
	return blocks
}

// recognise adds to a message's tag blocks (sorted by start) what the rules and the built-in recognisers
// find in the text outside them. Each looks only at text nothing found before it covers, so blocks never
// overlap. The built-in recognisers read user and tool messages: JSON emails and calendar entries, then
// header blocks, then (for a tool message answering a file-reading call, when nothing else was found)
// the whole result as a file, then markdown sections.
func recognise(m *Message, blocks []block, env segmentEnv) []block {
	content := m.Content
	each := func(find func(string, span) []block) {
		var more []block
		for _, g := range gaps(blocks, len(content)) {
			more = append(more, find(content, g)...)
		}
		blocks = addBlocks(blocks, more...)
	}
	if env.opts.Rules != nil {
		for _, r := range env.opts.Rules.rules {
			if r.appliesTo(m.Role) {
				each(r.find)
			}
		}
	}
	if env.opts.NoBuiltin || m.Role != RoleUser && m.Role != RoleTool {
		return blocks
	}
	each(findJSON)
	each(findHeaderBlocks)
	if m.Role == RoleTool && !m.ToolError && len(blocks) == 0 && strings.TrimSpace(content) != "" {
		if path, ok := fileReadPath(env.call); ok {
			blocks = append(blocks, block{kind: KindFile, start: 0, end: len(content), innerEnd: len(content),
				origin: OriginFileRead, label: path})
		}
	}
	each(findMarkdown)
	return blocks
}

// textLine is one line of a message's content: [start, end) without its "\n" or "\r\n", next the start
// of the following line.
type textLine struct{ start, end, next int }

// lines splits content[g.a:g.b] into lines.
func lines(content string, g span) []textLine {
	var out []textLine
	for at := g.a; at < g.b; {
		e := strings.IndexByte(content[at:g.b], '\n')
		next := g.b
		if e < 0 {
			e = g.b
		} else {
			e += at
			next = e + 1
		}
		end := e
		if end > at && content[end-1] == '\r' {
			end--
		}
		out = append(out, textLine{at, end, next})
		at = next
	}
	return out
}

const spaceChars = " \t\r\n"

// trimEnd trims the whitespace at the end of content[start:end) and returns the new end.
func trimEnd(content string, start, end int) int {
	return start + len(strings.TrimRight(content[start:end], spaceChars))
}

// separatorRE matches a line (trimmed) that separates emails: a rule of dashes, equals signs,
// underscores, stars or tildes, "-----Original Message-----", "Begin forwarded message:", and counters
// such as "Email 3 of 7", "=== Message 2/5 ===" or "[Email 4]".
var separatorRE = regexp.MustCompile(`(?i)^(?:[-=_*~]{3,}|-{2,}\s*(?:original|forwarded)\s+message\s*-{2,}|begin forwarded message:?|[-=*#\[(\s]*(?:e-?mail|message|mail|msg)\s*#?\s*\d+(?:\s*(?:of|/)\s*\d+)?[-=*#\])\s:]*)$`)

func isSeparator(line string) bool { return separatorRE.MatchString(strings.TrimSpace(line)) }

// headerLine splits a header line "Key: value". The key starts the line, is a letter followed by up to
// 30 letters, digits, '-' or '_'; a value starting with "//" (a URL) is not a header's.
func headerLine(t string) (key, val string, ok bool) {
	i := strings.IndexByte(t, ':')
	if i <= 0 || i > 31 {
		return "", "", false
	}
	for j := 0; j < i; j++ {
		c := t[j]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (j == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '_')) {
			return "", "", false
		}
	}
	val = strings.TrimSpace(t[i+1:])
	if strings.HasPrefix(val, "//") {
		return "", "", false
	}
	return strings.ToLower(t[:i]), val, true
}

// Header keys (lower case) of the header-block recogniser.
var (
	emailHeaderKeys = map[string]bool{"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "date": true,
		"sent": true, "timestamp": true, "reply-to": true, "sender": true, "recipient": true, "recipients": true}
	addressKeys     = map[string]bool{"from": true, "to": true, "sender": true, "recipient": true, "recipients": true}
	calendarHdrKeys = map[string]bool{"event": true, "meeting": true, "when": true, "where": true, "location": true,
		"start": true, "end": true, "time": true, "date": true, "attendees": true, "organizer": true, "duration": true,
		"title": true, "subject": true, "summary": true, "participants": true, "invitees": true}
)

// isIDKey reports whether a header key numbers an email: "id", "message-id", "email_id".
func isIDKey(k string) bool {
	return k == "id" || strings.HasSuffix(k, "-id") || strings.HasSuffix(k, "_id")
}

// headerBlock is a run of header lines that makes an email or calendar entry.
type headerBlock struct {
	first, last int // line indices: the block's first header line and the line after its last one
	kind        Kind
	label       string
}

// classifyHeaders decides whether header lines make an email (a non-empty address header — From, To,
// Sender, Recipient — of at most 200 bytes and at least two distinct email headers) or a calendar entry (no
// address header, and Event or Meeting with When, Start, Date or Time; or When with a title or
// attendees; or Start and End with a title or attendees).
func classifyHeaders(keys []string, vals []string) (Kind, string) {
	has := map[string]string{}
	email, addr := 0, false
	for i, k := range keys {
		if _, seen := has[k]; seen {
			continue
		}
		has[k] = vals[i]
		if emailHeaderKeys[k] {
			email++
		}
		if addressKeys[k] && vals[i] != "" {
			if len(vals[i]) > 200 {
				return "", ""
			}
			addr = true
		}
	}
	if addr {
		if email >= 2 {
			return KindEmail, ""
		}
		return "", ""
	}
	is := func(ks ...string) bool {
		for _, k := range ks {
			if _, ok := has[k]; ok {
				return true
			}
		}
		return false
	}
	title := is("title", "subject", "summary", "attendees", "participants", "invitees")
	if is("event", "meeting") && is("when", "start", "date", "time") || is("when") && title || is("start") && is("end") && title {
		for _, k := range []string{"event", "meeting", "title", "subject", "summary"} {
			if v := has[k]; v != "" {
				return KindCalendar, v
			}
		}
		return KindCalendar, ""
	}
	return "", ""
}

// findHeaderBlocks finds plain-text emails and calendar entries: a run of header lines ("From: …",
// "To: …", "Subject: …"; "Event: …", "When: …"), then a body up to the next such run, a separator line
// (isSeparator) or the end of the text. The span runs from the first header line (an "ID:" line just
// before the headers included) to the last non-blank byte of the body. A "Body:" header ends the run.
func findHeaderBlocks(content string, g span) []block {
	ls := lines(content, g)
	var hbs []headerBlock
	for i := 0; i < len(ls); {
		if _, _, ok := headerLine(content[ls[i].start:ls[i].end]); !ok {
			i++
			continue
		}
		var keys, vals []string
		j := i
		for ; j < len(ls); j++ {
			k, v, ok := headerLine(content[ls[j].start:ls[j].end])
			if !ok {
				break
			}
			keys, vals = append(keys, k), append(vals, v)
			if k == "body" {
				j++
				break
			}
		}
		// Leave out leading lines that are neither known headers nor an id ("Note: …" above the headers).
		s := 0
		for s < len(keys) && !emailHeaderKeys[keys[s]] && !calendarHdrKeys[keys[s]] && !isIDKey(keys[s]) {
			s++
		}
		if kind, label := classifyHeaders(keys[s:], vals[s:]); kind != "" {
			hbs = append(hbs, headerBlock{first: i + s, last: j, kind: kind, label: label})
		}
		i = j
	}
	var out []block
	for n, hb := range hbs {
		end := len(ls) // the line the body stops before
		if n+1 < len(hbs) {
			end = hbs[n+1].first
		}
		for k := hb.last; k < end; k++ {
			if isSeparator(content[ls[k].start:ls[k].end]) {
				end = k
				break
			}
		}
		start := ls[hb.first].start
		stop := g.b
		if end < len(ls) {
			stop = ls[end].start
		}
		stop = trimEnd(content, start, stop)
		b := block{kind: hb.kind, start: start, end: stop, innerStart: start, innerEnd: stop, origin: OriginHeader, label: hb.label}
		if hb.kind == KindEmail {
			e := ParseEmail(content[start:stop])
			b.email = &e
		}
		out = append(out, b)
	}
	return out
}

// atxHeading parses a markdown heading line: 1 to 6 '#' at the start of the line, a space or tab, and a
// title (its closing '#'s dropped).
func atxHeading(t string) (level int, title string, ok bool) {
	for level < len(t) && t[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || level >= len(t) || t[level] != ' ' && t[level] != '\t' {
		return 0, "", false
	}
	title = strings.TrimSpace(t[level:])
	if trimmed := strings.TrimRight(title, "#"); trimmed != title && (trimmed == "" || strings.HasSuffix(trimmed, " ")) {
		title = strings.TrimSpace(trimmed)
	}
	return level, title, title != ""
}

// findMarkdown finds markdown sections: a heading line ("# Title", "## Title", …, not inside a ``` or ~~~
// fence, not an email counter such as "## Email 3") to the next heading of the same or a higher level
// or the end of the text, the sections under it included. A heading with nothing but blank lines under it
// is left as it is. The span ends at the section's last non-blank byte.
func findMarkdown(content string, g span) []block {
	ls := lines(content, g)
	type heading struct {
		line, level int
		title       string
	}
	var hs []heading
	fence := ""
	for i, l := range ls {
		t := content[l.start:l.end]
		if f := fenceOf(t); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(t, fence):
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		if level, title, ok := atxHeading(t); ok && !isSeparator(t) {
			hs = append(hs, heading{i, level, title})
		}
	}
	var out []block
	for k := 0; k < len(hs); {
		h := hs[k]
		k2 := k + 1
		for k2 < len(hs) && hs[k2].level > h.level {
			k2++
		}
		stop := g.b
		if k2 < len(hs) {
			stop = ls[hs[k2].line].start
		}
		start := ls[h.line].start
		if strings.TrimSpace(content[ls[h.line].next:max(stop, ls[h.line].next)]) != "" {
			end := trimEnd(content, start, stop)
			out = append(out, block{kind: KindDocument, start: start, end: end, innerStart: start, innerEnd: end,
				origin: OriginMarkdown, label: h.title})
		}
		k = k2
	}
	return out
}

// fenceOf returns the fence a line opens or closes ("```" or "~~~"), or "".
func fenceOf(t string) string {
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(t, f) {
			return f
		}
	}
	return ""
}

// JSON field names (compared without case) of the JSON recogniser.
var (
	jsonFromKeys     = []string{"from", "sender", "from_address", "from_email"}
	jsonToKeys       = []string{"to", "recipient", "recipients", "to_address", "to_email"}
	jsonCcKeys       = []string{"cc"}
	jsonSubjectKeys  = []string{"subject"}
	jsonBodyKeys     = []string{"body", "content", "text", "message", "snippet", "body_text", "body_plain"}
	jsonDateKeys     = []string{"timestamp", "date", "time", "sent", "sent_at", "received_at", "datetime", "created_at"}
	jsonStartKeys    = []string{"start", "start_time", "starts_at", "start_date", "begin", "when"}
	jsonTitleKeys    = []string{"title", "summary", "event", "subject"}
	jsonAttendeeKeys = []string{"attendees", "participants", "invitees", "guests"}
)

// findJSON finds emails and calendar entries in text that is one JSON value: every object, at any depth
// up to 16, with an address field (from, sender, to, recipient, recipients, …) and a subject or body
// field (body, content, text, message, snippet) is an email; one with a start field (start, start_time,
// when, …) and a title or attendees is a calendar entry. The span is the object, braces included.
func findJSON(content string, g span) []block {
	text := content[g.a:g.b]
	t := strings.TrimLeft(text, spaceChars)
	lead := len(text) - len(t)
	t = strings.TrimRight(t, spaceChars)
	if t == "" || t[0] != '{' && t[0] != '[' || !json.Valid([]byte(t)) {
		return nil
	}
	var out []block
	var walk func(n *jnode, depth int)
	walk = func(n *jnode, depth int) {
		if depth > 16 {
			return
		}
		if n.kind == '{' {
			if kind, label, e := jsonItem(content, n); kind != "" {
				out = append(out, block{kind: kind, start: n.start, end: n.end, innerStart: n.start, innerEnd: n.end,
					origin: OriginJSON, label: label, email: e})
				return
			}
		}
		for _, k := range n.kids {
			walk(k, depth+1)
		}
	}
	walk(parseJSONSpans(t, g.a+lead), 0)
	return out
}

// jsonItem says whether a JSON object is a calendar entry (with its title) or an email (with its fields).
func jsonItem(content string, n *jnode) (Kind, string, *Email) {
	if n.field(jsonStartKeys...) != nil && (n.field(jsonTitleKeys...) != nil || n.field(jsonAttendeeKeys...) != nil) {
		return KindCalendar, n.field(jsonTitleKeys...).text(content), nil
	}
	if e, ok := jsonEmail(content, n); ok {
		return KindEmail, "", e
	}
	return "", "", nil
}

// jsonEmail reads an email's fields from a JSON object: ok when it has an address field and a subject
// or body field. Headers holds every field but the body, in order.
func jsonEmail(content string, n *jnode) (*Email, bool) {
	from, to := n.field(jsonFromKeys...), n.field(jsonToKeys...)
	subj, body := n.field(jsonSubjectKeys...), n.field(jsonBodyKeys...)
	if from == nil && to == nil || subj == nil && body == nil {
		return nil, false
	}
	e := &Email{From: from.text(content), To: to.text(content), Cc: n.field(jsonCcKeys...).text(content),
		Subject: subj.text(content), Timestamp: n.field(jsonDateKeys...).text(content), Body: body.text(content)}
	for i, k := range n.keys {
		if n.kids[i] != body {
			e.Headers = append(e.Headers, [2]string{k, n.kids[i].text(content)})
		}
	}
	return e, true
}

// fileArgKeys are the arguments (compared without case) that name the file a tool call reads.
var fileArgKeys = []string{"path", "file", "filename", "file_path", "filepath", "file_name"}

// fileWriteWords mark a tool name as one that changes files rather than reading them.
var fileWriteWords = []string{"write", "edit", "create", "delete", "remove", "move", "rename", "copy", "append",
	"mkdir", "save", "upload", "patch", "replace", "insert"}

// catRE matches a shell command that prints one file: cat, head, tail, less, more, bat or nl and a path.
var catRE = regexp.MustCompile(`^\s*(?:cat|head|tail|less|more|bat|nl)\s+(?:-\S+\s+)*([^\s|;&<>]+)\s*$`)

// fileReadPath reports whether a tool call reads a file, and which: it has a string argument path, file,
// filename, file_path, filepath or file_name and its name has none of the words of writing tools
// (write, edit, create, delete, …); or its command or cmd argument is "cat PATH" (head, tail, … too).
func fileReadPath(tc *ToolCall) (string, bool) {
	if tc == nil || len(tc.Arguments) == 0 {
		return "", false
	}
	var args map[string]json.RawMessage
	if json.Unmarshal(tc.Arguments, &args) != nil {
		return "", false
	}
	str := func(names ...string) string {
		for _, name := range names {
			for k, raw := range args {
				var s string
				if strings.EqualFold(k, name) && json.Unmarshal(raw, &s) == nil && strings.TrimSpace(s) != "" {
					return s
				}
			}
		}
		return ""
	}
	if cmd := str("command", "cmd"); cmd != "" {
		if m := catRE.FindStringSubmatch(cmd); m != nil {
			return m[1], true
		}
		return "", false
	}
	name := strings.ToLower(tc.Name)
	for _, w := range fileWriteWords {
		if strings.Contains(name, w) {
			return "", false
		}
	}
	if p := str(fileArgKeys...); p != "" {
		return p, true
	}
	return "", false
}

// answeredCall returns the tool call that tool message i answers: in the nearest assistant message
// before it, the call with its ToolCallID, else with its tool name, else the call at its position among
// the tool messages that follow that assistant message. Nil when there is none.
func answeredCall(ep *Episode, i int) *ToolCall {
	k := 0
	j := i - 1
	for j >= 0 && ep.Messages[j].Role == RoleTool {
		j--
		k++
	}
	if j < 0 || ep.Messages[j].Role != RoleAssistant {
		return nil
	}
	var calls []*ToolCall
	for _, s := range ep.Messages[j].Segments {
		if s.Tool != nil {
			calls = append(calls, s.Tool)
		}
	}
	m := ep.Messages[i]
	if m.ToolCallID != "" {
		for _, c := range calls {
			if c.ID == m.ToolCallID {
				return c
			}
		}
	}
	if k < len(calls) && (m.Name == "" || calls[k].Name == m.Name) {
		return calls[k]
	}
	if m.Name != "" {
		for _, c := range calls {
			if c.Name == m.Name {
				return c
			}
		}
	}
	return nil
}
