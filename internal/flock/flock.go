// Package flock takes advisory whole-file locks (flock(2)) on lock files, as Python's filelock does on
// Unix: the kernel drops a lock when its process dies, so a killed run never leaves a stale lock. On
// systems without flock a lock only opens the file and excludes nothing.
package flock

import "errors"

// ErrLocked reports a lock that another process (or another open file) holds, from TryLock.
var ErrLocked = errors.New("locked by another process")
