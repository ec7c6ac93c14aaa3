// Package testutil holds helpers shared by agentlens tests: where the cached real models live, and
// skipping tests that need them when they are absent.
package testutil

import (
	"os"
	"path/filepath"
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
