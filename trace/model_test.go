package trace_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model/gguf"
	"github.com/agentlens/agentlens/model/tokenizer"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/chat"
)

// realModel is a real model's tokenizer and chat template, as the trace package consumes them.
type realModel struct {
	name string
	tmpl *chat.Template
	enc  trace.EncodeFunc
	opts trace.RenderOptions
	tok  *tokenizer.Tokenizer
}

// loadRealModel reads the tokenizer of a cached GGUF model and its chat template (templateFile, a
// template of trace/chat's testdata, when the GGUF has none). It skips under -short or when the model is
// not in the cache.
func loadRealModel(t testing.TB, file, templateFile string, opts trace.RenderOptions) realModel {
	t.Helper()
	p := testutil.ModelPath(t, file)
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUFMetadata(f.MetadataMap())
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	src := tok.ChatTemplate()
	if src == "" {
		b, err := os.ReadFile(filepath.Join("chat", "testdata", "templates", templateFile))
		if err != nil {
			t.Fatal(err)
		}
		src = string(b)
	}
	tmpl, err := chat.Compile(src, file)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(s string) ([]int, [][2]int, error) { e := tok.Encode(s, false); return e.IDs, e.Offsets, nil }
	return realModel{name: file, tmpl: tmpl, enc: enc, opts: opts, tok: tok}
}

func realModels(t testing.TB) []realModel {
	return []realModel{
		loadRealModel(t, testutil.SmolLM2GGUF, "", trace.RenderOptions{}),
		loadRealModel(t, testutil.Gemma3GGUF, "gemma3.jinja", trace.RenderOptions{BOS: "<bos>"}),
	}
}
