package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/trace"
)

// modelChoice is what the commands that run a model share: the model (--model, resolved), the cache,
// the backend, the chat template and the tool-call style, and how to fetch a known model that is not in
// the cache yet.
type modelChoice struct {
	Model    string // resolved model path
	CacheDir string
	Backend  string
	Template string
	Style    trace.ToolCallStyle // --tool-call-style: how to write what the chat template drops

	// fetch downloads the model when it is a known name not yet in the cache (nil: don't).
	fetch func(ctx context.Context, spec hub.Spec) (string, error)
	spec  *hub.Spec
	// hf is the --model hf: reference; pull downloads it when it is not in the Hugging Face cache.
	hf   *hub.HFRef
	pull func(ctx context.Context, ref hub.HFRef) (hub.PullResult, error)
}

// modelChoiceArgs are the raw flag values parse reads.
type modelChoiceArgs struct{ model, style string }

// flags registers --model, --backend, --chat-template and --tool-call-style.
func (m *modelChoice) flags(cmd *cobra.Command, a *modelChoiceArgs) {
	fl := cmd.Flags()
	fl.StringVarP(&a.model, "model", "m", hub.NameSmolLM2, "model `file`, directory, ollama:name[:tag], hf:org/name[@revision][:quant], or a name known to 'model fetch'")
	fl.StringVar(&m.Backend, "backend", "", "backend: go, xla or auto (default $AGENTLENS_BACKEND or auto)")
	fl.StringVar(&m.Template, "chat-template", "", "chat template `file` (overrides the model's)")
	fl.StringVar(&a.style, "tool-call-style", "", "write tool calls and reasoning the chat template drops as text: `xml` or json")
}

// parse resolves the model (see resolveModelArg) and the style; a known model name not yet in the cache
// is fetched when the command runs (open).
func (m *modelChoice) parse(f *Factory, a modelChoiceArgs) error {
	var err error
	if m.Style, err = trace.ParseToolCallStyle(a.style); err != nil {
		return flagErrorf("--tool-call-style %s: want xml or json", a.style)
	}
	if m.CacheDir, err = f.CacheDir(); err != nil {
		return err
	}
	ref, err := resolveModelArg(f, a.model)
	if err != nil {
		return err
	}
	m.Model, m.spec, m.hf = ref.Path, ref.Spec, ref.HF
	if ref.HF != nil {
		m.pull = func(ctx context.Context, r hub.HFRef) (hub.PullResult, error) { return f.hfPull(ctx, r) }
	}
	if ref.Spec != nil {
		hopts := withFetchProgress(f.IO, hub.Options{HTTPClient: f.HTTPClient})
		m.fetch = func(ctx context.Context, spec hub.Spec) (string, error) {
			return hub.Fetch(ctx, spec, m.CacheDir, hopts)
		}
	}
	return nil
}

// fetchIfMissing downloads a known model that is not in the cache yet.
func (m *modelChoice) fetchIfMissing(ctx context.Context, io *IOStreams) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if m.hf != nil && m.Model == "" && m.pull != nil {
		fmt.Fprintf(io.ErrOut, "agentlens: %s is not in the Hugging Face cache, pulling it\n", m.hf)
		res, err := m.pull(ctx, *m.hf)
		if err != nil {
			return err
		}
		m.Model = res.Path
		return nil
	}
	if m.spec == nil || m.fetch == nil {
		return nil
	}
	if _, err := os.Stat(m.Model); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	fmt.Fprintf(io.ErrOut, "agentlens: %s is not in the cache, fetching it\n", m.spec.Name)
	var err error
	m.Model, err = m.fetch(ctx, *m.spec)
	return err
}

// open fetches the model if needed, loads it with its tokenizer and chat template, and says on stderr
// what was loaded on which backend.
func (m *modelChoice) open(ctx context.Context, io *IOStreams) (*session, error) {
	if err := m.fetchIfMissing(ctx, io); err != nil {
		return nil, err
	}
	start := time.Now()
	s, err := openSession(m.Model, m.CacheDir, m.Backend, m.Template, layerProgress(io))
	if err != nil {
		return nil, err
	}
	s.Style = m.Style
	if m.hf != nil {
		s.Name = m.hf.String()
	}
	fmt.Fprintf(io.ErrOut, "agentlens: %s on %s (%.1f s to load)\n", s.Name, s.Backend, time.Since(start).Seconds())
	return s, nil
}
