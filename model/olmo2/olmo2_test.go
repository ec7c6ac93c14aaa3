package olmo2

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/modeltest"
)

// config returns the tiny OLMo-2's config.json with edits applied (a nil value deletes the key).
func config(t *testing.T, edits map[string]any) []byte {
	t.Helper()
	cfg, err := modeltest.Config("olmo2")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range edits {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestFromConfig checks the OLMo-2 block flags and that every role it reads has an Olmo2ForCausalLM
// weight name (transformers 5.25 modeling_olmo2.py: no input_layernorm, post_attention_layernorm and
// post_feedforward_layernorm on the outputs, q_norm and k_norm over the whole projections).
func TestFromConfig(t *testing.T) {
	a, err := fromConfig(config(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !a.PostNormOnly || !a.QKNormFull || a.QKNorm || a.SandwichNorm {
		t.Errorf("PostNormOnly, QKNormFull, QKNorm, SandwichNorm = %v, %v, %v, %v, want true, true, false, false", a.PostNormOnly, a.QKNormFull, a.QKNorm, a.SandwichNorm)
	}
	for r, want := range map[model.Role]string{
		model.RolePostAttnNorm: "model.layers.1.post_attention_layernorm.weight",
		model.RolePostMLPNorm:  "model.layers.1.post_feedforward_layernorm.weight",
		model.RoleQNorm:        "model.layers.1.self_attn.q_norm.weight",
		model.RoleKNorm:        "model.layers.1.self_attn.k_norm.weight",
	} {
		if got := a.Names.LayerTensor(1, r); got != want {
			t.Errorf("LayerTensor(1, %d) = %s, want %s", r, got, want)
		}
	}
	if a.NormEps != 1e-6 || a.ContextLength != 4096 {
		t.Errorf("NormEps, ContextLength = %g, %d, want 1e-6, 4096", a.NormEps, a.ContextLength)
	}
}

// TestFromConfigRejects: settings the engine does not implement are ErrBadConfig errors naming the key.
func TestFromConfigRejects(t *testing.T) {
	tests := []struct {
		name  string
		edits map[string]any
		field string
	}{
		{"yarn", map[string]any{"rope_scaling": map[string]any{"rope_type": "yarn", "factor": 4.0}}, "rope_scaling"},
		{"gelu", map[string]any{"hidden_act": "gelu"}, "hidden_act"},
		{"bias", map[string]any{"attention_bias": true}, "attention_bias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fromConfig(config(t, tt.edits))
			if !errors.Is(err, model.ErrBadConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %v, want ErrBadConfig naming %s", err, tt.field)
			}
		})
	}
}
