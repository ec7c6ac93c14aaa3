package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/agentlens/agentlens/model"
	_ "github.com/agentlens/agentlens/model/all" // every model family
	"github.com/agentlens/agentlens/model/backend"
	"github.com/agentlens/agentlens/model/gguf"
	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/tokenizer"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/chat"
)

// modelRef is a --model argument resolved: a path to load, and the fetch spec when it named a known
// model (whose file may not be in the cache yet), or the hf: reference (Path is empty while the model
// is not in the Hugging Face cache).
type modelRef struct {
	Path string
	Spec *hub.Spec
	HF   *hub.HFRef
}

// resolveModelArg resolves a --model argument: an existing file or directory (made absolute) or an
// "ollama:" reference as given, else a model name known to "model fetch", pointing into the cache.
func resolveModelArg(f *Factory, arg string) (modelRef, error) {
	if strings.HasPrefix(arg, "ollama:") {
		return modelRef{Path: arg}, nil
	}
	if strings.HasPrefix(arg, hub.HFPrefix) {
		ref, err := hub.ParseHFRef(arg)
		if err != nil {
			return modelRef{}, flagErrorf("--model: %v", err)
		}
		snap, err := f.hfCache().Resolve(ref)
		if err != nil {
			return modelRef{HF: &ref}, nil // pulled when the command runs
		}
		return modelRef{Path: snap.Path, HF: &ref}, nil
	}
	if _, err := os.Stat(arg); err == nil {
		abs, err := filepath.Abs(arg)
		return modelRef{Path: abs}, err
	}
	if strings.ContainsAny(arg, `/\`) || strings.HasSuffix(arg, ".gguf") {
		return modelRef{}, flagErrorf("--model %s: no such file or directory", arg)
	}
	for _, spec := range f.specs() {
		if strings.EqualFold(spec.Name, arg) && strings.HasSuffix(spec.Output, ".gguf") {
			dir, err := f.CacheDir()
			if err != nil {
				return modelRef{}, err
			}
			return modelRef{Path: hub.Path(spec, dir), Spec: &spec}, nil
		}
	}
	return modelRef{}, flagErrorf("--model %s: not a file, directory, ollama: or hf: reference, or known model name (%s, %s)", arg, hub.NameSmolLM2, hub.NameGemma3)
}

// cached returns the path when the file is there, else an error saying how to fetch it.
func (r modelRef) cached() (string, error) {
	if r.HF != nil && r.Path == "" {
		return "", fmt.Errorf("model %s is not in the Hugging Face cache (run 'agentlens model pull %s'): %w", r.HF, r.HF, ErrModelNotFetched)
	}
	if r.Spec == nil {
		return r.Path, nil
	}
	if _, err := os.Stat(r.Path); err != nil {
		return "", fmt.Errorf("model %s: %s is not in the cache (run 'agentlens model fetch %s'): %w", r.Spec.Name, r.Path, r.Spec.Name, ErrModelNotFetched)
	}
	return r.Path, nil
}

// prompter renders episodes for a model: its chat template and, when known, its tokenizer (which
// supplies the template's bos/eos strings and the tokens).
type prompter struct {
	Tok   *tokenizer.Tokenizer // nil: render text only
	Tmpl  *chat.Template
	Style trace.ToolCallStyle // --tool-call-style: how to write what the template drops
}

// render renders an episode, tokenised when the prompter has a tokenizer.
func (p prompter) render(ep *trace.Episode, genPrompt bool) (*trace.Rendered, error) {
	ropts := trace.RenderOptions{AddGenerationPrompt: genPrompt, ToolCallStyle: p.Style}
	var enc trace.EncodeFunc
	if p.Tok != nil {
		if id, ok := p.Tok.BOS(); ok {
			ropts.BOS = p.Tok.Token(id)
		}
		if id, ok := p.Tok.EOS(); ok {
			ropts.EOS = p.Tok.Token(id)
		}
		enc = func(text string) ([]int, [][2]int, error) {
			e := p.Tok.Encode(text, false)
			return e.IDs, e.Offsets, nil
		}
	}
	return trace.Render(ep, p.Tmpl, enc, ropts)
}

// render renders an episode for the session's model and refuses one longer than the context the model
// was trained for: positions past it are extrapolated, and attributions there are not to be trusted.
func (s *session) render(ep *trace.Episode, genPrompt bool) (*trace.Rendered, error) {
	r, err := s.prompter.render(ep, genPrompt)
	if err != nil {
		return nil, err
	}
	if n := s.Model.ContextLength(); n > 0 && len(r.IDs) > n {
		return nil, fmt.Errorf("episode %s: %d tokens with %s's template, longer than the %d-token context the model was trained for",
			ep.ID, len(r.IDs), s.Name, n)
	}
	return r, nil
}

// session is a loaded model with what rendering an episode for it takes.
type session struct {
	prompter
	Path    string // the model path as resolved
	Name    string // a short name for reports: the file or directory base name
	Model   *model.Model
	Backend backend.Info
}

// openSession loads the model at path (GGUF file, Hugging Face directory or ollama reference) on the
// named backend ("", auto, go or xla; the XLA plugin is looked up in cacheDir), its tokenizer (GGUF metadata or tokenizer.json) and its chat
// template (templatePath when given, else the model's own).
func openSession(path, cacheDir, backendName, templatePath string, progress func(stage string, done, total int)) (*session, error) {
	be, info, err := backend.New(backendName, backend.Options{CacheDir: cacheDir})
	if err != nil {
		return nil, err
	}
	m, src, err := model.Load(path, model.LoadOptions{Backend: be, Options: model.Options{Progress: progress}})
	if err != nil {
		return nil, err
	}
	tok, err := sourceTokenizer(path, src)
	if err != nil {
		return nil, err
	}
	tmpl, err := chat.Select(path, tok.ChatTemplate(), templatePath)
	if err != nil {
		return nil, err
	}
	return &session{prompter: prompter{Tok: tok, Tmpl: tmpl}, Path: path, Name: strings.TrimSuffix(filepath.Base(src.Path), ".gguf"),
		Model: m, Backend: info}, nil
}

// warnUnrendered prints, once, which segments the chat template did not render across rs, and how to get
// them into the context.
func (p prompter) warnUnrendered(w io.Writer, rs ...*trace.Rendered) {
	if msg := trace.UnrenderedWarning(p.Tmpl.Name(), rs...); msg != "" {
		fmt.Fprintf(w, "agentlens: warning: %s; they are not in the model's context (render them as text with --tool-call-style xml or json)\n", msg)
	}
	n := 0
	for _, r := range rs {
		n += len(r.AsText)
	}
	if n > 0 {
		fmt.Fprintf(w, "agentlens: wrote %d segments the chat template drops as text in their turn (--tool-call-style %s)\n", n, p.Style)
	}
}

// notRenderedHint adds to a target error in a segment the template did not render how to render it.
func notRenderedHint(err error) error {
	if errors.Is(err, trace.ErrNotRendered) {
		return fmt.Errorf("%w; render tool calls and reasoning as text with --tool-call-style xml or json", err)
	}
	return err
}

// layerProgress returns a model progress callback that redraws one status line on w, or nil when w is
// not a terminal.
func layerProgress(io *IOStreams) func(stage string, done, total int) {
	if !io.StderrTTY {
		return nil
	}
	return func(stage string, done, total int) {
		fmt.Fprintf(io.ErrOut, "\r\033[K%s: layer %d/%d", stage, done, total)
		if done == total {
			fmt.Fprint(io.ErrOut, "\r\033[K")
		}
	}
}

// writeFileAtomic writes data to path through a temporary file in the same directory and a rename.
func writeFileAtomic(path string, write func(f *os.File) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// sourceTokenizer reads the tokenizer of a model Load or Inspect read from src: from its GGUF metadata,
// or the tokenizer.json of its directory (errors name the model as given, path).
func sourceTokenizer(path string, src *model.Source) (*tokenizer.Tokenizer, error) {
	var tok *tokenizer.Tokenizer
	var err error
	if src.GGUFMeta != nil {
		tok, err = tokenizer.FromGGUFMetadata(src.GGUFMeta)
	} else {
		tok, err = tokenizer.FromFile(filepath.Join(src.Path, "tokenizer.json"))
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return tok, nil
}

// openTokenizer reads a model's tokenizer without its weights: from a GGUF file's metadata or a
// Hugging Face directory's tokenizer.json.
func openTokenizer(path string) (*tokenizer.Tokenizer, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return tokenizer.FromFile(filepath.Join(path, "tokenizer.json"))
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUFMetadata(f.MetadataMap())
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return tok, nil
}

// modelHash returns "sha256:<hex>" of a model's weights: the file itself, or for a Hugging Face
// directory its config.json and *.safetensors files in name order. Probes record it, so a probe is not
// applied to other weights by mistake.
func modelHash(path string) (string, error) {
	files := []string{path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		w, _ := filepath.Glob(filepath.Join(path, "*.safetensors"))
		sort.Strings(w)
		files = append([]string{filepath.Join(path, "config.json")}, w...)
	}
	h := sha256.New()
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			return "", fmt.Errorf("model hash: %w", err)
		}
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return "", fmt.Errorf("model hash: %s: %w", f, err)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
