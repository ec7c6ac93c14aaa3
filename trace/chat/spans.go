package chat

import (
	"strings"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// pos is a located piece of text; start or end is -1 when unknown.
type pos struct{ start, end int }

var none = pos{-1, -1}

// markerPositions renders with sentinels and returns, for each message content and each tool-call name,
// its position in the unmarked text. ok is false when the marked render, with its sentinels removed,
// differs from text (the template inspects or transforms the marked strings).
func (t *Template) markerPositions(in Input, e *env, text string) (contents, names []pos, ok bool) {
	if !e.marked {
		return nil, nil, false
	}
	mt, err := t.execute(e.build(true, in.AddGenerationPrompt, len(in.Messages)))
	if err != nil {
		return nil, nil, false
	}
	var b strings.Builder
	b.Grow(len(text))
	at := map[rune][]int{}
	for _, r := range mt {
		if isMarker(r) {
			at[r] = append(at[r], b.Len())
			continue
		}
		b.WriteRune(r)
	}
	if b.String() != text {
		return nil, nil, false
	}
	pair := func(startR, endR rune) pos {
		p := none
		if s := at[startR]; len(s) > 0 {
			p.start = s[0]
		}
		for _, x := range at[endR] {
			if p.start < 0 || x >= p.start {
				p.end = x
				break
			}
		}
		return p
	}
	contents = make([]pos, len(in.Messages))
	k := 0
	for i, m := range in.Messages {
		contents[i] = pair(rune(contentMarkBase+2*i), rune(contentMarkBase+2*i+1))
		for range m.ToolCalls {
			names = append(names, pair(rune(callMarkBase+2*k), rune(callMarkBase+2*k+1)))
			k++
		}
	}
	return contents, names, true
}

// locate fills r.Messages.
func (t *Template) locate(r *Rendered, in Input, e *env) {
	text := r.Text
	n := len(in.Messages)
	contents, names, marked := t.markerPositions(in, e, text)

	// Content spans from sentinels.
	cspan := make([]pos, n)
	found := make([]bool, n)
	for i := range cspan {
		cspan[i] = none
	}
	if marked {
		for i, m := range in.Messages {
			if m.Content == "" {
				continue
			}
			// The sentinels sit around the content's core, inside its outer whitespace (see env.build).
			p := contents[i]
			_, core, _ := splitSpace(m.Content)
			switch {
			case p.start >= 0 && p.end >= 0:
				cspan[i] = p
			case p.end >= 0:
				k := t.refinePartial(in, e, text, i, p.end, commonSuffix(text[:p.end], core), true)
				cspan[i] = pos{p.end - k, p.end}
			case p.start >= 0:
				k := t.refinePartial(in, e, text, i, p.start, commonPrefix(text[p.start:], core), false)
				cspan[i] = pos{p.start, p.start + k}
			}
			if cspan[i].start >= 0 {
				cspan[i], found[i] = widen(text, cspan[i], m.Content)
			}
		}
	}
	// Tool-call name positions from sentinels, per message.
	nspan := make([][]pos, n)
	k := 0
	for i, m := range in.Messages {
		nspan[i] = make([]pos, len(m.ToolCalls))
		for j := range m.ToolCalls {
			nspan[i][j] = none
			if marked && names[k].start >= 0 && names[k].end >= 0 {
				nspan[i][j] = names[k]
			}
			k++
		}
	}

	// Message boundaries: bound[i] is where message i ends (and message i+1 starts).
	// firstStart[j]: where the first located piece of messages j.. starts.
	firstStart := make([]int, n+1)
	firstStart[n] = len(text)
	for j := n - 1; j >= 0; j-- {
		firstStart[j] = firstStart[j+1]
		for _, p := range pieces(cspan[j], nspan[j]) {
			if p.start >= 0 && p.start < firstStart[j] {
				firstStart[j] = p.start
			}
		}
	}
	// A message's end is found by rendering messages[:i+1]; the split of a gap between two located pieces
	// is remembered by (roles, gap text) so that a long conversation needs one prefix rendering per kind
	// of turn change rather than one per message.
	memo := map[string]int{}
	bound := make([]int, n)
	prev := 0
	for i := 0; i < n; i++ {
		hi := max(firstStart[i+1], prev)
		// lo: the end of this message's own pieces that lie before hi (a template may move a content
		// elsewhere, e.g. Mistral prints the system prompt in the last user turn; such a piece stays
		// outside the message span).
		lo, own := prev, false
		for _, p := range pieces(cspan[i], nspan[i]) {
			if p.start >= 0 && p.end <= hi && p.end >= lo {
				lo, own = p.end, true
			}
		}
		key := ""
		if own && i+1 < n && hi < len(text) && !t.noMemo {
			key = in.Messages[i].Role + "\x00" + in.Messages[i+1].Role + "\x00" + text[lo:hi]
		}
		var b int
		if off, ok := memo[key]; ok && key != "" {
			b = lo + off
		} else if i == n-1 && !in.AddGenerationPrompt {
			b = len(text)
		} else if pre, err := t.execute(e.build(false, false, i+1)); err != nil {
			b = lo
		} else {
			b = commonPrefix(text, pre)
			if b < len(pre) && b < len(text) {
				b = backOff(text, b, lo)
			}
			if b < len(pre) && b < lo {
				// The prefix rendering diverged inside this message (a template that renders the last
				// message differently): align the end of that rendering with the text instead.
				b = alignEnd(text, pre, lo, hi)
			}
			if key != "" && lo <= b && b <= hi {
				memo[key] = b - lo
			}
		}
		b = max(lo, min(b, hi))
		bound[i] = b
		prev = b
	}

	// Without verified sentinels, search for contents and names inside each message span. (With verified
	// sentinels a missing sentinel means the template did not print that content as such: no search, so
	// a dropped message never claims text of another.)
	cursor := 0
	for i, m := range in.Messages {
		if marked {
			break
		}
		start := 0
		if i > 0 {
			start = bound[i-1]
		}
		end := bound[i]
		if cursor < start {
			cursor = start
		}
		if m.Content != "" && cspan[i].start < 0 {
			if p, ok := search(text, m.Content, cursor, end); ok {
				cspan[i], found[i] = p, true
			} else if tr := strings.TrimSpace(m.Content); tr != "" {
				if p, ok := search(text, tr, cursor, end); ok {
					cspan[i] = p
				}
			}
		}
		if cspan[i].end > cursor {
			cursor = cspan[i].end
		}
		for j, tc := range m.ToolCalls {
			if nspan[i][j].start < 0 && tc.Name != "" {
				if p, ok := search(text, tc.Name, cursor, end); ok {
					nspan[i][j] = p
				}
			}
			if nspan[i][j].end > cursor {
				cursor = nspan[i][j].end
			}
		}
	}

	// Assemble spans.
	for i, m := range in.Messages {
		start := 0
		if i > 0 {
			start = bound[i-1]
		}
		ms := MessageSpan{Message: Span{start, bound[i]}}
		switch {
		case m.Content == "":
			ms.Content = Span{start, start}
			ms.ContentFound = true
		case cspan[i].start >= 0:
			ms.Content = Span{cspan[i].start, cspan[i].end}
			ms.ContentFound = found[i]
		default:
			ms.Content = Span{start, start}
		}
		for j, tc := range m.ToolCalls {
			p := nspan[i][j]
			if p.start < 0 {
				ms.ToolCalls = append(ms.ToolCalls, Span{start, start})
				continue
			}
			limit := bound[i]
			if j+1 < len(m.ToolCalls) && nspan[i][j+1].start >= p.end {
				limit = nspan[i][j+1].start
			}
			if limit < p.end {
				limit = len(text)
			}
			end := argsEnd(text, p.end, limit, e.args[i][j], tc.Arguments)
			ms.ToolCalls = append(ms.ToolCalls, Span{p.start, end})
		}
		r.Messages[i] = ms
	}
}

// maxAlign bounds the gap alignEnd scans.
const maxAlign = 4096

// alignEnd returns the x in [lo, hi] where text[:x] and pre share the longest common suffix (the smallest
// such x on ties).
func alignEnd(text, pre string, lo, hi int) int {
	hi = min(hi, lo+maxAlign, len(text))
	best, bestLen := lo, -1
	for x := lo; x <= hi; x++ {
		if x < len(text) && !utf8.RuneStart(text[x]) {
			continue
		}
		if k := commonSuffix(text[:x], pre); k > bestLen {
			best, bestLen = x, k
		}
	}
	return best
}

// widen takes the span p of the printed core of content (the content without its outer whitespace,
// where the sentinels sit) and returns the span of the whole content when the text has all of its outer
// whitespace around the core (else the core's span: a template that trims printed only the core), and
// whether the span holds exactly the content.
func widen(text string, p pos, content string) (pos, bool) {
	lead, core, trail := splitSpace(content)
	if text[p.start:p.end] == core && strings.HasSuffix(text[:p.start], lead) && strings.HasPrefix(text[p.end:], trail) {
		p = pos{p.start - len(lead), p.end + len(trail)}
	}
	return p, text[p.start:p.end] == content
}

func pieces(c pos, names []pos) []pos {
	return append([]pos{c}, names...)
}

// search finds needle in text[from:limit].
func search(text, needle string, from, limit int) (pos, bool) {
	limit = min(limit, len(text))
	if from > limit {
		return none, false
	}
	if i := strings.Index(text[from:limit], needle); i >= 0 {
		return pos{from + i, from + i + len(needle)}, true
	}
	return none, false
}

// commonPrefix returns the length of the longest common prefix of a and b, backed off to a rune boundary.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	for i > 0 && i < len(a) && !utf8.RuneStart(a[i]) {
		i--
	}
	return i
}

// maxRefine bounds the extra renderings spent on one partially printed content.
const maxRefine = 8

// refinePartial finds how much of message i's content the template printed when only one sentinel
// survived (the template split or cut the content). at is where the surviving sentinel landed and k the
// longest match of the content's suffix (suffix true) or prefix there, which can run into template text
// by coincidence. It moves the lost sentinel inside the content, k bytes from the surviving one, and keeps
// the largest k for which the template prints the same text with the moved sentinel exactly at that
// distance; without a confirmed k it shortens k past delimiter characters (trimDelimiter).
func (t *Template) refinePartial(in Input, e *env, text string, i, at, k int, suffix bool) int {
	lead, c, trail := splitSpace(in.Messages[i].Content)
	startR, endR := string(rune(contentMarkBase+2*i)), string(rune(contentMarkBase+2*i+1))
	k0 := k
	for tries := 0; k > 0 && tries < maxRefine; k, tries = k-1, tries+1 {
		if suffix && !utf8.RuneStart(c[len(c)-k]) || !suffix && k < len(c) && !utf8.RuneStart(c[k]) {
			continue
		}
		var o string
		if suffix {
			o = lead + c[:len(c)-k] + startR + c[len(c)-k:] + endR + trail
		} else {
			o = lead + startR + c[:k] + endR + c[k:] + trail
		}
		e.override = map[int]string{i: o}
		mt, err := t.execute(e.build(true, in.AddGenerationPrompt, len(in.Messages)))
		e.override = nil
		if err != nil {
			continue
		}
		want := at - k
		r := startR
		if !suffix {
			want, r = at+k, endR
		}
		if got, ok := markerAt(mt, text, r); ok && got == want {
			return k
		}
	}
	if suffix {
		return trimDelimiter(c, k0)
	}
	return k0
}

// markerAt strips the sentinels from a marked rendering; when the result equals text it returns the
// position of the first occurrence of marker r in text.
func markerAt(mt, text, r string) (int, bool) {
	var b strings.Builder
	b.Grow(len(text))
	at := -1
	for _, x := range mt {
		if isMarker(x) {
			if at < 0 && string(x) == r {
				at = b.Len()
			}
			continue
		}
		b.WriteRune(x)
	}
	return at, at >= 0 && b.String() == text
}

// backOff moves a boundary b found as a common prefix back over a partly matched special token (such as
// "<|im_" shared by "<|im_end|>" and "<|im_start|>"): first over word characters, then over opening
// delimiters, never below lo.
func backOff(text string, b, lo int) int {
	x := b
	for x > lo && isWordByte(text[x-1]) {
		x--
	}
	for x > lo && strings.IndexByte("<[{|", text[x-1]) >= 0 {
		x--
	}
	return x
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// trimDelimiter shortens a printed suffix of content of length k that starts with a closing delimiter
// character while the content goes on before it: the template split the content on a tag such as
// "</think>" and the tag's last character matched the template text before the printed part by chance.
func trimDelimiter(content string, k int) int {
	for k > 0 && k < len(content) && strings.IndexByte(">]|}", content[len(content)-k]) >= 0 {
		k--
	}
	return k
}

// commonSuffix returns the length of the longest common suffix of a and b, on a rune boundary.
func commonSuffix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	for i > 0 && !utf8.RuneStart(a[len(a)-i]) {
		i--
	}
	return i
}

// jsonForms renders arguments the ways templates print them.
var jsonForms = func() []*jinja.Template {
	var ts []*jinja.Template
	for _, src := range []string{
		`{{ a | tojson }}`,
		`{{ a | tojson(separators=(',', ':')) }}`,
		`{{ a | tojson(indent=2) }}`,
		`{{ a | tojson(indent=4) }}`,
		`{{ a | tojson(ensure_ascii=True) }}`,
		`{{ a }}`,
	} {
		if t, err := jinja.Compile(src); err == nil {
			ts = append(ts, t)
		}
	}
	return ts
}()

// argsEnd returns where the rendered arguments of a tool call whose name ends at from stop: the end of the
// earliest printed form of the arguments in text[from:limit]; else the end of the last argument key or
// value found there (XML-style templates); else from.
func argsEnd(text string, from, limit int, args jinja.Value, raw []byte) int {
	if limit > len(text) || limit < from {
		limit = len(text)
	}
	region := text[from:limit]
	best, bestEnd := -1, -1
	forms := []string{strings.TrimSpace(string(raw))}
	for _, ft := range jsonForms {
		if s, err := ft.RenderValues(map[string]jinja.Value{"a": args}); err == nil {
			forms = append(forms, s)
		}
	}
	for _, f := range forms {
		if f == "" {
			continue
		}
		if i := strings.Index(region, f); i >= 0 && (best < 0 || i < best || (i == best && i+len(f) > bestEnd)) {
			best, bestEnd = i, i+len(f)
		}
	}
	if best >= 0 {
		return from + bestEnd
	}
	end := from
	if args.IsDict() {
		d := args.AsDict()
		cur := 0
		for _, k := range d.OrderedKeys() {
			v, _ := d.Get(k)
			at, atEnd := -1, -1
			for _, f := range leafForms(v) {
				if f == "" {
					continue
				}
				if i := strings.Index(region[cur:], f); i >= 0 && (at < 0 || i < at) {
					at, atEnd = i, i+len(f)
				}
			}
			if at >= 0 {
				cur += atEnd
				end = from + cur
			}
		}
	}
	return end
}

// leafForms returns the ways a template may print one argument value: as a string, as Python prints it,
// and as JSON.
func leafForms(v jinja.Value) []string {
	if v.IsString() {
		return []string{v.AsString()}
	}
	var forms []string
	for _, ft := range []*jinja.Template{jsonForms[len(jsonForms)-1], jsonForms[0]} {
		if s, err := ft.RenderValues(map[string]jinja.Value{"a": v}); err == nil {
			forms = append(forms, s)
		}
	}
	return forms
}
