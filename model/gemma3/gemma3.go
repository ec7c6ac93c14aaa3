// Package gemma3 registers the Gemma-3 text decoder (Gemma3ForCausalLM): RMSNorm scaled by (1 + w),
// q/k norms, sandwich norms around attention and MLP, GeGLU, scaled embeddings, and sliding-window local
// layers interleaved with global layers that use a different RoPE base.
package gemma3

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/agentlens/agentlens/model"
)

// Config is the part of a Hugging Face Gemma-3 text config.json the model needs.
type Config struct {
	HiddenSize            int               `json:"hidden_size"`
	IntermediateSize      int               `json:"intermediate_size"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	NumKeyValueHeads      int               `json:"num_key_value_heads"`
	NumHiddenLayers       int               `json:"num_hidden_layers"`
	VocabSize             int               `json:"vocab_size"`
	HeadDim               int               `json:"head_dim"`
	RMSNormEps            float64           `json:"rms_norm_eps"`
	RopeTheta             float64           `json:"rope_theta"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"` // the context length trained for (0: unknown)
	RopeLocalBaseFreq     float64           `json:"rope_local_base_freq"`
	QueryPreAttnScalar    float64           `json:"query_pre_attn_scalar"`
	SlidingWindow         int               `json:"sliding_window"`
	SlidingWindowPattern  int               `json:"sliding_window_pattern"`
	LayerTypes            []string          `json:"layer_types"`
	HiddenActivation      string            `json:"hidden_activation"`
	TieWordEmbeddings     *bool             `json:"tie_word_embeddings"`
	FinalLogitSoftcap     *float64          `json:"final_logit_softcapping"`
	AttnLogitSoftcap      *float64          `json:"attn_logit_softcapping"`
	RopeScaling           *model.RopeConfig `json:"rope_scaling"` // rope_parameters is not read
}

// ggufLayer is llama.cpp's naming of Gemma-3 layer tensors: ffn_norm is the pre-MLP norm and the sandwich
// norms have their own names.
var ggufLayer = map[string]model.Role{
	"attn_norm.weight":           model.RoleAttnNorm,
	"attn_q.weight":              model.RoleQ,
	"attn_k.weight":              model.RoleK,
	"attn_v.weight":              model.RoleV,
	"attn_output.weight":         model.RoleO,
	"attn_q_norm.weight":         model.RoleQNorm,
	"attn_k_norm.weight":         model.RoleKNorm,
	"post_attention_norm.weight": model.RolePostAttnNorm,
	"ffn_norm.weight":            model.RoleMLPNorm,
	"post_ffw_norm.weight":       model.RolePostMLPNorm,
	"ffn_gate.weight":            model.RoleGate,
	"ffn_up.weight":              model.RoleUp,
	"ffn_down.weight":            model.RoleDown,
}

func init() {
	model.Register(model.Family{
		Architectures: []string{"Gemma3ForCausalLM"},
		GGUFArch:      "gemma3",
		FromConfig:    fromConfig,
		FromGGUF:      fromGGUF,
		GGUFLayer:     ggufLayer,
		FromGGUFTensor: func(a *model.Arch, role model.Role, isLayer bool, data []float32, shape []int) []float32 {
			// llama.cpp stores Gemma norm weights as 1 + w; Hugging Face keeps w and scales by (1 + w).
			norm := !isLayer && role == -1 && len(shape) == 1 && shape[0] == a.DModel
			switch role {
			case model.RoleAttnNorm, model.RoleQNorm, model.RoleKNorm, model.RolePostAttnNorm, model.RoleMLPNorm, model.RolePostMLPNorm:
				norm = isLayer
			}
			if norm {
				for i := range data {
					data[i] -= 1
				}
			}
			return data
		},
	})
}

func fromConfig(data []byte) (*model.Arch, error) {
	var c Config
	if _, err := model.DecodeConfig(data, &c); err != nil {
		return nil, err
	}
	return New(c)
}

// New builds the Arch from a Config.
func New(c Config) (*model.Arch, error) {
	if err := model.RequireAct("hidden_activation", c.HiddenActivation, "gelu_pytorch_tanh"); err != nil {
		return nil, err
	}
	if err := c.RopeScaling.CheckType("rope_scaling", "Gemma-3", "linear"); err != nil {
		return nil, err
	}
	finalCap, err := model.ConfigSoftcap("final_logit_softcapping", c.FinalLogitSoftcap)
	if err != nil {
		return nil, err
	}
	attnCap, err := model.ConfigSoftcap("attn_logit_softcapping", c.AttnLogitSoftcap)
	if err != nil {
		return nil, err
	}
	c.RopeTheta = cmp.Or(c.RopeTheta, 1_000_000)
	c.RopeLocalBaseFreq = cmp.Or(c.RopeLocalBaseFreq, 10_000)
	c.RMSNormEps = cmp.Or(c.RMSNormEps, 1e-6)
	if c.HeadDim == 0 {
		c.HeadDim = 256
	}
	if c.QueryPreAttnScalar == 0 {
		c.QueryPreAttnScalar = float64(c.HeadDim)
	}
	if c.SlidingWindowPattern == 0 {
		c.SlidingWindowPattern = 6
	}
	c.NumKeyValueHeads = cmp.Or(c.NumKeyValueHeads, c.NumAttentionHeads)
	types := c.LayerTypes
	if len(types) == 0 {
		for l := 0; l < c.NumHiddenLayers; l++ {
			t := "sliding_attention"
			if (l+1)%c.SlidingWindowPattern == 0 {
				t = "full_attention"
			}
			types = append(types, t)
		}
	}
	if len(types) != c.NumHiddenLayers {
		return nil, fmt.Errorf("%w: layer_types has %d entries, num_hidden_layers is %d", model.ErrBadConfig, len(types), c.NumHiddenLayers)
	}
	global := model.RoPE{InvFreq: c.RopeScaling.ScaleInvFreq(model.DefaultInvFreq(c.RopeTheta, c.HeadDim)), Scale: 1}
	local := model.RoPE{InvFreq: model.DefaultInvFreq(c.RopeLocalBaseFreq, c.HeadDim), Scale: 1}
	ropes := make([]model.RoPE, c.NumHiddenLayers)
	windows := make([]int, c.NumHiddenLayers)
	for l, t := range types {
		switch t {
		case "sliding_attention":
			ropes[l], windows[l] = local, c.SlidingWindow
		case "full_attention":
			ropes[l] = global
		default:
			return nil, fmt.Errorf("%w: layer_types[%d] = %q", model.ErrBadConfig, l, t)
		}
	}
	tied := c.TieWordEmbeddings == nil || *c.TieWordEmbeddings
	a := &model.Arch{
		Name: "Gemma3ForCausalLM",
		Dims: model.Dims{
			DModel: c.HiddenSize, NHeads: c.NumAttentionHeads, NKVHeads: c.NumKeyValueHeads, DHead: c.HeadDim,
			DMLP: c.IntermediateSize, NLayers: c.NumHiddenLayers, DVocab: c.VocabSize,
		},
		NormEps:       c.RMSNormEps,
		NormOnePlus:   true,
		QKNorm:        true,
		SandwichNorm:  true,
		Act:           model.GELUTanh,
		EmbedScale:    float32(math.Sqrt(float64(c.HiddenSize))),
		AttnScale:     float32(math.Pow(c.QueryPreAttnScalar, -0.5)),
		AttnSoftcap:   attnCap,
		FinalSoftcap:  finalCap,
		LayerRoPE:     ropes,
		LayerWindow:   windows,
		TiedEmbed:     tied,
		Names:         names(),
		ContextLength: c.MaxPositionEmbeddings,
	}
	return a, a.Validate()
}

// names are Gemma-3's Hugging Face weight names: post_attention_layernorm is the sandwich norm after
// attention and pre_feedforward_layernorm the norm before the MLP.
func names() model.WeightNames {
	n := model.LlamaStyleNames()
	n.Layer[model.RoleMLPNorm] = "pre_feedforward_layernorm.weight"
	return n
}

func fromGGUF(meta map[string]any, tensors []string) (*model.Arch, error) {
	var c Config
	var err error
	req := func(key string) int {
		if err != nil {
			return 0
		}
		var v int
		v, err = model.RequireInt(meta, "gemma3."+key)
		return v
	}
	c.HiddenSize = req("embedding_length")
	c.IntermediateSize = req("feed_forward_length")
	c.NumAttentionHeads = req("attention.head_count")
	c.NumHiddenLayers = req("block_count")
	if err != nil {
		return nil, err
	}
	c.MaxPositionEmbeddings, _ = model.MetaInt(meta, "gemma3.context_length")
	c.NumKeyValueHeads, _ = model.MetaInt(meta, "gemma3.attention.head_count_kv")
	c.HeadDim, _ = model.MetaInt(meta, "gemma3.attention.key_length")
	c.SlidingWindow, _ = model.MetaInt(meta, "gemma3.attention.sliding_window")
	c.SlidingWindowPattern, _ = model.MetaInt(meta, "gemma3.attention.sliding_window_pattern")
	c.VocabSize, _ = model.MetaInt(meta, "gemma3.vocab_size")
	if c.VocabSize == 0 {
		toks, _ := meta["tokenizer.ggml.tokens"].([]string)
		c.VocabSize = len(toks)
	}
	c.RMSNormEps, _ = model.MetaFloat(meta, "gemma3.attention.layer_norm_rms_epsilon")
	c.RopeTheta, _ = model.MetaFloat(meta, "gemma3.rope.freq_base")
	if f, ok := model.MetaFloat(meta, "gemma3.rope.scaling.factor"); ok && f != 1 {
		c.RopeScaling = &model.RopeConfig{RopeType: "linear", Factor: f}
	}
	tied := !slices.Contains(tensors, model.GGUFUnembed)
	c.TieWordEmbeddings = &tied
	return New(c)
}
