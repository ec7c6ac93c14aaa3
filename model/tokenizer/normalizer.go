package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/dlclark/regexp2"
	"golang.org/x/text/unicode/norm"
)

// normalizer transforms text before pre-tokenization, keeping alignments to the original.
type normalizer interface {
	normalize(n nstr) nstr
}

type normSeq []normalizer

func (s normSeq) normalize(n nstr) nstr {
	for _, x := range s {
		n = x.normalize(n)
	}
	return n
}

type normForm struct{ f norm.Form }

func (f normForm) normalize(n nstr) nstr { return n.unicodeNorm(f.f) }

type normLower struct{}

func (normLower) normalize(n nstr) nstr {
	return n.mapChars(func(r rune) string { return strings.ToLower(string(r)) })
}

type normPrepend struct{ s string }

func (p normPrepend) normalize(n nstr) nstr { return n.prepend(p.s) }

type normReplace struct {
	old string          // string pattern, or
	re  *regexp2.Regexp // regex pattern
	new string
}

func (r normReplace) normalize(n nstr) nstr {
	if r.re == nil {
		return n.replaceAll(r.old, r.new)
	}
	ms := findAll(r.re, n.s)
	if len(ms) == 0 {
		return n
	}
	var b builder
	pos := 0
	for _, m := range ms {
		b.addNstr(n.sub(pos, m[0]))
		replaceChars(&b, n.sub(m[0], m[1]), r.new)
		pos = m[1]
	}
	b.addNstr(n.sub(pos, len(n.s)))
	return b.done()
}

type normStrip struct{ left, right bool }

func (s normStrip) normalize(n nstr) nstr {
	a, b := 0, len(n.s)
	if s.left {
		a = len(n.s) - len(strings.TrimLeftFunc(n.s, unicode.IsSpace))
	}
	if s.right {
		b = len(strings.TrimRightFunc(n.s, unicode.IsSpace))
	}
	if a > b {
		a = b
	}
	return n.sub(a, b)
}

// pattern is the {"String": s} or {"Regex": r} of Split and Replace.
type pattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p pattern) compile(field string) (string, *regexp2.Regexp, error) {
	switch {
	case p.String != nil:
		return *p.String, nil, nil
	case p.Regex != nil:
		re, err := regexp2.Compile(*p.Regex, regexp2.None)
		if err != nil {
			return "", nil, fmt.Errorf("%s: regex %q: %w: %v", field, *p.Regex, ErrMalformed, err)
		}
		return "", re, nil
	}
	return "", nil, fmt.Errorf("%s: pattern has neither String nor Regex: %w", field, ErrMalformed)
}

type typed struct {
	Type string `json:"type"`
}

func parseNormalizer(raw json.RawMessage, field string) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var t typed
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", field, ErrMalformed, err)
	}
	switch t.Type {
	case "Sequence":
		var v struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s: %w: %v", field, ErrMalformed, err)
		}
		var seq normSeq
		for i, r := range v.Normalizers {
			n, err := parseNormalizer(r, fmt.Sprintf("%s.normalizers[%d]", field, i))
			if err != nil {
				return nil, err
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	case "NFC":
		return normForm{norm.NFC}, nil
	case "NFD":
		return normForm{norm.NFD}, nil
	case "NFKC":
		return normForm{norm.NFKC}, nil
	case "NFKD":
		return normForm{norm.NFKD}, nil
	case "Lowercase":
		return normLower{}, nil
	case "Prepend":
		var v struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s.prepend: %w: %v", field, ErrMalformed, err)
		}
		return normPrepend{v.Prepend}, nil
	case "Replace":
		var v struct {
			Pattern pattern `json:"pattern"`
			Content string  `json:"content"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s: %w: %v", field, ErrMalformed, err)
		}
		s, re, err := v.Pattern.compile(field + ".pattern")
		if err != nil {
			return nil, err
		}
		return normReplace{old: s, re: re, new: v.Content}, nil
	case "Strip":
		var v struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s: %w: %v", field, ErrMalformed, err)
		}
		return normStrip{v.Left, v.Right}, nil
	}
	return nil, fmt.Errorf("%s: type %q: %w", field, t.Type, ErrUnsupported)
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}
