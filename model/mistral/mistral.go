// Package mistral registers the Mistral decoder family (MistralForCausalLM): Llama blocks whose attention
// slides over the last sliding_window keys on every layer (a null window makes every layer global).
package mistral

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/agentlens/agentlens/model"
)

// Config is the part of a Hugging Face Mistral config.json the model needs.
type Config struct {
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	NumKeyValueHeads      int     `json:"num_key_value_heads"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	VocabSize             int     `json:"vocab_size"`
	HeadDim               int     `json:"head_dim"` // 0: hidden_size/num_attention_heads
	RMSNormEps            float64 `json:"rms_norm_eps"`
	RopeTheta             float64 `json:"rope_theta"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"` // the context length trained for (0: unknown)
	TieWordEmbeddings     bool    `json:"tie_word_embeddings"`
	// SlidingWindow is every layer's window: a query at i sees keys j with i−window < j ≤ i. nil when
	// the key is null (global attention); absent, Hugging Face's default of 4096 applies.
	SlidingWindow  *int         `json:"sliding_window"`
	HiddenAct      string       `json:"hidden_act"`
	RopeScaling    *RopeScaling `json:"rope_scaling"`
	RopeParameters *RopeScaling `json:"rope_parameters"` // transformers ≥ 5 spelling of rope_scaling, with rope_theta
}

// RopeScaling is Hugging Face's rope_scaling (or rope_parameters) block.
type RopeScaling struct {
	RopeType                      string  `json:"rope_type"`
	Type                          string  `json:"type"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor"`
	HighFreqFactor                float64 `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings"`
	RopeTheta                     float64 `json:"rope_theta"`
}

// defaultSlidingWindow is MistralConfig's sliding_window when config.json leaves the key out.
const defaultSlidingWindow = 4096

func init() {
	// llama.cpp converts Mistral checkpoints to GGUF architecture "llama", so GGUF files load through
	// the llama family; this one reads Hugging Face directories only.
	model.Register(model.Family{
		Architectures: []string{"MistralForCausalLM"},
		FromConfig:    fromConfig,
	})
}

func fromConfig(data []byte) (*model.Arch, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", model.ErrBadConfig, err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("%w: %v", model.ErrBadConfig, err)
	}
	if _, ok := keys["sliding_window"]; !ok {
		w := defaultSlidingWindow
		c.SlidingWindow = &w
	}
	return New(c)
}

// New builds the Arch from a Config.
func New(c Config) (*model.Arch, error) {
	if c.HiddenAct != "" && c.HiddenAct != "silu" {
		return nil, fmt.Errorf("%w: hidden_act %q (want silu)", model.ErrBadConfig, c.HiddenAct)
	}
	if c.NumAttentionHeads <= 0 {
		return nil, fmt.Errorf("%w: num_attention_heads %d", model.ErrBadConfig, c.NumAttentionHeads)
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.RopeScaling == nil {
		c.RopeScaling = c.RopeParameters
	}
	if c.RopeTheta == 0 && c.RopeScaling != nil {
		c.RopeTheta = c.RopeScaling.RopeTheta
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.RMSNormEps == 0 {
		c.RMSNormEps = 1e-6
	}
	window := 0
	if c.SlidingWindow != nil {
		if *c.SlidingWindow <= 0 {
			return nil, fmt.Errorf("%w: sliding_window %d", model.ErrBadConfig, *c.SlidingWindow)
		}
		window = *c.SlidingWindow
	}
	inv := model.DefaultInvFreq(c.RopeTheta, c.HeadDim)
	if rs := c.RopeScaling; rs != nil {
		kind := rs.RopeType
		if kind == "" {
			kind = rs.Type
		}
		if kind != "" && kind != "default" && rs.Factor <= 0 {
			return nil, fmt.Errorf("%w: rope_scaling factor %g", model.ErrBadConfig, rs.Factor)
		}
		switch kind {
		case "", "default":
		case "linear":
			for i := range inv {
				inv[i] = float32(float64(inv[i]) / rs.Factor)
			}
		case "llama3":
			inv = model.Llama3InvFreq(inv, rs.Factor, rs.LowFreqFactor, rs.HighFreqFactor, rs.OriginalMaxPositionEmbeddings)
		default:
			return nil, fmt.Errorf("%w: rope_scaling type %q is not supported for Mistral", model.ErrBadConfig, kind)
		}
	}
	a := &model.Arch{
		Name: "MistralForCausalLM",
		Dims: model.Dims{
			DModel: c.HiddenSize, NHeads: c.NumAttentionHeads, NKVHeads: c.NumKeyValueHeads, DHead: c.HeadDim,
			DMLP: c.IntermediateSize, NLayers: c.NumHiddenLayers, DVocab: c.VocabSize,
		},
		NormEps:       c.RMSNormEps,
		Act:           model.SiLU,
		AttnScale:     float32(1 / math.Sqrt(float64(c.HeadDim))),
		LayerRoPE:     model.Uniform(c.NumHiddenLayers, model.RoPE{InvFreq: inv, Scale: 1}),
		LayerWindow:   model.Uniform(c.NumHiddenLayers, window),
		TiedEmbed:     c.TieWordEmbeddings,
		Names:         model.LlamaStyleNames(),
		ContextLength: c.MaxPositionEmbeddings,
	}
	return a, a.Validate()
}
