package bench

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TorchScript is the embedded PyTorch reference script (torchref.py): `python torchref.py
// request.json` runs one job described by a Request with Hugging Face transformers and writes a
// Measurement to the request's Result path.
//
//go:embed torchref.py
var TorchScript string

// DefaultPython is the interpreter used when Options.Python is empty.
const DefaultPython = "python3"

// torchAvailable checks that python can import torch and transformers (and gguf, for GGUF models). It
// returns "" when it can, else why not.
func torchAvailable(ctx context.Context, python string, gguf bool) string {
	mods := "torch, transformers"
	if gguf {
		mods += ", gguf"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import "+mods).CombinedOutput()
	if err == nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		last = err.Error()
	}
	return fmt.Sprintf("%s cannot import %s: %s", python, mods, last)
}

// torchCommand returns the command running the script on a request, with the thread count also set
// in the BLAS environment variables (they must be set before torch is imported).
func torchCommand(ctx context.Context, python, script, requestPath string, threads int) *exec.Cmd {
	cmd := exec.CommandContext(ctx, python, script, requestPath)
	cmd.Env = os.Environ()
	if threads > 0 {
		t := strconv.Itoa(threads)
		cmd.Env = append(cmd.Env, "OMP_NUM_THREADS="+t, "MKL_NUM_THREADS="+t, "OPENBLAS_NUM_THREADS="+t)
	}
	return cmd
}

// writeScript writes TorchScript into dir and returns its path.
func writeScript(dir string) (string, error) {
	p := filepath.Join(dir, "torchref.py")
	if err := writeFileAtomic(p, []byte(TorchScript)); err != nil {
		return "", err
	}
	return p, nil
}
