package model

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/agentlens/agentlens/model/gguf"
)

func loadGGUF(path string, opts LoadOptions) (*Model, *Source, error) {
	if err := checkMagic(path); err != nil {
		return nil, nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	meta := f.MetadataMap()
	arch, fam, err := archFromGGUF(path, f)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, t := range f.Tensors() {
		names = append(names, t.Name)
	}
	// Map Hugging Face names (what the engine asks for) to GGUF names and roles.
	type ggufRef struct {
		name    string
		role    Role
		isLayer bool
	}
	refs := map[string]ggufRef{
		arch.Names.Embed:     {name: GGUFEmbed, role: -1},
		arch.Names.FinalNorm: {name: GGUFFinalNorm, role: -1},
		arch.Names.Unembed:   {name: GGUFUnembed, role: -1},
	}
	for l := 0; l < arch.NLayers; l++ {
		for suffix, role := range fam.GGUFLayer {
			refs[arch.Names.LayerTensor(l, role)] = ggufRef{name: "blk." + strconv.Itoa(l) + "." + suffix, role: role, isLayer: true}
		}
	}
	get := func(name string, want []int) ([]float32, error) {
		ref, ok := refs[name]
		if !ok {
			return nil, fmt.Errorf("%w %s (no GGUF name for it) in %s", ErrMissingTensor, name, path)
		}
		data, shape, err := f.Float32(ref.name)
		if err != nil {
			if !slices.Contains(names, ref.name) {
				return nil, fmt.Errorf("%w %s (GGUF %s) in %s", ErrMissingTensor, name, ref.name, path)
			}
			return nil, err
		}
		if !slices.Equal(shape, want) {
			return nil, fmt.Errorf("%w: %s (GGUF %s) in %s has shape %v, want %v", ErrShapeMismatch, name, ref.name, path, shape, want)
		}
		if fam.FromGGUFTensor != nil {
			data = fam.FromGGUFTensor(arch, ref.role, ref.isLayer, data, shape)
		}
		return data, nil
	}
	m, err := newModel(arch, opts.Backend, opts.Options, get)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return m, &Source{Path: path, Format: "gguf", GGUFMeta: meta}, nil
}

// archFromGGUF reads the Arch (and the family) from an open GGUF file's metadata and tensor names.
func archFromGGUF(path string, f *gguf.File) (*Arch, *Family, error) {
	meta := f.MetadataMap()
	archName, _ := meta["general.architecture"].(string)
	fam, err := familyForGGUF(archName)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	if fam.FromGGUF == nil {
		return nil, nil, fmt.Errorf("load %s: %w: GGUF architecture %q has no GGUF loader (load the safetensors model)", path, ErrUnsupportedArchitecture, archName)
	}
	var names []string
	for _, t := range f.Tensors() {
		names = append(names, t.Name)
	}
	arch, err := fam.FromGGUF(meta, names)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return arch, fam, nil
}
