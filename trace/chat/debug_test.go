package chat

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestDebugSpans(t *testing.T) {
	name, cs := os.Getenv("DBG_T"), os.Getenv("DBG_C")
	if name == "" {
		t.Skip()
	}
	inputs, _ := loadCases(t)
	tm, err := CompileFile(filepath.Join("testdata", "templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := tm.Render(inputs[cs])
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range r.Messages {
		fmt.Printf("--- msg %d found=%v MSG=%q\n    CONTENT=%q\n", i, m.ContentFound, r.Text[m.Message.Start:m.Message.End], r.Text[m.Content.Start:m.Content.End])
		for _, s := range m.ToolCalls {
			fmt.Printf("    CALL=%q\n", r.Text[s.Start:s.End])
		}
	}
	fmt.Printf("--- tail %q\n", r.Text[r.Messages[len(r.Messages)-1].Message.End:])
}
