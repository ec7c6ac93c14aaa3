// Package gemma2 registers the Gemma-2 decoder (Gemma2ForCausalLM): RMSNorm scaled by (1 + w), sandwich
// norms around attention and MLP, GeGLU, scaled embeddings, sliding-window local layers alternating with
// global ones (one RoPE base for both), and tanh soft-capping of attention scores and final logits.
package gemma2

import (
	"cmp"
	"fmt"
	"math"

	"github.com/agentlens/agentlens/model"
)

// Config is the part of a Hugging Face Gemma-2 config.json the model needs.
type Config struct {
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	NumKeyValueHeads      int      `json:"num_key_value_heads"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	VocabSize             int      `json:"vocab_size"`
	HeadDim               int      `json:"head_dim"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	RopeTheta             float64  `json:"rope_theta"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"` // the context length trained for (0: unknown)
	QueryPreAttnScalar    float64  `json:"query_pre_attn_scalar"`
	SlidingWindow         *int     `json:"sliding_window"`
	LayerTypes            []string `json:"layer_types"`
	HiddenActivation      string   `json:"hidden_activation"`
	HiddenAct             string   `json:"hidden_act"`
	TieWordEmbeddings     *bool    `json:"tie_word_embeddings"`
	AttentionBias         bool     `json:"attention_bias"`
	UseBidirectional      *bool    `json:"use_bidirectional_attention"`
	// FinalLogitSoftcap and AttnLogitSoftcap are the soft caps, nil for none. In a config.json, absent
	// keys take Hugging Face's defaults (30 and 50) and an explicit null turns the cap off.
	FinalLogitSoftcap *float64          `json:"final_logit_softcapping"`
	AttnLogitSoftcap  *float64          `json:"attn_logit_softcapping"`
	RopeScaling       *model.RopeConfig `json:"rope_scaling"`
	RopeParameters    *model.RopeConfig `json:"rope_parameters"` // transformers ≥ 5 spelling of rope_scaling, with rope_theta
}

func init() {
	model.Register(model.Family{
		Architectures: []string{"Gemma2ForCausalLM"},
		FromConfig:    fromConfig,
	})
}

func fromConfig(data []byte) (*model.Arch, error) {
	var c Config
	keys, err := model.DecodeConfig(data, &c)
	if err != nil {
		return nil, err
	}
	for _, d := range []struct {
		key string
		v   **float64
		def float64
	}{{"final_logit_softcapping", &c.FinalLogitSoftcap, 30}, {"attn_logit_softcapping", &c.AttnLogitSoftcap, 50}} {
		if _, ok := keys[d.key]; !ok {
			*d.v = &d.def
		}
	}
	return New(c)
}

// New builds the Arch from a Config.
func New(c Config) (*model.Arch, error) {
	if err := model.RequireAct("hidden_activation", cmp.Or(c.HiddenActivation, c.HiddenAct), "gelu_pytorch_tanh"); err != nil {
		return nil, err
	}
	if c.AttentionBias {
		return nil, fmt.Errorf("%w: attention_bias=true is not supported", model.ErrBadConfig)
	}
	if c.UseBidirectional != nil && *c.UseBidirectional {
		return nil, fmt.Errorf("%w: use_bidirectional_attention=true is not supported", model.ErrBadConfig)
	}
	rs, key := model.PickRope(c.RopeScaling, c.RopeParameters)
	if err := rs.CheckType(key, "Gemma-2"); err != nil {
		return nil, err
	}
	c.RopeTheta = rs.Theta(c.RopeTheta, 10_000)
	c.RMSNormEps = cmp.Or(c.RMSNormEps, 1e-6)
	if c.HeadDim == 0 {
		c.HeadDim = 256
	}
	if c.QueryPreAttnScalar == 0 {
		c.QueryPreAttnScalar = 256
	}
	c.NumKeyValueHeads = cmp.Or(c.NumKeyValueHeads, c.NumAttentionHeads)
	window := 4096
	if c.SlidingWindow != nil {
		window = *c.SlidingWindow
	}
	if window <= 0 {
		return nil, fmt.Errorf("%w: sliding_window %d, want > 0", model.ErrBadConfig, window)
	}
	inv := model.DefaultInvFreq(c.RopeTheta, c.HeadDim)
	// Hugging Face's default layer_types: even layers slide, odd layers are global.
	types := c.LayerTypes
	if len(types) == 0 {
		for l := 0; l < c.NumHiddenLayers; l++ {
			t := "full_attention"
			if (l+1)%2 == 1 {
				t = "sliding_attention"
			}
			types = append(types, t)
		}
	}
	if len(types) != c.NumHiddenLayers {
		return nil, fmt.Errorf("%w: layer_types has %d entries, num_hidden_layers is %d", model.ErrBadConfig, len(types), c.NumHiddenLayers)
	}
	windows := make([]int, c.NumHiddenLayers)
	for l, t := range types {
		switch t {
		case "sliding_attention":
			windows[l] = window
		case "full_attention":
		default:
			return nil, fmt.Errorf("%w: layer_types[%d] = %q", model.ErrBadConfig, l, t)
		}
	}
	finalCap, err := model.ConfigSoftcap("final_logit_softcapping", c.FinalLogitSoftcap)
	if err != nil {
		return nil, err
	}
	attnCap, err := model.ConfigSoftcap("attn_logit_softcapping", c.AttnLogitSoftcap)
	if err != nil {
		return nil, err
	}
	tied := c.TieWordEmbeddings == nil || *c.TieWordEmbeddings
	a := &model.Arch{
		Name: "Gemma2ForCausalLM",
		Dims: model.Dims{
			DModel: c.HiddenSize, NHeads: c.NumAttentionHeads, NKVHeads: c.NumKeyValueHeads, DHead: c.HeadDim,
			DMLP: c.IntermediateSize, NLayers: c.NumHiddenLayers, DVocab: c.VocabSize,
		},
		NormEps:       c.RMSNormEps,
		NormOnePlus:   true,
		SandwichNorm:  true,
		Act:           model.GELUTanh,
		EmbedScale:    float32(math.Sqrt(float64(c.HiddenSize))),
		AttnScale:     float32(math.Pow(c.QueryPreAttnScalar, -0.5)),
		AttnSoftcap:   attnCap,
		FinalSoftcap:  finalCap,
		LayerRoPE:     model.Uniform(c.NumHiddenLayers, model.RoPE{InvFreq: inv, Scale: 1}),
		LayerWindow:   windows,
		TiedEmbed:     tied,
		Names:         names(),
		ContextLength: c.MaxPositionEmbeddings,
	}
	return a, a.Validate()
}

// names are Gemma-2's Hugging Face weight names: post_attention_layernorm is the sandwich norm after
// attention and pre_feedforward_layernorm the norm before the MLP.
func names() model.WeightNames {
	n := model.LlamaStyleNames()
	n.Layer[model.RoleMLPNorm] = "pre_feedforward_layernorm.weight"
	return n
}
