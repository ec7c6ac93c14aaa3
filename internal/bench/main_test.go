package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Environment variables that turn the test binary into one of the processes the harness starts:
// TestMain dispatches on them before any test runs (the os/exec test pattern).
const (
	envChild       = "AGENTLENS_BENCH_TEST_CHILD"        // serve a request file: the engine child
	envCrash       = "AGENTLENS_BENCH_TEST_CRASH"        // exit 3 without a result
	envSleep       = "AGENTLENS_BENCH_TEST_SLEEP"        // sleep a minute (for timeouts)
	envFakePython  = "AGENTLENS_BENCH_TEST_FAKE_PYTHON"  // act as a python with torch: see fakePython
	envBrokenTorch = "AGENTLENS_BENCH_TEST_BROKEN_TORCH" // act as a python without torch
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(envChild) != "":
		if err := ServeChild(os.Getenv(envChild)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case os.Getenv(envCrash) != "":
		fmt.Fprintln(os.Stderr, "child: crashing on purpose")
		os.Exit(3)
	case os.Getenv(envSleep) != "":
		time.Sleep(time.Minute)
		os.Exit(0)
	case os.Getenv(envFakePython) != "":
		var args []string
		for _, a := range os.Args[1:] {
			if !strings.HasPrefix(a, "-test.") {
				args = append(args, a)
			}
		}
		os.Exit(fakePython(args))
	case os.Getenv(envBrokenTorch) != "":
		fmt.Fprintln(os.Stderr, "Traceback (most recent call last):\nModuleNotFoundError: No module named 'torch'")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// fakePython stands in for `python -c "import ..."` (succeeds) and `python torchref.py request.json`
// (writes a fixed measurement), so the reference protocol is tested without Python.
func fakePython(args []string) int {
	if len(args) >= 1 && args[0] == "-c" {
		return 0
	}
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "fake python: want script and request, got", args)
		return 2
	}
	if _, err := os.Stat(args[0]); err != nil {
		fmt.Fprintln(os.Stderr, "fake python:", err)
		return 2
	}
	req, err := readRequest(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake python:", err)
		return 2
	}
	if _, err := readTokens(req.TokensFile, req.Job.Tokens); err != nil {
		fmt.Fprintln(os.Stderr, "fake python:", err)
		return 2
	}
	m := Measurement{Engine: EngineTorch, Backend: "cpu", Detail: "fake torch, threads " + os.Getenv("OMP_NUM_THREADS"),
		Seconds: 0.5, WarmupSeconds: 0.75, CompileSeconds: 0.25}
	if err := writeJSON(req.Result, m); err != nil {
		fmt.Fprintln(os.Stderr, "fake python:", err)
		return 2
	}
	return 0
}

// selfCommand returns a ChildCommand that re-executes the test binary with env set to the request path.
func selfCommand(env string) func(ctx context.Context, requestPath string) *exec.Cmd {
	return func(ctx context.Context, requestPath string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), env+"="+requestPath)
		return cmd
	}
}

// fakePythonPath writes a shell wrapper that runs the test binary as a python, returning its path.
func fakePythonPath(t *testing.T, env string) string {
	t.Helper()
	p := t.TempDir() + "/python"
	script := fmt.Sprintf("#!/bin/sh\n%s=1 exec %q -test.run='^$' \"$@\"\n", env, os.Args[0])
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
