package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/backend"
	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/probes"
	"github.com/agentlens/agentlens/trace"
)

// testFactory returns a Factory on in-memory streams with the given environment.
func testFactory(env map[string]string) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &Factory{
		IO:      &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut},
		Getenv:  func(k string) string { return env[k] },
		Version: "v0.0.0-test",
	}, out, errOut
}

// execute runs cmd (wrapped in a root with the persistent flags) on args.
func execute(f *Factory, cmd *cobra.Command, args []string) error {
	root := &cobra.Command{Use: "agentlens", SilenceErrors: true, SilenceUsage: true}
	root.PersistentFlags().StringVar(&f.CacheDirFlag, "cache", "", "")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &FlagError{Err: err} })
	root.AddGroup(&cobra.Group{ID: groupModels, Title: "Models:"}, &cobra.Group{ID: groupAnalysis, Title: "Traces and analysis:"})
	root.AddCommand(cmd)
	root.SetArgs(append([]string{cmd.Name()}, args...))
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	return root.ExecuteContext(context.Background())
}

func TestNewCmdModelFetch(t *testing.T) {
	env := map[string]string{"AGENTLENS_CACHE": "/env/cache", "HOME": "/home/u"}
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantSpecs []string
		wantAll   []bool
		wantForce bool
		wantIndex string
		wantCache string
		wantUsage bool
	}{
		{name: "default model", args: nil, env: env,
			wantSpecs: []string{"smollm2"}, wantAll: []bool{false}, wantCache: "/env/cache"},
		{name: "all", args: []string{"all"}, env: env,
			wantSpecs: []string{"smollm2", "gemma3", "xla-cpu"}, wantAll: []bool{true, true, true}, wantCache: "/env/cache"},
		{name: "named and all dedupe", args: []string{"XLA-CPU", "all", "gemma3"}, env: env,
			wantSpecs: []string{"xla-cpu", "smollm2", "gemma3"}, wantAll: []bool{false, true, false}, wantCache: "/env/cache"},
		{name: "force and index flag", args: []string{"gemma3", "-f", "--index-url", "http://idx"}, env: env,
			wantSpecs: []string{"gemma3"}, wantAll: []bool{false}, wantForce: true, wantIndex: "http://idx", wantCache: "/env/cache"},
		{name: "index from env", args: []string{"gemma3"},
			env:       map[string]string{"AGENTLENS_PYPI_URL": "http://env-idx", "HOME": "/home/u"},
			wantSpecs: []string{"gemma3"}, wantAll: []bool{false}, wantIndex: "http://env-idx", wantCache: "/home/u/.cache/agentlens"},
		{name: "cache flag wins", args: []string{"--cache", "/flag/cache"}, env: env,
			wantSpecs: []string{"smollm2"}, wantAll: []bool{false}, wantCache: "/flag/cache"},
		{name: "unknown model", args: []string{"llama"}, env: env, wantUsage: true},
		{name: "unknown flag", args: []string{"--frobnicate"}, env: env, wantUsage: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := testFactory(tc.env)
			var got *modelFetchOptions
			err := execute(f, newCmdModelFetch(f, func(o *modelFetchOptions) error { got = o; return nil }), tc.args)
			if tc.wantUsage {
				if exitCode(err) != ExitUsage {
					t.Fatalf("error = %v (exit %d), want a usage error", err, exitCode(err))
				}
				return
			}
			if err != nil {
				t.Fatalf("execute: %v", err)
			}
			var names []string
			for _, s := range got.Specs {
				names = append(names, s.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.wantSpecs) {
				t.Errorf("Specs = %v, want %v", names, tc.wantSpecs)
			}
			if fmt.Sprint(got.FromAll) != fmt.Sprint(tc.wantAll) {
				t.Errorf("FromAll = %v, want %v", got.FromAll, tc.wantAll)
			}
			if got.Force != tc.wantForce {
				t.Errorf("Force = %v, want %v", got.Force, tc.wantForce)
			}
			if got.IndexURL != tc.wantIndex {
				t.Errorf("IndexURL = %q, want %q", got.IndexURL, tc.wantIndex)
			}
			if got.CacheDir != tc.wantCache {
				t.Errorf("CacheDir = %q, want %q", got.CacheDir, tc.wantCache)
			}
		})
	}
}

func TestNewCmdVersion(t *testing.T) {
	f, out, _ := testFactory(nil)
	var got *versionOptions
	if err := execute(f, newCmdVersion(f, func(o *versionOptions) error { got = o; return nil }), nil); err != nil {
		t.Fatalf("execute: %v", err)
	}
	if got.Version != "v0.0.0-test" {
		t.Errorf("Version = %q, want %q", got.Version, "v0.0.0-test")
	}
	if err := execute(f, newCmdVersion(f, nil), []string{"extra"}); exitCode(err) != ExitUsage {
		t.Errorf("version extra: error = %v, want a usage error", err)
	}
	if err := versionRun(got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "agentlens v0.0.0-test (go") {
		t.Errorf("version output = %q, want prefix %q", out.String(), "agentlens v0.0.0-test (go")
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain", errors.New("boom"), ExitError},
		{"silent", ErrSilent, ExitError},
		{"flag", flagErrorf("bad"), ExitUsage},
		{"wrapped flag", fmt.Errorf("x: %w", flagErrorf("bad")), ExitUsage},
		{"unknown spec", fmt.Errorf("x: %w", hub.ErrUnknownSpec), ExitUsage},
		{"cobra unknown command", errors.New(`unknown command "x" for "agentlens"`), ExitUsage},
		{"canceled", fmt.Errorf("fetch: %w", context.Canceled), ExitCanceled},
		{"digest", fmt.Errorf("fetch: %w", hub.ErrDigestMismatch), ExitModel},
		{"not fetched", fmt.Errorf("model x: %w", ErrModelNotFetched), ExitModel},
		{"missing tensor", fmt.Errorf("load: layer 3: %w", model.ErrMissingTensor), ExitModel},
		{"plugin", fmt.Errorf("xla: %w", backend.ErrPluginLoad), ExitModel},
		{"missing file", fmt.Errorf("read ep.jsonl: %w", fs.ErrNotExist), ExitInput},
		{"bad rule", fmt.Errorf("--segment-rule r.json: %w", trace.ErrBadRule), ExitInput},
		{"schema", fmt.Errorf("read t.parquet: %w", data.ErrSchema), ExitInput},
		{"bad json", fmt.Errorf("ep.jsonl: %w", &json.SyntaxError{}), ExitInput},
		{"probe input", fmt.Errorf("probe: %w", probes.ErrOneClass), ExitInput},
		{"figure", fmt.Errorf("figure: %w", heatmap.ErrShape), ExitInput},
	}
	for _, tc := range tests {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%s) = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestRun checks the whole tree through run: exit codes and where messages go.
func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // substring of stdout
		wantErrOut string // substring of stderr
	}{
		{"version", []string{"version"}, ExitOK, "agentlens v0.0.0-test", ""},
		{"help", []string{"--help"}, ExitOK, "model fetch all", ""},
		{"unknown command", []string{"frob"}, ExitUsage, "", `unknown command "frob"`},
		{"unknown model", []string{"model", "fetch", "nope"}, ExitUsage, "", "Run 'agentlens model fetch --help' for usage."},
		{"fetch from dead index", []string{"model", "fetch", "--index-url", "http://127.0.0.1:1"}, ExitError, "", "agentlens: model fetch smollm2:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, out, errOut := testFactory(map[string]string{"AGENTLENS_CACHE": t.TempDir()})
			if got := Run(context.Background(), f, tc.args); got != tc.wantCode {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tc.args, got, tc.wantCode, errOut)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout = %q, want it to contain %q", out, tc.wantOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErrOut) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tc.wantErrOut)
			}
		})
	}
}

func TestCacheDirDefault(t *testing.T) {
	f, _, _ := testFactory(map[string]string{"HOME": "/h"})
	got, err := f.CacheDir()
	if want := filepath.Join("/h", ".cache", "agentlens"); err != nil || got != want {
		t.Errorf("CacheDir() = %q, %v; want %q", got, err, want)
	}
}

func TestEveryCommandHasExample(t *testing.T) {
	f, _, _ := testFactory(nil)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Example == "" && c.Name() != "help" {
			t.Errorf("command %q has no Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewCmdRoot(f))
}

// TestEveryCommandHasJSON keeps --json on every command that prints a result; completion prints a
// script and environment is a help topic.
func TestEveryCommandHasJSON(t *testing.T) {
	f, _, _ := testFactory(nil)
	without := map[string]bool{"agentlens completion": true, "agentlens environment": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.HasSubCommands() && c.Name() != "help" {
			if has := c.Flags().Lookup("json") != nil; has == without[c.CommandPath()] {
				t.Errorf("command %q: has --json = %v, want %v", c.CommandPath(), has, !has)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewCmdRoot(f))
}
