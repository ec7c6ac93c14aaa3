package model

import (
	"slices"
	"strconv"
)

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
// Layer[role], or a slice of a Fused tensor.
type WeightNames struct {
	Embed, FinalNorm, Unembed string
	LayerPrefix               string
	Layer                     map[Role]string
	// Fused are layer tensors that stack several roles' weights along their first axis; a role listed
	// in one is read from it, not from Layer.
	Fused []Fused
}

// Fused is one Hugging Face layer tensor holding several roles' weights stacked along rows, such as
// Phi-3's self_attn.qkv_proj.weight ([q; k; v]) and mlp.gate_up_proj.weight ([gate; up]). The loader
// reads it once per layer, with the roles' shapes' rows summed, and splits it.
type Fused struct {
	Name  string // layer-relative name, e.g. "self_attn.qkv_proj.weight"
	Roles []Role // the roles stacked, in row order
}

// fusedOf returns the fused tensor a role is read from, if any.
func (w WeightNames) fusedOf(r Role) (Fused, bool) {
	for _, f := range w.Fused {
		if slices.Contains(f.Roles, r) {
			return f, true
		}
	}
	return Fused{}, false
}

// LayerTensor returns the Hugging Face name of a layer's weight, e.g. "model.layers.3.self_attn.q_proj.weight";
// for a role read from a Fused tensor, the fused tensor's name.
func (w WeightNames) LayerTensor(l int, r Role) string {
	if f, ok := w.fusedOf(r); ok {
		return w.LayerPrefix + strconv.Itoa(l) + "." + f.Name
	}
	return w.LayerPrefix + strconv.Itoa(l) + "." + w.Layer[r]
}

// layerWeight reads role r of layer l through get, splitting a Fused tensor (read once per layer and
// kept in fused, by name) into its roles' rows.
func (a *Arch) layerWeight(l int, r Role, get func(name string, shape []int) ([]float32, error), fused map[string][]float32) ([]float32, error) {
	shape := a.roleShape(r)
	f, ok := a.Names.fusedOf(r)
	if !ok {
		return get(a.Names.LayerTensor(l, r), shape)
	}
	name := a.Names.LayerTensor(l, r)
	rows, start := 0, 0
	for _, fr := range f.Roles {
		if fr == r {
			start = rows
		}
		rows += a.roleShape(fr)[0]
	}
	cols := numel(shape) / shape[0]
	data, ok := fused[name]
	if !ok {
		var err error
		if data, err = get(name, append([]int{rows}, shape[1:]...)); err != nil {
			return nil, err
		}
		fused[name] = data
	}
	return slices.Clone(data[start*cols : (start+shape[0])*cols]), nil
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
