package backend

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCUDAPluginChoice: on a node with a GPU, a CUDA plugin in the plugin places is tried first and
// its failure (here: a file that is no shared library) is reported, with the CPU plugin as the
// fallback; without a GPU it is not tried. No test here has a GPU: the success path is not run.
func TestCUDAPluginChoice(t *testing.T) {
	if !xlaCompiled {
		t.Skip("built without cgo: no xla backend")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CUDAPluginFileName), []byte("not a shared library"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir() // no CPU plugin anywhere: the CPU fallback fails too, and says both
	for _, tc := range []struct {
		name     string
		gpu      bool
		wantCUDA bool
	}{{"gpu node", true, true}, {"cpu node", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := newXLAFromEnv(Options{CacheDir: empty}, environment{pluginDirs: []string{dir}, gpu: tc.gpu})
			if !errors.Is(err, ErrPluginNotFound) {
				t.Fatalf("err = %v, want ErrPluginNotFound for the CPU plugin", err)
			}
			if got := strings.Contains(err.Error(), "the CUDA plugin "+filepath.Join(dir, CUDAPluginFileName)+" failed"); got != tc.wantCUDA {
				t.Errorf("err = %v: mentions the CUDA plugin's failure = %v, want %v", err, got, tc.wantCUDA)
			}
		})
	}
}
