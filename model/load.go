package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agentlens/agentlens/model/gguf"
	"github.com/agentlens/agentlens/model/safetensors"
	"github.com/gomlx/gomlx/backends"
)

// LoadOptions configure Load.
type LoadOptions struct {
	// Backend runs the model. Required (see package model/backend for choosing one).
	Backend backends.Backend
	// Options are the model's run-time knobs.
	Options Options
	// OllamaStore overrides the ollama model store directory for "ollama:" references.
	OllamaStore string
}

// Source describes where a model was loaded from.
type Source struct {
	Path   string // directory, GGUF file, or resolved ollama blob
	Format string // "safetensors" or "gguf"
	// GGUFMeta is the GGUF metadata (nil for safetensors directories).
	GGUFMeta map[string]any
}

// Load loads a model from a Hugging Face directory (config.json + safetensors), a GGUF file, or an
// ollama reference ("ollama:name[:tag]"). Weights are converted to float32.
func Load(path string, opts LoadOptions) (*Model, *Source, error) {
	if opts.Backend == nil {
		return nil, nil, fmt.Errorf("load %s: no backend given", path)
	}
	if strings.HasPrefix(path, "ollama:") {
		blob, err := ollamaBlob(path, opts.OllamaStore)
		if err != nil {
			return nil, nil, err
		}
		return loadGGUF(blob, opts)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	if st.IsDir() {
		return loadDir(path, opts)
	}
	return loadGGUF(path, opts)
}

// Inspect reads the architecture of the model Load would load from path (a directory, a GGUF file or an
// ollama reference) from its config.json or GGUF metadata, without reading any weights. The Source's
// GGUFMeta is set for GGUF files.
func Inspect(path string, ollamaStore string) (*Arch, *Source, error) {
	path, err := ollamaBlob(path, ollamaStore)
	if err != nil {
		return nil, nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	if st.IsDir() {
		arch, err := archFromDir(path)
		if err != nil {
			return nil, nil, err
		}
		return arch, &Source{Path: path, Format: "safetensors"}, nil
	}
	if err := checkMagic(path); err != nil {
		return nil, nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	arch, _, err := archFromGGUF(path, f)
	if err != nil {
		return nil, nil, err
	}
	return arch, &Source{Path: path, Format: "gguf", GGUFMeta: f.MetadataMap()}, nil
}

// configHeader is the part of config.json that picks the family.
type configHeader struct {
	Architectures []string `json:"architectures"`
	ModelType     string   `json:"model_type"`
}

// archFromDir reads the Arch from a Hugging Face directory's config.json.
func archFromDir(dir string) (*Arch, error) {
	cfgPath := filepath.Join(dir, "config.json")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	var h configHeader
	if err := json.Unmarshal(cfg, &h); err != nil {
		return nil, fmt.Errorf("load %s: %w: %v", cfgPath, ErrBadConfig, err)
	}
	if len(h.Architectures) == 0 {
		return nil, fmt.Errorf("load %s: %w: field architectures is missing", cfgPath, ErrBadConfig)
	}
	fam, err := familyFor(h.Architectures[0])
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", cfgPath, err)
	}
	arch, err := fam.FromConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", cfgPath, err)
	}
	return arch, nil
}

func loadDir(dir string, opts LoadOptions) (*Model, *Source, error) {
	arch, err := archFromDir(dir)
	if err != nil {
		return nil, nil, err
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	defer set.Close()
	get := func(name string, want []int) ([]float32, error) {
		data, shape, err := set.Float32(name)
		if err != nil {
			if _, ok := set.Info(name); !ok {
				return nil, fmt.Errorf("%w %s in %s", ErrMissingTensor, name, dir)
			}
			return nil, err
		}
		if !slices.Equal(shape, want) {
			return nil, fmt.Errorf("%w: %s in %s has shape %v, want %v", ErrShapeMismatch, name, dir, shape, want)
		}
		return data, nil
	}
	m, err := newModel(arch, opts.Backend, opts.Options, get)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return m, &Source{Path: dir, Format: "safetensors"}, nil
}

// checkMagic gives a clear error for files that are neither GGUF nor a directory.
func checkMagic(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("load %s: file too short to be a model: %w", path, gguf.ErrFormat)
		}
		return fmt.Errorf("load %s: %w", path, err)
	}
	if !bytes.Equal(magic[:], []byte("GGUF")) {
		return fmt.Errorf("load %s: not a GGUF file (magic %q) nor a model directory: %w", path, magic[:], gguf.ErrFormat)
	}
	return nil
}
