package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// slowFindAll is findAll through regexp2 only.
func slowFindAll(re *regexp2.Regexp, s string) [][2]int {
	var out [][2]int
	runes := []rune(s)
	byteAt := make([]int, 0, len(runes)+1)
	for i := 0; i < len(s); {
		_, sz := utf8.DecodeRuneInString(s[i:])
		byteAt = append(byteAt, i)
		i += sz
	}
	byteAt = append(byteAt, len(s))
	m, err := re.FindRunesMatch(runes)
	for err == nil && m != nil {
		if m.Length > 0 {
			out = append(out, [2]int{byteAt[m.Index], byteAt[m.Index+m.Length]})
		}
		m, err = re.FindNextMatch(m)
	}
	return out
}

// TestFastSplitClasses checks the scanner's character classes against regexp2's \s, \p{L} and \p{N} on
// every code point, and its case-insensitive contractions against (?i:'x) for every letter used.
func TestFastSplitClasses(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if utf8.ValidRune(r) {
			all.WriteRune(r)
		}
	}
	text := all.String()
	runes := []rune(text)
	for _, c := range []struct {
		class string
		f     func(rune) bool
	}{{`\s`, isSpace}, {`\p{L}`, isLetter}, {`\p{N}`, isNumber}} {
		re := regexp2.MustCompile(c.class, regexp2.None)
		in := map[rune]bool{}
		m, err := re.FindRunesMatch(runes)
		for err == nil && m != nil {
			in[runes[m.Index]] = true
			m, err = re.FindNextMatch(m)
		}
		n := 0
		for _, r := range runes {
			if c.f(r) != in[r] {
				n++
				if n < 5 {
					t.Errorf("%U: scanner %s = %v, regexp2 %v", r, c.class, c.f(r), in[r])
				}
			}
		}
	}
	// (?i:'s) and the others compare lowercased runes: check the scanner's rule on every code point.
	for _, letter := range "strevmld" {
		re := regexp2.MustCompile(`^(?i:'`+string(letter)+`)$`, regexp2.None)
		n := 0
		for _, r := range runes {
			want, _ := re.MatchString("'" + string(r))
			if got := unicode.ToLower(r) == letter; got != want {
				n++
				if n < 5 {
					t.Errorf("(?i:'%c) on '%c (%U): scanner %v, regexp2 %v", letter, r, r, got, want)
				}
			}
		}
	}
}

var fastSplitCases = []string{
	"", "a", " ", "  ", "   a", "a  b", "a \n b", "\n\n\n", " \r\n\r\n x", "\t\tx", "x\t\t", "   ",
	"I'm you're he's WE'VE they'LL i'D can't 's 't 're 'x '", "ſ'S 'ſ 'K", "12345 1,234.5 -42 ①②③ ٣٤٥",
	"(hello) [world] {x} <y> 'quoted' \"dq\"", "日本語 の テキスト", "emoji 👍🏽 family 👨‍👩‍👧", "\u00a0nbsp\u00a0 \u3000x",
	"a\u200bb", "\x00\x01\x7f", "\xff\xfe invalid \xc3", "x\r\ny\rz\n", " ?!... --- ", "\n\t \r \n  a",
}

func TestFastSplitMatchesRegexp2(t *testing.T) {
	for pat, sc := range fastSplits {
		re := regexp2.MustCompile(pat, regexp2.None)
		for _, s := range fastSplitCases {
			got, want := findAll(re, s), slowFindAll(re, s)
			if !slices.Equal(got, want) {
				t.Errorf("pattern %.30q (llama3=%v) on %q:\n got %v\nwant %v", pat, sc.llama3, s, got, want)
			}
		}
	}
}

func FuzzFastSplit(f *testing.F) {
	for _, s := range fastSplitCases {
		f.Add(s)
	}
	var pats []string
	var res []*regexp2.Regexp
	for pat := range fastSplits {
		pats = append(pats, pat)
		res = append(res, regexp2.MustCompile(pat, regexp2.None))
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, re := range res {
			if got, want := findAll(re, s), slowFindAll(re, s); !slices.Equal(got, want) {
				t.Errorf("pattern %.30q on %q:\n got %v\nwant %v", pats[i], s, got, want)
			}
		}
	})
}
