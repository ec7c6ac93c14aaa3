package ollama

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	cases := []struct {
		ref  string
		want string // Name.String(), or "" for an error
	}{
		{"qwen2.5", "registry.ollama.ai/library/qwen2.5:latest"},
		{"ollama:qwen2.5:0.5b", "registry.ollama.ai/library/qwen2.5:0.5b"},
		{"ollama://gemma3:270m", "registry.ollama.ai/library/gemma3:270m"},
		{"library/llama3.2:1b-instruct-q4_K_M", "registry.ollama.ai/library/llama3.2:1b-instruct-q4_K_M"},
		{"someone/smollm2", "registry.ollama.ai/someone/smollm2:latest"},
		{"hf.co/bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M", "hf.co/bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M"},
		{"localhost:5000/ns/m", "localhost:5000/ns/m:latest"},
		{"localhost:5000/ns/m:v1", "localhost:5000/ns/m:v1"},
		{"", ""},
		{"ollama:", ""},
		{"m:", ""},
		{"a/b/c/d", ""},
		{"../m", ""},
		{"ns/..", ""},
		{"m:../../x", ""},
		{"m@sha256:abc", ""},
		{"bad name", ""},
		{"ns//m", ""},
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			n, err := ParseName(c.ref)
			if c.want == "" {
				if err == nil || !errors.Is(err, ErrBadReference) {
					t.Errorf("ParseName(%q) = %v, %v; want ErrBadReference", c.ref, n, err)
				}
				return
			}
			if err != nil || n.String() != c.want {
				t.Errorf("ParseName(%q) = %v, %v; want %s", c.ref, n, err, c.want)
			}
		})
	}
}

const (
	modelHex = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tmplHex  = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// fakeStore builds an ollama store with one manifest and the blobs it names.
func fakeStore(t *testing.T, manifestRel, manifest string, blobs map[string]string) string {
	t.Helper()
	store := t.TempDir()
	mp := filepath.Join(store, "manifests", filepath.FromSlash(manifestRel))
	if err := os.MkdirAll(filepath.Dir(mp), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mp, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(store, "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range blobs {
		if err := os.WriteFile(filepath.Join(store, "blobs", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

func manifestJSON(layers string) string {
	return `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:` + tmplHex + `","size":3},
"layers":[` + layers + `]}`
}

func TestResolve(t *testing.T) {
	good := manifestJSON(`{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:` + tmplHex + `","size":3},
{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:` + modelHex + `","size":4}`)
	blobs := map[string]string{"sha256-" + modelHex: "GGUF", "sha256-" + tmplHex: "{{}}"}
	cases := []struct {
		name, manifestRel, manifest, ref string
		blobs                            map[string]string
		want                             string // blob base name, or error substring after "!"
		is                               error
	}{
		{"default tag", "registry.ollama.ai/library/qwen2.5/latest", good, "qwen2.5", blobs, "sha256-" + modelHex, nil},
		{"prefix and tag", "registry.ollama.ai/library/qwen2.5/0.5b", good, "ollama:qwen2.5:0.5b", blobs, "sha256-" + modelHex, nil},
		{"namespace", "registry.ollama.ai/me/tiny/v1", good, "me/tiny:v1", blobs, "sha256-" + modelHex, nil},
		{"host", "hf.co/org/Model-GGUF/Q4_K_M", good, "hf.co/org/Model-GGUF:Q4_K_M", blobs, "sha256-" + modelHex, nil},
		{"case-insensitive", "registry.ollama.ai/library/qwen2.5/latest", good, "Qwen2.5:LATEST", blobs, "sha256-" + modelHex, nil},
		{"no manifest", "registry.ollama.ai/library/other/latest", good, "qwen2.5", blobs, "!manifests/registry.ollama.ai/library/qwen2.5/latest", ErrNotFound},
		{"no blob", "registry.ollama.ai/library/qwen2.5/latest", good, "qwen2.5", nil, "!layers[1]: blob", ErrNotFound},
		{"short blob", "registry.ollama.ai/library/qwen2.5/latest", good, "qwen2.5", map[string]string{"sha256-" + modelHex: "GG"}, "!layers[1].size says 4", ErrBadManifest},
		{"no model layer", "registry.ollama.ai/library/qwen2.5/latest", manifestJSON(`{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:` + tmplHex + `"}`), "qwen2.5", blobs, "!no layer with mediaType application/vnd.ollama.image.model", ErrBadManifest},
		{"bad digest", "registry.ollama.ai/library/qwen2.5/latest", manifestJSON(`{"mediaType":"application/vnd.ollama.image.model","digest":"md5:1234"}`), "qwen2.5", blobs, "!layers[0].digest \"md5:1234\"", ErrBadManifest},
		{"garbled", "registry.ollama.ai/library/qwen2.5/latest", `{"layers":[`, "qwen2.5", blobs, "!bad ollama manifest", ErrBadManifest},
		{"bad ref", "registry.ollama.ai/library/qwen2.5/latest", good, "../../etc", blobs, "!invalid", ErrBadReference},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := fakeStore(t, c.manifestRel, c.manifest, c.blobs)
			got, err := Resolve(c.ref, store)
			if want, isErr := strings.CutPrefix(c.want, "!"); isErr {
				if err == nil || !strings.Contains(filepath.ToSlash(err.Error()), want) || !errors.Is(err, c.is) {
					t.Errorf("Resolve(%q) = %q, %v; want error containing %q (%v)", c.ref, got, err, want, c.is)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", c.ref, err)
			}
			if want := filepath.Join(store, "blobs", c.want); got != want {
				t.Errorf("Resolve(%q) = %q, want %q", c.ref, got, want)
			}
		})
	}
}

func TestDefaultStore(t *testing.T) {
	dirs := func(ds ...string) func(string) bool {
		return func(p string) bool {
			for _, d := range ds {
				if p == d {
					return true
				}
			}
			return false
		}
	}
	home := filepath.Join(string(filepath.Separator), "home", "u")
	user := filepath.Join(home, ".ollama", "models")
	cases := []struct {
		name, env, home string
		isDir           func(string) bool
		want            string
	}{
		{"env wins", "/data/ollama", home, dirs(user, LinuxServiceStore), "/data/ollama"},
		{"home", "", home, dirs(user, LinuxServiceStore), user},
		{"home absent, no service", "", home, dirs(), user},
		{"service store", "", home, dirs(LinuxServiceStore), LinuxServiceStore},
		{"no home", "", "", dirs(), LinuxServiceStore},
	}
	for _, c := range cases {
		if got := defaultStore(c.env, c.home, c.isDir); got != c.want {
			t.Errorf("%s: defaultStore = %q, want %q", c.name, got, c.want)
		}
	}
	t.Setenv("OLLAMA_MODELS", "/x/models")
	if got := DefaultStore(); got != "/x/models" {
		t.Errorf("DefaultStore() with OLLAMA_MODELS = %q, want /x/models", got)
	}
}

// TestList lists the manifests of a store, each resolving back through Resolve by its Short form.
func TestList(t *testing.T) {
	good := manifestJSON(`{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:` + modelHex + `","size":4}`)
	store := fakeStore(t, "registry.ollama.ai/library/qwen2.5/0.5b", good, map[string]string{"sha256-" + modelHex: "GGUF"})
	for _, rel := range []string{"hf.co/org/Model-GGUF/Q4_K_M", "registry.ollama.ai/me/tiny/v1"} {
		p := filepath.Join(store, "manifests", filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(good), 0o644)
	}
	got, err := List(store)
	if err != nil {
		t.Fatal(err)
	}
	var short []string
	for _, n := range got {
		short = append(short, n.Short())
		if _, err := Resolve(n.Short(), store); err != nil {
			t.Errorf("Resolve(%s): %v", n.Short(), err)
		}
	}
	want := []string{"hf.co/org/Model-GGUF:Q4_K_M", "qwen2.5:0.5b", "me/tiny:v1"}
	if !slices.Equal(short, want) {
		t.Errorf("List = %q, want %q", short, want)
	}
	if none, err := List(filepath.Join(store, "nothing")); err != nil || len(none) != 0 {
		t.Errorf("List of a missing store = %v, %v, want nothing", none, err)
	}
}
