package trace

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// TargetSpec says which token is the target of an attribution: the first token of a matching tool call, of
// a literal string, of a segment, or an explicit token index. Exactly one of ToolCall/Recipient/Body (a
// tool-call match), Literal, Segment and ByToken may be used.
type TargetSpec struct {
	ToolCall  string // tool name ("email", "forward"); "" or "*" with Recipient/Body set matches any tool
	Recipient string // regexp matched against the call's "to" argument
	Body      string // regexp matched against the call's "body" argument
	Literal   string // literal text, searched in the segments under Within
	Segment   string // a segment id; its first token
	Token     int    // an explicit token index, with ByToken
	ByToken   bool
	// Within restricts tool-call and literal matches to segments whose id starts with it (e.g.
	// "assistant[0]"); for literals it defaults to "assistant", so that a tool format described in the
	// system prompt is not matched.
	Within     string
	Occurrence int // which match to take, 0 for the first
}

// Target is a selected target token.
type Target struct {
	Token       int    // index of the target token in Rendered.IDs; the model predicts it at position Token-1
	Char        int    // byte offset in Rendered.Text the match starts at
	Segment     string // id of the segment the match is in
	Description string // what was matched, for reports
}

// String describes the spec in ParseTarget's syntax.
func (s TargetSpec) String() string {
	switch {
	case s.ByToken:
		return "token:" + strconv.Itoa(s.Token)
	case s.Segment != "":
		return "segment:" + s.Segment
	case s.Literal != "":
		return "literal:" + s.Literal
	}
	var b strings.Builder
	b.WriteString("tool:")
	if s.ToolCall == "" {
		b.WriteString("*")
	}
	b.WriteString(s.ToolCall)
	if s.Recipient != "" {
		b.WriteString(" to=" + s.Recipient)
	}
	if s.Body != "" {
		b.WriteString(" body=" + s.Body)
	}
	return b.String()
}

// ParseTarget parses a target written as one of
//
//	tool:NAME [to=REGEXP] [body=REGEXP]   (NAME may be *)
//	segment:ID
//	literal:TEXT
//	token:N
//
// optionally followed (for tool and literal targets) by " @WITHIN" naming a segment id prefix and " #K"
// taking the K-th match (0-based). Regexps may not contain spaces.
func ParseTarget(s string) (TargetSpec, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return TargetSpec{}, fmt.Errorf("target %q: want tool:, segment:, literal: or token: %w", s, ErrBadTarget)
	}
	var spec TargetSpec
	switch kind {
	case "token":
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n < 0 {
			return spec, fmt.Errorf("target %q: token index: %w", s, ErrBadTarget)
		}
		spec.Token, spec.ByToken = n, true
		return spec, nil
	case "segment":
		spec.Segment = strings.TrimSpace(rest)
		if spec.Segment == "" {
			return spec, fmt.Errorf("target %q: empty segment id: %w", s, ErrBadTarget)
		}
		return spec, nil
	case "literal":
		fields := rest
		// trailing " @within" and " #k" options
		for {
			i := strings.LastIndex(fields, " ")
			if i < 0 {
				break
			}
			opt := fields[i+1:]
			if strings.HasPrefix(opt, "@") && len(opt) > 1 {
				spec.Within = opt[1:]
			} else if k, err := strconv.Atoi(strings.TrimPrefix(opt, "#")); strings.HasPrefix(opt, "#") && err == nil && k >= 0 {
				spec.Occurrence = k
			} else {
				break
			}
			fields = fields[:i]
		}
		if fields == "" {
			return spec, fmt.Errorf("target %q: empty literal: %w", s, ErrBadTarget)
		}
		spec.Literal = fields
		return spec, nil
	case "tool":
		parts := strings.Fields(rest)
		if len(parts) == 0 {
			return spec, fmt.Errorf("target %q: missing tool name: %w", s, ErrBadTarget)
		}
		spec.ToolCall = parts[0]
		if spec.ToolCall == "*" {
			spec.ToolCall = ""
		}
		for _, p := range parts[1:] {
			switch {
			case strings.HasPrefix(p, "to="):
				spec.Recipient = p[3:]
			case strings.HasPrefix(p, "body="):
				spec.Body = p[5:]
			case strings.HasPrefix(p, "@") && len(p) > 1:
				spec.Within = p[1:]
			case strings.HasPrefix(p, "#"):
				k, err := strconv.Atoi(p[1:])
				if err != nil || k < 0 {
					return spec, fmt.Errorf("target %q: occurrence %q: %w", s, p, ErrBadTarget)
				}
				spec.Occurrence = k
			default:
				return spec, fmt.Errorf("target %q: unknown option %q: %w", s, p, ErrBadTarget)
			}
		}
		return spec, nil
	}
	return spec, fmt.Errorf("target %q: unknown kind %q: %w", s, kind, ErrBadTarget)
}

// FindTarget selects the target token of a rendered, tokenized episode. Errors wrap ErrNoTarget and say
// what was searched and where (ErrBadTarget for a spec that cannot be used); a target whose segment the
// chat template did not print is refused with ErrNotRendered as well, since it is not in the context.
func FindTarget(r *Rendered, spec TargetSpec) (Target, error) {
	if len(r.IDs) == 0 {
		return Target{}, fmt.Errorf("target %s in episode %s: rendered without a tokenizer: %w", spec, r.Episode.ID, ErrBadTarget)
	}
	if spec.ByToken {
		if spec.Token < 0 || spec.Token >= len(r.IDs) {
			return Target{}, fmt.Errorf("target %s in episode %s: index outside %d tokens: %w", spec, r.Episode.ID, len(r.IDs), ErrNoTarget)
		}
		seg := r.Segments[r.TokenSegment[spec.Token]].ID
		return Target{Token: spec.Token, Char: r.Offsets[spec.Token][0], Segment: seg, Description: spec.String()}, nil
	}
	if spec.Segment != "" {
		s, ok := r.Segment(spec.Segment)
		if !ok {
			return Target{}, fmt.Errorf("target %s in episode %s: %w", spec, r.Episode.ID, ErrUnknownSegment)
		}
		if !s.Found || s.Tokens.Len() == 0 && s.Char.Len() == 0 {
			return Target{}, fmt.Errorf("target %s in episode %s: the template did not print it: %w (%w)", spec, r.Episode.ID, ErrNoTarget, ErrNotRendered)
		}
		t := r.firstToken(s.Char.Start, s.Char.End)
		return Target{Token: t, Char: s.Char.Start, Segment: s.ID, Description: spec.String()}, nil
	}
	if spec.Literal != "" {
		within := spec.Within
		if within == "" {
			within = string(RoleAssistant)
		}
		n := 0
		for _, s := range r.Segments {
			if s.Kind == KindTemplate || !s.Found || !strings.HasPrefix(s.ID, within) {
				continue
			}
			text := r.Text[s.Char.Start:s.Char.End]
			for at := 0; ; {
				i := strings.Index(text[at:], spec.Literal)
				if i < 0 {
					break
				}
				if n == spec.Occurrence {
					c := s.Char.Start + at + i
					return Target{Token: r.firstToken(c, c+len(spec.Literal)), Char: c, Segment: s.ID, Description: spec.String()}, nil
				}
				n++
				at += i + 1
			}
		}
		return Target{}, fmt.Errorf("target %s in episode %s: %d matches in segments under %q: %w", spec, r.Episode.ID, n, within, ErrNoTarget)
	}
	// A tool-call match.
	var toRe, bodyRe *regexp.Regexp
	var err error
	if spec.Recipient != "" {
		if toRe, err = regexp.Compile(spec.Recipient); err != nil {
			return Target{}, fmt.Errorf("target %s: recipient: %w: %v", spec, ErrBadTarget, err)
		}
	}
	if spec.Body != "" {
		if bodyRe, err = regexp.Compile(spec.Body); err != nil {
			return Target{}, fmt.Errorf("target %s: body: %w: %v", spec, ErrBadTarget, err)
		}
	}
	if spec.ToolCall == "" && toRe == nil && bodyRe == nil {
		return Target{}, fmt.Errorf("target %s: empty specification: %w", spec, ErrBadTarget)
	}
	var seen, unprinted []string
	n := 0
	for _, s := range r.Segments {
		if s.Kind != KindToolCall || !strings.HasPrefix(s.ID, spec.Within) {
			continue
		}
		es, err := r.Episode.Lookup(s.ID)
		if err != nil || es.Tool == nil {
			continue
		}
		seen = append(seen, es.Tool.Name+"@"+s.ID)
		if spec.ToolCall != "" && es.Tool.Name != spec.ToolCall {
			continue
		}
		if toRe != nil && !toRe.MatchString(ArgString(es.Tool.Arguments, "to")) {
			continue
		}
		if bodyRe != nil && !bodyRe.MatchString(ArgString(es.Tool.Arguments, "body")) {
			continue
		}
		if !s.Found {
			unprinted = append(unprinted, s.ID)
			continue
		}
		if n == spec.Occurrence {
			return Target{Token: r.firstToken(s.Char.Start, s.Char.End), Char: s.Char.Start, Segment: s.ID, Description: spec.String()}, nil
		}
		n++
	}
	where := "no tool calls"
	if len(seen) > 0 {
		where = "tool calls " + strings.Join(seen, ", ")
	}
	if len(unprinted) > 0 {
		return Target{}, fmt.Errorf("target %s in episode %s: the template did not print matching %s (%d printed matches among %s): %w (%w)",
			spec, r.Episode.ID, strings.Join(unprinted, ", "), n, where, ErrNoTarget, ErrNotRendered)
	}
	return Target{}, fmt.Errorf("target %s in episode %s: %d matches among %s: %w", spec, r.Episode.ID, n, where, ErrNoTarget)
}

// firstToken is the token holding the first non-whitespace byte of [start, end) (start when all space).
func (r *Rendered) firstToken(start, end int) int {
	p := start
	for q := start; q < end; q++ {
		if c := r.Text[q]; c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			p = q
			break
		}
	}
	return r.TokenAt(p)
}

// Contrast is a pair of continuations compared at one target position, for logit-difference metrics: the
// logits at position Token-1 for Harmful[0] versus Benign[0].
type Contrast struct {
	Token           int    // index of the first continuation token (the target's Token)
	Harmful, Benign []int  // token ids of each continuation, tokenized in context
	HarmfulText     string // the continuations as given
	BenignText      string
}

// ContrastAt tokenizes two continuations of the rendered text cut at target t (Text[:t.Char] + continuation)
// and returns the ids of each continuation's tokens. It fails (ErrBadTarget) when a continuation changes how
// the prefix tokenizes or merges with it into a token that spans the cut (a target inside a word, or one
// whose token starts with the space before it), or tokenizes to nothing.
func ContrastAt(r *Rendered, t Target, harmful, benign string, enc EncodeFunc) (Contrast, error) {
	c := Contrast{Token: t.Token, HarmfulText: harmful, BenignText: benign}
	prefix := r.Text[:t.Char]
	for _, side := range []struct {
		text string
		out  *[]int
		name string
	}{{harmful, &c.Harmful, "harmful"}, {benign, &c.Benign, "benign"}} {
		ids, spans, err := enc(prefix + side.text)
		if err != nil {
			return c, fmt.Errorf("contrast %s continuation %q: %w", side.name, side.text, err)
		}
		k := 0
		for k < len(spans) && (spans[k][1] <= len(prefix)) {
			k++
		}
		if k < len(spans) && spans[k][0] < len(prefix) {
			return c, fmt.Errorf("contrast %s continuation %q: token %d spans the cut at byte %d (the continuation merges with the prefix; cut at a token boundary): %w", side.name, side.text, k, len(prefix), ErrBadTarget)
		}
		if k != t.Token {
			return c, fmt.Errorf("contrast %s continuation %q: prefix tokenizes to %d tokens, target is token %d (the continuation merges with the prefix): %w", side.name, side.text, k, t.Token, ErrBadTarget)
		}
		if k == len(ids) {
			return c, fmt.Errorf("contrast %s continuation %q: no tokens: %w", side.name, side.text, ErrBadTarget)
		}
		*side.out = append([]int(nil), ids[k:]...)
	}
	return c, nil
}
