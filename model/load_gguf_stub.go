//go:build !agentlens_gguf_wip

package model

import "fmt"

func loadOllama(path, ref string, opts LoadOptions) (*Model, *Source, error) {
	return nil, nil, fmt.Errorf("load %s: ollama support not built yet", path)
}

func loadGGUF(path string, opts LoadOptions) (*Model, *Source, error) {
	if err := checkMagic(path); err != nil {
		return nil, nil, err
	}
	return nil, nil, fmt.Errorf("load %s: GGUF support not built yet", path)
}
