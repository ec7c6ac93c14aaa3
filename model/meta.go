package model

import (
	"fmt"
	"math"
)

// MetaInt reads an integer GGUF metadata value of any integer type.
func MetaInt(meta map[string]any, key string) (int, bool) {
	switch v := meta[key].(type) {
	case uint8:
		return int(v), true
	case int8:
		return int(v), true
	case uint16:
		return int(v), true
	case int16:
		return int(v), true
	case uint32:
		return int(v), true
	case int32:
		return int(v), true
	case uint64:
		if v > math.MaxInt32 {
			return 0, false
		}
		return int(v), true
	case int64:
		return int(v), true
	}
	return 0, false
}

// MetaFloat reads a float GGUF metadata value (float32 or float64).
func MetaFloat(meta map[string]any, key string) (float64, bool) {
	switch v := meta[key].(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// RequireInt reads a positive integer GGUF metadata value or returns an error naming the key.
func RequireInt(meta map[string]any, key string) (int, error) {
	v, ok := MetaInt(meta, key)
	if !ok || v <= 0 {
		return 0, fmt.Errorf("%w: GGUF metadata %s missing or not a positive integer (%v)", ErrBadConfig, key, meta[key])
	}
	return v, nil
}

// LlamaStyleNames returns the Hugging Face weight names shared by Llama, Mistral, Qwen2 and Gemma.
func LlamaStyleNames() WeightNames {
	return WeightNames{
		Embed:       "model.embed_tokens.weight",
		FinalNorm:   "model.norm.weight",
		Unembed:     "lm_head.weight",
		LayerPrefix: "model.layers.",
		Layer: map[Role]string{
			RoleAttnNorm:     "input_layernorm.weight",
			RoleQ:            "self_attn.q_proj.weight",
			RoleK:            "self_attn.k_proj.weight",
			RoleV:            "self_attn.v_proj.weight",
			RoleO:            "self_attn.o_proj.weight",
			RoleQBias:        "self_attn.q_proj.bias",
			RoleKBias:        "self_attn.k_proj.bias",
			RoleVBias:        "self_attn.v_proj.bias",
			RoleQNorm:        "self_attn.q_norm.weight",
			RoleKNorm:        "self_attn.k_norm.weight",
			RolePostAttnNorm: "post_attention_layernorm.weight",
			RoleMLPNorm:      "post_attention_layernorm.weight",
			RolePostMLPNorm:  "post_feedforward_layernorm.weight",
			RoleGate:         "mlp.gate_proj.weight",
			RoleUp:           "mlp.up_proj.weight",
			RoleDown:         "mlp.down_proj.weight",
		},
	}
}

// Uniform returns n copies of v (per-layer tables for families without per-layer variation).
func Uniform[T any](n int, v T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}
