package model

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
)

// DecodeConfig unmarshals a Hugging Face config.json into v and returns its top-level keys (for telling
// an absent key from an explicit null); a decoding error wraps ErrBadConfig.
func DecodeConfig(data []byte, v any) (map[string]json.RawMessage, error) {
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	return keys, nil
}

// RequireAct returns an error wrapping ErrBadConfig, naming the config key, when act is set and is not
// want; an empty act (the key left out) takes the family's default and passes.
func RequireAct(key, act, want string) error {
	if act != "" && act != want {
		return fmt.Errorf("%w: %s %q (want %s)", ErrBadConfig, key, act, want)
	}
	return nil
}

// RopeConfig is Hugging Face's rope_scaling block (rope_parameters since transformers 5, which may also
// carry rope_theta): the union of the keys the decoder families read.
type RopeConfig struct {
	RopeType                      string   `json:"rope_type"`
	Type                          string   `json:"type"` // the older spelling of rope_type
	RopeTheta                     float64  `json:"rope_theta"`
	Factor                        float64  `json:"factor"`
	LowFreqFactor                 float64  `json:"low_freq_factor"`
	HighFreqFactor                float64  `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings int      `json:"original_max_position_embeddings"`
	PartialRotaryFactor           *float64 `json:"partial_rotary_factor"`
}

// The keys a config.json may spell its RoPE block with.
const (
	ropeScalingKey    = "rope_scaling"
	ropeParametersKey = "rope_parameters" // transformers ≥ 5
)

// PickRope returns the RoPE block a config sets, rope_scaling before rope_parameters, and the key it
// came from (rope_scaling when neither is set, with a nil block).
func PickRope(scaling, parameters *RopeConfig) (*RopeConfig, string) {
	if scaling == nil && parameters != nil {
		return parameters, ropeParametersKey
	}
	return scaling, ropeScalingKey
}

// Kind returns the block's scaling type, rope_type before the older type ("" for a nil block), as
// Hugging Face reads it.
func (r *RopeConfig) Kind() string {
	if r == nil {
		return ""
	}
	return cmp.Or(r.RopeType, r.Type)
}

// Theta returns the RoPE base: the config's top-level rope_theta when set, else the block's, else def.
// r may be nil.
func (r *RopeConfig) Theta(top, def float64) float64 {
	if r != nil {
		top = cmp.Or(top, r.RopeTheta)
	}
	return cmp.Or(top, def)
}

// CheckType returns an error wrapping ErrBadConfig, naming key and family, when the block's type (Kind)
// is set to something other than "default" and the allowed types; a nil block passes.
func (r *RopeConfig) CheckType(key, family string, allowed ...string) error {
	kind := r.Kind()
	switch {
	case kind == "" || kind == "default" || slices.Contains(allowed, kind):
		return nil
	case key == ropeScalingKey:
		return fmt.Errorf("%w: %s type %q is not supported for %s", ErrBadConfig, key, kind, family)
	}
	return fmt.Errorf("%w: %s type %q is not supported for %s (%s's transformers ≥ 5 spelling)", ErrBadConfig, key, kind, family, ropeScalingKey)
}

// ScaleInvFreq applies the block's "linear" or "llama3" scaling to default inverse frequencies inv; any
// other type, and a nil block, return inv as it is. Check the type against what the family supports
// first.
func (r *RopeConfig) ScaleInvFreq(inv []float32) []float32 {
	switch r.Kind() {
	case "linear":
		for i := range inv {
			inv[i] = float32(float64(inv[i]) / r.Factor)
		}
	case "llama3":
		inv = Llama3InvFreq(inv, r.Factor, r.LowFreqFactor, r.HighFreqFactor, r.OriginalMaxPositionEmbeddings)
	}
	return inv
}
