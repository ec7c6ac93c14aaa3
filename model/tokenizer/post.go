package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// postProcessor adds special tokens around an encoding and may adjust offsets.
type postProcessor interface {
	process(e *Encoding, addSpecial bool, tokens func(int) string)
}

type postSeq []postProcessor

func (s postSeq) process(e *Encoding, addSpecial bool, tokens func(int) string) {
	for _, p := range s {
		p.process(e, addSpecial, tokens)
	}
}

// postTemplate is TemplateProcessing for single sequences: ids to put before and after.
type postTemplate struct {
	before, after []int
}

func (p postTemplate) process(e *Encoding, addSpecial bool, _ func(int) string) {
	if !addSpecial {
		return
	}
	wrap(e, p.before, p.after)
}

func wrap(e *Encoding, before, after []int) {
	if len(before) == 0 && len(after) == 0 {
		return
	}
	n := len(before) + len(e.IDs) + len(after)
	ids := make([]int, 0, n)
	offs := make([][2]int, 0, n)
	for _, id := range before {
		ids = append(ids, id)
		offs = append(offs, [2]int{0, 0})
	}
	ids = append(ids, e.IDs...)
	offs = append(offs, e.Offsets...)
	for _, id := range after {
		ids = append(ids, id)
		offs = append(offs, [2]int{0, 0})
	}
	e.IDs, e.Offsets = ids, offs
}

// postByteLevel trims the offsets of byte-level tokens so that they exclude leading and trailing
// spaces (trim_offsets), as Hugging Face's ByteLevel post-processor does.
type postByteLevel struct {
	trim, addPrefixSpace bool
}

func (p postByteLevel) process(e *Encoding, _ bool, tokens func(int) string) {
	if !p.trim {
		return
	}
	trimByteLevel(e, p.addPrefixSpace, tokens)
}

const byteLevelSpace = "\u0120" // Ġ, the byte-level character of ' '

func trimByteLevel(e *Encoding, addPrefixSpace bool, tokens func(int) string) {
	for i, id := range e.IDs {
		tok := tokens(id)
		o := &e.Offsets[i]
		lead := 0
		for t := tok; strings.HasPrefix(t, byteLevelSpace); t = t[len(byteLevelSpace):] {
			lead++
		}
		trail := 0
		if lead*len(byteLevelSpace) < len(tok) {
			for t := tok; strings.HasSuffix(t, byteLevelSpace); t = t[:len(t)-len(byteLevelSpace)] {
				trail++
			}
		}
		if lead > 0 {
			first := i == 0 || o[0] == 0
			if first && addPrefixSpace && lead == 1 {
				lead = 0
			}
			o[0] = min(o[0]+lead, o[1])
		}
		if trail > 0 && o[1] >= trail {
			o[1] = max(o[1]-trail, o[0])
		}
	}
}

// postRoberta wraps a sequence as cls … sep, after optional byte-level offset trimming.
type postRoberta struct {
	cls, sep             int
	trim, addPrefixSpace bool
}

func (p postRoberta) process(e *Encoding, addSpecial bool, tokens func(int) string) {
	if p.trim {
		trimByteLevel(e, p.addPrefixSpace, tokens)
	}
	if addSpecial {
		wrap(e, []int{p.cls}, []int{p.sep})
	}
}

func parsePostProcessor(raw json.RawMessage, field string, vocab func(string) (int, bool)) (postProcessor, error) {
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
			P []json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		var seq postSeq
		for i, r := range v.P {
			p, err := parsePostProcessor(r, fmt.Sprintf("%s.processors[%d]", field, i), vocab)
			if err != nil {
				return nil, err
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, nil
	case "TemplateProcessing":
		var v struct {
			Single []struct {
				SpecialToken *struct {
					ID string `json:"id"`
				} `json:"SpecialToken"`
				Sequence *struct {
					ID string `json:"id"`
				} `json:"Sequence"`
			} `json:"single"`
			Special map[string]struct {
				IDs []int `json:"ids"`
			} `json:"special_tokens"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		var p postTemplate
		seen := false
		for i, it := range v.Single {
			switch {
			case it.Sequence != nil:
				seen = true
			case it.SpecialToken != nil:
				st, ok := v.Special[it.SpecialToken.ID]
				if !ok {
					return nil, fmt.Errorf("%s.single[%d]: special token %q not in special_tokens: %w", field, i, it.SpecialToken.ID, ErrMalformed)
				}
				if seen {
					p.after = append(p.after, st.IDs...)
				} else {
					p.before = append(p.before, st.IDs...)
				}
			default:
				return nil, fmt.Errorf("%s.single[%d]: neither SpecialToken nor Sequence: %w", field, i, ErrMalformed)
			}
		}
		return p, nil
	case "ByteLevel":
		v := struct {
			Trim           *bool `json:"trim_offsets"`
			AddPrefixSpace bool  `json:"add_prefix_space"`
		}{}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		return postByteLevel{trim: v.Trim == nil || *v.Trim, addPrefixSpace: v.AddPrefixSpace}, nil
	case "RobertaProcessing", "BertProcessing":
		var v struct {
			Sep            [2]any `json:"sep"`
			Cls            [2]any `json:"cls"`
			Trim           *bool  `json:"trim_offsets"`
			AddPrefixSpace *bool  `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		id := func(x [2]any, name string) (int, error) {
			if f, ok := x[1].(float64); ok {
				return int(f), nil
			}
			if s, ok := x[0].(string); ok {
				if id, ok := vocab(s); ok {
					return id, nil
				}
			}
			return 0, fmt.Errorf("%s.%s: %w", field, name, ErrMalformed)
		}
		cls, err := id(v.Cls, "cls")
		if err != nil {
			return nil, err
		}
		sep, err := id(v.Sep, "sep")
		if err != nil {
			return nil, err
		}
		p := postRoberta{cls: cls, sep: sep}
		if t.Type == "RobertaProcessing" {
			p.trim = v.Trim == nil || *v.Trim
			p.addPrefixSpace = v.AddPrefixSpace == nil || *v.AddPrefixSpace
		}
		return p, nil
	}
	return nil, fmt.Errorf("%s: type %q: %w", field, t.Type, ErrUnsupported)
}
