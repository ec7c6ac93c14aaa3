package ollama

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Defaults applied to the parts a reference leaves out.
const (
	DefaultHost      = "registry.ollama.ai"
	DefaultNamespace = "library"
	DefaultTag       = "latest"
)

// MediaTypeModel is the media type of the manifest layer that holds the GGUF weights.
const MediaTypeModel = "application/vnd.ollama.image.model"

// Name is a parsed ollama model reference with defaults filled in.
type Name struct {
	Host      string // registry host, possibly with a port ("registry.ollama.ai")
	Namespace string // "library" for official models
	Model     string // "qwen2.5"
	Tag       string // "0.5b", "latest"
}

// String returns the fully qualified reference: host/namespace/model:tag.
func (n Name) String() string {
	return n.Host + "/" + n.Namespace + "/" + n.Model + ":" + n.Tag
}

// ManifestPath returns the path of the reference's manifest in a store.
func (n Name) ManifestPath(store string) string {
	return filepath.Join(store, "manifests", n.Host, n.Namespace, n.Model, n.Tag)
}

// ParseName parses [ollama:][host/][namespace/]model[:tag]. Each part must be non-empty and made of
// letters, digits, '_', '-' and '.' (the host may carry a ":port"), and may not be "." or "..".
func ParseName(ref string) (Name, error) {
	fail := func(why string) (Name, error) {
		return Name{}, fmt.Errorf("ollama reference %q: %s: %w", ref, why, ErrBadReference)
	}
	s := strings.TrimPrefix(ref, "ollama:")
	s = strings.TrimPrefix(s, "//")
	if strings.Contains(s, "@") {
		return fail("digest references are not supported")
	}
	n := Name{Host: DefaultHost, Namespace: DefaultNamespace, Tag: DefaultTag}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && i > strings.LastIndexByte(s, '/') {
		n.Tag = s[i+1:]
		s = s[:i]
		if n.Tag == "" {
			return fail("empty tag")
		}
	}
	parts := strings.Split(s, "/")
	switch len(parts) {
	case 1:
		n.Model = parts[0]
	case 2:
		n.Namespace, n.Model = parts[0], parts[1]
	case 3:
		n.Host, n.Namespace, n.Model = parts[0], parts[1], parts[2]
	default:
		return fail("want [host/][namespace/]model[:tag]")
	}
	for _, p := range []struct {
		what, v string
		port    bool
	}{{"host", n.Host, true}, {"namespace", n.Namespace, false}, {"model", n.Model, false}, {"tag", n.Tag, false}} {
		if !validPart(p.v, p.port) {
			return fail(fmt.Sprintf("invalid %s %q", p.what, p.v))
		}
	}
	return n, nil
}

// validPart reports whether a name part is safe to use as a path element.
func validPart(s string, allowColon bool) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
		case r == ':' && allowColon:
		default:
			return false
		}
	}
	return true
}

// Layer is one entry of a manifest's layers.
type Layer struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// Manifest is the part of an ollama (OCI-style) manifest that Resolve reads.
type Manifest struct {
	SchemaVersion int     `json:"schemaVersion"`
	MediaType     string  `json:"mediaType"`
	Config        Layer   `json:"config"`
	Layers        []Layer `json:"layers"`
}

// Resolve returns the path of the GGUF model blob of ref in the ollama store at store (see DefaultStore).
// It reads the manifest, takes the first layer of media type application/vnd.ollama.image.model, and
// checks that its blob, <store>/blobs/sha256-<hex>, exists and has the size the manifest records.
func Resolve(ref string, store string) (string, error) {
	n, err := ParseName(ref)
	if err != nil {
		return "", err
	}
	mpath := n.ManifestPath(store)
	raw, err := os.ReadFile(mpath)
	if errors.Is(err, fs.ErrNotExist) {
		// ollama matches names case-insensitively and stores them lowercased.
		lower := Name{Host: strings.ToLower(n.Host), Namespace: strings.ToLower(n.Namespace), Model: strings.ToLower(n.Model), Tag: strings.ToLower(n.Tag)}
		if lp := lower.ManifestPath(store); lp != mpath {
			if r2, err2 := os.ReadFile(lp); err2 == nil {
				raw, err, mpath = r2, nil, lp
			}
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("ollama %s: manifest %s: %w (run `ollama pull %s:%s`?)", n, mpath, ErrNotFound, shortName(n), n.Tag)
		}
		return "", fmt.Errorf("ollama %s: manifest %s: %w", n, mpath, err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("ollama %s: manifest %s: %w: %v", n, mpath, ErrBadManifest, err)
	}
	for i, l := range m.Layers {
		if l.MediaType != MediaTypeModel {
			continue
		}
		hex, ok := strings.CutPrefix(l.Digest, "sha256:")
		if !ok || !isHex64(hex) {
			return "", fmt.Errorf("ollama %s: manifest %s: layers[%d].digest %q is not sha256:<64 hex digits>: %w", n, mpath, i, l.Digest, ErrBadManifest)
		}
		blob := filepath.Join(store, "blobs", "sha256-"+hex)
		st, err := os.Stat(blob)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("ollama %s: manifest %s: layers[%d]: blob %s: %w", n, mpath, i, blob, ErrNotFound)
			}
			return "", fmt.Errorf("ollama %s: blob %s: %w", n, blob, err)
		}
		if l.Size > 0 && st.Size() != l.Size {
			return "", fmt.Errorf("ollama %s: blob %s is %d bytes, manifest %s layers[%d].size says %d (incomplete pull?): %w", n, blob, st.Size(), mpath, i, l.Size, ErrBadManifest)
		}
		return blob, nil
	}
	return "", fmt.Errorf("ollama %s: manifest %s: layers: no layer with mediaType %s: %w", n, mpath, MediaTypeModel, ErrBadManifest)
}

// shortName is the reference as a user would type it for ollama pull.
func shortName(n Name) string {
	s := n.Model
	if n.Namespace != DefaultNamespace || n.Host != DefaultHost {
		s = n.Namespace + "/" + s
	}
	if n.Host != DefaultHost {
		s = n.Host + "/" + s
	}
	return s
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// LinuxServiceStore is where the ollama Linux service (running as user ollama) keeps its models.
const LinuxServiceStore = "/usr/share/ollama/.ollama/models"

// DefaultStore returns the ollama model store: $OLLAMA_MODELS when set, else ~/.ollama/models, except that
// when that does not exist and the Linux service store /usr/share/ollama/.ollama/models does (or no home
// directory is known), the latter.
func DefaultStore() string {
	home, _ := os.UserHomeDir()
	return defaultStore(os.Getenv("OLLAMA_MODELS"), home, func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.IsDir()
	})
}

// defaultStore is DefaultStore with its environment passed in.
func defaultStore(env, home string, isDir func(string) bool) string {
	if env != "" {
		return env
	}
	user := filepath.Join(home, ".ollama", "models")
	if home == "" || (!isDir(user) && isDir(LinuxServiceStore)) {
		return LinuxServiceStore
	}
	return user
}

// List returns the references whose manifests are in the store (manifests/<host>/<namespace>/<model>/<tag>),
// sorted by their String form. A store that does not exist holds none.
func List(store string) ([]Name, error) {
	root := filepath.Join(store, "manifests")
	var out []Name
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 4 {
			return nil // not a manifest
		}
		out = append(out, Name{Host: parts[0], Namespace: parts[1], Model: parts[2], Tag: parts[3]})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, err
}

// Short returns the reference as a user types it: "qwen2.5:0.5b" for the default host and namespace.
func (n Name) Short() string { return shortName(n) + ":" + n.Tag }
