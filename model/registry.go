package model

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Family is a decoder family: it turns a Hugging Face config.json or GGUF metadata into an Arch, and says
// how GGUF tensors map onto its weights.
type Family struct {
	// Architectures are the Hugging Face `architectures` names the family handles.
	Architectures []string
	// GGUFArch is the GGUF `general.architecture` value ("llama", "qwen2", "gemma3"); empty for a family
	// that loads from Hugging Face directories only, whose FromGGUF is then nil.
	GGUFArch string
	// FromConfig builds the Arch from config.json bytes.
	FromConfig func(config []byte) (*Arch, error)
	// FromGGUF builds the Arch from GGUF metadata (native Go values; see model/gguf). Nil: the family
	// loads from safetensors only (leave GGUFArch empty too).
	FromGGUF func(meta map[string]any, tensorNames []string) (*Arch, error)
	// GGUFLayer maps GGUF per-layer tensor suffixes ("attn_q.weight") to roles.
	GGUFLayer map[string]Role
	// FromGGUFTensor converts a GGUF tensor (already dequantised, in Hugging Face row-major shape) to
	// the Hugging Face convention, e.g. undoing llama.cpp's Q/K row permutation or Gemma's norm +1.
	FromGGUFTensor func(a *Arch, role Role, isLayer bool, data []float32, shape []int) []float32
}

var (
	registryMu sync.RWMutex
	registry   = map[string]*Family{} // by HF architecture name
	byGGUF     = map[string]*Family{}
)

// Register adds a family; families call it from init. Registering a name twice, or a GGUFArch without
// FromGGUF, is a programmer error.
func Register(f Family) {
	if f.GGUFArch != "" && f.FromGGUF == nil {
		panic("model: family " + f.GGUFArch + " has a GGUF architecture but no FromGGUF")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	fam := &f
	for _, a := range f.Architectures {
		if _, dup := registry[a]; dup {
			panic("model: family " + a + " registered twice")
		}
		registry[a] = fam
	}
	if f.GGUFArch != "" {
		byGGUF[f.GGUFArch] = fam
	}
}

// Supported lists the registered Hugging Face architecture names, sorted.
func Supported() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for a := range registry {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func familyFor(arch string) (*Family, error) {
	registryMu.RLock()
	f, ok := registry[arch]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (supported: %s; is model/all imported?)", ErrUnsupportedArchitecture, arch, strings.Join(Supported(), ", "))
	}
	return f, nil
}

func familyForGGUF(arch string) (*Family, error) {
	registryMu.RLock()
	f, ok := byGGUF[arch]
	var names, hfOnly []string
	for n := range byGGUF {
		names = append(names, n)
	}
	for a, fam := range registry {
		if fam.GGUFArch == "" {
			hfOnly = append(hfOnly, a)
		}
	}
	registryMu.RUnlock()
	if ok {
		return f, nil
	}
	slices.Sort(names)
	slices.Sort(hfOnly)
	msg := fmt.Sprintf("%q (supported: %s; is model/all imported?)", arch, strings.Join(names, ", "))
	if len(hfOnly) > 0 {
		msg += "; " + strings.Join(hfOnly, ", ") + " load from Hugging Face directories only"
	}
	return nil, fmt.Errorf("%w: GGUF architecture %s", ErrUnsupportedArchitecture, msg)
}

// DefaultGGUFLayer is llama.cpp's naming of per-layer tensors shared by Llama-style families.
var DefaultGGUFLayer = map[string]Role{
	"attn_norm.weight":   RoleAttnNorm,
	"attn_q.weight":      RoleQ,
	"attn_k.weight":      RoleK,
	"attn_v.weight":      RoleV,
	"attn_output.weight": RoleO,
	"attn_q.bias":        RoleQBias,
	"attn_k.bias":        RoleKBias,
	"attn_v.bias":        RoleVBias,
	"ffn_norm.weight":    RoleMLPNorm,
	"ffn_gate.weight":    RoleGate,
	"ffn_up.weight":      RoleUp,
	"ffn_down.weight":    RoleDown,
}

// GGUF names of the global tensors.
const (
	GGUFEmbed     = "token_embd.weight"
	GGUFFinalNorm = "output_norm.weight"
	GGUFUnembed   = "output.weight"
)

// UnpermuteQK undoes llama.cpp's row permutation of Llama Q/K projections (it interleaves the two RoPE
// halves of each head): rows are [heads, 2, d_head/2] in Hugging Face order and [heads, d_head/2, 2] in
// GGUF order.
func UnpermuteQK(data []float32, shape []int, heads int) []float32 {
	rows, cols := shape[0], 1
	for _, d := range shape[1:] {
		cols *= d
	}
	half := rows / heads / 2
	out := make([]float32, len(data))
	for h := 0; h < heads; h++ {
		for i := 0; i < half; i++ {
			for j := 0; j < 2; j++ {
				src := (h*half+i)*2 + j // GGUF row (h, i, j)
				dst := (h*2+j)*half + i // HF row (h, j, i)
				copy(out[dst*cols:(dst+1)*cols], data[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}
