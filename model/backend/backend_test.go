package backend_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agentlens/agentlens/model/backend"
	"github.com/gomlx/gomlx/backends"
)

// xlaBackend is the XLA backend shared by this package's tests (one XLA client per test binary).
var xlaBackend = sync.OnceValues(func() (backends.Backend, error) {
	b, _, err := backend.New(backend.XLA, backend.Options{})
	return b, err
})

// goBackend is the SimpleGo backend shared by this package's tests.
var goBackend = sync.OnceValues(func() (backends.Backend, error) {
	b, _, err := backend.New(backend.Go, backend.Options{})
	return b, err
})

// needXLA returns the shared XLA backend, skipping the test when this binary has no cgo or the
// plugin is not in the cache (run with AGENTLENS_CACHE=/work/cache, or set PJRT_PLUGIN_LIBRARY_PATH).
func needXLA(t testing.TB) backends.Backend {
	t.Helper()
	b, err := xlaBackend()
	switch {
	case errors.Is(err, backend.ErrXLANotCompiled), errors.Is(err, backend.ErrPluginNotFound):
		t.Skipf("xla backend unavailable: %v", err)
	case err != nil:
		t.Fatalf("New(xla): %v", err)
	}
	return b
}

// needGo returns the shared SimpleGo backend.
func needGo(t testing.TB) backends.Backend {
	t.Helper()
	b, err := goBackend()
	if err != nil {
		t.Fatalf("New(go): %v", err)
	}
	return b
}

// writeFakePlugin creates an empty file named like the plugin under dir and returns its path.
func writeFakePlugin(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, backend.PluginFileName)
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindPlugin(t *testing.T) {
	root := t.TempDir()
	cache := filepath.Join(root, "cache")
	inCache := writeFakePlugin(t, filepath.Join(cache, backend.PluginDir))
	inLib := writeFakePlugin(t, filepath.Join(root, "lib"))
	empty := filepath.Join(root, "empty")
	tests := []struct {
		name     string
		opts     backend.Options
		libPath  string // $PJRT_PLUGIN_LIBRARY_PATH
		envCache string // $AGENTLENS_CACHE
		want     string
		wantErr  error
	}{
		{name: "cache from options", opts: backend.Options{CacheDir: cache}, want: inCache},
		{name: "cache from env", envCache: cache, want: inCache},
		{name: "options cache beats env cache", opts: backend.Options{CacheDir: cache}, envCache: empty, want: inCache},
		{name: "library path first", opts: backend.Options{CacheDir: cache}, libPath: filepath.Dir(inLib), want: inLib},
		{name: "library path miss falls to cache", opts: backend.Options{CacheDir: cache}, libPath: empty + ":relative/dir", want: inCache},
		{name: "explicit path", opts: backend.Options{PluginPath: inLib, CacheDir: cache}, want: inLib},
		{name: "explicit path missing", opts: backend.Options{PluginPath: filepath.Join(empty, "x.so")}, wantErr: backend.ErrPluginNotFound},
		{name: "explicit path is a directory", opts: backend.Options{PluginPath: root}, wantErr: backend.ErrPluginNotFound},
		{name: "comma in path", opts: backend.Options{PluginPath: filepath.Join(root, "a,b.so")}, wantErr: backend.ErrPluginLoad},
		{name: "nothing anywhere", opts: backend.Options{CacheDir: empty}, wantErr: backend.ErrPluginNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(backend.EnvPluginPath, tc.libPath)
			t.Setenv(backend.EnvCache, tc.envCache)
			got, err := backend.FindPlugin(tc.opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("FindPlugin = %q, %v; want error %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FindPlugin = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	root := t.TempDir()
	emptyCache := filepath.Join(root, "empty")
	badPlugin := writeFakePlugin(t, filepath.Join(root, "bad")) // an empty file: dlopen fails
	tests := []struct {
		name       string
		arg        string // name passed to New
		env        string // $AGENTLENS_BACKEND
		opts       backend.Options
		wantName   string
		wantReq    string
		wantErr    error
		wantReason string // substring of Info.Reason
	}{
		{name: "go", arg: "go", wantName: backend.Go, wantReq: backend.Go, wantReason: "requested"},
		{name: "go upper case", arg: " GO ", wantName: backend.Go, wantReq: backend.Go},
		{name: "env selects go", env: "go", wantName: backend.Go, wantReq: backend.Go},
		{name: "argument beats env", arg: "go", env: "xla", wantName: backend.Go, wantReq: backend.Go},
		{name: "go with parallel ops", arg: "go", opts: backend.Options{GoConfig: "ops_parallel"}, wantName: backend.Go},
		{name: "go with bad config", arg: "go", opts: backend.Options{GoConfig: "parallelism=x"}, wantErr: errors.New("")},
		{name: "unknown", arg: "tpu", wantErr: backend.ErrUnknownBackend},
		{name: "unknown from env", env: "cuda", wantErr: backend.ErrUnknownBackend},
		{name: "xla without plugin", arg: "xla", opts: backend.Options{CacheDir: emptyCache}, wantErr: errAnyOf(backend.ErrPluginNotFound, backend.ErrXLANotCompiled)},
		{name: "xla with broken plugin", arg: "xla", opts: backend.Options{PluginPath: badPlugin}, wantErr: errAnyOf(backend.ErrPluginLoad, backend.ErrXLANotCompiled)},
		{name: "auto without plugin", arg: "auto", opts: backend.Options{CacheDir: emptyCache}, wantName: backend.Go, wantReq: backend.Auto, wantReason: "xla unavailable"},
		{name: "empty means auto", opts: backend.Options{CacheDir: emptyCache}, wantName: backend.Go, wantReq: backend.Auto, wantReason: "xla unavailable"},
		{name: "auto with broken plugin", arg: "auto", opts: backend.Options{PluginPath: badPlugin}, wantName: backend.Go, wantReq: backend.Auto, wantReason: "xla unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(backend.EnvBackend, tc.env)
			t.Setenv(backend.EnvPluginPath, "")
			b, info, err := backend.New(tc.arg, tc.opts)
			if tc.wantErr != nil {
				if err == nil {
					b.Finalize()
					t.Fatalf("New(%q) = %v, want an error", tc.arg, info)
				}
				if any, ok := tc.wantErr.(anyOf); ok {
					if !any.is(err) {
						t.Fatalf("New(%q) error = %v, want one of %v", tc.arg, err, any)
					}
				} else if tc.wantErr.Error() != "" && !errors.Is(err, tc.wantErr) {
					t.Fatalf("New(%q) error = %v, want %v", tc.arg, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tc.arg, err)
			}
			defer b.Finalize()
			if info.Name != tc.wantName {
				t.Errorf("New(%q).Name = %q, want %q", tc.arg, info.Name, tc.wantName)
			}
			if tc.wantReq != "" && info.Requested != tc.wantReq {
				t.Errorf("New(%q).Requested = %q, want %q", tc.arg, info.Requested, tc.wantReq)
			}
			if !strings.Contains(info.Reason, tc.wantReason) {
				t.Errorf("New(%q).Reason = %q, want it to contain %q", tc.arg, info.Reason, tc.wantReason)
			}
			if info.Description == "" || !strings.HasPrefix(info.String(), "backend "+info.Name) {
				t.Errorf("New(%q) info = %+v (String %q), want a description and a String naming the backend", tc.arg, info, info.String())
			}
		})
	}
}

// anyOf is a wanted error matching any of several sentinels (the xla cases differ with and without cgo).
type anyOf []error

func errAnyOf(errs ...error) error { return anyOf(errs) }

func (a anyOf) Error() string { return errors.Join(a...).Error() }

func (a anyOf) is(err error) bool {
	for _, e := range a {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func TestNewXLAInfo(t *testing.T) {
	needXLA(t)
	path, err := backend.FindPlugin(backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A second XLA client in the same process, through auto: it must pick XLA and say so.
	b, info, err := backend.New(backend.Auto, backend.Options{})
	if err != nil {
		t.Fatalf("New(auto): %v", err)
	}
	defer b.Finalize()
	if info.Name != backend.XLA || info.PluginPath != path || info.PluginAPIVersion == "" {
		t.Errorf("New(auto) info = %+v, want xla with plugin %s and its API version", info, path)
	}
	if !b.HasSharedBuffers() {
		t.Errorf("xla backend HasSharedBuffers() = false, want true (CPU plugin, zero-copy weights)")
	}
	if got := b.NumDevices(); got != 1 {
		t.Errorf("xla backend NumDevices() = %d, want 1 (Options.XLADevices default)", got)
	}
	t.Log(info)
}
