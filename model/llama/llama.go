// Package llama registers the Llama decoder family (LlamaForCausalLM, also SmolLM2 and Llama-3.x with its
// rope scaling) with package model. Its GGUF architecture "llama" also covers llama.cpp's conversions of
// Mistral checkpoints; Hugging Face MistralForCausalLM directories load through package mistral.
package llama

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/agentlens/agentlens/model"
)

// Config is the part of a Hugging Face Llama config.json the model needs.
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
	RopeScaling           *model.RopeConfig `json:"rope_scaling"`
	TieWordEmbeddings     bool              `json:"tie_word_embeddings"`
	AttentionBias         bool              `json:"attention_bias"`
	MLPBias               bool              `json:"mlp_bias"`
	HiddenAct             string            `json:"hidden_act"`
	RopeParameters        *model.RopeConfig `json:"rope_parameters"` // transformers ≥ 5 spelling of rope_scaling, with rope_theta
}

func init() {
	model.Register(model.Family{
		Architectures: []string{"LlamaForCausalLM"},
		GGUFArch:      "llama",
		FromConfig:    fromConfig,
		FromGGUF:      fromGGUF,
		GGUFLayer:     model.DefaultGGUFLayer,
		FromGGUFTensor: func(a *model.Arch, role model.Role, isLayer bool, data []float32, shape []int) []float32 {
			switch {
			case isLayer && role == model.RoleQ:
				return model.UnpermuteQK(data, shape, a.NHeads)
			case isLayer && role == model.RoleK:
				return model.UnpermuteQK(data, shape, a.NKVHeads)
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
	if c.MLPBias {
		return nil, fmt.Errorf("%w: mlp_bias=true is not supported", model.ErrBadConfig)
	}
	if c.AttentionBias {
		return nil, fmt.Errorf("%w: attention_bias=true is not supported", model.ErrBadConfig)
	}
	if err := model.RequireAct("hidden_act", c.HiddenAct, "silu"); err != nil {
		return nil, err
	}
	c.NumKeyValueHeads = cmp.Or(c.NumKeyValueHeads, c.NumAttentionHeads)
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	rs, _ := model.PickRope(c.RopeScaling, c.RopeParameters)
	c.RopeTheta = rs.Theta(c.RopeTheta, 10000)
	c.RMSNormEps = cmp.Or(c.RMSNormEps, 1e-6)
	return New(c)
}

// New builds the Arch from a Config.
func New(c Config) (*model.Arch, error) {
	rs, key := model.PickRope(c.RopeScaling, c.RopeParameters)
	if err := rs.CheckType(key, "Llama", "llama3", "linear"); err != nil {
		return nil, err
	}
	inv := rs.ScaleInvFreq(model.DefaultInvFreq(c.RopeTheta, c.HeadDim))
	a := &model.Arch{
		Name: "LlamaForCausalLM",
		Dims: model.Dims{
			DModel: c.HiddenSize, NHeads: c.NumAttentionHeads, NKVHeads: c.NumKeyValueHeads, DHead: c.HeadDim,
			DMLP: c.IntermediateSize, NLayers: c.NumHiddenLayers, DVocab: c.VocabSize,
		},
		NormEps:       c.RMSNormEps,
		Act:           model.SiLU,
		AttnScale:     float32(1 / math.Sqrt(float64(c.HeadDim))),
		LayerRoPE:     model.Uniform(c.NumHiddenLayers, model.RoPE{InvFreq: inv, Scale: 1}),
		LayerWindow:   make([]int, c.NumHiddenLayers),
		TiedEmbed:     c.TieWordEmbeddings,
		Names:         model.LlamaStyleNames(),
		ContextLength: c.MaxPositionEmbeddings,
	}
	return a, a.Validate()
}

func fromGGUF(meta map[string]any, tensors []string) (*model.Arch, error) {
	var c Config
	var err error
	req := func(key string) int {
		if err != nil {
			return 0
		}
		var v int
		v, err = model.RequireInt(meta, "llama."+key)
		return v
	}
	c.HiddenSize = req("embedding_length")
	c.IntermediateSize = req("feed_forward_length")
	c.NumAttentionHeads = req("attention.head_count")
	c.NumHiddenLayers = req("block_count")
	if err != nil {
		return nil, err
	}
	c.MaxPositionEmbeddings, _ = model.MetaInt(meta, "llama.context_length")
	c.NumKeyValueHeads = c.NumAttentionHeads
	if v, ok := model.MetaInt(meta, "llama.attention.head_count_kv"); ok {
		c.NumKeyValueHeads = v
	}
	c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	if v, ok := model.MetaInt(meta, "llama.attention.key_length"); ok {
		c.HeadDim = v
	}
	c.VocabSize, _ = model.MetaInt(meta, "llama.vocab_size")
	if c.VocabSize == 0 {
		toks, _ := meta["tokenizer.ggml.tokens"].([]string)
		c.VocabSize = len(toks)
	}
	c.RMSNormEps = 1e-5
	if v, ok := model.MetaFloat(meta, "llama.attention.layer_norm_rms_epsilon"); ok {
		c.RMSNormEps = v
	}
	c.RopeTheta = 10000
	if v, ok := model.MetaFloat(meta, "llama.rope.freq_base"); ok {
		c.RopeTheta = v
	}
	if slices.Contains(tensors, "rope_freqs.weight") {
		return nil, fmt.Errorf("%w: GGUF rope_freqs (llama3 rope scaling) is not supported yet; load the safetensors model", model.ErrBadConfig)
	}
	c.TieWordEmbeddings = !slices.Contains(tensors, model.GGUFUnembed)
	return New(c)
}
