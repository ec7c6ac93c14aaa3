package data

import (
	"errors"
	"fmt"
	"os"

	"github.com/agentlens/agentlens/internal/flock"
)

// lockFile takes an exclusive advisory lock (flock) on path, creating it, without waiting. The kernel
// drops the lock when the process dies, so a killed task never leaves a stale lock behind.
func lockFile(path string) (*os.File, error) {
	f, err := flock.TryLock(path)
	if errors.Is(err, flock.ErrLocked) {
		holder, _ := os.ReadFile(path)
		return nil, fmt.Errorf("%w (held by %s)", ErrTaskRunning, string(holder))
	}
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d on %s", os.Getpid(), host)
	return f, nil
}
