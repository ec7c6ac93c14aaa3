// Package phi3 registers the Phi-3 decoder (Phi3ForCausalLM): a Llama-style block whose query, key and
// value projections are one fused tensor (self_attn.qkv_proj.weight, rows [q; k; v]) and whose MLP gate
// and up projections are another (mlp.gate_up_proj.weight, rows [gate; up]); the loader splits them
// into the engine's roles. An optional sliding window applies to every layer.
package phi3

import (
	"cmp"
	"fmt"
	"math"

	"github.com/agentlens/agentlens/model"
)

// Config is the part of a Hugging Face Phi-3 config.json the model needs.
type Config struct {
	HiddenSize                    int               `json:"hidden_size"`
	IntermediateSize              int               `json:"intermediate_size"`
	NumAttentionHeads             int               `json:"num_attention_heads"`
	NumKeyValueHeads              int               `json:"num_key_value_heads"`
	NumHiddenLayers               int               `json:"num_hidden_layers"`
	VocabSize                     int               `json:"vocab_size"`
	HeadDim                       int               `json:"head_dim"`
	RMSNormEps                    float64           `json:"rms_norm_eps"`
	RopeTheta                     float64           `json:"rope_theta"`
	MaxPositionEmbeddings         int               `json:"max_position_embeddings"` // the context length trained for (0: unknown)
	OriginalMaxPositionEmbeddings int               `json:"original_max_position_embeddings"`
	PartialRotaryFactor           *float64          `json:"partial_rotary_factor"`
	RopeScaling                   *model.RopeConfig `json:"rope_scaling"`
	RopeParameters                *model.RopeConfig `json:"rope_parameters"` // transformers ≥ 5 spelling of rope_scaling, with rope_theta
	SlidingWindow                 *int              `json:"sliding_window"`  // keys a query sees, itself included (null: all)
	TieWordEmbeddings             bool              `json:"tie_word_embeddings"`
	HiddenAct                     string            `json:"hidden_act"`
}

// fused are Phi-3's fused layer tensors, split by rows into the engine's roles.
var fused = []model.Fused{
	{Name: "self_attn.qkv_proj.weight", Roles: []model.Role{model.RoleQ, model.RoleK, model.RoleV}},
	{Name: "mlp.gate_up_proj.weight", Roles: []model.Role{model.RoleGate, model.RoleUp}},
}

func init() {
	model.Register(model.Family{
		Architectures: []string{"Phi3ForCausalLM"},
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

// New builds the Arch from a Config. Rope scaling ("longrope", formerly "su" and "yarn": Phi-3's
// 128k-context models) and partial rotary embeddings are refused.
func New(c Config) (*model.Arch, error) {
	if err := model.RequireAct("hidden_act", c.HiddenAct, "silu"); err != nil {
		return nil, err
	}
	rp, key := model.PickRope(c.RopeScaling, c.RopeParameters)
	// longrope picks short or long per-frequency factors by sequence length and rescales cos and sin; the
	// engine's rotary tables are per layer, not per length.
	if err := rp.CheckType(key, "Phi-3"); err != nil {
		return nil, err
	}
	partial := c.PartialRotaryFactor
	if partial == nil && rp != nil {
		partial = rp.PartialRotaryFactor
	}
	if partial != nil && *partial != 1 {
		return nil, fmt.Errorf("%w: partial_rotary_factor %g is not supported (want 1)", model.ErrBadConfig, *partial)
	}
	c.RopeTheta = rp.Theta(c.RopeTheta, 10_000)
	c.RMSNormEps = cmp.Or(c.RMSNormEps, 1e-5)
	c.NumKeyValueHeads = cmp.Or(c.NumKeyValueHeads, c.NumAttentionHeads)
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	// Hugging Face (transformers ≥ 4.48 masks, and flash attention's window_size of sliding_window−1)
	// lets query i see keys j with i − j < sliding_window: sliding_window keys, itself included.
	// Phi-3-mini-4k's 2047 therefore sees 2047 keys.
	window := 0
	if c.SlidingWindow != nil {
		if window = *c.SlidingWindow; window <= 0 {
			return nil, fmt.Errorf("%w: sliding_window %d, want > 0 or null", model.ErrBadConfig, window)
		}
	}
	names := model.LlamaStyleNames()
	names.Fused = fused
	a := &model.Arch{
		Name: "Phi3ForCausalLM",
		Dims: model.Dims{
			DModel: c.HiddenSize, NHeads: c.NumAttentionHeads, NKVHeads: c.NumKeyValueHeads, DHead: c.HeadDim,
			DMLP: c.IntermediateSize, NLayers: c.NumHiddenLayers, DVocab: c.VocabSize,
		},
		NormEps:       c.RMSNormEps,
		Act:           model.SiLU,
		AttnScale:     float32(1 / math.Sqrt(float64(c.HeadDim))),
		LayerRoPE:     model.Uniform(c.NumHiddenLayers, model.RoPE{InvFreq: model.DefaultInvFreq(c.RopeTheta, c.HeadDim), Scale: 1}),
		LayerWindow:   model.Uniform(c.NumHiddenLayers, window),
		TiedEmbed:     c.TieWordEmbeddings,
		Names:         names,
		ContextLength: c.MaxPositionEmbeddings,
	}
	return a, a.Validate()
}
