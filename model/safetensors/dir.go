package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Set is the weights of a Hugging Face model directory: one safetensors file or several shards, seen as one
// collection of uniquely named tensors.
type Set struct {
	dir   string
	files []*File
	owner map[string]int // tensor name → index in files
	order []Info
}

// Standard file names of a Hugging Face model directory.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// OpenDir opens the safetensors weights of a Hugging Face model directory: model.safetensors, or the shards
// named by the weight_map of model.safetensors.index.json. Every tensor of the index must be found in the
// shard it names, and no tensor may appear in two files.
func OpenDir(dir string) (*Set, error) {
	single := filepath.Join(dir, SingleFile)
	index := filepath.Join(dir, IndexFile)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		s := &Set{dir: dir, owner: map[string]int{}}
		if err := s.add(f); err != nil {
			f.Close()
			return nil, err
		}
		return s, nil
	}
	raw, err := os.ReadFile(index)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("safetensors %s: neither %s nor %s: %w", dir, SingleFile, IndexFile, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("safetensors %s: %w", index, err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("safetensors %s: %w: %w", index, ErrFormat, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors %s: weight_map: empty or missing: %w", index, ErrFormat)
	}
	shardSet := map[string]bool{}
	for tensor, shard := range idx.WeightMap {
		if shard == "" || filepath.Base(shard) != shard {
			return nil, fmt.Errorf("safetensors %s: weight_map: tensor %s: shard %q is not a file name in the directory: %w", index, tensor, shard, ErrFormat)
		}
		shardSet[shard] = true
	}
	shards := make([]string, 0, len(shardSet))
	for sh := range shardSet {
		shards = append(shards, sh)
	}
	sort.Strings(shards)
	s := &Set{dir: dir, owner: map[string]int{}}
	for _, sh := range shards {
		f, err := Open(filepath.Join(dir, sh))
		if err != nil {
			s.Close()
			return nil, err
		}
		if err := s.add(f); err != nil {
			f.Close()
			s.Close()
			return nil, err
		}
	}
	// Check the index against what the shards hold.
	names := make([]string, 0, len(idx.WeightMap))
	for n := range idx.WeightMap {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fi, ok := s.owner[n]
		if !ok {
			s.Close()
			return nil, fmt.Errorf("safetensors %s: weight_map: tensor %s: not in shard %s: %w", index, n, idx.WeightMap[n], ErrNotFound)
		}
		if got := filepath.Base(s.files[fi].path); got != idx.WeightMap[n] {
			s.Close()
			return nil, fmt.Errorf("safetensors %s: weight_map: tensor %s: listed in shard %s, found in %s: %w", index, n, idx.WeightMap[n], got, ErrFormat)
		}
	}
	return s, nil
}

// add appends a file's tensors to the set, rejecting names already present.
func (s *Set) add(f *File) error {
	fi := len(s.files)
	for _, t := range f.tensors {
		if prev, dup := s.owner[t.Name]; dup {
			return fmt.Errorf("safetensors %s: tensor %s: also in %s: %w", f.name, t.Name, s.files[prev].name, ErrFormat)
		}
		s.owner[t.Name] = fi
		s.order = append(s.order, t)
	}
	s.files = append(s.files, f)
	return nil
}

// Dir returns the directory the set was opened from.
func (s *Set) Dir() string { return s.dir }

// Files returns the open files of the set (one per shard, sorted by file name).
func (s *Set) Files() []*File { return append([]*File(nil), s.files...) }

// Metadata returns the __metadata__ of the first file (nil when absent).
func (s *Set) Metadata() map[string]string {
	if len(s.files) == 0 {
		return nil
	}
	return s.files[0].metadata
}

// Tensors returns all tensors, shard by shard (shards sorted by file name) and in file order within each.
func (s *Set) Tensors() []Info { return append([]Info(nil), s.order...) }

// Info returns the tensor named name.
func (s *Set) Info(name string) (Info, bool) {
	fi, ok := s.owner[name]
	if !ok {
		return Info{}, false
	}
	return s.files[fi].Info(name)
}

// Float32 returns a tensor's values converted to float32 in a fresh slice, with its row-major shape.
func (s *Set) Float32(name string) ([]float32, []int, error) {
	fi, ok := s.owner[name]
	if !ok {
		return nil, nil, fmt.Errorf("safetensors %s: tensor %s: %w", s.dir, name, ErrNotFound)
	}
	return s.files[fi].Float32(name)
}

// Close closes every file of the set and returns the first error.
func (s *Set) Close() error {
	var first error
	for _, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
