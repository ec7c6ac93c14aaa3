package tokenizer_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model/tokenizer"
)

// minimal is a valid two-token byte-level tokenizer.json; the cases below break one line of it.
const minimal = `{
  "version": "1.0",
  "added_tokens": [
    {"id": 2, "content": "<|end|>", "special": true}
  ],
  "normalizer": null,
  "pre_tokenizer": {
    "type": "ByteLevel",
    "add_prefix_space": false,
    "use_regex": true
  },
  "post_processor": null,
  "decoder": {"type": "ByteLevel"},
  "model": {
    "type": "BPE",
    "vocab": {"a": 0, "b": 1, "ab": 3},
    "merges": ["a b"]
  }
}
`

func TestFromJSONMinimal(t *testing.T) {
	tok, err := tokenizer.FromJSON([]byte(minimal), "minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	e := tok.Encode("abba<|end|>", false)
	if want := []int{3, 1, 0, 2}; !slices.Equal(e.IDs, want) {
		t.Errorf("Encode(abba<|end|>).IDs = %v, want %v", e.IDs, want)
	}
}

// TestBadTokenizerJSON checks that a broken tokenizer.json fails with an error that names the file and
// the line of the problem.
func TestBadTokenizerJSON(t *testing.T) {
	for _, c := range []struct {
		name      string
		old, new  string // replace old by new in minimal
		want      error
		wantWhere string // "file:line" or "file:line:col" in the message
		wantText  string
	}{
		{"syntax error", `"use_regex": true`, `"use_regex": true,,`, tokenizer.ErrMalformed, "bad.json:10:23", "invalid character"},
		{"truncated", "", "", tokenizer.ErrMalformed, "bad.json:", "unexpected end of JSON input"},
		{"wrong field type", `"merges": ["a b"]`, `"merges": "a b"`, tokenizer.ErrMalformed, "bad.json:", "cannot unmarshal"},
		{"unknown model type", `"type": "BPE"`, `"type": "WordPiece"`, tokenizer.ErrUnsupported, "bad.json:15", `model.type "WordPiece"`},
		{"unknown pre-tokenizer", `"type": "ByteLevel",`, `"type": "BertPreTokenizer",`, tokenizer.ErrUnsupported, "bad.json:8", `pre_tokenizer: type "BertPreTokenizer"`},
		{"unknown decoder", `{"type": "ByteLevel"}`, `{"type": "CTC"}`, tokenizer.ErrUnsupported, "bad.json:13", `decoder: type "CTC"`},
		{"merge of unknown token", `["a b"]`, `["a b", "b c"]`, tokenizer.ErrMalformed, "bad.json:17", `model.merges[1] "b" "c"`},
		{"merge without space", `["a b"]`, `["ab"]`, tokenizer.ErrMalformed, "bad.json:17", `model.merges[0] "ab": no space`},
		{"added token without id", `{"id": 2, "content"`, `{"content"`, tokenizer.ErrMalformed, "bad.json:4", "added_tokens[0].id"},
		{"no model", `"model": {`, `"modelx": {`, tokenizer.ErrMalformed, "bad.json", "model: missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(minimal, c.old, c.new, 1)
			if c.name == "truncated" {
				src = minimal[:len(minimal)/2]
			}
			_, err := tokenizer.FromJSON([]byte(src), "bad.json")
			if err == nil {
				t.Fatalf("FromJSON succeeded, want %v", c.want)
			}
			if !errors.Is(err, c.want) {
				t.Errorf("FromJSON error %v, want errors.Is %v", err, c.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.wantWhere) || !strings.Contains(msg, c.wantText) {
				t.Errorf("FromJSON error %q, want it to contain %q and %q", msg, c.wantWhere, c.wantText)
			}
		})
	}
}

func TestFromFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := tokenizer.FromFile(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) ||
		!strings.Contains(err.Error(), "missing.json") {
		t.Errorf("FromFile(missing) error %v, want a not-exist error naming the file", err)
	}
	p := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(p, []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "tokenizer_config.json")
	if err := os.WriteFile(cfg, []byte("{\n  \"bos_token\": \"<nope>\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := tokenizer.FromFile(p)
	if !errors.Is(err, tokenizer.ErrMalformed) || !strings.Contains(err.Error(), cfg+":2") ||
		!strings.Contains(err.Error(), `bos_token "<nope>"`) {
		t.Errorf("FromFile with a bad bos_token: error %v, want ErrMalformed naming %s:2", err, cfg)
	}
	if err := os.WriteFile(cfg, []byte("{\n  \"bos_token\": \"a\",\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = tokenizer.FromFile(p)
	if !errors.Is(err, tokenizer.ErrMalformed) || !strings.Contains(err.Error(), cfg+":3:1") {
		t.Errorf("FromFile with a config syntax error: error %v, want ErrMalformed at %s:3:1", err, cfg)
	}
	if err := os.WriteFile(cfg, []byte(`{"bos_token": "a", "chat_template": "{{ x }}"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tok.BOS(); !ok || id != 0 {
		t.Errorf("BOS() = %d, %v, want 0, true", id, ok)
	}
	if got := tok.ChatTemplate(); got != "{{ x }}" {
		t.Errorf("ChatTemplate() = %q, want %q", got, "{{ x }}")
	}
	// A chat_template.jinja next to it wins over the config's template, as in transformers
	// (tokenization_utils_base.py: "independent chat template file(s) ... take priority").
	if err := os.WriteFile(filepath.Join(dir, "chat_template.jinja"), []byte("{{ y }}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tok, err = tokenizer.FromFile(p); err != nil || tok.ChatTemplate() != "{{ y }}" {
		t.Errorf("with chat_template.jinja: ChatTemplate() = %q (%v), want %q", tok.ChatTemplate(), err, "{{ y }}")
	}
}

func TestBadGGUFMetadata(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"tokenizer.ggml.model":      "gpt2",
			"tokenizer.ggml.tokens":     []string{"a", "b", "ab"},
			"tokenizer.ggml.merges":     []string{"a b"},
			"tokenizer.ggml.token_type": []int32{1, 1, 1},
		}
	}
	for _, c := range []struct {
		name     string
		edit     func(m map[string]any)
		want     error
		wantText string
	}{
		{"unknown model", func(m map[string]any) { m["tokenizer.ggml.model"] = "rwkv" }, tokenizer.ErrUnsupported, `tokenizer.ggml.model "rwkv"`},
		{"no model", func(m map[string]any) { delete(m, "tokenizer.ggml.model") }, tokenizer.ErrMalformed, "tokenizer.ggml.model: missing"},
		{"no tokens", func(m map[string]any) { delete(m, "tokenizer.ggml.tokens") }, tokenizer.ErrMalformed, "tokenizer.ggml.tokens: missing"},
		{"tokens of wrong type", func(m map[string]any) { m["tokenizer.ggml.tokens"] = []int32{1} }, tokenizer.ErrMalformed, "tokenizer.ggml.tokens: want []string"},
		{"types for other tokens", func(m map[string]any) { m["tokenizer.ggml.token_type"] = []int32{1} }, tokenizer.ErrMalformed, "1 entries for 3 tokens"},
		{"bad merge", func(m map[string]any) { m["tokenizer.ggml.merges"] = []string{"a c"} }, tokenizer.ErrMalformed, `tokenizer.ggml.merges[0] "a" "c"`},
		{"bos out of range", func(m map[string]any) { m["tokenizer.ggml.bos_token_id"] = uint32(9) }, tokenizer.ErrMalformed, "tokenizer.ggml.bos_token_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := base()
			c.edit(m)
			_, err := tokenizer.FromGGUFMetadata(m)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.wantText) {
				t.Errorf("FromGGUFMetadata error %v, want %v containing %q", err, c.want, c.wantText)
			}
		})
	}
	if _, err := tokenizer.FromGGUFMetadata(base()); err != nil {
		t.Errorf("FromGGUFMetadata(valid) error %v", err)
	}
}
