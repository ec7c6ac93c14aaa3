package ollama_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentlens/agentlens/model/ollama"
)

func Example() {
	// A fake store laid out like ~/.ollama/models after `ollama pull smollm2:135m`.
	store, err := os.MkdirTemp("", "ollama-store")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(store)
	hex := strings.Repeat("ab", 32)
	manifest := filepath.Join(store, "manifests", "registry.ollama.ai", "library", "smollm2", "135m")
	os.MkdirAll(filepath.Dir(manifest), 0o755)
	os.MkdirAll(filepath.Join(store, "blobs"), 0o755)
	os.WriteFile(manifest, []byte(`{"schemaVersion":2,"layers":[
		{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:`+hex+`","size":4}]}`), 0o644)
	os.WriteFile(filepath.Join(store, "blobs", "sha256-"+hex), []byte("GGUF"), 0o644)

	name, _ := ollama.ParseName("ollama:smollm2:135m")
	fmt.Println(name)
	blob, err := ollama.Resolve("ollama:smollm2:135m", store)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(blob) == "sha256-"+hex)
	// Output:
	// registry.ollama.ai/library/smollm2:135m
	// true
}
