package qwen3

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/modeltest"
)

// config returns the tiny Qwen3's config.json with edits applied (a nil value deletes the key).
func config(t *testing.T, edits map[string]any) []byte {
	t.Helper()
	cfg, err := modeltest.Config("qwen3")
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

// TestFromConfig checks the per-layer windows and head size against Qwen3Config's rules (transformers 5.25
// configuration_qwen3.py): a window only with use_sliding_window, sliding from max_window_layers on,
// explicit layer_types winning, and head_dim defaulting to 128, not hidden_size/num_attention_heads.
func TestFromConfig(t *testing.T) {
	tests := []struct {
		name    string
		edits   map[string]any
		windows []int
		dHead   int
	}{
		{"tiny", nil, []int{0, modeltest.Window}, modeltest.Qwen3DHead},
		{"no sliding window", map[string]any{"use_sliding_window": false}, []int{0, 0}, modeltest.Qwen3DHead},
		{"default window", map[string]any{"sliding_window": nil}, []int{0, 4096}, modeltest.Qwen3DHead},
		{"default max_window_layers", map[string]any{"max_window_layers": nil}, []int{0, 0}, modeltest.Qwen3DHead},
		{"layer_types", map[string]any{"layer_types": []string{"sliding_attention", "full_attention"}}, []int{modeltest.Window, 0}, modeltest.Qwen3DHead},
		{"default head_dim", map[string]any{"head_dim": nil}, []int{0, modeltest.Window}, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := fromConfig(config(t, tt.edits))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.LayerWindow, tt.windows) {
				t.Errorf("LayerWindow = %v, want %v", a.LayerWindow, tt.windows)
			}
			if a.DHead != tt.dHead {
				t.Errorf("DHead = %d, want %d", a.DHead, tt.dHead)
			}
			if !a.QKNorm || a.QKVBias || a.ContextLength != 4096 {
				t.Errorf("QKNorm, QKVBias, ContextLength = %v, %v, %d, want true, false, 4096", a.QKNorm, a.QKVBias, a.ContextLength)
			}
		})
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
		{"yarn rope_parameters", map[string]any{"rope_parameters": map[string]any{"rope_type": "yarn", "rope_theta": 1e6}}, "rope_scaling"},
		{"gelu", map[string]any{"hidden_act": "gelu"}, "hidden_act"},
		{"bias", map[string]any{"attention_bias": true}, "attention_bias"},
		{"sliding layer without window", map[string]any{"use_sliding_window": false, "layer_types": []string{"full_attention", "sliding_attention"}}, "layer_types"},
		{"layer_types length", map[string]any{"layer_types": []string{"full_attention"}}, "layer_types"},
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
