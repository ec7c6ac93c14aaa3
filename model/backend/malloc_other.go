//go:build !cgo || noxla || !linux

package backend

// HeapKept reports whether glibc malloc was set to keep freed memory for reuse; only Linux builds
// with the xla backend do that (see malloc_linux.go).
func HeapKept() bool { return false }
