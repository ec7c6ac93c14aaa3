package mistral

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/modeltest"
)

// config returns the tiny Mistral's config.json with edits applied (a nil value deletes the key).
func config(t *testing.T, edits map[string]any) []byte {
	t.Helper()
	cfg, err := modeltest.Config("mistral")
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

// TestFromConfig checks every layer's window against MistralConfig (transformers 5.25
// configuration_mistral.py): sliding_window on every layer, null for global attention, 4096 when the key
// is absent.
func TestFromConfig(t *testing.T) {
	tests := []struct {
		name   string
		edits  map[string]any
		window int
	}{
		{"tiny", nil, modeltest.Window},
		{"null window", map[string]any{"sliding_window": json.RawMessage("null")}, 0},
		{"default window", map[string]any{"sliding_window": nil}, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := fromConfig(config(t, tt.edits))
			if err != nil {
				t.Fatal(err)
			}
			if want := model.Uniform(modeltest.NLayers, tt.window); !slices.Equal(a.LayerWindow, want) {
				t.Errorf("LayerWindow = %v, want %v", a.LayerWindow, want)
			}
			if a.Name != "MistralForCausalLM" || a.DHead != modeltest.DHead || a.TiedEmbed {
				t.Errorf("Name, DHead, TiedEmbed = %s, %d, %v, want MistralForCausalLM, %d, false", a.Name, a.DHead, a.TiedEmbed, modeltest.DHead)
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
		{"linear without factor", map[string]any{"rope_scaling": map[string]any{"rope_type": "linear"}}, "rope_scaling"},
		{"gelu", map[string]any{"hidden_act": "gelu"}, "hidden_act"},
		{"zero window", map[string]any{"sliding_window": 0}, "sliding_window"},
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
