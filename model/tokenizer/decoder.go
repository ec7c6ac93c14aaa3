package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decoder turns token strings back into text pieces (Hugging Face decode_chain).
type decoder interface {
	decode(tokens []string) []string
}

type decSeq []decoder

func (s decSeq) decode(t []string) []string {
	for _, d := range s {
		t = d.decode(t)
	}
	return t
}

type decByteLevel struct{}

func (decByteLevel) decode(t []string) []string {
	var b []byte
	for _, tok := range t {
		for _, r := range tok {
			if c, ok := charByte[r]; ok {
				b = append(b, c)
			} else {
				b = append(b, string(r)...)
			}
		}
	}
	return []string{strings.ToValidUTF8(string(b), "\uFFFD")}
}

type decReplace struct{ old, new string }

func (d decReplace) decode(t []string) []string {
	out := make([]string, len(t))
	for i, s := range t {
		out[i] = strings.ReplaceAll(s, d.old, d.new)
	}
	return out
}

// decByteFallback turns runs of <0xXX> tokens into the text they spell (U+FFFD per token if invalid).
type decByteFallback struct{}

func (decByteFallback) decode(t []string) []string {
	var out []string
	var pend []byte
	npend := 0
	flush := func() {
		if npend == 0 {
			return
		}
		if s := string(pend); utf8.ValidString(s) {
			out = append(out, s)
		} else {
			for range npend {
				out = append(out, "\uFFFD")
			}
		}
		pend, npend = nil, 0
	}
	for _, s := range t {
		if len(s) == 6 && strings.HasPrefix(s, "<0x") && s[5] == '>' {
			if v, err := strconv.ParseUint(s[3:5], 16, 8); err == nil {
				pend = append(pend, byte(v))
				npend++
				continue
			}
		}
		flush()
		out = append(out, s)
	}
	flush()
	return out
}

type decFuse struct{}

func (decFuse) decode(t []string) []string { return []string{strings.Join(t, "")} }

type decStrip struct {
	content    string
	start, end int
}

func (d decStrip) decode(t []string) []string {
	out := make([]string, len(t))
	for i, s := range t {
		for k := 0; k < d.start && strings.HasPrefix(s, d.content); k++ {
			s = s[len(d.content):]
		}
		for k := 0; k < d.end && strings.HasSuffix(s, d.content); k++ {
			s = s[:len(s)-len(d.content)]
		}
		out[i] = s
	}
	return out
}

type decMetaspace struct {
	repl      string
	stripLead bool
}

func (d decMetaspace) decode(t []string) []string {
	out := make([]string, len(t))
	for i, s := range t {
		s = strings.ReplaceAll(s, d.repl, " ")
		if i == 0 && d.stripLead {
			s = strings.TrimPrefix(s, " ")
		}
		out[i] = s
	}
	return out
}

func parseDecoder(raw json.RawMessage, field string) (decoder, error) {
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
			D []json.RawMessage `json:"decoders"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		var seq decSeq
		for i, r := range v.D {
			d, err := parseDecoder(r, fmt.Sprintf("%s.decoders[%d]", field, i))
			if err != nil {
				return nil, err
			}
			if d != nil {
				seq = append(seq, d)
			}
		}
		return seq, nil
	case "ByteLevel":
		return decByteLevel{}, nil
	case "ByteFallback":
		return decByteFallback{}, nil
	case "Fuse":
		return decFuse{}, nil
	case "Replace":
		var v struct {
			Pattern pattern `json:"pattern"`
			Content string  `json:"content"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		if v.Pattern.String == nil {
			return nil, fmt.Errorf("%s.pattern: only String patterns: %w", field, ErrUnsupported)
		}
		return decReplace{*v.Pattern.String, v.Content}, nil
	case "Strip":
		var v struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		return decStrip{v.Content, v.Start, v.Stop}, nil
	case "Metaspace":
		v := struct {
			Replacement    string `json:"replacement"`
			PrependScheme  string `json:"prepend_scheme"`
			AddPrefixSpace *bool  `json:"add_prefix_space"`
		}{}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, bad(err)
		}
		d := decMetaspace{repl: v.Replacement, stripLead: true}
		if d.repl == "" {
			d.repl = "\u2581"
		}
		if v.PrependScheme == "never" || (v.PrependScheme == "" && v.AddPrefixSpace != nil && !*v.AddPrefixSpace) {
			d.stripLead = false
		}
		return d, nil
	}
	return nil, fmt.Errorf("%s: type %q: %w", field, t.Type, ErrUnsupported)
}
