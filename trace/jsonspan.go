package trace

import (
	"encoding/json"
	"strings"
)

// jnode is one value of a JSON text with its byte span in the message content it was read from.
type jnode struct {
	start, end int      // bytes of the value, quotes and brackets included
	kind       byte     // '{', '[', '"', or 0 for a number, true, false or null
	keys       []string // object keys as decoded, in order
	kids       []*jnode // object values or array elements, in order
	parent     *jnode
}

// parseJSONSpans parses src, which must be valid JSON (json.Valid), into jnodes whose spans are offsets
// into src plus off.
func parseJSONSpans(src string, off int) *jnode {
	p := jsonSpanParser{src: src, off: off}
	return p.value(nil)
}

type jsonSpanParser struct {
	src string
	off int
	at  int
}

func (p *jsonSpanParser) ws() {
	for p.at < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.at]) >= 0 {
		p.at++
	}
}

func (p *jsonSpanParser) value(parent *jnode) *jnode {
	p.ws()
	n := &jnode{start: p.off + p.at, parent: parent}
	if p.at >= len(p.src) {
		n.end = n.start
		return n
	}
	switch c := p.src[p.at]; c {
	case '{', '[':
		n.kind = c
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		p.at++
		for {
			p.ws()
			if p.at >= len(p.src) || p.src[p.at] == closer {
				p.at++
				break
			}
			if p.src[p.at] == ',' {
				p.at++
				continue
			}
			if c == '{' {
				ks := p.at
				p.skipString()
				var key string
				_ = json.Unmarshal([]byte(p.src[ks:p.at]), &key)
				n.keys = append(n.keys, key)
				p.ws()
				p.at++ // ':'
			}
			n.kids = append(n.kids, p.value(n))
		}
	case '"':
		n.kind = '"'
		p.skipString()
	default:
		for p.at < len(p.src) && strings.IndexByte(" \t\r\n,]}", p.src[p.at]) < 0 {
			p.at++
		}
	}
	n.end = p.off + min(p.at, len(p.src))
	return n
}

// skipString moves past the string literal at p.at.
func (p *jsonSpanParser) skipString() {
	p.at++ // opening quote
	for p.at < len(p.src) {
		switch p.src[p.at] {
		case '\\':
			p.at += 2
			continue
		case '"':
			p.at++
			return
		}
		p.at++
	}
}

// field returns the value of the object field whose key equals one of names, compared without case, in
// the order of names.
func (n *jnode) field(names ...string) *jnode {
	if n == nil || n.kind != '{' {
		return nil
	}
	for _, name := range names {
		for i, k := range n.keys {
			if strings.EqualFold(k, name) {
				return n.kids[i]
			}
		}
	}
	return nil
}

// text returns a value as a few words for a label or an email header: a string decoded, an array's
// elements joined with ", ", an object by its address, email, name, title, dateTime or date field, other
// values as their JSON text; null is "".
func (n *jnode) text(content string) string {
	if n == nil {
		return ""
	}
	raw := content[n.start:n.end]
	switch n.kind {
	case '"':
		var s string
		if json.Unmarshal([]byte(raw), &s) != nil {
			return ""
		}
		return s
	case '[':
		var parts []string
		for _, k := range n.kids {
			if t := k.text(content); t != "" {
				parts = append(parts, t)
			}
		}
		return strings.Join(parts, ", ")
	case '{':
		if f := n.field("email", "address", "name", "title", "dateTime", "date_time", "date"); f != nil {
			return f.text(content)
		}
		return raw
	}
	if raw == "null" {
		return ""
	}
	return raw
}

// inner returns the span of a value without the quotes of a string.
func (n *jnode) inner() (int, int) {
	if n.kind == '"' && n.end-n.start >= 2 {
		return n.start + 1, n.end - 1
	}
	return n.start, n.end
}
