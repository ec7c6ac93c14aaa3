// Package olmo2 registers the OLMo-2 decoder family (Olmo2ForCausalLM): blocks with no norm before
// attention or the MLP, RMSNorm on their outputs instead (resid_mid = resid_pre +
// post_attention_layernorm(attn(resid_pre)), resid_post = resid_mid + post_feedforward_layernorm(mlp(resid_mid))),
// and q/k RMSNorm over the whole projection width before the heads are split and rotated.
package olmo2

import (
	"cmp"
	"fmt"
	"math"

	"github.com/agentlens/agentlens/model"
)

// Config is the part of a Hugging Face OLMo-2 config.json the model needs.
type Config struct {
	HiddenSize            int               `json:"hidden_size"`
	IntermediateSize      int               `json:"intermediate_size"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	NumKeyValueHeads      int               `json:"num_key_value_heads"`
	NumHiddenLayers       int               `json:"num_hidden_layers"`
	VocabSize             int               `json:"vocab_size"`
	HeadDim               int               `json:"head_dim"` // not an Olmo2Config key; 0: hidden_size/num_attention_heads
	RMSNormEps            float64           `json:"rms_norm_eps"`
	RopeTheta             float64           `json:"rope_theta"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"` // the context length trained for (0: unknown)
	TieWordEmbeddings     bool              `json:"tie_word_embeddings"`
	AttentionBias         bool              `json:"attention_bias"`
	HiddenAct             string            `json:"hidden_act"`
	RopeScaling           *model.RopeConfig `json:"rope_scaling"`
	RopeParameters        *model.RopeConfig `json:"rope_parameters"` // transformers ≥ 5 spelling of rope_scaling, with rope_theta
}

func init() {
	model.Register(model.Family{
		Architectures: []string{"Olmo2ForCausalLM"},
		FromConfig:    fromConfig,
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
	if err := model.RequireAct("hidden_act", c.HiddenAct, "silu"); err != nil {
		return nil, err
	}
	if c.AttentionBias {
		return nil, fmt.Errorf("%w: attention_bias=true is not supported", model.ErrBadConfig)
	}
	rs, key := model.PickRope(c.RopeScaling, c.RopeParameters)
	if err := rs.CheckType(key, "OLMo-2"); err != nil {
		return nil, err
	}
	if c.NumAttentionHeads <= 0 {
		return nil, fmt.Errorf("%w: num_attention_heads %d", model.ErrBadConfig, c.NumAttentionHeads)
	}
	c.NumKeyValueHeads = cmp.Or(c.NumKeyValueHeads, c.NumAttentionHeads)
	if c.HeadDim == 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	c.RopeTheta = rs.Theta(c.RopeTheta, 10000)
	c.RMSNormEps = cmp.Or(c.RMSNormEps, 1e-5) // Olmo2Config's default
	a := &model.Arch{
		Name: "Olmo2ForCausalLM",
		Dims: model.Dims{
			DModel: c.HiddenSize, NHeads: c.NumAttentionHeads, NKVHeads: c.NumKeyValueHeads, DHead: c.HeadDim,
			DMLP: c.IntermediateSize, NLayers: c.NumHiddenLayers, DVocab: c.VocabSize,
		},
		NormEps:       c.RMSNormEps,
		QKNormFull:    true,
		PostNormOnly:  true,
		Act:           model.SiLU,
		AttnScale:     float32(1 / math.Sqrt(float64(c.HeadDim))),
		LayerRoPE:     model.Uniform(c.NumHiddenLayers, model.RoPE{InvFreq: model.DefaultInvFreq(c.RopeTheta, c.HeadDim), Scale: 1}),
		LayerWindow:   make([]int, c.NumHiddenLayers),
		TiedEmbed:     c.TieWordEmbeddings,
		Names:         model.LlamaStyleNames(), // PostNormOnly reads post_attention_layernorm as the post-attention norm
		ContextLength: c.MaxPositionEmbeddings,
	}
	return a, a.Validate()
}
