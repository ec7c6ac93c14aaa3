package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// gpt2Pattern is the split regex of the ByteLevel pre-tokenizer with use_regex.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// findAll returns the byte ranges of the non-overlapping matches of re in s.
func findAll(re *regexp2.Regexp, s string) [][2]int {
	// Decode by hand so that an invalid byte is one rune (U+FFFD) of one byte, and byteAt[i] is the
	// byte offset of rune i.
	runes := make([]rune, 0, len(s))
	byteAt := make([]int, 0, len(s)+1)
	for i := 0; i < len(s); {
		r, sz := utf8.DecodeRuneInString(s[i:])
		runes = append(runes, r)
		byteAt = append(byteAt, i)
		i += sz
	}
	byteAt = append(byteAt, len(s))
	var out [][2]int
	if sc, ok := fastSplits[re.String()]; ok {
		out = sc.matches(runes, out)
		for i, m := range out {
			out[i] = [2]int{byteAt[m[0]], byteAt[m[1]]}
		}
		return out
	}
	m, err := re.FindRunesMatch(runes)
	for err == nil && m != nil {
		if m.Length > 0 {
			out = append(out, [2]int{byteAt[m.Index], byteAt[m.Index+m.Length]})
		}
		m, err = re.FindNextMatch(m)
	}
	return out
}

// preTokenizer splits a piece into smaller pieces (and may transform them).
type preTokenizer interface {
	split(pieces []nstr, first bool) []nstr
}

type preSeq []preTokenizer

func (s preSeq) split(p []nstr, first bool) []nstr {
	for _, x := range s {
		p = x.split(p, first)
	}
	return p
}

// splitBehavior is how a Split pre-tokenizer treats the matches of its pattern.
type splitBehavior int

const (
	behRemoved splitBehavior = iota
	behIsolated
	behMergedWithPrevious
	behMergedWithNext
	behContiguous
)

type preSplit struct {
	str    string
	re     *regexp2.Regexp
	beh    splitBehavior
	invert bool
}

type seg struct {
	a, b  int
	match bool
}

func (p preSplit) matches(s string) [][2]int {
	if p.re != nil {
		return findAll(p.re, s)
	}
	if p.str == "" {
		return nil
	}
	var out [][2]int
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], p.str)
		if j < 0 {
			break
		}
		out = append(out, [2]int{i + j, i + j + len(p.str)})
		i += j + len(p.str)
	}
	return out
}

// splitSegs applies a split behavior to the matches ms of a string of length n.
func splitSegs(n int, ms [][2]int, beh splitBehavior, invert bool) []seg {
	var segs []seg
	prev := 0
	for _, m := range ms {
		if m[0] > prev {
			segs = append(segs, seg{prev, m[0], invert})
		}
		segs = append(segs, seg{m[0], m[1], !invert})
		prev = m[1]
	}
	if prev < n {
		segs = append(segs, seg{prev, n, invert})
	}
	var out []seg
	switch beh {
	case behRemoved:
		for _, s := range segs {
			if !s.match {
				out = append(out, s)
			}
		}
	case behIsolated:
		out = segs
	case behMergedWithPrevious:
		prevMatch := false
		for _, s := range segs {
			if s.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].b = s.b
			} else {
				out = append(out, seg{s.a, s.b, false})
			}
			prevMatch = s.match
		}
	case behMergedWithNext:
		prevMatch := false
		for i := len(segs) - 1; i >= 0; i-- {
			s := segs[i]
			if s.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].a = s.a
			} else {
				out = append(out, seg{s.a, s.b, false})
			}
			prevMatch = s.match
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	case behContiguous:
		prevMatch := false
		for i, s := range segs {
			if i > 0 && s.match == prevMatch {
				out[len(out)-1].b = s.b
			} else {
				out = append(out, s)
			}
			prevMatch = s.match
		}
	}
	return out
}

func (p preSplit) split(pieces []nstr, _ bool) []nstr {
	var out []nstr
	for _, pc := range pieces {
		for _, s := range splitSegs(len(pc.s), p.matches(pc.s), p.beh, p.invert) {
			if s.b > s.a {
				out = append(out, pc.sub(s.a, s.b))
			}
		}
	}
	return out
}

// preByteLevel maps each byte to its GPT-2 byte-level character, after an optional GPT-2 regex split.
type preByteLevel struct {
	addPrefixSpace bool
	re             *regexp2.Regexp // nil without use_regex
}

func (p preByteLevel) split(pieces []nstr, _ bool) []nstr {
	if p.re != nil {
		pieces = preSplit{re: p.re, beh: behIsolated}.split(pieces, false)
	}
	out := make([]nstr, 0, len(pieces))
	for _, pc := range pieces {
		if p.addPrefixSpace && !strings.HasPrefix(pc.s, " ") {
			pc = pc.prepend(" ")
		}
		out = append(out, byteLevelMap(pc))
	}
	return out
}

// byteLevelMap rewrites every byte of n as its byte-level character; each keeps its character's span.
func byteLevelMap(n nstr) nstr {
	var b builder
	b.b.Grow(len(n.s) * 2)
	b.align = make([]span, 0, len(n.s)*2)
	for i := 0; i < len(n.s); i++ {
		b.add(byteChar[n.s[i]], n.align[i])
	}
	return b.done()
}

// preMetaspace replaces spaces by the replacement character, prepends it, and splits before it.
type preMetaspace struct {
	repl    string
	prepend int // 0 always, 1 first, 2 never
	splitOn bool
}

func (p preMetaspace) split(pieces []nstr, first bool) []nstr {
	var out []nstr
	for i, pc := range pieces {
		pc = pc.replaceAll(" ", p.repl)
		if !strings.HasPrefix(pc.s, p.repl) {
			if p.prepend == 0 || (p.prepend == 1 && first && i == 0) {
				pc = pc.prepend(p.repl)
			}
		}
		if !p.splitOn {
			if len(pc.s) > 0 {
				out = append(out, pc)
			}
			continue
		}
		out = append(out, preSplit{str: p.repl, beh: behMergedWithNext}.split([]nstr{pc}, false)...)
	}
	return out
}

// preFunc splits on a character class (Whitespace, WhitespaceSplit, Digits, Punctuation).
type preFunc struct {
	re *regexp2.Regexp
	fn func(r rune) bool
	b  splitBehavior
}

func (p preFunc) split(pieces []nstr, _ bool) []nstr {
	if p.re != nil {
		return preSplit{re: p.re, beh: p.b}.split(pieces, false)
	}
	var out []nstr
	for _, pc := range pieces {
		var ms [][2]int
		for i := 0; i < len(pc.s); {
			r, sz := utf8.DecodeRuneInString(pc.s[i:])
			if p.fn(r) {
				ms = append(ms, [2]int{i, i + sz})
			}
			i += sz
		}
		for _, s := range splitSegs(len(pc.s), ms, p.b, false) {
			if s.b > s.a {
				out = append(out, pc.sub(s.a, s.b))
			}
		}
	}
	return out
}

func parseBehavior(s, field string) (splitBehavior, error) {
	switch strings.ToLower(s) {
	case "removed":
		return behRemoved, nil
	case "isolated":
		return behIsolated, nil
	case "mergedwithprevious":
		return behMergedWithPrevious, nil
	case "mergedwithnext":
		return behMergedWithNext, nil
	case "contiguous":
		return behContiguous, nil
	}
	return 0, fmt.Errorf("%s.behavior %q: %w", field, s, ErrUnsupported)
}

func parsePreTokenizer(raw json.RawMessage, field string) (preTokenizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var t typed
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", field, ErrMalformed, err)
	}
	bad := func(err error) error { return fmt.Errorf("%s: %w: %v", field, ErrMalformed, err) }
	switch t.Type {
	case "Sequence":
		var v struct {
			P []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		var seq preSeq
		for i, r := range v.P {
			p, err := parsePreTokenizer(r, fmt.Sprintf("%s.pretokenizers[%d]", field, i))
			if err != nil {
				return nil, err
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, nil
	case "Split":
		var v struct {
			Pattern  pattern `json:"pattern"`
			Behavior string  `json:"behavior"`
			Invert   bool    `json:"invert"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		s, re, err := v.Pattern.compile(field + ".pattern")
		if err != nil {
			return nil, err
		}
		beh, err := parseBehavior(v.Behavior, field)
		if err != nil {
			return nil, err
		}
		return preSplit{str: s, re: re, beh: beh, invert: v.Invert}, nil
	case "ByteLevel":
		v := struct {
			AddPrefixSpace bool  `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}{}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		p := preByteLevel{addPrefixSpace: v.AddPrefixSpace}
		if v.UseRegex == nil || *v.UseRegex {
			p.re = regexp2.MustCompile(gpt2Pattern, regexp2.None)
		}
		return p, nil
	case "Metaspace":
		v := struct {
			Replacement    string `json:"replacement"`
			PrependScheme  string `json:"prepend_scheme"`
			AddPrefixSpace *bool  `json:"add_prefix_space"`
			Split          *bool  `json:"split"`
		}{}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		p := preMetaspace{repl: v.Replacement, splitOn: v.Split == nil || *v.Split}
		if p.repl == "" {
			p.repl = "\u2581"
		}
		switch v.PrependScheme {
		case "always":
			p.prepend = 0
		case "first":
			p.prepend = 1
		case "never":
			p.prepend = 2
		case "":
			if v.AddPrefixSpace != nil && !*v.AddPrefixSpace {
				p.prepend = 2
			}
		default:
			return nil, fmt.Errorf("%s.prepend_scheme %q: %w", field, v.PrependScheme, ErrUnsupported)
		}
		return p, nil
	case "Whitespace":
		return preFunc{re: regexp2.MustCompile(`\w+|[^\w\s]+`, regexp2.None), b: behIsolated}, nil
	case "WhitespaceSplit":
		return preFunc{fn: unicode.IsSpace, b: behRemoved}, nil
	case "Digits":
		var v struct {
			Individual bool `json:"individual_digits"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		if v.Individual {
			return preFunc{fn: unicode.IsDigit, b: behIsolated}, nil
		}
		return preFunc{fn: unicode.IsDigit, b: behContiguous}, nil
	case "Punctuation":
		return preFunc{fn: func(r rune) bool { return unicode.IsPunct(r) || (r < 128 && unicode.IsSymbol(r)) }, b: behIsolated}, nil
	}
	return nil, fmt.Errorf("%s: type %q: %w", field, t.Type, ErrUnsupported)
}
