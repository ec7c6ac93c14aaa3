package model

import (
	"fmt"
	"strings"

	"github.com/agentlens/agentlens/model/ollama"
)

// ollamaBlob resolves an "ollama:name[:tag]" reference to its GGUF blob in the local store (the default
// store when store is empty); other paths are returned as they are.
func ollamaBlob(path, store string) (string, error) {
	ref, ok := strings.CutPrefix(path, "ollama:")
	if !ok {
		return path, nil
	}
	if store == "" {
		store = ollama.DefaultStore()
	}
	blob, err := ollama.Resolve(ref, store)
	if err != nil {
		return "", fmt.Errorf("load %s: %w", path, err)
	}
	return blob, nil
}
