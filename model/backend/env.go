package backend

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/agentlens/agentlens/model/internal/isa"
)

// Environment variables read by this package. They are read only in this file, and only when New or
// FindPlugin is called; Options fields always take precedence.
const (
	// EnvBackend selects the backend ("auto", "go" or "xla") when New is called with an empty name.
	EnvBackend = "AGENTLENS_BACKEND"
	// EnvCache is the agentlens cache directory; the XLA plugin is looked up in its pjrt/ folder.
	EnvCache = "AGENTLENS_CACHE"
	// EnvPluginPath is go-xla's colon-separated list of directories holding PJRT plugins; each is
	// searched for PluginFileName before the cache.
	EnvPluginPath = "PJRT_PLUGIN_LIBRARY_PATH"
	// EnvXLAFlags is XLA's own flag list. When AGENTLENS_KERNEL forces an instruction-set level, New
	// adds --xla_cpu_max_isa for it here before the plugin loads (unless the list already sets one), so
	// the XLA backend's generated code is held to the same level as the Go kernels.
	EnvXLAFlags = "XLA_FLAGS"
)

// xlaISA names XLA's --xla_cpu_max_isa value for each level (generic: SSE4.2, the x86-64 baseline XLA
// accepts).
var xlaISA = map[isa.Level]string{isa.Generic: "SSE4_2", isa.AVX2: "AVX2", isa.AVX512: "AVX512"}

// capXLAISA adds --xla_cpu_max_isa to $XLA_FLAGS when the kernel choice is forced, and returns the
// cap in force ("" for none). It must run before the plugin is loaded: XLA reads its flags once.
func capXLAISA(c isa.Choice) string {
	flags := os.Getenv(EnvXLAFlags)
	if i := strings.Index(flags, "--xla_cpu_max_isa="); i >= 0 {
		v, _, _ := strings.Cut(flags[i+len("--xla_cpu_max_isa="):], " ")
		return v
	}
	if !c.Forced {
		return ""
	}
	v := xlaISA[c.Max]
	os.Setenv(EnvXLAFlags, strings.TrimSpace(flags+" --xla_cpu_max_isa="+v))
	return v
}

// environment is a snapshot of the variables this package reads.
type environment struct {
	backend    string   // $AGENTLENS_BACKEND
	cacheDir   string   // $AGENTLENS_CACHE, else $HOME/.cache/agentlens
	pluginDirs []string // $PJRT_PLUGIN_LIBRARY_PATH split on ':', absolute entries only
	gpu        bool     // an NVIDIA GPU device node exists (/dev/nvidiaN)
}

// readEnv takes a snapshot of the environment.
func readEnv() environment {
	e := environment{backend: strings.TrimSpace(os.Getenv(EnvBackend))}
	if devs, _ := filepath.Glob("/dev/nvidia[0-9]*"); len(devs) > 0 { // a container may see only /dev/nvidia3
		e.gpu = true
	}
	e.cacheDir = os.Getenv(EnvCache)
	if e.cacheDir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			e.cacheDir = filepath.Join(home, ".cache", "agentlens")
		}
	}
	for _, d := range strings.Split(os.Getenv(EnvPluginPath), ":") {
		if d != "" && filepath.IsAbs(d) {
			e.pluginDirs = append(e.pluginDirs, d)
		}
	}
	return e
}
