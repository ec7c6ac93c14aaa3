package backend

import (
	"os"
	"path/filepath"
	"strings"
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
)

// environment is a snapshot of the variables this package reads.
type environment struct {
	backend    string   // $AGENTLENS_BACKEND
	cacheDir   string   // $AGENTLENS_CACHE, else $HOME/.cache/agentlens
	pluginDirs []string // $PJRT_PLUGIN_LIBRARY_PATH split on ':', absolute entries only
}

// readEnv takes a snapshot of the environment.
func readEnv() environment {
	e := environment{backend: strings.TrimSpace(os.Getenv(EnvBackend))}
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
