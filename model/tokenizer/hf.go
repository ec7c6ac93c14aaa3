//go:build hftokenizers && cgo

package tokenizer

import (
	"fmt"

	hf "github.com/daulet/tokenizers"
)

// HF is a Hugging Face tokenizer run by the Rust `tokenizers` library itself, through
// github.com/daulet/tokenizers (cgo). It exists only in builds with the hftokenizers build tag, where
// tests use it as a parity oracle for Tokenizer; see the package documentation for how to build it.
type HF struct{ t *hf.Tokenizer }

// FromFileHF loads a tokenizer.json file (or a gzip-compressed tokenizer.json.gz) into the Rust library.
func FromFileHF(path string) (*HF, error) {
	data, err := readMaybeGz(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	t, err := hf.FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: hf tokenizers: %w", path, err)
	}
	return &HF{t}, nil
}

// Encode tokenizes text like Tokenizer.Encode, with the offsets the Rust library reports.
func (h *HF) Encode(text string, addSpecial bool) Encoding {
	r := h.t.EncodeWithOptions(text, addSpecial, hf.WithReturnOffsets())
	e := Encoding{IDs: make([]int, len(r.IDs)), Offsets: make([][2]int, len(r.Offsets))}
	for i, id := range r.IDs {
		e.IDs[i] = int(id)
	}
	for i, o := range r.Offsets {
		e.Offsets[i] = [2]int{int(o[0]), int(o[1])}
	}
	e.CharOffsets = charOffsets(text, e.Offsets)
	return e
}

// Decode turns ids back into text like Tokenizer.Decode.
func (h *HF) Decode(ids []int, skipSpecial bool) string {
	u := make([]uint32, len(ids))
	for i, id := range ids {
		u[i] = uint32(id)
	}
	return h.t.Decode(u, skipSpecial)
}

// Close frees the Rust tokenizer.
func (h *HF) Close() error { return h.t.Close() }
