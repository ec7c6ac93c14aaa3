// Package testutil holds helpers shared by agentlens tests: where the cached real models live, and
// skipping tests that need them when they are absent.
package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// EnvKernelReport names the file that ReportKernels appends to; make test sets it and prints the file.
const EnvKernelReport = "AGENTLENS_KERNEL_REPORT"

// ReportKernels appends one line to the file named by $AGENTLENS_KERNEL_REPORT (nothing when unset):
// which CPU-specific kernels of package pkg ran in its tests on this machine, and which it has but this
// CPU could not run, so a CI log shows what was and was not proven. Called from TestMain.
func ReportKernels(pkg string, exercised, missed []string) {
	file := os.Getenv(EnvKernelReport)
	if file == "" {
		return
	}
	line := fmt.Sprintf("%-8s ran: %s", pkg, strings.Join(exercised, ", "))
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
