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

// The shipped organism: `agentlens organism train --out attribution/organism/weights` with the default
// options (see the package README text in organism-NOTES.md for the run that made it).
//
//go:embed weights/config.json weights/model.safetensors weights/tokenizer.json weights/tokenizer_config.json
var weights embed.FS

// WriteEmbedded writes the shipped organism's model directory into dir (created if needed).
func WriteEmbedded(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fs.WalkDir(weights, "weights", func(p string, d fs.DirEntry, err error) error {
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

// LoadEmbedded loads the shipped organism on a backend (through a temporary directory, removed after).
func LoadEmbedded(backend backends.Backend) (*model.Model, error) {
	dir, err := os.MkdirTemp("", "agentlens-organism")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := WriteEmbedded(dir); err != nil {
		return nil, fmt.Errorf("organism: %w", err)
	}
	m, _, err := model.Load(dir, model.LoadOptions{Backend: backend})
	return m, err
}
