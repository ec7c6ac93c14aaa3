//go:build !unix

package gguf

import "os"

// mapFile reads the whole file into memory on platforms without syscall.Mmap.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	return readAll(f, size)
}
