//go:build hftokenizers && cgo

package tokenizer_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model/tokenizer"
)

// TestHFBackendParity compares Tokenizer with the Rust Hugging Face tokenizer itself (through
// github.com/daulet/tokenizers) on every corpus string and the transcript: ids, byte offsets, char
// offsets and decodes, for each tokenizer.json of the parity set.
func TestHFBackendParity(t *testing.T) {
	c := loadCorpus(t)
	paths := map[string]string{"llama2": "testdata/llama2/tokenizer.json.gz"}
	for _, name := range []string{"qwen2_5", "llama3_1", "gemma3"} {
		paths[name] = filepath.Join(testutil.CacheDir(), "tokenizers", name, "tokenizer.json.gz")
	}
	for _, name := range []string{"llama2", "qwen2_5", "llama3_1", "gemma3"} {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(paths[name]); err != nil {
				t.Skipf("%s: %v", name, err)
			}
			tok, err := tokenizer.FromFile(paths[name])
			if err != nil {
				t.Fatal(err)
			}
			ref, err := tokenizer.FromFileHF(paths[name])
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			matched, total := 0, 0
			texts := append(append([]string(nil), c.Strings...), c.Transcript)
			for i, s := range texts {
				if strings.Contains(s, "\x00") {
					continue // the binding passes C strings, which end at the first NUL
				}
				for _, special := range []bool{false, true} {
					total++
					got, want := tok.Encode(s, special), ref.Encode(s, special)
					ok := slices.Equal(got.IDs, want.IDs) && slices.Equal(got.Offsets, want.Offsets) &&
						slices.Equal(got.CharOffsets, want.CharOffsets)
					for _, skip := range []bool{false, true} {
						if g, w := tok.Decode(want.IDs, skip), ref.Decode(want.IDs, skip); g != w {
							ok = false
							t.Errorf("text %d: Decode(skip=%v) = %q, want %q", i, skip, clip(g), clip(w))
						}
					}
					if ok {
						matched++
						continue
					}
					t.Errorf("text %d %q (addSpecial=%v):\n got ids %v offs %v\nwant ids %v offs %v", i, clip(s), special,
						clipInts(got.IDs), clipPairs(got.Offsets), clipInts(want.IDs), clipPairs(want.Offsets))
				}
			}
			t.Logf("%s: %d/%d encodings match the Rust tokenizer exactly (ids, byte and char offsets, decodes)", name, matched, total)
		})
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func clipInts(a []int) []int {
	return a[:min(len(a), 40)]
}

func clipPairs(a [][2]int) [][2]int {
	return a[:min(len(a), 40)]
}

// BenchmarkEncodeTranscriptHF tokenises the transcript with the Rust tokenizer through cgo, for
// comparison with BenchmarkEncodeTranscript in the same run (go test -tags hftokenizers -bench Transcript).
func BenchmarkEncodeTranscriptHF(b *testing.B) {
	c := loadCorpus(b)
	for _, name := range []string{"llama2", "qwen2_5", "llama3_1", "gemma3"} {
		b.Run(name, func(b *testing.B) {
			p := "testdata/llama2/tokenizer.json.gz"
			if name != "llama2" {
				p = filepath.Join(testutil.CacheDir(), "tokenizers", name, "tokenizer.json.gz")
			}
			if _, err := os.Stat(p); err != nil {
				b.Skip(err)
			}
			ref, err := tokenizer.FromFileHF(p)
			if err != nil {
				b.Fatal(err)
			}
			defer ref.Close()
			b.SetBytes(int64(len(c.Transcript)))
			for b.Loop() {
				ref.Encode(c.Transcript, false)
			}
		})
	}
}
