//go:build !linux

package cli

// tuneMalloc does nothing off Linux (the tunables are glibc's).
func tuneMalloc() {}
