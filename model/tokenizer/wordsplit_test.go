package tokenizer

import (
	"strings"
	"testing"
)

// FuzzWordSplit checks that BPE word by word (tokenizeWords) equals BPE on the whole piece for the
// SentencePiece-style tokenizers where wordSplit holds, on the ▁-spelled form of any string.
func FuzzWordSplit(f *testing.F) {
	for _, s := range []string{"hello world", "  a  b   c", "▁▁x▁", "日本 語 👍🏽 x", "a\n\n b\t c", "\u2581"} {
		f.Add(s)
	}
	var models []*bpe
	for _, p := range []string{"testdata/llama2/tokenizer.json.gz"} {
		tok, err := FromFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if !tok.model.wordSplit {
			f.Fatalf("%s: wordSplit is false, want true", p)
		}
		models = append(models, tok.model)
	}
	f.Fuzz(func(t *testing.T, s string) {
		piece := "\u2581" + strings.ReplaceAll(s, " ", "\u2581")
		for _, m := range models {
			got, want := m.tokenizeWords(piece), m.tokenizeUncached(piece)
			if len(got) != len(want) {
				t.Fatalf("%q: %d tokens word by word, %d whole", piece, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%q: token %d = %v word by word, %v whole", piece, i, got[i], want[i])
				}
			}
		}
	})
}

// TestWordSplitOff checks that wordSplit is off when a merge joins a word end to a ▁ (as one of
// Gemma-3's does: "> ▁</"), so such tokenizers always run BPE on whole pieces.
func TestWordSplitOff(t *testing.T) {
	m := &bpe{vocab: map[string]int{"a": 0, "\u2581": 1, "a\u2581": 2}, unk: -1}
	if err := m.setMerges([][2]string{{"a", "\u2581"}}, "merges"); err != nil {
		t.Fatal(err)
	}
	if m.wordSplit {
		t.Errorf("wordSplit = true with merge a ▁, want false")
	}
}
