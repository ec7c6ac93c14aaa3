// Package qwen3 registers the Qwen3 dense decoder family (Qwen3ForCausalLM): Llama-style blocks without
// q/k/v biases, an explicit head_dim, and RMSNorm over d_head on each query and key head before RoPE.
package qwen3

import (
	"cmp"
	"fmt"
	"math"

	"github.com/agentlens/agentlens/model"
)

// Config is the part of a Hugging Face Qwen3 config.json the model needs.
type Config struct {
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	NumKeyValueHeads      int     `json:"num_key_value_heads"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	VocabSize             int     `json:"vocab_size"`
	HeadDim               int     `json:"head_dim"` // 0: Hugging Face's default, 128 (not hidden_size/num_attention_heads)
	RMSNormEps            float64 `json:"rms_norm_eps"`
	RopeTheta             float64 `json:"rope_theta"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"` // the context length trained for (0: unknown)
	TieWordEmbeddings     bool    `json:"tie_word_embeddings"`
	AttentionBias         bool    `json:"attention_bias"`
	UseSlidingWindow      bool    `json:"use_sliding_window"`
	// SlidingWindow is the window of sliding layers; nil when the key is null (absent: Hugging Face's
	// default, 4096).
	SlidingWindow   *int              `json:"sliding_window"`
	MaxWindowLayers *int              `json:"max_window_layers"` // layers from this index on slide (nil: 28)
	LayerTypes      []string          `json:"layer_types"`       // "full_attention" or "sliding_attention" per layer
	HiddenAct       string            `json:"hidden_act"`
	RopeScaling     *model.RopeConfig `json:"rope_scaling"`
	RopeParameters  *model.RopeConfig `json:"rope_parameters"` // transformers ≥ 5 spelling of rope_scaling, with rope_theta
}

// Hugging Face's Qwen3Config defaults for keys a config.json may leave out.
const (
	defaultHeadDim         = 128
	defaultSlidingWindow   = 4096
	defaultMaxWindowLayers = 28
)

func init() {
	model.Register(model.Family{
		Architectures: []string{"Qwen3ForCausalLM"},
		FromConfig:    fromConfig,
	})
}

func fromConfig(data []byte) (*model.Arch, error) {
	var c Config
	keys, err := model.DecodeConfig(data, &c)
	if err != nil {
		return nil, err
	}
	if _, ok := keys["sliding_window"]; !ok {
		w := defaultSlidingWindow
		c.SlidingWindow = &w
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
	if err := rs.CheckType(key, "Qwen3"); err != nil {
		return nil, err
	}
	if c.NumAttentionHeads <= 0 {
		return nil, fmt.Errorf("%w: num_attention_heads %d", model.ErrBadConfig, c.NumAttentionHeads)
	}
	c.NumKeyValueHeads = cmp.Or(c.NumKeyValueHeads, c.NumAttentionHeads)
	if c.HeadDim == 0 {
		c.HeadDim = defaultHeadDim
	}
	c.RopeTheta = rs.Theta(c.RopeTheta, 10000)
	c.RMSNormEps = cmp.Or(c.RMSNormEps, 1e-6)
	windows, err := layerWindows(c)
	if err != nil {
		return nil, err
	}
	a := &model.Arch{
		Name: "Qwen3ForCausalLM",
		Dims: model.Dims{
			DModel: c.HiddenSize, NHeads: c.NumAttentionHeads, NKVHeads: c.NumKeyValueHeads, DHead: c.HeadDim,
			DMLP: c.IntermediateSize, NLayers: c.NumHiddenLayers, DVocab: c.VocabSize,
		},
		NormEps:       c.RMSNormEps,
		QKNorm:        true,
		Act:           model.SiLU,
		AttnScale:     float32(1 / math.Sqrt(float64(c.HeadDim))),
		LayerRoPE:     model.Uniform(c.NumHiddenLayers, model.RoPE{InvFreq: model.DefaultInvFreq(c.RopeTheta, c.HeadDim), Scale: 1}),
		LayerWindow:   windows,
		TiedEmbed:     c.TieWordEmbeddings,
		Names:         model.LlamaStyleNames(),
		ContextLength: c.MaxPositionEmbeddings,
	}
	return a, a.Validate()
}

// layerWindows follows Qwen3Config: sliding_window counts only with use_sliding_window; layer_types
// defaults to sliding_attention for layers from max_window_layers on when a window is set.
func layerWindows(c Config) ([]int, error) {
	window := 0
	if c.UseSlidingWindow && c.SlidingWindow != nil {
		window = *c.SlidingWindow
	}
	types := c.LayerTypes
	if len(types) == 0 {
		maxWindow := defaultMaxWindowLayers
		if c.MaxWindowLayers != nil {
			maxWindow = *c.MaxWindowLayers
		}
		types = make([]string, c.NumHiddenLayers)
		for l := range types {
			types[l] = "full_attention"
			if window > 0 && l >= maxWindow {
				types[l] = "sliding_attention"
			}
		}
	}
	if len(types) != c.NumHiddenLayers {
		return nil, fmt.Errorf("%w: layer_types has %d entries, num_hidden_layers is %d", model.ErrBadConfig, len(types), c.NumHiddenLayers)
	}
	out := make([]int, len(types))
	for l, t := range types {
		switch t {
		case "full_attention":
		case "sliding_attention":
			if window <= 0 {
				return nil, fmt.Errorf("%w: layer_types[%d] is sliding_attention but no sliding_window is in effect (use_sliding_window %v)", model.ErrBadConfig, l, c.UseSlidingWindow)
			}
			out[l] = window
		default:
			return nil, fmt.Errorf("%w: layer_types[%d] %q is not supported", model.ErrBadConfig, l, t)
		}
	}
	return out, nil
}
