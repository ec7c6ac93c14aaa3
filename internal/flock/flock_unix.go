//go:build unix

package flock

import (
	"errors"
	"os"
	"syscall"
)

// Lock opens path (creating it) and takes an exclusive lock on it, waiting for another holder to let
// go. Closing the file releases the lock.
func Lock(path string) (*os.File, error) { return lock(path, syscall.LOCK_EX) }

// TryLock is Lock without waiting: it fails with ErrLocked when the lock is held.
func TryLock(path string) (*os.File, error) { return lock(path, syscall.LOCK_EX|syscall.LOCK_NB) }

func lock(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	return f, nil
}
