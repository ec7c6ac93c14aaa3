package gemma2

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model"
)

// base is a small Gemma-2 config.json without the optional keys whose defaults are tested.
const base = `"hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4, "num_key_value_heads": 2,
	"num_hidden_layers": 4, "vocab_size": 300, "head_dim": 16, "max_position_embeddings": 8192`

func TestFromConfig(t *testing.T) {
	for _, tc := range []struct {
		name             string
		extra            string
		attnCap, finCap  float32
		windows          []int
		attnScale, theta float64
	}{
		// Absent soft-cap keys take Hugging Face's defaults (Gemma2Config: 50 and 30), as do the window
		// (4096), query_pre_attn_scalar (256) and the layer types (even layers slide).
		{"defaults", ``, 50, 30, []int{4096, 0, 4096, 0}, 1.0 / 16, 10000},
		// An explicit null turns a cap off.
		{"caps off", `, "attn_logit_softcapping": null, "final_logit_softcapping": null`, 0, 0, []int{4096, 0, 4096, 0}, 1.0 / 16, 10000},
		{"given", `, "attn_logit_softcapping": 4.5, "final_logit_softcapping": 8.5, "sliding_window": 16,
			"query_pre_attn_scalar": 144, "rope_theta": 5000,
			"layer_types": ["full_attention", "sliding_attention", "sliding_attention", "full_attention"]`,
			4.5, 8.5, []int{0, 16, 16, 0}, 1.0 / 12, 5000},
		{"rope_parameters", `, "rope_parameters": {"rope_type": "default", "rope_theta": 20000}`, 50, 30, []int{4096, 0, 4096, 0}, 1.0 / 16, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := fromConfig([]byte(`{` + base + tc.extra + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if a.AttnSoftcap != tc.attnCap || a.FinalSoftcap != tc.finCap {
				t.Errorf("soft caps %g, %g, want %g, %g", a.AttnSoftcap, a.FinalSoftcap, tc.attnCap, tc.finCap)
			}
			if !slices.Equal(a.LayerWindow, tc.windows) {
				t.Errorf("windows %v, want %v", a.LayerWindow, tc.windows)
			}
			if a.AttnScale != float32(tc.attnScale) {
				t.Errorf("attention scale %g, want %g", a.AttnScale, tc.attnScale)
			}
			if want := model.DefaultInvFreq(tc.theta, 16); !slices.Equal(a.LayerRoPE[1].InvFreq, want) || !slices.Equal(a.LayerRoPE[0].InvFreq, want) {
				t.Errorf("rope frequencies %v, want base %g", a.LayerRoPE[0].InvFreq, tc.theta)
			}
			if a.ContextLength != 8192 || !a.TiedEmbed || !a.SandwichNorm || !a.NormOnePlus || a.QKNorm || a.EmbedScale != 8 {
				t.Errorf("arch %+v", a)
			}
		})
	}
}

// TestFromConfigErrors: unsupported settings are ErrBadConfig errors naming the config key.
func TestFromConfigErrors(t *testing.T) {
	for extra, key := range map[string]string{
		`, "attn_logit_softcapping": -1`:                          "attn_logit_softcapping",
		`, "final_logit_softcapping": 0`:                          "final_logit_softcapping",
		`, "sliding_window": 0`:                                   "sliding_window",
		`, "hidden_activation": "relu"`:                           "hidden_activation",
		`, "attention_bias": true`:                                "attention_bias",
		`, "use_bidirectional_attention": true`:                   "use_bidirectional_attention",
		`, "rope_scaling": {"rope_type": "linear", "factor": 2}`:  "rope_scaling",
		`, "layer_types": ["sliding_attention"]`:                  "layer_types",
		`, "layer_types": ["a", "b", "c", "d"]`:                   "layer_types[0]",
		`, "rope_parameters": {"rope_type": "yarn", "factor": 2}`: "rope_scaling",
	} {
		_, err := fromConfig([]byte(`{` + base + extra + `}`))
		if !errors.Is(err, model.ErrBadConfig) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %v, want ErrBadConfig naming %s", extra, err, key)
		}
	}
}
