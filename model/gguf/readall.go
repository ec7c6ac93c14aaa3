package gguf

import (
	"io"
	"os"
)

// readAll reads the whole file into memory (the fallback when it cannot be memory-mapped).
func readAll(f *os.File, size int64) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), b); err != nil {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}
