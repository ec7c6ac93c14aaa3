package model

import "strconv"

// Role is one per-layer weight of a decoder block.
type Role int

// The per-layer weight roles. Which ones an architecture needs follows from its Arch flags.
const (
	RoleAttnNorm     Role = iota // norm before attention [d_model] (not with PostNormOnly)
	RoleQ                        // [n_heads·d_head, d_model]
	RoleK                        // [n_kv_heads·d_head, d_model]
	RoleV                        // [n_kv_heads·d_head, d_model]
	RoleO                        // [d_model, n_heads·d_head]
	RoleQBias                    // [n_heads·d_head] (QKVBias)
	RoleKBias                    // [n_kv_heads·d_head] (QKVBias)
	RoleVBias                    // [n_kv_heads·d_head] (QKVBias)
	RoleQNorm                    // [d_head] (QKNorm), [n_heads·d_head] (QKNormFull)
	RoleKNorm                    // [d_head] (QKNorm), [n_kv_heads·d_head] (QKNormFull)
	RolePostAttnNorm             // [d_model] (SandwichNorm, PostNormOnly)
	RoleMLPNorm                  // norm before the MLP [d_model] (not with PostNormOnly)
	RolePostMLPNorm              // [d_model] (SandwichNorm, PostNormOnly)
	RoleGate                     // [d_mlp, d_model]
	RoleUp                       // [d_mlp, d_model]
	RoleDown                     // [d_model, d_mlp]
	numRoles
)

// WeightNames maps roles to Hugging Face tensor names: layer tensors are LayerPrefix + layer + "." +
// Layer[role].
type WeightNames struct {
	Embed, FinalNorm, Unembed string
	LayerPrefix               string
	Layer                     map[Role]string
}

// LayerTensor returns the Hugging Face name of a layer's weight, e.g. "model.layers.3.self_attn.q_proj.weight".
func (w WeightNames) LayerTensor(l int, r Role) string {
	return w.LayerPrefix + strconv.Itoa(l) + "." + w.Layer[r]
}

// roles returns the per-layer roles an architecture uses, in a fixed order (the block graph's input order).
func (a *Arch) roles() []Role {
	var rs []Role
	if !a.PostNormOnly {
		rs = append(rs, RoleAttnNorm)
	}
	rs = append(rs, RoleQ, RoleK, RoleV, RoleO)
	if a.QKVBias {
		rs = append(rs, RoleQBias, RoleKBias, RoleVBias)
	}
	if a.QKNorm || a.QKNormFull {
		rs = append(rs, RoleQNorm, RoleKNorm)
	}
	postNorms := a.SandwichNorm || a.PostNormOnly
	if postNorms {
		rs = append(rs, RolePostAttnNorm)
	}
	if !a.PostNormOnly {
		rs = append(rs, RoleMLPNorm)
	}
	if postNorms {
		rs = append(rs, RolePostMLPNorm)
	}
	return append(rs, RoleGate, RoleUp, RoleDown)
}

// roleShape is the Hugging Face (row-major) shape of a role's tensor.
func (a *Arch) roleShape(r Role) []int {
	d := a.Dims
	switch r {
	case RoleAttnNorm, RoleMLPNorm, RolePostAttnNorm, RolePostMLPNorm:
		return []int{d.DModel}
	case RoleQ:
		return []int{d.NHeads * d.DHead, d.DModel}
	case RoleK, RoleV:
		return []int{d.NKVHeads * d.DHead, d.DModel}
	case RoleO:
		return []int{d.DModel, d.NHeads * d.DHead}
	case RoleQBias:
		return []int{d.NHeads * d.DHead}
	case RoleKBias, RoleVBias:
		return []int{d.NKVHeads * d.DHead}
	case RoleQNorm, RoleKNorm:
		switch {
		case !a.QKNormFull:
			return []int{d.DHead}
		case r == RoleQNorm:
			return []int{d.NHeads * d.DHead}
		default:
			return []int{d.NKVHeads * d.DHead}
		}
	case RoleGate, RoleUp:
		return []int{d.DMLP, d.DModel}
	case RoleDown:
		return []int{d.DModel, d.DMLP}
	}
	return nil
}
