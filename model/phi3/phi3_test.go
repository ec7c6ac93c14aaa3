package phi3

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model"
)

// base is Phi-3-mini-4k-instruct's config.json shape, scaled down.
const base = `"hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4, "num_key_value_heads": 4,
	"num_hidden_layers": 2, "vocab_size": 300, "max_position_embeddings": 4096, "original_max_position_embeddings": 4096,
	"rope_theta": 10000.0, "rope_scaling": null, "hidden_act": "silu", "tie_word_embeddings": false`

func TestFromConfig(t *testing.T) {
	a, err := fromConfig([]byte(`{` + base + `, "sliding_window": 2047}`))
	if err != nil {
		t.Fatal(err)
	}
	// Hugging Face's mask: query i sees keys j with i − j < sliding_window (2047 keys, itself included).
	if !slices.Equal(a.LayerWindow, []int{2047, 2047}) {
		t.Errorf("windows %v, want 2047 on every layer", a.LayerWindow)
	}
	if a.DHead != 16 || a.ContextLength != 4096 || a.TiedEmbed || a.AttnScale != 0.25 || a.NormEps != 1e-5 {
		t.Errorf("arch %+v", a)
	}
	// The fused tensors: q, k, v from qkv_proj and gate, up from gate_up_proj, in row order.
	for _, r := range []model.Role{model.RoleQ, model.RoleK, model.RoleV} {
		if got, want := a.Names.LayerTensor(3, r), "model.layers.3.self_attn.qkv_proj.weight"; got != want {
			t.Errorf("role %d reads %s, want %s", r, got, want)
		}
	}
	if got, want := a.Names.LayerTensor(0, model.RoleUp), "model.layers.0.mlp.gate_up_proj.weight"; got != want {
		t.Errorf("up reads %s, want %s", got, want)
	}
	if got, want := a.Names.LayerTensor(0, model.RoleO), "model.layers.0.self_attn.o_proj.weight"; got != want {
		t.Errorf("o reads %s, want %s", got, want)
	}
	a, err = fromConfig([]byte(`{` + base + `, "sliding_window": null, "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 1.0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.LayerWindow, []int{0, 0}) {
		t.Errorf("windows %v, want none", a.LayerWindow)
	}
}

// TestFromConfigErrors: unsupported settings are ErrBadConfig errors naming the config key.
func TestFromConfigErrors(t *testing.T) {
	for extra, key := range map[string]string{
		`, "rope_scaling": {"type": "su", "short_factor": [1], "long_factor": [1]}`:    "rope_scaling",
		`, "rope_scaling": {"rope_type": "longrope", "short_factor": [1]}`:             "rope_scaling",
		`, "rope_parameters": {"rope_type": "longrope", "short_factor": [1]}`:          "rope_parameters",
		`, "partial_rotary_factor": 0.5`:                                               "partial_rotary_factor",
		`, "rope_parameters": {"rope_type": "default", "partial_rotary_factor": 0.75}`: "partial_rotary_factor",
		`, "sliding_window": 0`:      "sliding_window",
		`, "hidden_act": "gelu"`:     "hidden_act",
		`, "num_key_value_heads": 3`: "n_key_value_heads",
	} {
		cfg := `{` + strings.Replace(base, `"rope_scaling": null, `, ``, 1) + extra + `}` // extra may set rope_scaling
		_, err := fromConfig([]byte(cfg))
		if !errors.Is(err, model.ErrBadConfig) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %v, want ErrBadConfig naming %s", extra, err, key)
		}
	}
}
