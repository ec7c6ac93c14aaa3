package tokenizer

import "unicode"

// splitScanner matches one of the split regexes that byte-level tokenizers use, without a regex engine:
// the GPT-2 pattern and the Llama-3 / Qwen2 one. It finds exactly the matches regexp2 finds for the
// pattern (TestFastSplitMatchesRegexp2 and FuzzFastSplit compare the two); regexp2 allocates per match
// and dominated the time of a byte-level tokenizer.
type splitScanner struct {
	llama3   bool // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigit}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|...
	maxDigit int  // the n of \p{N}{1,n}; 0 for \p{N} (one digit)
}

// fastSplits maps a pattern to its scanner (read-only).
var fastSplits = map[string]splitScanner{
	gpt2Pattern: {},
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: {llama3: true, maxDigit: 3},
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:      {llama3: true, maxDigit: 1},
}

// The character classes as regexp2 defines them: \s is unicode.IsSpace, \p{L} and \p{N} the Unicode
// categories.
func isSpace(r rune) bool  { return unicode.IsSpace(r) }
func isLetter(r rune) bool { return unicode.IsLetter(r) }
func isNumber(r rune) bool { return unicode.IsNumber(r) }
func isOther(r rune) bool  { return !isSpace(r) && !isLetter(r) && !isNumber(r) }
func isCRLF(r rune) bool   { return r == '\r' || r == '\n' }

// matches returns the rune ranges of the non-overlapping matches in r.
func (sc splitScanner) matches(r []rune, out [][2]int) [][2]int {
	for i := 0; i < len(r); {
		j := sc.next(r, i)
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

// run returns the end of the run of runes from i that satisfy f.
func run(r []rune, i int, f func(rune) bool) int {
	for i < len(r) && f(r[i]) {
		i++
	}
	return i
}

// next returns the end of the match that starts at i. Every rune starts a match of these patterns.
func (sc splitScanner) next(r []rune, i int) int {
	n := len(r)
	c := r[i]
	if c == '\'' && i+1 < n {
		if l := sc.contraction(r, i+1); l > 0 {
			return i + 1 + l
		}
	}
	hasNext := i+1 < n
	if !sc.llama3 {
		// ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`
		for _, f := range [...]func(rune) bool{isLetter, isNumber, isOther} {
			if f(c) {
				return run(r, i+1, f)
			}
			if c == ' ' && hasNext && f(r[i+1]) {
				return run(r, i+2, f)
			}
		}
	} else {
		// `[^\r\n\p{L}\p{N}]?\p{L}+`
		if isLetter(c) {
			return run(r, i+1, isLetter)
		}
		if !isCRLF(c) && !isNumber(c) && hasNext && isLetter(r[i+1]) {
			return run(r, i+2, isLetter)
		}
		// `\p{N}{1,maxDigit}`
		if isNumber(c) {
			k := i + 1
			for k < n && k-i < sc.maxDigit && isNumber(r[k]) {
				k++
			}
			return k
		}
		// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
		start := -1
		if isOther(c) {
			start = i
		} else if c == ' ' && hasNext && isOther(r[i+1]) {
			start = i + 1
		}
		if start >= 0 {
			return run(r, run(r, start+1, isOther), isCRLF)
		}
		// `\s*[\r\n]+`: the whitespace run up to and including its last \r or \n.
		if isSpace(c) {
			k := run(r, i+1, isSpace)
			for m := k - 1; m >= i; m-- {
				if isCRLF(r[m]) {
					return m + 1
				}
			}
		}
	}
	// `\s+(?!\S)|\s+`: a whitespace run, less its last rune when a non-space follows (unless that would
	// leave nothing).
	k := run(r, i+1, isSpace)
	if k < n && k-1 > i {
		return k - 1
	}
	return k
}

// contraction returns the length of the contraction suffix ("s", "re", ...) at r[i:], or 0.
func (sc splitScanner) contraction(r []rune, i int) int {
	at := func(k int, want rune) bool {
		if k >= len(r) {
			return false
		}
		if sc.llama3 {
			return unicode.ToLower(r[k]) == want
		}
		return r[k] == want
	}
	switch {
	case at(i, 's'), at(i, 't'), at(i, 'm'), at(i, 'd'):
		return 1
	case at(i, 'r') && at(i+1, 'e'), at(i, 'v') && at(i+1, 'e'), at(i, 'l') && at(i+1, 'l'):
		return 2
	}
	return 0
}
