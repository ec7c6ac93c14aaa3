package backend

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/agentlens/agentlens/model/internal/isa"
)

// Backend names accepted by New.
const (
	// Auto picks XLA when its plugin loads and SimpleGo otherwise.
	Auto = "auto"
	// Go is GoMLX's pure-Go SimpleGo backend (always available, CGO_ENABLED=0 included).
	Go = "go"
	// XLA is GoMLX's XLA backend running the PJRT CPU plugin (needs cgo and the plugin file).
	XLA = "xla"
)

// DefaultGoConfig is the SimpleGo configuration used when Options.GoConfig is empty: its default
// dynamic op scheduler can deadlock on large backward graphs, the sequential one does not (matmuls
// still use all cores).
const DefaultGoConfig = "ops_sequential"

// PluginDir is the folder of the agentlens cache that holds the PJRT plugin.
const PluginDir = "pjrt"

// PluginFileName is the file name the PJRT CPU plugin is looked up under (in each directory of
// $PJRT_PLUGIN_LIBRARY_PATH, then in <cache>/pjrt/). It is the wheel's xla_cpu_pjrt.so renamed to
// go-xla's naming convention pjrt_c_api_<name>_plugin.so, so go-xla's own search also finds it as
// plugin "cpu".
const PluginFileName = "pjrt_c_api_cpu_plugin.so"

// CUDAPluginFileName is the file name a CUDA PJRT plugin is looked up under, in the same places as
// PluginFileName (go-xla's name for plugin "cuda"; e.g. the xla_cuda_plugin.so of the jax-cuda12-pjrt
// wheel, renamed). The xla and auto backends load it instead of the CPU plugin when the node has an
// NVIDIA GPU (a /dev/nvidiaN device), and fall back to the CPU plugin, saying why, when it fails.
const CUDAPluginFileName = "pjrt_c_api_cuda_plugin.so"

// Options configures New. The zero value is ready to use.
type Options struct {
	// PluginPath is the PJRT CPU plugin file for the xla backend. Empty: the first
	// PluginFileName found in $PJRT_PLUGIN_LIBRARY_PATH's directories, then in CacheDir/pjrt.
	PluginPath string
	// CacheDir is the agentlens cache directory. Empty: $AGENTLENS_CACHE, else ~/.cache/agentlens.
	CacheDir string
	// GoConfig is the SimpleGo configuration string ("ops_sequential", "ops_parallel",
	// "parallelism=N", ...). Empty: DefaultGoConfig.
	GoConfig string
	// XLADevices is the number of CPU devices the XLA client creates. 0 means 1: GoMLX runs a graph
	// on device 0 only, and XLA parallelises inside each op across all cores anyway.
	XLADevices int
}

// Info describes the backend New chose; callers print it (String) so runs record what they ran on.
type Info struct {
	// Requested is the name asked for after defaulting: "auto", "go" or "xla".
	Requested string
	// Name is the backend chosen: "go" or "xla".
	Name string
	// Reason says why Name was chosen; for auto falling back to go it holds the XLA error.
	Reason string
	// PluginPath is the absolute path of the PJRT plugin loaded (xla only).
	PluginPath string
	// PluginAPIVersion is the PJRT C API version the plugin reports, e.g. "0.81" (xla only).
	PluginAPIVersion string
	// Description is the backend's own description (backends.Backend.Description).
	Description string
	// HeapKept says glibc malloc keeps the plugin's freed buffers for reuse (xla only; see HeapKept).
	HeapKept bool
	// Device is what the XLA plugin runs on: "cpu" or "cuda" (xla only).
	Device string
	// XLAMaxISA is the --xla_cpu_max_isa cap in $XLA_FLAGS when the plugin loaded ("AVX2"; empty: XLA
	// uses everything this CPU has). AGENTLENS_KERNEL sets it (see EnvXLAFlags).
	XLAMaxISA string
}

// String returns a one-line summary such as "backend xla (auto): plugin /c/pjrt/… loaded, PJRT C API 0.81".
func (i Info) String() string {
	s := fmt.Sprintf("backend %s (%s): %s", i.Name, i.Requested, i.Reason)
	if i.HeapKept {
		s += "; malloc keeps freed memory"
	}
	if i.XLAMaxISA != "" {
		s += "; XLA code held to " + i.XLAMaxISA
	}
	return s
}

// New creates the GoMLX backend called name: "go" (SimpleGo), "xla" (XLA with the PJRT CPU plugin,
// an error if it cannot be loaded) or "auto" (XLA when the plugin loads, else SimpleGo). An empty
// name means $AGENTLENS_BACKEND, else "auto". The caller owns the backend and should Finalize it when
// done; create one per process, since each XLA backend starts its own thread pool.
//
// GoMLX never downloads anything through New: the plugin is given by absolute path and GoMLX's
// auto-install is switched off.
func New(name string, opts Options) (backends.Backend, Info, error) {
	env := readEnv()
	req := strings.ToLower(strings.TrimSpace(name))
	if req == "" {
		req = strings.ToLower(env.backend)
	}
	if req == "" {
		req = Auto
	}
	info := Info{Requested: req}
	switch req {
	case Go:
		b, err := newGo(opts)
		if err != nil {
			return nil, info, err
		}
		info.Name, info.Reason, info.Description = Go, "requested", b.Description()
		return b, info, nil
	case XLA:
		b, xi, err := newXLAFromEnv(opts, env)
		if err != nil {
			return nil, info, err
		}
		xi.Requested = req
		xi.Reason = fmt.Sprintf("requested; plugin %s, PJRT C API %s", xi.PluginPath, xi.PluginAPIVersion) + xi.Reason
		return b, xi, nil
	case Auto:
		b, xi, err := newXLAFromEnv(opts, env)
		if err == nil {
			xi.Requested = req
			xi.Reason = fmt.Sprintf("plugin %s loaded, PJRT C API %s", xi.PluginPath, xi.PluginAPIVersion) + xi.Reason
			return b, xi, nil
		}
		gb, gerr := newGo(opts)
		if gerr != nil {
			return nil, info, errors.Join(err, gerr)
		}
		info.Name, info.Description = Go, gb.Description()
		info.Reason = "xla unavailable, using go: " + err.Error()
		return gb, info, nil
	default:
		return nil, info, fmt.Errorf("backend %q: %w (want %q, %q or %q)", name, ErrUnknownBackend, Auto, Go, XLA)
	}
}

// newGo creates the SimpleGo backend.
func newGo(opts Options) (backends.Backend, error) {
	cfg := opts.GoConfig
	if cfg == "" {
		cfg = DefaultGoConfig
	}
	b, err := simplego.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("backend go: config %q: %w", cfg, err)
	}
	return b, nil
}

// newXLAFromEnv finds the plugin and creates the XLA backend.
func newXLAFromEnv(opts Options, env environment) (backends.Backend, Info, error) {
	if !xlaCompiled {
		return nil, Info{}, fmt.Errorf("backend xla: %w", ErrXLANotCompiled)
	}
	// A GPU node with the CUDA plugin in reach runs on the GPU; the CPU plugin is the fallback.
	var cudaNote string
	if opts.PluginPath == "" && env.gpu {
		if cp, err := findPluginFile(opts, env, CUDAPluginFileName); err == nil {
			b, version, err := newXLA(cp, 0)
			if err == nil {
				return b, Info{Name: XLA, PluginPath: cp, PluginAPIVersion: version, Description: b.Description(), Device: "cuda",
					Reason: "; this node has an NVIDIA GPU"}, nil
			}
			cudaNote = fmt.Sprintf("; the CUDA plugin %s failed (%v), running on the CPU", cp, err)
		}
	}
	path, err := findPlugin(opts, env)
	if err != nil {
		return nil, Info{}, fmt.Errorf("backend xla: %w%s", err, cudaNote)
	}
	devices := opts.XLADevices
	if devices <= 0 {
		devices = 1
	}
	maxISA := capXLAISA(isa.Current())
	b, version, err := newXLA(path, devices)
	if err != nil {
		return nil, Info{}, fmt.Errorf("backend xla: plugin %s: %w", path, err)
	}
	return b, Info{Name: XLA, PluginPath: path, PluginAPIVersion: version, Description: b.Description(), Device: "cpu",
		HeapKept: HeapKept(), XLAMaxISA: maxISA, Reason: cudaNote}, nil
}

// FindPlugin returns the absolute path of the PJRT CPU plugin New would load for opts, or an error
// wrapping ErrPluginNotFound that lists the places looked at. It does not load the plugin.
func FindPlugin(opts Options) (string, error) {
	return findPlugin(opts, readEnv())
}

// findPlugin implements FindPlugin for a given environment snapshot.
func findPlugin(opts Options, env environment) (string, error) {
	return findPluginFile(opts, env, PluginFileName)
}

// findPluginFile looks for the plugin file name in $PJRT_PLUGIN_LIBRARY_PATH's directories, then in
// the cache's pjrt/ (opts.PluginPath, when set, wins).
func findPluginFile(opts Options, env environment, name string) (string, error) {
	if opts.PluginPath != "" {
		p, err := filepath.Abs(opts.PluginPath)
		if err != nil {
			return "", fmt.Errorf("plugin %s: %w", opts.PluginPath, err)
		}
		if err := checkPluginFile(p); err != nil {
			return "", err
		}
		return p, nil
	}
	var tried []string
	dirs := append([]string(nil), env.pluginDirs...)
	cache := opts.CacheDir
	if cache == "" {
		cache = env.cacheDir
	}
	if cache != "" {
		if abs, err := filepath.Abs(cache); err == nil {
			dirs = append(dirs, filepath.Join(abs, PluginDir))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if checkPluginFile(p) == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("%w: no cache directory or %s set", ErrPluginNotFound, EnvPluginPath)
	}
	return "", fmt.Errorf("%w: looked for %s", ErrPluginNotFound, strings.Join(tried, ", "))
}

// checkPluginFile reports whether p names a regular file go-xla can be given as a plugin path.
func checkPluginFile(p string) error {
	if strings.Contains(p, ",") {
		// GoMLX's xla config string splits on commas.
		return fmt.Errorf("plugin %s: %w: path contains a comma", p, ErrPluginLoad)
	}
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("plugin %s: %w", p, ErrPluginNotFound)
		}
		return fmt.Errorf("plugin %s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("plugin %s: %w: not a regular file", p, ErrPluginNotFound)
	}
	return nil
}
