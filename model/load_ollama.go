package model

import (
	"fmt"

	"github.com/agentlens/agentlens/model/ollama"
)

// loadOllama resolves an ollama reference to its GGUF blob in the local store and loads it.
func loadOllama(path, ref string, opts LoadOptions) (*Model, *Source, error) {
	store := opts.OllamaStore
	if store == "" {
		store = ollama.DefaultStore()
	}
	blob, err := ollama.Resolve(ref, store)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return loadGGUF(blob, opts)
}
