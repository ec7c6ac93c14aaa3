package cli

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"

	"golang.org/x/term"

	"github.com/agentlens/agentlens/model/hub"
)

// IOStreams are the standard streams a command uses, and whether they are terminals.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// StdoutTTY and StderrTTY report whether Out and ErrOut are terminals (progress goes to ErrOut
	// only when it is one).
	StdoutTTY, StderrTTY bool
}

// SystemIO returns the process's standard streams.
func SystemIO() *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// Factory holds what commands reach outside themselves. Build one with NewFactory, or fill the fields
// in tests.
type Factory struct {
	// IO are the streams commands read and write.
	IO *IOStreams
	// Getenv reads an environment variable; commands never call os.Getenv themselves.
	Getenv func(string) string
	// CacheDirFlag is the value of the --cache flag; empty means the environment decides.
	CacheDirFlag string
	// HTTPClient makes network requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Specs returns the model specs "model fetch" knows, in "all" order; nil means hub.Known.
	Specs func() []hub.Spec
	// Version is the build's version string, printed by "agentlens version".
	Version string
}

// Environment variables read by the CLI (through Factory.Getenv).
const (
	// EnvCache names the cache directory (models/, pjrt/); default $HOME/.cache/agentlens.
	EnvCache = "AGENTLENS_CACHE"
)

// NewFactory returns a Factory on the process's streams and environment.
func NewFactory() *Factory {
	return &Factory{
		IO:      SystemIO(),
		Getenv:  os.Getenv,
		Version: buildVersion(),
	}
}

// CacheDir returns the cache directory: the --cache flag, else $AGENTLENS_CACHE, else
// $HOME/.cache/agentlens (the same rule as internal/testutil.CacheDir).
func (f *Factory) CacheDir() (string, error) {
	if f.CacheDirFlag != "" {
		return f.CacheDirFlag, nil
	}
	if d := f.getenv(EnvCache); d != "" {
		return d, nil
	}
	home := f.getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", flagErrorf("no cache directory: set %s or --cache (%v)", EnvCache, err)
		}
	}
	return filepath.Join(home, ".cache", "agentlens"), nil
}

func (f *Factory) getenv(k string) string {
	if f.Getenv == nil {
		return ""
	}
	return f.Getenv(k)
}

// hfEnv is the Hugging Face configuration (HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE),
// read as huggingface_hub reads it.
func (f *Factory) hfEnv() hub.HFEnv { return hub.ReadHFEnv(f.getenv) }

// hfCache is the Hugging Face cache that hf: references resolve in.
func (f *Factory) hfCache() hub.HFCache { return hub.HFCache{Dir: f.hfEnv().CacheDir} }

// hfPull makes sure the files of ref are in the Hugging Face cache, downloading what is missing with
// progress on stderr (a line per file when stderr is not a terminal).
func (f *Factory) hfPull(ctx context.Context, ref hub.HFRef) (hub.PullResult, error) {
	env := f.hfEnv()
	o := withFetchProgress(f.IO, hub.Options{HTTPClient: f.HTTPClient})
	return hub.HFCache{Dir: env.CacheDir}.Pull(ctx, ref, hub.PullOptions{
		Endpoint: env.Endpoint, Token: env.Token, Offline: env.Offline,
		HTTPClient: f.HTTPClient, Progress: o.Progress, Log: o.Log,
	})
}

func (f *Factory) specs() []hub.Spec {
	if f.Specs != nil {
		return f.Specs()
	}
	return hub.Known()
}

// buildVersion describes the running binary from its embedded build information.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev + modified
	}
	return v
}
