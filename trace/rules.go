package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SegmentRule is one user rule for finding segments in untagged text, as a rule file spells it. Exactly
// one of Regexp and Path is set.
//
// A regexp rule (Go syntax, https://pkg.go.dev/regexp/syntax) is matched against each stretch of a
// message's content that tags and earlier rules leave uncovered (the whole content when there are none),
// so ^ and $ are that stretch's ends unless the regexp sets (?m). Every match is a segment: the text of
// the named group "body" when the regexp has one and it took part in the match, else the whole match. An
// email rule's Email is parsed (ParseEmail) from the whole match.
//
// A JSON-path rule applies to a stretch that is one JSON value. Path is "$" followed by steps: ".key"
// (an object's field), "[*]" (every element of an array) and "[N]" (element N, from 0), e.g.
// "$.emails[*]" or "$.results[*].body". Every value it selects is a segment: its bytes, braces
// included, or for a string the text between its quotes. An email rule's Email is read from the nearest
// object at or above the value that has email fields (from/sender, to/recipient, subject, body/content/
// text), else parsed from the string.
type SegmentRule struct {
	Regexp string `json:"regexp,omitempty"`
	Path   string `json:"path,omitempty"`
	// Kind is what the segments hold: email, document, file or calendar.
	Kind Kind `json:"kind"`
	// Roles are the roles of the messages the rule reads: user, tool, system, assistant (default user
	// and tool).
	Roles []Role `json:"roles,omitempty"`
	// Label is the segments' label template: "{NAME}" is replaced by the text of the regexp's named
	// group NAME, or by the JSON field NAME of the selected value or the nearest object above it that
	// has one; other text is kept. Default: "{label}" for a regexp with a group named label; for a JSON
	// rule of another kind than email, the value's title, subject, name, path or filename field; else
	// none (an email's own label is its sender and subject).
	Label string `json:"label,omitempty"`
}

// SegmentRules is a checked, compiled list of rules (CompileSegmentRules, ReadSegmentRules).
type SegmentRules struct {
	rules []*compiledRule
}

// Len returns the number of rules.
func (rs *SegmentRules) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.rules)
}

type compiledRule struct {
	SegmentRule
	index int
	re    *regexp.Regexp
	path  []pathStep
	body  int // index of the regexp's "body" group, -1 if none
}

// pathStep is one step of a JSON path: a field key, every element (all), or element index.
type pathStep struct {
	key   string
	all   bool
	index int // -1 for a key step
}

// ruleKinds are the kinds a rule may make.
var ruleKinds = []Kind{KindEmail, KindDocument, KindFile, KindCalendar}

// placeholderRE matches a label template's "{NAME}".
var placeholderRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// The fields of a rule file and of one rule.
var ruleFileFields = []string{"builtin", "rules"}
var ruleFields = []string{"regexp", "path", "kind", "roles", "label"}

// ReadSegmentRules reads a rule file: a JSON object {"rules": [rule, …], "builtin": false} ("builtin"
// may be left out and is true by default: the built-in recognisers run after the rules) or just the
// array of rules. Each rule is an object with the fields of SegmentRule: "regexp" or "path", "kind",
// optional "roles" and "label". For example:
//
//	{"rules": [
//	  {"regexp": "(?m)^MEMO (?P<label>[^\n]+)\n(?s:.*?)\n^END MEMO$", "kind": "document", "roles": ["user"]},
//	  {"path": "$.results[*]", "kind": "email", "roles": ["tool"]}
//	]}
//
// Errors name the file, the rule index and the field (rules.json: rules[1].kind: missing) and wrap
// ErrBadRule.
func ReadSegmentRules(path string) (SegmentOptions, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return SegmentOptions{}, fmt.Errorf("segment rules: %w", err)
	}
	return ParseSegmentRules(data, path)
}

// ParseSegmentRules parses the text of a rule file (see ReadSegmentRules), naming it name in errors.
func ParseSegmentRules(data []byte, name string) (SegmentOptions, error) {
	fail := func(format string, args ...any) (SegmentOptions, error) {
		return SegmentOptions{}, fmt.Errorf("%s: %s: %w", name, fmt.Sprintf(format, args...), ErrBadRule)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fail("invalid JSON at byte %d: %s", se.Offset, se.Error())
		}
		return fail("invalid JSON: %v", err)
	}
	var opts SegmentOptions
	var raws []json.RawMessage
	prefix := "rules"
	switch t := bytes.TrimSpace(data); t[0] {
	case '[':
		prefix = ""
		if err := json.Unmarshal(t, &raws); err != nil {
			return fail("%v", err)
		}
	case '{':
		var top map[string]json.RawMessage
		if err := json.Unmarshal(t, &top); err != nil {
			return fail("%v", err)
		}
		for _, k := range sortedRawKeys(top) {
			if !slices.Contains(ruleFileFields, k) {
				return fail("unknown field %q (want %s)", k, strings.Join(ruleFileFields, ", "))
			}
		}
		if raw, ok := top["builtin"]; ok {
			var b bool
			if err := ruleValue(raw, &b); err != nil {
				return fail("builtin: %v", err)
			}
			opts.NoBuiltin = !b
		}
		raw, ok := top["rules"]
		if !ok {
			return fail("rules: missing")
		}
		if err := ruleValue(raw, &raws); err != nil {
			return fail("rules: %v", err)
		}
	default:
		return fail("expected an object or an array of rules")
	}
	var rules []SegmentRule
	for i, raw := range raws {
		at := prefix + "[" + strconv.Itoa(i) + "]"
		var fields map[string]json.RawMessage
		if err := ruleValue(raw, &fields); err != nil {
			return fail("%s: %v", at, err)
		}
		for _, k := range sortedRawKeys(fields) {
			if !slices.Contains(ruleFields, k) {
				return fail("%s: unknown field %q (want %s)", at, k, strings.Join(ruleFields, ", "))
			}
		}
		var r SegmentRule
		for _, f := range []struct {
			name string
			v    any
		}{{"regexp", &r.Regexp}, {"path", &r.Path}, {"kind", &r.Kind}, {"roles", &r.Roles}, {"label", &r.Label}} {
			if raw, ok := fields[f.name]; ok {
				if err := ruleValue(raw, f.v); err != nil {
					return fail("%s.%s: %v", at, f.name, err)
				}
			}
		}
		rules = append(rules, r)
	}
	rs, err := compileRules(name, prefix, rules)
	if err != nil {
		return SegmentOptions{}, err
	}
	opts.Rules = rs
	return opts, nil
}

// CompileSegmentRules checks and compiles rules, naming them name in errors (name: rules[1].kind: …).
func CompileSegmentRules(name string, rules []SegmentRule) (*SegmentRules, error) {
	return compileRules(name, "rules", rules)
}

func compileRules(name, prefix string, rules []SegmentRule) (*SegmentRules, error) {
	rs := &SegmentRules{}
	for i, r := range rules {
		at := prefix + "[" + strconv.Itoa(i) + "]"
		fail := func(field, format string, args ...any) (*SegmentRules, error) {
			return nil, fmt.Errorf("%s: %s.%s: %s: %w", name, at, field, fmt.Sprintf(format, args...), ErrBadRule)
		}
		kinds := make([]string, len(ruleKinds))
		for k, kind := range ruleKinds {
			kinds[k] = string(kind)
		}
		want := strings.Join(kinds[:len(kinds)-1], ", ") + " or " + kinds[len(kinds)-1]
		switch {
		case r.Kind == "":
			return fail("kind", "missing (want %s)", want)
		case !slices.Contains(ruleKinds, r.Kind):
			return fail("kind", "%q: want %s", r.Kind, want)
		case r.Regexp == "" && r.Path == "":
			return fail("regexp", "missing (a rule needs a regexp or a path)")
		case r.Regexp != "" && r.Path != "":
			return fail("path", "a rule has a regexp or a path, not both")
		}
		c := &compiledRule{SegmentRule: r, index: i, body: -1}
		if len(c.Roles) == 0 {
			c.Roles = []Role{RoleUser, RoleTool}
		}
		for j, role := range c.Roles {
			if !role.Valid() {
				return fail("roles["+strconv.Itoa(j)+"]", "%q: want user, tool, system or assistant", role)
			}
		}
		var groups []string
		if r.Regexp != "" {
			re, err := regexp.Compile(r.Regexp)
			if err != nil {
				return fail("regexp", "%v", err)
			}
			if re.MatchString("") {
				return fail("regexp", "%q matches the empty string", r.Regexp)
			}
			c.re = re
			c.body = re.SubexpIndex("body")
			for _, g := range re.SubexpNames() {
				if g != "" {
					groups = append(groups, g)
				}
			}
			if c.Label == "" && re.SubexpIndex("label") >= 0 {
				c.Label = "{label}"
			}
		} else {
			steps, err := parsePath(r.Path)
			if err != nil {
				return fail("path", "%q: %v", r.Path, err)
			}
			c.path = steps
		}
		if c.re != nil {
			for _, m := range placeholderRE.FindAllStringSubmatch(c.Label, -1) {
				if !slices.Contains(groups, m[1]) {
					return fail("label", "%s: the regexp has no group named %s", m[0], m[1])
				}
			}
		}
		rs.rules = append(rs.rules, c)
	}
	return rs, nil
}

// parsePath parses a JSON path: "$" then ".key", "[*]" and "[N]" steps.
func parsePath(p string) ([]pathStep, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, errors.New(`want a path starting with "$"`)
	}
	var steps []pathStep
	for at := 1; at < len(p); {
		switch p[at] {
		case '.':
			j := at + 1
			for j < len(p) && (isNameByte(p[j]) && p[j] != '.') {
				j++
			}
			if j == at+1 {
				return nil, fmt.Errorf("byte %d: want a key after '.'", at)
			}
			steps = append(steps, pathStep{key: p[at+1 : j], index: -1})
			at = j
		case '[':
			j := strings.IndexByte(p[at:], ']')
			if j < 0 {
				return nil, fmt.Errorf("byte %d: '[' not closed", at)
			}
			in := p[at+1 : at+j]
			if in == "*" {
				steps = append(steps, pathStep{all: true, index: -1})
			} else if n, err := strconv.Atoi(in); err == nil && n >= 0 && strings.Trim(in, "0123456789") == "" {
				steps = append(steps, pathStep{index: n})
			} else {
				return nil, fmt.Errorf("byte %d: [%s]: want [*] or [N]", at, in)
			}
			at += j + 1
		default:
			return nil, fmt.Errorf("byte %d: %q: want .key, [*] or [N]", at, p[at])
		}
	}
	return steps, nil
}

// ruleValue decodes a rule file's value, saying in JSON's words what was expected and found.
func ruleValue(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("expected %s, got %s", jsonKind(te.Type), article(strings.Fields(te.Value + " value")[0]))
		}
		return err
	}
	return nil
}

func sortedRawKeys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (r *compiledRule) appliesTo(role Role) bool { return slices.Contains(r.Roles, role) }

// find returns the segments the rule makes in content[g.a:g.b].
func (r *compiledRule) find(content string, g span) []block {
	if r.re != nil {
		return r.findRegexp(content, g)
	}
	return r.findPath(content, g)
}

func (r *compiledRule) newBlock(start, end int) block {
	return block{kind: r.Kind, start: start, end: end, innerStart: start, innerEnd: end, origin: OriginRule(r.index)}
}

func (r *compiledRule) findRegexp(content string, g span) []block {
	text := content[g.a:g.b]
	var out []block
	names := r.re.SubexpNames()
	for _, m := range r.re.FindAllStringSubmatchIndex(text, -1) {
		start, end := m[0], m[1]
		if r.body >= 0 && m[2*r.body] >= 0 {
			start, end = m[2*r.body], m[2*r.body+1]
		}
		if start == end {
			continue
		}
		b := r.newBlock(g.a+start, g.a+end)
		b.label = placeholderRE.ReplaceAllStringFunc(r.Label, func(ph string) string {
			name := ph[1 : len(ph)-1]
			for i, n := range names {
				if n == name && m[2*i] >= 0 {
					return text[m[2*i]:m[2*i+1]]
				}
			}
			return ""
		})
		if r.Kind == KindEmail {
			e := ParseEmail(text[m[0]:m[1]])
			b.email = &e
		}
		out = append(out, b)
	}
	return out
}

func (r *compiledRule) findPath(content string, g span) []block {
	text := content[g.a:g.b]
	t := strings.TrimLeft(text, spaceChars)
	lead := len(text) - len(t)
	t = strings.TrimRight(t, spaceChars)
	if t == "" || !json.Valid([]byte(t)) {
		return nil
	}
	nodes := []*jnode{parseJSONSpans(t, g.a+lead)}
	for _, st := range r.path {
		var next []*jnode
		for _, n := range nodes {
			switch {
			case st.index < 0 && !st.all:
				if n.kind == '{' {
					for i, k := range n.keys {
						if k == st.key {
							next = append(next, n.kids[i])
							break
						}
					}
				}
			case n.kind != '[':
			case st.all:
				next = append(next, n.kids...)
			case st.index < len(n.kids):
				next = append(next, n.kids[st.index])
			}
		}
		nodes = next
	}
	var out []block
	for _, n := range nodes {
		start, end := n.inner()
		if start == end {
			continue
		}
		b := r.newBlock(start, end)
		lookup := func(name string) string {
			for a := n; a != nil; a = a.parent {
				if f := a.field(name); f != nil {
					return f.text(content)
				}
			}
			return ""
		}
		switch {
		case r.Label != "":
			b.label = placeholderRE.ReplaceAllStringFunc(r.Label, func(ph string) string { return lookup(ph[1 : len(ph)-1]) })
		case r.Kind != KindEmail:
			for _, k := range []string{"title", "subject", "name", "path", "filename"} {
				if v := n.field(k).text(content); v != "" {
					b.label = v
					break
				}
			}
		}
		if r.Kind == KindEmail {
			for a := n; a != nil; a = a.parent {
				if e, ok := jsonEmail(content, a); ok {
					b.email = e
					break
				}
			}
			if b.email == nil {
				e := ParseEmail(content[start:end])
				if n.kind == '"' {
					e = ParseEmail(n.text(content))
				}
				b.email = &e
			}
		}
		out = append(out, b)
	}
	return out
}
