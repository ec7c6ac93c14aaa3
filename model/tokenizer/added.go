package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// AddedToken is a token matched whole in the text before the model runs, such as <|im_start|>.
type AddedToken struct {
	// ID is the token id.
	ID int
	// Content is the text the token stands for.
	Content string
	// Special marks control tokens, which Decode drops when asked to skip special tokens.
	Special bool
	// SingleWord requires the match not to touch word characters on either side.
	SingleWord bool
	// LStrip and RStrip extend a match over the whitespace on its left and right.
	LStrip, RStrip bool
	// Normalized tokens are matched in the normalized text, the others in the raw input.
	Normalized bool
}

// trie is a byte trie over added-token contents, matched leftmost-longest in one pass.
type trie struct {
	next  []map[byte]int32
	token []int // index into added, -1 for none
}

func newTrie() *trie { return &trie{next: []map[byte]int32{nil}, token: []int{-1}} }

func (t *trie) insert(s string, tok int) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if t.next[n] == nil {
			t.next[n] = map[byte]int32{}
		}
		nx, ok := t.next[n][c]
		if !ok {
			nx = int32(len(t.next))
			t.next = append(t.next, nil)
			t.token = append(t.token, -1)
			t.next[n][c] = nx
		}
		n = int(nx)
	}
	if t.token[n] < 0 {
		t.token[n] = tok
	}
}

// longest returns the added token and end of the longest match starting at i, or -1.
func (t *trie) longest(s string, i int) (tok, end int) {
	tok, n := -1, 0
	for j := i; j < len(s); j++ {
		nx, ok := t.next[n][s[j]]
		if !ok {
			break
		}
		n = int(nx)
		if t.token[n] >= 0 {
			tok, end = t.token[n], j+1
		}
	}
	return tok, end
}

// addedMatch is one added token found in a text: bytes [a, b) (with stripped whitespace) and token.
type addedMatch struct {
	a, b int
	tok  int
}

func isWordByte(s string, i int, before bool) bool {
	var r rune
	if before {
		r, _ = utf8.DecodeLastRuneInString(s[:i])
	} else {
		r, _ = utf8.DecodeRuneInString(s[i:])
	}
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// find returns the added tokens in s, leftmost-longest, in O(len(s) × longest token).
func (t *trie) find(s string, added []AddedToken) []addedMatch {
	if len(t.next[0]) == 0 {
		return nil
	}
	var out []addedMatch
	root := t.next[0]
	for i := 0; i < len(s); i++ {
		if _, ok := root[s[i]]; !ok {
			continue
		}
		tok, end := t.longest(s, i)
		if tok < 0 {
			continue
		}
		at := added[tok]
		if at.SingleWord && ((i > 0 && isWordByte(s, i, true)) || (end < len(s) && isWordByte(s, end, false))) {
			continue
		}
		a, b := i, end
		if at.LStrip {
			lo := 0
			if len(out) > 0 {
				lo = out[len(out)-1].b
			}
			for a > lo {
				r, sz := utf8.DecodeLastRuneInString(s[:a])
				if !unicode.IsSpace(r) {
					break
				}
				a -= sz
			}
		}
		if at.RStrip {
			for b < len(s) {
				r, sz := utf8.DecodeRuneInString(s[b:])
				if !unicode.IsSpace(r) {
					break
				}
				b += sz
			}
		}
		out = append(out, addedMatch{a, b, tok})
		i = b - 1
	}
	return out
}
