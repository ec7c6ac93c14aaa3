package tokenizer

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// span is a half-open byte range [lo, hi) of the original input text.
type span struct{ lo, hi int }

// nstr is a piece of text under transformation (Hugging Face's NormalizedString): the current text,
// and for each of its bytes the span of the original input it comes from. All bytes of a character
// carry the same span.
type nstr struct {
	s     string
	align []span
}

// newNstr returns the piece s, which starts at byte base of the original input.
func newNstr(s string, base int) nstr {
	al := make([]span, len(s))
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		sp := span{base + i, base + i + n}
		for j := 0; j < n; j++ {
			al[i+j] = sp
		}
		i += n
	}
	return nstr{s: s, align: al}
}

// sub returns the bytes [a, b) of n.
func (n nstr) sub(a, b int) nstr { return nstr{s: n.s[a:b], align: n.align[a:b]} }

// origin returns the original span of the bytes [a, b) of n.
func (n nstr) origin(a, b int) span {
	if a >= b || a >= len(n.align) {
		if a > 0 && a <= len(n.align) {
			e := n.align[a-1].hi
			return span{e, e}
		}
		return span{0, 0}
	}
	return span{n.align[a].lo, n.align[b-1].hi}
}

// builder accumulates a transformed nstr.
type builder struct {
	b     strings.Builder
	align []span
}

func (b *builder) add(s string, sp span) {
	b.b.WriteString(s)
	for range len(s) {
		b.align = append(b.align, sp)
	}
}

func (b *builder) addNstr(n nstr) {
	b.b.WriteString(n.s)
	b.align = append(b.align, n.align...)
}

func (b *builder) done() nstr { return nstr{s: b.b.String(), align: b.align} }

// charSpan returns the original span of the character starting at byte i of n.
func (n nstr) charSpan(i int) span { return n.align[i] }

// replaceChars rewrites the characters of a matched region in Hugging Face's way: output character k
// takes the span of input character k, extra output characters take the span of the character before
// them, and input characters left over are dropped.
func replaceChars(b *builder, in nstr, out string) {
	var inSpans []span
	for i := 0; i < len(in.s); {
		_, sz := utf8.DecodeRuneInString(in.s[i:])
		inSpans = append(inSpans, in.align[i])
		i += sz
	}
	k := 0
	var prev span
	if len(b.align) > 0 {
		prev = b.align[len(b.align)-1]
	}
	for j := 0; j < len(out); {
		_, sz := utf8.DecodeRuneInString(out[j:])
		sp := prev
		if k < len(inSpans) {
			sp = inSpans[k]
		}
		b.add(out[j:j+sz], sp)
		prev = sp
		k++
		j += sz
	}
}

// unicodeNorm applies a Unicode normal form, segment by segment, keeping alignments.
func (n nstr) unicodeNorm(f norm.Form) nstr {
	if f.IsNormalString(n.s) {
		return n
	}
	var b builder
	var it norm.Iter
	it.InitString(f, n.s)
	pos := 0
	for !it.Done() {
		seg := it.Next()
		end := it.Pos()
		in := n.sub(pos, end)
		if string(seg) == in.s {
			b.addNstr(in)
		} else {
			normSegment(&b, in, string(seg))
		}
		pos = end
	}
	return b.done()
}

// replaceAll replaces every non-overlapping occurrence of old by repl.
func (n nstr) replaceAll(old, repl string) nstr {
	if old == "" || !strings.Contains(n.s, old) {
		return n
	}
	var b builder
	for i := 0; i < len(n.s); {
		j := strings.Index(n.s[i:], old)
		if j < 0 {
			b.addNstr(n.sub(i, len(n.s)))
			break
		}
		b.addNstr(n.sub(i, i+j))
		replaceChars(&b, n.sub(i+j, i+j+len(old)), repl)
		i += j + len(old)
	}
	return b.done()
}

// prepend adds s in front of a non-empty n; the added characters take the span of n's first character.
func (n nstr) prepend(s string) nstr {
	if len(n.s) == 0 {
		return n
	}
	var b builder
	b.add(s, n.align[0])
	b.addNstr(n)
	return b.done()
}

// mapChars applies a character mapping (such as lowercasing) that keeps one output string per input
// character.
func (n nstr) mapChars(f func(r rune) string) nstr {
	var b builder
	for i := 0; i < len(n.s); {
		r, sz := utf8.DecodeRuneInString(n.s[i:])
		out := f(r)
		if out == n.s[i:i+sz] {
			b.addNstr(n.sub(i, i+sz))
		} else {
			replaceChars(&b, n.sub(i, i+sz), out)
		}
		i += sz
	}
	return b.done()
}

// normSegment aligns a normalized segment like Hugging Face (through the unicode-normalization-alignments
// crate): when characters compose, the first output character absorbs the surplus input characters
// that follow it, whichever they were, and each later output character takes the span of the input
// character at its shifted position; when the output is longer, the extra characters are insertions
// that take the span of the character before them.
func normSegment(b *builder, in nstr, out string) {
	var inSpans []span
	for i := 0; i < len(in.s); {
		_, sz := utf8.DecodeRuneInString(in.s[i:])
		inSpans = append(inSpans, in.align[i])
		i += sz
	}
	nOut := utf8.RuneCountInString(out)
	shift := max(len(inSpans)-nOut, 0)
	k := 0
	var prev span
	for j := 0; j < len(out); {
		_, sz := utf8.DecodeRuneInString(out[j:])
		sp := prev
		idx := k
		if k > 0 {
			idx = k + shift
		}
		if idx < len(inSpans) {
			sp = inSpans[idx]
		}
		b.add(out[j:j+sz], sp)
		prev = sp
		k++
		j += sz
	}
}
