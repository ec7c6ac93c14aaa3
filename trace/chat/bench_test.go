package chat

import (
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkRenderLong renders a 200-message, ~400 KB conversation through Qwen2.5's template.
func BenchmarkRenderLong(b *testing.B) {
	tm, err := CompileFile(filepath.Join("testdata", "templates", "lcpp-Qwen-Qwen2.5-7B-Instruct.jinja"))
	if err != nil {
		b.Fatal(err)
	}
	var in Input
	for i := 0; i < 200; i++ {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		in.Messages = append(in.Messages, Message{Role: role, Content: strings.Repeat("word ", 400) + string(rune('a'+i%26))})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}
