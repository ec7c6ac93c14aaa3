package tokenizer_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentlens/agentlens/model/tokenizer"
)

// fuzzSeeds are the corpus strings plus a few edge cases.
func fuzzSeeds(f *testing.F) {
	for _, s := range loadCorpus(f).Strings {
		f.Add(s)
	}
	for _, s := range []string{"\xff\xfe", "a\xc3", "<|im_start|><|im_start", "\u2581\u2581 ", "<0x41>", "\r\n\u00a0\u200b"} {
		f.Add(s)
	}
}

// checkEncoding checks what must hold for every input, valid UTF-8 or not: one offset pair per id,
// offsets inside the text, byte offsets on rune boundaries (a token inside a multi-byte character covers
// the whole character) and char offsets equal to the byte offsets counted in runes.
func checkEncoding(t *testing.T, tok *tokenizer.Tokenizer, s string, e tokenizer.Encoding) {
	t.Helper()
	if len(e.Offsets) != len(e.IDs) || len(e.CharOffsets) != len(e.IDs) {
		t.Fatalf("Encode(%q): %d ids, %d offsets, %d char offsets", s, len(e.IDs), len(e.Offsets), len(e.CharOffsets))
	}
	for i, o := range e.Offsets {
		if o[0] < 0 || o[0] > o[1] || o[1] > len(s) {
			t.Fatalf("Encode(%q): token %d offsets %v outside [0, %d]", s, i, o, len(s))
		}
		if !utf8.ValidString(s) {
			continue
		}
		if o[0] < len(s) && !utf8.RuneStart(s[o[0]]) || o[1] < len(s) && !utf8.RuneStart(s[o[1]]) {
			t.Fatalf("Encode(%q): token %d byte offsets %v split a character", s, i, o)
		}
		want := [2]int{utf8.RuneCountInString(s[:o[0]]), utf8.RuneCountInString(s[:o[1]])}
		if e.CharOffsets[i] != want {
			t.Fatalf("Encode(%q): token %d char offsets %v, want %v (byte offsets %v)", s, i, e.CharOffsets[i], want, o)
		}
		if id := e.IDs[i]; id < 0 || id >= tok.VocabSize() {
			t.Fatalf("Encode(%q): token %d id %d outside the vocabulary (%d)", s, i, id, tok.VocabSize())
		}
	}
}

// byteLevelChar returns GPT-2's printable character for byte b (bytes_to_unicode of Hugging Face).
func byteLevelChar(b byte) string {
	if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE {
		return string(rune(b))
	}
	n := 0
	for c := 0; c < int(b); c++ {
		if !(c >= '!' && c <= '~' || c >= 0xA1 && c <= 0xAC || c >= 0xAE) {
			n++
		}
	}
	return string(rune(256 + n))
}

// FuzzEncodeSmolLM2 checks that the byte-level tokenizer of SmolLM2 (no normalizer) is lossless:
// Decode(Encode(s)) == s for every valid UTF-8 s whose bytes all have a byte token. (SmolLM2's
// vocabulary lacks 21 of the 256, such as 0x04; Hugging Face drops those bytes too.)
func FuzzEncodeSmolLM2(f *testing.F) {
	fuzzSeeds(f)
	tok, err := tokenizer.FromGGUFMetadata(smolMeta(f))
	if err != nil {
		f.Fatal(err)
	}
	var hasByte [256]bool
	for b := range 256 {
		_, hasByte[b] = tok.ID(byteLevelChar(byte(b)))
	}
	if hasByte[4] || !hasByte['a'] {
		f.Fatalf("byte tokens: 0x04 %v, 'a' %v; want false, true", hasByte[4], hasByte['a'])
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := tok.Encode(s, false)
		checkEncoding(t, tok, s, e)
		if !utf8.ValidString(s) {
			return
		}
		for i := 0; i < len(s); i++ {
			if !hasByte[s[i]] {
				return
			}
		}
		if got := tok.Decode(e.IDs, false); got != s {
			t.Errorf("Decode(Encode(%q)) = %q (ids %v)", s, got, e.IDs)
		}
	})
}

// FuzzEncodeLlama2 checks the SentencePiece-style tokenizer of Llama-2 (▁ for spaces, byte fallback):
// Decode(Encode(s)) == s for every valid UTF-8 s without a literal ▁ (which decodes to a space) and
// without added tokens such as <s> (the text after one is normalized as a new sequence, with a ▁
// prepended, so it decodes with an extra space, as in Hugging Face).
func FuzzEncodeLlama2(f *testing.F) {
	fuzzSeeds(f)
	tok, err := tokenizer.FromFile("testdata/llama2/tokenizer.json.gz")
	if err != nil {
		f.Fatal(err)
	}
	added := map[int]bool{}
	for _, a := range tok.AddedTokens() {
		added[a.ID] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := tok.Encode(s, false)
		checkEncoding(t, tok, s, e)
		if !utf8.ValidString(s) || strings.Contains(s, "\u2581") {
			return
		}
		for _, id := range e.IDs {
			if added[id] {
				return
			}
		}
		if got := tok.Decode(e.IDs, false); got != s {
			t.Errorf("Decode(Encode(%q)) = %q (ids %v)", s, got, e.IDs)
		}
	})
}

// FuzzFromJSON checks that no tokenizer.json, however broken, makes FromJSON panic.
func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(strings.Replace(minimal, `"BPE"`, `"Unigram"`, 1)))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?=a)"}, "behavior": "Isolated"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := tokenizer.FromJSON(data, "fuzz.json")
		if err != nil {
			return
		}
		e := tok.Encode("ab a<|end|> b", true)
		checkEncoding(t, tok, "ab a<|end|> b", e)
		tok.Decode(e.IDs, false)
	})
}
