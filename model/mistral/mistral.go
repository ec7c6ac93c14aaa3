// Package mistral registers the Mistral decoder family (MistralForCausalLM): Llama blocks whose attention
// slides over the last sliding_window keys on every layer (a null window makes every layer global).
package mistral

import (
	"cmp"
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
	SlidingWindow  *int              `json:"sliding_window"`
	HiddenAct      string            `json:"hidden_act"`
	RopeScaling    *model.RopeConfig `json:"rope_scaling"`
	RopeParameters *model.RopeConfig `json:"rope_parameters"` // transformers ≥ 5 spelling of rope_scaling, with rope_theta
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
	if c.NumAttentionHeads <= 0 {
		return nil, fmt.Errorf("%w: num_attention_heads %d", model.ErrBadConfig, c.NumAttentionHeads)
	}
	c.NumKeyValueHeads = cmp.Or(c.NumKeyValueHeads, c.NumAttentionHeads)
	if c.HeadDim == 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	rs, key := model.PickRope(c.RopeScaling, c.RopeParameters)
	if err := rs.CheckType(key, "Mistral", "linear", "llama3"); err != nil {
		return nil, err
	}
	if kind := rs.Kind(); kind != "" && kind != "default" && rs.Factor <= 0 {
		return nil, fmt.Errorf("%w: %s factor %g", model.ErrBadConfig, key, rs.Factor)
	}
	c.RopeTheta = rs.Theta(c.RopeTheta, 10000)
	c.RMSNormEps = cmp.Or(c.RMSNormEps, 1e-6)
	window := 0
	if c.SlidingWindow != nil {
		if *c.SlidingWindow <= 0 {
			return nil, fmt.Errorf("%w: sliding_window %d", model.ErrBadConfig, *c.SlidingWindow)
		}
		window = *c.SlidingWindow
	}
	inv := rs.ScaleInvFreq(model.DefaultInvFreq(c.RopeTheta, c.HeadDim))
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
