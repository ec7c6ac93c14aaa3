package hook

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrUnknownHook is returned by Parse for a name that is not a known site.
var ErrUnknownHook = errors.New("unknown hook")

// Site is the kind of a hook point, independent of its layer.
type Site int

// The hook sites, in the order they fire inside one forward pass.
const (
	Embed        Site = iota // hook_embed: token embeddings (after any embedding scale) [batch, pos, d_model]
	ResidPre                 // blocks.L.hook_resid_pre [batch, pos, d_model]
	Q                        // blocks.L.attn.hook_q [batch, pos, head_index, d_head] (before RoPE)
	K                        // blocks.L.attn.hook_k [batch, pos, kv_head_index, d_head] (before RoPE)
	V                        // blocks.L.attn.hook_v [batch, pos, kv_head_index, d_head]
	RotQ                     // blocks.L.attn.hook_rot_q [batch, pos, head_index, d_head] (after RoPE)
	RotK                     // blocks.L.attn.hook_rot_k [batch, pos, kv_head_index, d_head] (after RoPE)
	AttnScores               // blocks.L.attn.hook_attn_scores [batch, head_index, query_pos, key_pos] (masked, pre-softmax)
	Pattern                  // blocks.L.attn.hook_pattern [batch, head_index, query_pos, key_pos]
	Z                        // blocks.L.attn.hook_z [batch, pos, head_index, d_head]
	AttnOut                  // blocks.L.hook_attn_out [batch, pos, d_model] (what attention adds to the residual)
	ResidMid                 // blocks.L.hook_resid_mid [batch, pos, d_model]
	MLPPre                   // blocks.L.mlp.hook_pre [batch, pos, d_mlp] (gate pre-activation)
	MLPPreLinear             // blocks.L.mlp.hook_pre_linear [batch, pos, d_mlp] (up projection of gated MLPs)
	MLPPost                  // blocks.L.mlp.hook_post [batch, pos, d_mlp] (act(gate)·up)
	MLPOut                   // blocks.L.hook_mlp_out [batch, pos, d_model]
	ResidPost                // blocks.L.hook_resid_post [batch, pos, d_model]
	LnFinal                  // ln_final.hook_normalized [batch, pos, d_model]
	numSites
)

// BlockSites lists the sites that fire once inside every transformer block, in firing order.
var BlockSites = []Site{ResidPre, Q, K, V, RotQ, RotK, AttnScores, Pattern, Z, AttnOut, ResidMid,
	MLPPre, MLPPreLinear, MLPPost, MLPOut, ResidPost}

var siteSuffix = [numSites]string{
	Embed:        "hook_embed",
	ResidPre:     "hook_resid_pre",
	Q:            "attn.hook_q",
	K:            "attn.hook_k",
	V:            "attn.hook_v",
	RotQ:         "attn.hook_rot_q",
	RotK:         "attn.hook_rot_k",
	AttnScores:   "attn.hook_attn_scores",
	Pattern:      "attn.hook_pattern",
	Z:            "attn.hook_z",
	AttnOut:      "hook_attn_out",
	ResidMid:     "hook_resid_mid",
	MLPPre:       "mlp.hook_pre",
	MLPPreLinear: "mlp.hook_pre_linear",
	MLPPost:      "mlp.hook_post",
	MLPOut:       "hook_mlp_out",
	ResidPost:    "hook_resid_post",
	LnFinal:      "ln_final.hook_normalized",
}

// String returns the TransformerLens suffix of the site ("hook_resid_post", "attn.hook_pattern").
func (s Site) String() string {
	if s < 0 || s >= numSites {
		return "Site(" + strconv.Itoa(int(s)) + ")"
	}
	return siteSuffix[s]
}

// InBlock reports whether the site belongs to a transformer block (has a layer index).
func (s Site) InBlock() bool { return s != Embed && s != LnFinal && s >= 0 && s < numSites }

// Name is a hook point: a site, and for block sites the layer it is in.
type Name struct {
	Site  Site
	Layer int // -1 for Embed and LnFinal
}

// String returns the TransformerLens name, e.g. "blocks.3.hook_resid_post".
func (n Name) String() string {
	if !n.Site.InBlock() {
		return n.Site.String()
	}
	return "blocks." + strconv.Itoa(n.Layer) + "." + n.Site.String()
}

// HookEmbed is "hook_embed".
func HookEmbed() Name { return Name{Site: Embed, Layer: -1} }

// LnFinalNormalized is "ln_final.hook_normalized".
func LnFinalNormalized() Name { return Name{Site: LnFinal, Layer: -1} }

// At returns the block site s at layer l.
func At(s Site, l int) Name { return Name{Site: s, Layer: l} }

// ResidPreAt is "blocks.L.hook_resid_pre".
func ResidPreAt(l int) Name { return At(ResidPre, l) }

// ResidMidAt is "blocks.L.hook_resid_mid".
func ResidMidAt(l int) Name { return At(ResidMid, l) }

// ResidPostAt is "blocks.L.hook_resid_post".
func ResidPostAt(l int) Name { return At(ResidPost, l) }

// AttnOutAt is "blocks.L.hook_attn_out".
func AttnOutAt(l int) Name { return At(AttnOut, l) }

// MLPOutAt is "blocks.L.hook_mlp_out".
func MLPOutAt(l int) Name { return At(MLPOut, l) }

// PatternAt is "blocks.L.attn.hook_pattern".
func PatternAt(l int) Name { return At(Pattern, l) }

// ZAt is "blocks.L.attn.hook_z".
func ZAt(l int) Name { return At(Z, l) }

// aliases maps Hugging Face / nnsight module paths (relative to "model.layers.L.") to sites. The value of a
// module path is the module's output.
var aliases = map[string]Site{
	"":                         ResidPost, // model.layers.L (the decoder layer's output)
	"self_attn":                AttnOut,
	"self_attn.o_proj":         AttnOut,
	"self_attn.q_proj":         Q,
	"self_attn.k_proj":         K,
	"self_attn.v_proj":         V,
	"mlp":                      MLPOut,
	"mlp.down_proj":            MLPOut,
	"mlp.gate_proj":            MLPPre,
	"mlp.up_proj":              MLPPreLinear,
	"mlp.act_fn":               MLPPost,
	"input_layernorm":          ResidPre,
	"post_attention_layernorm": ResidMid,
}

// Parse parses a TransformerLens hook name or a Hugging Face / nnsight module path alias
// ("model.layers.3", "model.layers.3.mlp", "model.embed_tokens", "model.norm"). Module-path aliases name
// the module's output: "model.layers.3" is blocks.3.hook_resid_post and "model.layers.3.self_attn" is
// blocks.3.hook_attn_out. Leading "model." and ".output" suffixes (nnsight style) are accepted.
func Parse(s string) (Name, error) {
	orig := s
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ".output")
	switch s {
	case "hook_embed", "embed.hook_embed", "model.embed_tokens", "embed_tokens":
		return HookEmbed(), nil
	case "ln_final.hook_normalized", "model.norm", "norm":
		return LnFinalNormalized(), nil
	}
	if rest, ok := strings.CutPrefix(s, "blocks."); ok {
		layer, suffix, err := splitLayer(rest)
		if err != nil {
			return Name{}, fmt.Errorf("%w: %q: %v", ErrUnknownHook, orig, err)
		}
		for i := Site(0); i < numSites; i++ {
			if i.InBlock() && siteSuffix[i] == suffix {
				return At(i, layer), nil
			}
		}
		return Name{}, fmt.Errorf("%w: %q", ErrUnknownHook, orig)
	}
	s = strings.TrimPrefix(s, "model.")
	if rest, ok := strings.CutPrefix(s, "layers."); ok {
		layer, suffix, err := splitLayer(rest)
		if err != nil {
			return Name{}, fmt.Errorf("%w: %q: %v", ErrUnknownHook, orig, err)
		}
		if site, ok := aliases[suffix]; ok {
			return At(site, layer), nil
		}
	}
	return Name{}, fmt.Errorf("%w: %q", ErrUnknownHook, orig)
}

// splitLayer splits "3.attn.hook_q" into 3 and "attn.hook_q" ("3" alone gives suffix "").
func splitLayer(s string) (int, string, error) {
	num, suffix, _ := strings.Cut(s, ".")
	l, err := strconv.Atoi(num)
	if err != nil || l < 0 {
		return 0, "", fmt.Errorf("bad layer index %q", num)
	}
	return l, suffix, nil
}

// Axes returns the TransformerLens axis names of the site's activations, outermost first:
// [batch pos d_model] for the residual stream, [batch pos head_index d_head] for q and z,
// [batch pos kv_head_index d_head] for k and v (grouped-query attention keeps its key/value heads),
// [batch head_index query_pos key_pos] for scores and patterns, [batch pos d_mlp] inside the MLP.
func (s Site) Axes() []string {
	switch s {
	case Q, RotQ, Z:
		return []string{"batch", "pos", "head_index", "d_head"}
	case K, V, RotK:
		return []string{"batch", "pos", "kv_head_index", "d_head"}
	case AttnScores, Pattern:
		return []string{"batch", "head_index", "query_pos", "key_pos"}
	case MLPPre, MLPPreLinear, MLPPost:
		return []string{"batch", "pos", "d_mlp"}
	case Embed, ResidPre, AttnOut, ResidMid, MLPOut, ResidPost, LnFinal:
		return []string{"batch", "pos", "d_model"}
	}
	return nil
}

// Aliases returns the Hugging Face / nnsight module paths that Parse reads as n, sorted
// ("model.layers.3.mlp", "model.layers.3.mlp.down_proj" for blocks.3.hook_mlp_out).
func (n Name) Aliases() []string {
	var out []string
	switch n.Site {
	case Embed:
		return []string{"model.embed_tokens"}
	case LnFinal:
		return []string{"model.norm"}
	}
	for suffix, site := range aliases {
		if site != n.Site {
			continue
		}
		p := "model.layers." + strconv.Itoa(n.Layer)
		if suffix != "" {
			p += "." + suffix
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
