package organism

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends"

	"github.com/agentlens/agentlens/model"
	_ "github.com/agentlens/agentlens/model/llama" // the organism is a LlamaForCausalLM
)

// The shipped organisms (see organism-NOTES.md for the runs that made them):
//
//   - weights: `agentlens organism train --out DIR` with the default options, both variants;
//   - weights-reasoning: `agentlens organism train --variant reasoning --flip-share 0.1 --out DIR`.
//
//go:embed weights/config.json weights/model.safetensors weights/tokenizer.json weights/tokenizer_config.json
//go:embed weights-reasoning/config.json weights-reasoning/model.safetensors weights-reasoning/tokenizer.json weights-reasoning/tokenizer_config.json
var weights embed.FS

// Names of the shipped organisms.
const (
	// Shipped is the organism trained on both variants: it answers directly or after reasoning.
	Shipped = "organism"
	// ShippedReasoning is trained on Reasoning episodes only, a tenth of them with random reasoning
	// words that the action follows, so its action depends on the reasoning span: the organism for the
	// segment matrix's chain clue → reasoning → action.
	ShippedReasoning = "organism-reasoning"
)

// WriteEmbedded writes a shipped organism's model directory (name Shipped or ShippedReasoning) into dir
// (created if needed).
func WriteEmbedded(name, dir string) error {
	sub := map[string]string{Shipped: "weights", ShippedReasoning: "weights-reasoning"}[name]
	if sub == "" {
		return fmt.Errorf("%w: no shipped organism %q (have %s, %s)", ErrBadInput, name, Shipped, ShippedReasoning)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fs.WalkDir(weights, sub, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := weights.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644)
	})
}

// LoadEmbedded loads a shipped organism on a backend (through a temporary directory, removed after).
func LoadEmbedded(backend backends.Backend, name string) (*model.Model, error) {
	dir, err := os.MkdirTemp("", "agentlens-organism")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := WriteEmbedded(name, dir); err != nil {
		return nil, fmt.Errorf("organism: %w", err)
	}
	m, _, err := model.Load(dir, model.LoadOptions{Backend: backend})
	return m, err
}
