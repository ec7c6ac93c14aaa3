//go:build !unix

package flock

import "os"

// Lock opens path (creating it); without flock it excludes nothing.
func Lock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

// TryLock is Lock.
func TryLock(path string) (*os.File, error) { return Lock(path) }
