package hub

import (
	"os"
	"path/filepath"
	"strings"
)

// This file is where package hub reads the environment.

// EnvIndexURL is the environment variable that overrides the package index base URL when
// Options.IndexURL is empty.
const EnvIndexURL = "AGENTLENS_PYPI_URL"

// DefaultIndexURL is the package index used when neither Options.IndexURL nor EnvIndexURL is set.
const DefaultIndexURL = "https://pypi.org"

// indexURL returns the index base URL for opts, without a trailing slash.
func indexURL(opts Options) string {
	u := opts.IndexURL
	if u == "" {
		u = os.Getenv(EnvIndexURL)
	}
	if u == "" {
		u = DefaultIndexURL
	}
	return strings.TrimRight(u, "/")
}

// DefaultEndpoint is the Hugging Face hub used when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// HFEnv is the Hugging Face configuration that huggingface_hub reads from the environment, read the
// same way so that agentlens and Python share one cache, one mirror and one login.
type HFEnv struct {
	// CacheDir is HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
	// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
	CacheDir string
	// Endpoint is HF_ENDPOINT (a mirror), else DefaultEndpoint, without a trailing slash.
	Endpoint string
	// Token is HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the contents of HF_TOKEN_PATH
	// (default $HF_HOME/token, written by `hf auth login`); empty when none.
	Token string
	// Offline is HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1, ON, YES or TRUE.
	Offline bool
}

// ReadHFEnv reads HFEnv through getenv (os.Getenv, or a map in tests), expanding $VARS and a leading ~
// in paths as huggingface_hub does.
func ReadHFEnv(getenv func(string) string) HFEnv {
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	expand := func(p string) string {
		p = os.Expand(p, getenv)
		if p == "~" || strings.HasPrefix(p, "~/") {
			p = filepath.Join(home, p[1:])
		}
		return p
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := getenv(k); v != "" {
				return v
			}
		}
		return ""
	}
	xdg := first("XDG_CACHE_HOME")
	if xdg == "" {
		xdg = filepath.Join(home, ".cache")
	}
	hfHome := expand(first("HF_HOME"))
	if hfHome == "" {
		hfHome = filepath.Join(expand(xdg), "huggingface")
	}
	e := HFEnv{
		CacheDir: expand(first("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")),
		Endpoint: strings.TrimRight(first("HF_ENDPOINT"), "/"),
		Token:    strings.TrimSpace(first("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")),
		Offline:  isTrue(first("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")),
	}
	if e.CacheDir == "" {
		e.CacheDir = filepath.Join(hfHome, "hub")
	}
	if e.Endpoint == "" {
		e.Endpoint = DefaultEndpoint
	}
	if e.Token == "" {
		tokenPath := expand(first("HF_TOKEN_PATH"))
		if tokenPath == "" {
			tokenPath = filepath.Join(hfHome, "token")
		}
		if b, err := os.ReadFile(tokenPath); err == nil {
			e.Token = strings.TrimSpace(string(b))
		}
	}
	return e
}

// isTrue is huggingface_hub's reading of a boolean environment variable.
func isTrue(v string) bool {
	switch strings.ToUpper(v) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}
