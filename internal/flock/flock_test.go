//go:build unix

package flock

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestTryLockExcludes checks that a held lock refuses TryLock from another open file, that Lock waits
// for it, and that closing releases it.
func TestTryLockExcludes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	a, err := TryLock(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(p); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock on a held lock = %v, want ErrLocked", err)
	}
	got := make(chan error, 1)
	go func() {
		b, err := Lock(p)
		if err == nil {
			b.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Lock returned (%v) while the lock was held", err)
	case <-time.After(50 * time.Millisecond):
	}
	a.Close()
	if err := <-got; err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
}
