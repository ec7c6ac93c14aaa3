package model

import (
	"fmt"
	"math"
)

// Dims are a decoder's sizes in TransformerLens words.
type Dims struct {
	DModel   int // d_model: residual stream width
	NHeads   int // n_heads: query heads
	NKVHeads int // n_key_value_heads (GQA); equals NHeads without GQA
	DHead    int // d_head
	DMLP     int // d_mlp
	NLayers  int // n_layers
	DVocab   int // d_vocab
}

// Activation is the nonlinearity of a gated MLP.
type Activation int

// The supported MLP activations.
const (
	SiLU     Activation = iota // x·sigmoid(x) (Llama, Qwen2, Mistral)
	GELUTanh                   // tanh-approximated GELU (Gemma's gelu_pytorch_tanh)
)

// RoPE is one rotary-embedding setting: its inverse frequencies (d_head/2 of them, float32 as Hugging Face
// computes them) and the scale applied to cos and sin.
type RoPE struct {
	InvFreq []float32
	Scale   float32
}

// Arch describes one decoder precisely enough to build its forward pass. Families fill it from their
// config; the engine reads nothing else.
type Arch struct {
	Name string // Hugging Face architecture name, e.g. "LlamaForCausalLM"
	Dims
	NormEps      float64
	NormOnePlus  bool       // RMSNorm scales by (1 + w) instead of w (Gemma)
	QKVBias      bool       // q/k/v projections have biases (Qwen2)
	QKNorm       bool       // RMSNorm over d_head on q and k before RoPE (Qwen3, Gemma-3)
	SandwichNorm bool       // extra norms after attention and after the MLP (Gemma-2/3)
	Act          Activation // gated-MLP activation
	EmbedScale   float32    // multiply embeddings by this (Gemma: sqrt(d_model)); 0 means 1
	AttnScale    float32    // attention logit scale, usually 1/sqrt(d_head)
	// QKNormFull applies RMSNorm over the whole q and k projections (n_heads·d_head and
	// n_kv_heads·d_head wide), before they are split into heads and rotated (OLMo-2). It excludes QKNorm.
	QKNormFull bool
	// PostNormOnly drops the norms before attention and the MLP and normalises their outputs instead
	// (OLMo-2): resid_mid = resid_pre + norm(attn(resid_pre)), resid_post = resid_mid + norm(mlp(resid_mid)).
	// hook_attn_out and hook_mlp_out are the normalised outputs, so the residual stream still decomposes
	// into them. It excludes SandwichNorm.
	PostNormOnly bool
	// AttnSoftcap soft-caps attention scores (Gemma-2's attn_logit_softcapping): each scaled score s
	// becomes AttnSoftcap·tanh(s/AttnSoftcap) before the mask and softmax; hook_attn_scores sees the capped
	// scores. 0: no cap.
	AttnSoftcap float32
	// FinalSoftcap soft-caps the logits (final_logit_softcapping): z becomes FinalSoftcap·tanh(z/FinalSoftcap)
	// after unembedding, for everything that reads logits (logits, log-probabilities, gradient metrics).
	// 0: no cap.
	FinalSoftcap float32
	// LayerRoPE and LayerWindow give each layer's rotary setting and sliding-window size (0: global).
	LayerRoPE   []RoPE
	LayerWindow []int
	TiedEmbed   bool
	// ContextLength is the context the model was trained for (max_position_embeddings, GGUF
	// context_length); 0 when the files do not say.
	ContextLength int
	// Weight names (Hugging Face) by role; see WeightNames.
	Names WeightNames
}

// Validate checks that the sizes are consistent.
func (a *Arch) Validate() error {
	d := a.Dims
	switch {
	case d.DModel <= 0, d.NHeads <= 0, d.NKVHeads <= 0, d.DHead <= 0, d.DMLP <= 0, d.NLayers <= 0, d.DVocab <= 0:
		return fmt.Errorf("%w: %s: non-positive size in %+v", ErrBadConfig, a.Name, d)
	case d.NHeads%d.NKVHeads != 0:
		return fmt.Errorf("%w: %s: n_heads %d not a multiple of n_key_value_heads %d", ErrBadConfig, a.Name, d.NHeads, d.NKVHeads)
	case d.DHead%2 != 0:
		return fmt.Errorf("%w: %s: odd d_head %d", ErrBadConfig, a.Name, d.DHead)
	case a.QKNorm && a.QKNormFull:
		return fmt.Errorf("%w: %s: QKNorm and QKNormFull both set", ErrBadConfig, a.Name)
	case a.SandwichNorm && a.PostNormOnly:
		return fmt.Errorf("%w: %s: SandwichNorm and PostNormOnly both set", ErrBadConfig, a.Name)
	case a.AttnSoftcap < 0 || a.FinalSoftcap < 0 || math.IsNaN(float64(a.AttnSoftcap)) || math.IsNaN(float64(a.FinalSoftcap)):
		return fmt.Errorf("%w: %s: soft caps %g (attention) and %g (final logits), want ≥ 0", ErrBadConfig, a.Name, a.AttnSoftcap, a.FinalSoftcap)
	case len(a.LayerRoPE) != d.NLayers || len(a.LayerWindow) != d.NLayers:
		return fmt.Errorf("%w: %s: per-layer RoPE/window tables have %d/%d entries, want %d", ErrBadConfig, a.Name, len(a.LayerRoPE), len(a.LayerWindow), d.NLayers)
	}
	for l, r := range a.LayerRoPE {
		if len(r.InvFreq) != d.DHead/2 {
			return fmt.Errorf("%w: %s: layer %d: %d rope frequencies, want %d", ErrBadConfig, a.Name, l, len(r.InvFreq), d.DHead/2)
		}
	}
	return nil
}

// ConfigSoftcap converts a config's soft cap (nil: none) to Arch's (0: none), refusing a non-positive or
// infinite cap with an error naming the config key.
func ConfigSoftcap(key string, v *float64) (float32, error) {
	switch {
	case v == nil:
		return 0, nil
	case !(*v > 0) || math.IsInf(*v, 0):
		return 0, fmt.Errorf("%w: %s %g, want > 0 or null", ErrBadConfig, key, *v)
	}
	return float32(*v), nil
}

// DefaultInvFreq returns the standard RoPE inverse frequencies 1/base^(2i/d) for i < d/2, computed in
// float32 the way Hugging Face does (so long-context angles round identically).
func DefaultInvFreq(base float64, dHead int) []float32 {
	out := make([]float32, dHead/2)
	for i := range out {
		e := float32(2*i) / float32(dHead)
		p := float32(math.Pow(base, float64(e)))
		out[i] = 1 / p
	}
	return out
}

// Llama3InvFreq applies Llama-3.x "llama3" rope scaling to base frequencies.
func Llama3InvFreq(inv []float32, factor, lowFreqFactor, highFreqFactor float64, originalMaxPos int) []float32 {
	out := make([]float32, len(inv))
	lowFreqWavelen := float64(originalMaxPos) / lowFreqFactor
	highFreqWavelen := float64(originalMaxPos) / highFreqFactor
	for i, f := range inv {
		wavelen := 2 * math.Pi / float64(f)
		switch {
		case wavelen < highFreqWavelen:
			out[i] = f
		case wavelen > lowFreqWavelen:
			out[i] = float32(float64(f) / factor)
		default:
			smooth := (float64(originalMaxPos)/wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
			out[i] = float32((1-smooth)*float64(f)/factor + smooth*float64(f))
		}
	}
	return out
}

// ropeTables returns cos and sin [pos, d_head] for positions 0..n-1, as Hugging Face computes them:
// angle = float32(pos)·inv_freq in float32, emb = cat(angle, angle).
func ropeTables(r RoPE, n, dHead int) (cos, sin []float32) {
	half := dHead / 2
	cos = make([]float32, n*dHead)
	sin = make([]float32, n*dHead)
	scale := r.Scale
	if scale == 0 {
		scale = 1
	}
	for p := 0; p < n; p++ {
		for i := 0; i < half; i++ {
			a := float32(p) * r.InvFreq[i]
			c := float32(math.Cos(float64(a))) * scale
			s := float32(math.Sin(float64(a))) * scale
			cos[p*dHead+i], cos[p*dHead+half+i] = c, c
			sin[p*dHead+i], sin[p*dHead+half+i] = s, s
		}
	}
	return cos, sin
}
