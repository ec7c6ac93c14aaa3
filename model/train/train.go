package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/gomlx/gomlx/backends/simplego"

	_ "github.com/agentlens/agentlens/model/internal/autodiff" // usable VJPs for DotGeneral, Rsqrt, Slice
	"github.com/agentlens/agentlens/model/internal/fastdot"
	"github.com/agentlens/agentlens/model/safetensors"
)

// ErrBadInput reports examples or options the trainer cannot use.
var ErrBadInput = errors.New("train: bad input")

// Config is the shape of the Llama model trained: no grouped-query attention (as many key/value heads
// as query heads), SiLU MLP, RMSNorm, rotary embeddings, untied embeddings.
type Config struct {
	DVocab, DModel, NHeads, DHead, DMLP, NLayers int
	RopeTheta, NormEps                           float64
}

// HFConfig returns the Hugging Face config.json content of the model (LlamaForCausalLM).
func (c Config) HFConfig() map[string]any {
	return map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"hidden_size":             c.DModel,
		"intermediate_size":       c.DMLP,
		"num_attention_heads":     c.NHeads,
		"num_key_value_heads":     c.NHeads,
		"num_hidden_layers":       c.NLayers,
		"head_dim":                c.DHead,
		"vocab_size":              c.DVocab,
		"rms_norm_eps":            c.NormEps,
		"rope_theta":              c.RopeTheta,
		"max_position_embeddings": 1024,
		"tie_word_embeddings":     false,
		"hidden_act":              "silu",
		"torch_dtype":             "float32",
	}
}

// Weights are a model's parameters under their Hugging Face names, in a fixed order.
type Weights struct {
	Names  []string
	Shapes [][]int
	Data   [][]float32
}

// layerNames are the per-layer tensors, in order, and whether each is a norm weight.
var layerNames = []struct {
	suffix string
	norm   bool
}{
	{"input_layernorm.weight", true},
	{"self_attn.q_proj.weight", false},
	{"self_attn.k_proj.weight", false},
	{"self_attn.v_proj.weight", false},
	{"self_attn.o_proj.weight", false},
	{"post_attention_layernorm.weight", true},
	{"mlp.gate_proj.weight", false},
	{"mlp.up_proj.weight", false},
	{"mlp.down_proj.weight", false},
}

func (c Config) layerShape(i int) []int {
	hd := c.NHeads * c.DHead
	return [][]int{{c.DModel}, {hd, c.DModel}, {hd, c.DModel}, {hd, c.DModel}, {c.DModel, hd}, {c.DModel},
		{c.DMLP, c.DModel}, {c.DMLP, c.DModel}, {c.DModel, c.DMLP}}[i]
}

// Init returns freshly initialised weights: norms 1, embeddings N(0, 1), projections N(0, 1/fan_in)
// (the residual-writing ones, o_proj and down_proj, further scaled by 1/√(2·n_layers)), from a PCG
// seeded by seed.
func Init(c Config, seed uint64) *Weights {
	r := rand.New(rand.NewPCG(seed, 0x6f7267616e69736d))
	w := &Weights{}
	add := func(name string, shape []int, std float64, one bool) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			if one {
				data[i] = 1
			} else {
				data[i] = float32(std * r.NormFloat64())
			}
		}
		w.Names, w.Shapes, w.Data = append(w.Names, name), append(w.Shapes, shape), append(w.Data, data)
	}
	add("model.embed_tokens.weight", []int{c.DVocab, c.DModel}, 1, false)
	out := 1 / math.Sqrt(2*float64(c.NLayers))
	for l := range c.NLayers {
		p := "model.layers." + strconv.Itoa(l) + "."
		for i, ln := range layerNames {
			shape := c.layerShape(i)
			std := 0.0
			if !ln.norm {
				std = 1 / math.Sqrt(float64(shape[1]))
				if ln.suffix == "self_attn.o_proj.weight" || ln.suffix == "mlp.down_proj.weight" {
					std *= out
				}
			}
			add(p+ln.suffix, shape, std, ln.norm)
		}
	}
	add("model.norm.weight", []int{c.DModel}, 0, true)
	add("lm_head.weight", []int{c.DVocab, c.DModel}, 1/math.Sqrt(float64(c.DModel)), false)
	return w
}

// Clone returns a deep copy.
func (w *Weights) Clone() *Weights {
	out := &Weights{Names: slices.Clone(w.Names), Shapes: slices.Clone(w.Shapes)}
	for _, d := range w.Data {
		out.Data = append(out.Data, slices.Clone(d))
	}
	return out
}

// Save writes the model as a Hugging Face directory: config.json and model.safetensors (each written
// to a temporary file and renamed).
func (w *Weights) Save(dir string, c Config) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []safetensors.Tensor
	for i, n := range w.Names {
		ts = append(ts, safetensors.Tensor{Name: n, DType: "F32", Shape: w.Shapes[i], Data: w.Data[i]})
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	return WriteJSON(filepath.Join(dir, "config.json"), c.HFConfig())
}

// WriteJSON writes v as indented JSON to path through a temporary file.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Target is one supervised next-token prediction: the logits at Pos should predict Token.
type Target struct {
	Pos, Token int
	Weight     float32 // 0 means 1
}

// Example is one training sequence and the predictions scored on it.
type Example struct {
	Tokens  []int
	Targets []Target
}

// graph inputs before the weights.
const nFixed = 7

// Forward builds the model on the graph: tokens is [batch, pos] int32, cos and sin are [pos, d_head]
// rotary tables, mask is [pos, pos] (0 or −1e9), ws the weights in Weights order. It returns the final
// normalised residual, [batch, pos, d_model].
func Forward(c Config, tokens, cos, sin, mask *graph.Node, ws []*graph.Node) *graph.Node {
	B, T := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	H, dh := c.NHeads, c.DHead
	x := graph.Gather(ws[0], graph.InsertAxes(tokens, -1)) // [batch, pos, d_model]
	cb := graph.BroadcastToDims(graph.Reshape(cos, 1, T, 1, dh), B, T, H, dh)
	sb := graph.BroadcastToDims(graph.Reshape(sin, 1, T, 1, dh), B, T, H, dh)
	mb := graph.BroadcastToDims(graph.Reshape(mask, 1, 1, T, T), B, H, T, T)
	rot := rotateHalf(x.Graph(), dh)
	k := 1
	for range c.NLayers {
		w := ws[k : k+len(layerNames)]
		k += len(layerNames)
		h := rmsNorm(x, w[0], c.NormEps)
		q := graph.Reshape(linear(h, w[1]), B, T, H, dh)
		kk := graph.Reshape(linear(h, w[2]), B, T, H, dh)
		v := graph.Reshape(linear(h, w[3]), B, T, H, dh)
		q = graph.Add(graph.Mul(q, cb), graph.Mul(graph.DotGeneral(q, []int{3}, nil, rot, []int{0}, nil), sb))
		kk = graph.Add(graph.Mul(kk, cb), graph.Mul(graph.DotGeneral(kk, []int{3}, nil, rot, []int{0}, nil), sb))
		scores := graph.MulScalar(graph.Einsum("bqhd,bkhd->bhqk", q, kk), 1/math.Sqrt(float64(dh)))
		pattern := graph.Softmax(graph.Add(scores, mb), -1)
		z := graph.Einsum("bhqk,bkhd->bqhd", pattern, v)
		x = graph.Add(x, linear(graph.Reshape(z, B, T, H*dh), w[4]))
		h = rmsNorm(x, w[5], c.NormEps)
		g := linear(h, w[6])
		x = graph.Add(x, linear(graph.Mul(graph.Mul(g, graph.Sigmoid(g)), linear(h, w[7])), w[8]))
	}
	return rmsNorm(x, ws[k], c.NormEps)
}

// linear is x·wᵀ for a [out, in] weight.
func linear(x, w *graph.Node) *graph.Node {
	return graph.DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{1}, nil)
}

func rmsNorm(x, w *graph.Node, eps float64) *graph.Node {
	ms := graph.ReduceAndKeep(graph.Square(x), graph.ReduceMean, -1)
	y := graph.Mul(x, graph.Rsqrt(graph.AddScalar(ms, eps)))
	shape := make([]int, x.Rank())
	for i := range shape {
		shape[i] = 1
	}
	shape[len(shape)-1] = w.Shape().Dimensions[0]
	return graph.Mul(y, graph.BroadcastToDims(graph.Reshape(w, shape...), x.Shape().Dimensions...))
}

// rotateHalf is Hugging Face's rotate_half as a constant signed permutation: rotate_half(x)[i] =
// Σ_j x[j]·r[j][i].
func rotateHalf(g *graph.Graph, dh int) *graph.Node {
	half := dh / 2
	r := make([][]float32, dh)
	for j := range r {
		r[j] = make([]float32, dh)
	}
	for i := range half {
		r[i+half][i] = -1
		r[i][i+half] = 1
	}
	return graph.Const(g, r)
}

// tables returns the rotary cos and sin tables [T, d_head] and the causal mask [T, T].
func (c Config) tables(T int) (cos, sin [][]float32, mask [][]float32) {
	half := c.DHead / 2
	cos, sin, mask = make([][]float32, T), make([][]float32, T), make([][]float32, T)
	for p := range T {
		cos[p], sin[p], mask[p] = make([]float32, c.DHead), make([]float32, c.DHead), make([]float32, T)
		for i := range half {
			inv := 1 / math.Pow(c.RopeTheta, float64(2*i)/float64(c.DHead))
			a := float64(p) * inv
			cos[p][i], cos[p][i+half] = float32(math.Cos(a)), float32(math.Cos(a))
			sin[p][i], sin[p][i+half] = float32(math.Sin(a)), float32(math.Sin(a))
		}
		for q := p + 1; q < T; q++ {
			mask[p][q] = -1e9
		}
	}
	return cos, sin, mask
}

// Trainer runs forward and backward passes of one model configuration on a backend.
type Trainer struct {
	c       Config
	backend backends.Backend
	step    *graph.Exec // (tokens, sel, onehot, weights, cos, sin, mask, ws…) → (loss, logits, grads…)
}

// New returns a trainer for models of configuration c.
func New(c Config, backend backends.Backend) (*Trainer, error) {
	if c.DHead%2 != 0 || c.DModel <= 0 || c.NLayers <= 0 || c.DVocab <= 0 {
		return nil, fmt.Errorf("%w: config %+v", ErrBadInput, c)
	}
	if _, ok := backend.(*simplego.Backend); ok {
		// As in package model: the sgemm-backed DotGeneral is ~10× SimpleGo's own (same results).
		_ = fastdot.Install()
	}
	t := &Trainer{c: c, backend: backend}
	e, err := graph.NewExec(backend, func(in []*graph.Node) []*graph.Node {
		tokens, sel, onehot, weight, cos, sin, mask := in[0], in[1], in[2], in[3], in[4], in[5], in[6]
		ws := in[nFixed:]
		x := Forward(c, tokens, cos, sin, mask, ws) // [batch, pos, d_model]
		B, T := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
		rows := graph.DotGeneral(sel, []int{1}, nil, graph.Reshape(x, B*T, c.DModel), []int{0}, nil) // [n, d_model]
		logits := linear(rows, ws[len(ws)-1])                                                        // [n, d_vocab]
		lp := graph.ReduceSum(graph.Mul(graph.LogSoftmax(logits, -1), onehot), -1)                   // [n]
		total := graph.MaxScalar(graph.ReduceAllSum(weight), 1e-9)
		loss := graph.Div(graph.Neg(graph.ReduceAllSum(graph.Mul(lp, weight))), total)
		grads := graph.Gradient(loss, ws...)
		return append([]*graph.Node{loss, logits}, grads...)
	})
	if err != nil {
		return nil, err
	}
	e.SetMaxCache(-1)
	t.step = e
	return t, nil
}

// batch is a packed batch: examples padded to one length, and their targets as selection rows.
type batch struct {
	tokens  [][]int32
	sel     [][]float32 // [n, batch·pos]
	onehot  [][]float32 // [n, d_vocab]
	weight  []float32   // [n]
	targets []int       // [n] the target token of each row (−1 for padding rows)
}

// Bucket is the padding granularity of sequence lengths (each length compiles its own graph).
const Bucket = 32

func (t *Trainer) pack(exs []Example, rowsPer int) (*batch, error) {
	T := 0
	for _, e := range exs {
		T = max(T, len(e.Tokens))
	}
	T = (T + Bucket - 1) / Bucket * Bucket
	n := len(exs) * rowsPer
	b := &batch{tokens: make([][]int32, len(exs)), sel: make([][]float32, n), onehot: make([][]float32, n),
		weight: make([]float32, n), targets: make([]int, n)}
	for i := range n {
		b.sel[i], b.onehot[i], b.targets[i] = make([]float32, len(exs)*T), make([]float32, t.c.DVocab), -1
	}
	for i, e := range exs {
		b.tokens[i] = make([]int32, T)
		for p, id := range e.Tokens {
			if id < 0 || id >= t.c.DVocab {
				return nil, fmt.Errorf("%w: token %d outside the vocabulary", ErrBadInput, id)
			}
			b.tokens[i][p] = int32(id)
		}
		if len(e.Targets) > rowsPer {
			return nil, fmt.Errorf("%w: example %d has %d targets (at most %d)", ErrBadInput, i, len(e.Targets), rowsPer)
		}
		for j, tg := range e.Targets {
			if tg.Pos < 0 || tg.Pos >= len(e.Tokens) || tg.Token < 0 || tg.Token >= t.c.DVocab {
				return nil, fmt.Errorf("%w: example %d: target %+v", ErrBadInput, i, tg)
			}
			r := i*rowsPer + j
			b.sel[r][i*T+tg.Pos] = 1
			b.onehot[r][tg.Token] = 1
			b.weight[r] = tg.Weight
			if b.weight[r] == 0 {
				b.weight[r] = 1
			}
			b.targets[r] = tg.Token
		}
	}
	return b, nil
}

// Pass is the result of one forward and backward pass over a batch.
type Pass struct {
	Loss float64
	// Logits[i] are the logits of the i-th target of the batch (in example order).
	Logits [][]float32
	Grads  [][]float32 // in Weights order
}

// Run computes the weighted mean cross-entropy of the examples' targets, their logits and the loss's
// gradient with respect to every weight. rowsPer is the most targets any example has (rows are padded
// to it so batches of one size share a compiled graph).
func (t *Trainer) Run(w *Weights, exs []Example, rowsPer int) (out *Pass, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("train: graph execution: %v", r)
		}
	}()
	b, err := t.pack(exs, rowsPer)
	if err != nil {
		return nil, err
	}
	T := len(b.tokens[0])
	cos, sin, mask := t.c.tables(T)
	args := []any{b.tokens, b.sel, b.onehot, b.weight, cos, sin, mask}
	for i, d := range w.Data {
		args = append(args, tensors.FromFlatDataAndDimensions(d, w.Shapes[i]...))
	}
	res, err := t.step.Exec(args...)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, r := range res {
			r.FinalizeAll()
		}
	}()
	out = &Pass{Loss: float64(tensors.ToScalar[float32](res[0]))}
	lg, err := tensors.CopyFlatData[float32](res[1])
	if err != nil {
		return nil, err
	}
	V := t.c.DVocab
	for r, tg := range b.targets {
		if tg >= 0 {
			out.Logits = append(out.Logits, lg[r*V:(r+1)*V])
		}
	}
	for _, g := range res[2:] {
		d, err := tensors.CopyFlatData[float32](g)
		if err != nil {
			return nil, err
		}
		out.Grads = append(out.Grads, d)
	}
	return out, nil
}

// Adam is the Adam optimiser state (Kingma & Ba), with decoupled weight decay on matrices. The learning
// rate is Step's argument.
type Adam struct {
	Beta1, Beta2, Eps, WeightDecay float64
	m, v                           [][]float32
	t                              int
}

// Step updates w in place with gradients g at learning rate lr.
func (a *Adam) Step(w *Weights, g [][]float32, lr float64) {
	if a.m == nil {
		for _, d := range w.Data {
			a.m, a.v = append(a.m, make([]float32, len(d))), append(a.v, make([]float32, len(d)))
		}
	}
	a.t++
	c1 := 1 - math.Pow(a.Beta1, float64(a.t))
	c2 := 1 - math.Pow(a.Beta2, float64(a.t))
	for i, d := range w.Data {
		decay := 0.0
		if len(w.Shapes[i]) == 2 {
			decay = a.WeightDecay
		}
		m, v := a.m[i], a.v[i]
		for j, gj := range g[i] {
			m[j] = float32(a.Beta1)*m[j] + float32(1-a.Beta1)*gj
			v[j] = float32(a.Beta2)*v[j] + float32(1-a.Beta2)*gj*gj
			mh, vh := float64(m[j])/c1, float64(v[j])/c2
			d[j] -= float32(lr * (mh/(math.Sqrt(vh)+a.Eps) + decay*float64(d[j])))
		}
	}
}

// ClipNorm scales g so that its global L2 norm is at most maxNorm, and returns the norm before.
func ClipNorm(g [][]float32, maxNorm float64) float64 {
	s := 0.0
	for _, d := range g {
		for _, x := range d {
			s += float64(x) * float64(x)
		}
	}
	n := math.Sqrt(s)
	if n > maxNorm && n > 0 {
		f := float32(maxNorm / n)
		for _, d := range g {
			for j := range d {
				d[j] *= f
			}
		}
	}
	return n
}
