package model

import "fmt"

// loadOllama is replaced once package model/ollama lands.
func loadOllama(path, ref string, opts LoadOptions) (*Model, *Source, error) {
	return nil, nil, fmt.Errorf("load %s: ollama store support not built yet", path)
}
