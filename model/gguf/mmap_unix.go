//go:build unix

package gguf

import (
	"os"
	"syscall"
)

// mapFile maps the whole file read-only and returns its bytes and a function that unmaps them.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	if int64(int(size)) != size {
		return nil, nil, syscall.EFBIG
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readAll(f, size)
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
