// Package qwen2 registers the Qwen2 decoder family (Qwen2ForCausalLM, Qwen2.5): Llama-style blocks with
// biases on the q/k/v projections.
package qwen2

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/agentlens/agentlens/model"
)

// Config is the part of a Hugging Face Qwen2 config.json the model needs.
type Config struct {
	HiddenSize            int               `json:"hidden_size"`
	IntermediateSize      int               `json:"intermediate_size"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	NumKeyValueHeads      int               `json:"num_key_value_heads"`
	NumHiddenLayers       int               `json:"num_hidden_layers"`
	VocabSize             int               `json:"vocab_size"`
	RMSNormEps            float64           `json:"rms_norm_eps"`
	RopeTheta             float64           `json:"rope_theta"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"` // the context length trained for (0: unknown)
	TieWordEmbeddings     bool              `json:"tie_word_embeddings"`
	UseSlidingWindow      bool              `json:"use_sliding_window"`
	SlidingWindow         int               `json:"sliding_window"`
	MaxWindowLayers       int               `json:"max_window_layers"`
	HiddenAct             string            `json:"hidden_act"`
	RopeScaling           *model.RopeConfig `json:"rope_scaling"` // only the default type; rope_parameters is not read
}

func init() {
	model.Register(model.Family{
		Architectures: []string{"Qwen2ForCausalLM"},
		GGUFArch:      "qwen2",
		FromConfig:    fromConfig,
		FromGGUF:      fromGGUF,
		GGUFLayer:     model.DefaultGGUFLayer,
	})
}

func fromConfig(data []byte) (*model.Arch, error) {
	var c Config
	if _, err := model.DecodeConfig(data, &c); err != nil {
		return nil, err
	}
	if err := model.RequireAct("hidden_act", c.HiddenAct, "silu"); err != nil {
		return nil, err
	}
	if err := c.RopeScaling.CheckType("rope_scaling", "Qwen2"); err != nil {
		return nil, err
	}
	return New(c)
}

// New builds the Arch from a Config.
func New(c Config) (*model.Arch, error) {
	c.NumKeyValueHeads = cmp.Or(c.NumKeyValueHeads, c.NumAttentionHeads)
	c.RopeTheta = cmp.Or(c.RopeTheta, 10000)
	c.RMSNormEps = cmp.Or(c.RMSNormEps, 1e-6)
	if c.NumAttentionHeads <= 0 {
		return nil, fmt.Errorf("%w: num_attention_heads %d", model.ErrBadConfig, c.NumAttentionHeads)
	}
	dHead := c.HiddenSize / c.NumAttentionHeads
	windows := make([]int, c.NumHiddenLayers)
	if c.UseSlidingWindow {
		for l := range windows {
			if l >= c.MaxWindowLayers {
				windows[l] = c.SlidingWindow
			}
		}
	}
	a := &model.Arch{
		Name: "Qwen2ForCausalLM",
		Dims: model.Dims{
			DModel: c.HiddenSize, NHeads: c.NumAttentionHeads, NKVHeads: c.NumKeyValueHeads, DHead: dHead,
			DMLP: c.IntermediateSize, NLayers: c.NumHiddenLayers, DVocab: c.VocabSize,
		},
		NormEps:       c.RMSNormEps,
		QKVBias:       true,
		Act:           model.SiLU,
		AttnScale:     float32(1 / math.Sqrt(float64(dHead))),
		LayerRoPE:     model.Uniform(c.NumHiddenLayers, model.RoPE{InvFreq: model.DefaultInvFreq(c.RopeTheta, dHead), Scale: 1}),
		LayerWindow:   windows,
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
		v, err = model.RequireInt(meta, "qwen2."+key)
		return v
	}
	c.HiddenSize = req("embedding_length")
	c.IntermediateSize = req("feed_forward_length")
	c.NumAttentionHeads = req("attention.head_count")
	c.NumHiddenLayers = req("block_count")
	if err != nil {
		return nil, err
	}
	c.MaxPositionEmbeddings, _ = model.MetaInt(meta, "qwen2.context_length")
	c.NumKeyValueHeads, _ = model.MetaInt(meta, "qwen2.attention.head_count_kv")
	c.VocabSize, _ = model.MetaInt(meta, "qwen2.vocab_size")
	if c.VocabSize == 0 {
		toks, _ := meta["tokenizer.ggml.tokens"].([]string)
		c.VocabSize = len(toks)
	}
	c.RMSNormEps, _ = model.MetaFloat(meta, "qwen2.attention.layer_norm_rms_epsilon")
	c.RopeTheta, _ = model.MetaFloat(meta, "qwen2.rope.freq_base")
	c.TieWordEmbeddings = !slices.Contains(tensors, model.GGUFUnembed)
	return New(c)
}
