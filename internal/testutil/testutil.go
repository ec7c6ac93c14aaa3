// Package testutil holds helpers shared by agentlens tests: where the cached real models live, and
// skipping tests that need them when they are absent.
package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Real model files fetched by `make test` / `agentlens model fetch` into the cache's models/ folder.
const (
	SmolLM2GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
	Gemma3GGUF  = "gemma-3-270m-q4_k_m.gguf"
)

// CacheDir returns the agentlens cache directory: $AGENTLENS_CACHE, else $HOME/.cache/agentlens.
func CacheDir() string {
	if d := os.Getenv("AGENTLENS_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "agentlens-cache")
	}
	return filepath.Join(home, ".cache", "agentlens")
}

// ModelPath returns the path of a cached real model file, skipping the test when it is absent or when
// the test runs with -short (real-model tests are slow).
func ModelPath(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipping real-model test in -short mode (%s)", name)
	}
	p := filepath.Join(CacheDir(), "models", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real model %s not in cache (run `make fetch`): %v", name, err)
	}
	return p
}

// EnvKernelReport names the file that KernelLog.Report appends to; make test sets it and prints the file.
const EnvKernelReport = "AGENTLENS_KERNEL_REPORT"

// KernelLog records which CPU-specific kernels of one package ran in its tests, for the report make
// test prints. The zero value is ready to use and safe for concurrent use.
type KernelLog struct {
	mu  sync.Mutex
	ran map[string]string // kernel name → the instruction-set level it needs
}

// Ran records that the kernel ran.
func (l *KernelLog) Ran(name, level string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ran == nil {
		l.ran = map[string]string{}
	}
	l.ran[name] = level
}

// Report appends one line to the file named by $AGENTLENS_KERNEL_REPORT (nothing when unset): the
// kernels of package pkg that ran, and missed, those it has but this CPU could not run, so a CI log
// shows what was and was not proven here. Called from TestMain after m.Run.
func (l *KernelLog) Report(pkg string, missed []string) {
	file := os.Getenv(EnvKernelReport)
	if file == "" {
		return
	}
	l.mu.Lock()
	var ran []string
	for name, level := range l.ran {
		ran = append(ran, fmt.Sprintf("%s (%s)", name, level))
	}
	l.mu.Unlock()
	sort.Strings(ran)
	line := fmt.Sprintf("%-8s ran: %s", pkg, strings.Join(ran, ", "))
	if len(missed) > 0 {
		line += fmt.Sprintf("; not on this CPU: %s", strings.Join(missed, ", "))
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testutil: kernel report: %v\n", err)
		return
	}
	defer f.Close()
	// One write per line: appends from packages tested in parallel do not interleave.
	if _, err := f.WriteString(line + "\n"); err != nil {
		fmt.Fprintf(os.Stderr, "testutil: kernel report: %v\n", err)
	}
}
