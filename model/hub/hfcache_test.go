package hub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/hub/hubtest"
)

// cacheFixture is the listing of a cache tree that the real huggingface_hub made
// (internal/reference/hfcache/hf_cache.py fixture).
type cacheFixture struct {
	HuggingFaceHub string `json:"huggingface_hub"`
	Repo           string `json:"repo"`
	Commit         string `json:"commit"`
	Entries        []struct {
		Path   string `json:"path"`
		Type   string `json:"type"`
		Target string `json:"target"`
		Size   int    `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"entries"`
}

// rebuildFixture recreates, in a new directory, the cache tree huggingface_hub made: its directories
// and symlinks as listed, and its files with the contents of the same fake-hub repository (each
// checked against the listed sha256; refs and tree listings are rebuilt from the listing's commit).
func rebuildFixture(t *testing.T) (hub.HFCache, cacheFixture, hubtest.HFRepo) {
	t.Helper()
	var fx cacheFixture
	b, err := os.ReadFile("testdata/hf_cache_fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	repo := tinyRepo(t)
	repo.Tags = []string{"v1.0"}
	if repo.Commit() != fx.Commit {
		t.Fatalf("the fake hub's commit for %s is %s, the fixture's %s: the tiny model changed; rerun internal/reference/hfcache/hf_cache.py fixture", fx.Repo, repo.Commit(), fx.Commit)
	}
	byHash := map[string][]byte{sha(nil): nil}
	for _, c := range repo.Files {
		byHash[sha(c)] = c
	}
	byHash[sha([]byte(fx.Commit))] = []byte(fx.Commit)
	// The tree listing is the one file whose contents the fake hub does not hold: fetch it from the
	// hub the way huggingface_hub did, by pulling into a scratch cache.
	scratch := pullInto(t, repo, t.TempDir())
	if tb, err := os.ReadFile(filepath.Join(scratch.RepoDir(repo.ID), "trees", fx.Commit+".json")); err == nil {
		byHash[sha(tb)] = tb
	}
	dir := t.TempDir()
	for _, e := range fx.Entries {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		switch e.Type {
		case "dir":
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case "symlink":
			if err := os.Symlink(e.Target, p); err != nil {
				t.Fatal(err)
			}
		case "file":
			c, ok := byHash[e.SHA256]
			if !ok && strings.HasSuffix(e.Path, "CACHEDIR.TAG") {
				continue
			}
			if !ok {
				t.Fatalf("%s: no contents with sha256 %s (size %d)", e.Path, e.SHA256, e.Size)
			}
			if err := os.WriteFile(p, c, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return hub.HFCache{Dir: dir}, fx, repo
}

func pullInto(t *testing.T, repo hubtest.HFRepo, dir string) hub.HFCache {
	t.Helper()
	srv := hubtest.NewHFHub(repo)
	defer srv.Close()
	cache := hub.HFCache{Dir: dir}
	if _, err := cache.Pull(context.Background(), mustRef(t, "hf:"+repo.ID), hub.PullOptions{Endpoint: srv.URL}); err != nil {
		t.Fatal(err)
	}
	return cache
}

// TestReadsCacheMadeByHuggingFaceHub resolves the tiny model, by branch, tag and commit, in a cache tree
// that huggingface_hub 2.4.0 made, and scans it.
func TestReadsCacheMadeByHuggingFaceHub(t *testing.T) {
	cache, fx, repo := rebuildFixture(t)
	for _, rev := range []string{"", "@v1.0", "@" + fx.Commit} {
		snap, err := cache.Resolve(mustRef(t, "hf:"+fx.Repo+rev))
		if err != nil {
			t.Fatalf("Resolve(%s): %v", rev, err)
		}
		checkSnapshot(t, cache, repo, snap, false)
	}
	repos, err := cache.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 1 || repos[0].Repo != fx.Repo || repos[0].Refs["main"] != fx.Commit || repos[0].Refs["v1.0"] != fx.Commit {
		t.Fatalf("Scan = %+v, want %s with refs main and v1.0 at %s", repos, fx.Repo, fx.Commit)
	}
	s := repos[0].Snapshots
	want := []string{"README.md", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"}
	if len(s) != 1 || !slices.Equal(s[0].Files, want) {
		t.Fatalf("Scan snapshots = %+v, want one with %q", s, want)
	}
	var total int64
	for _, c := range repo.Files {
		total += int64(len(c))
	}
	if s[0].Size != total {
		t.Errorf("snapshot size %d, want %d", s[0].Size, total)
	}
}

// TestPullLayoutMatchesHuggingFaceHub pulls the same repository with agentlens and compares the tree
// with huggingface_hub's, entry by entry, for the files agentlens downloads (it leaves out README.md
// and onnx/, which a model does not need; huggingface_hub's snapshot_download took everything).
func TestPullLayoutMatchesHuggingFaceHub(t *testing.T) {
	var fx cacheFixture
	b, _ := os.ReadFile("testdata/hf_cache_fixture.json")
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	repo := tinyRepo(t)
	dir := t.TempDir()
	pullInto(t, repo, dir)
	type entry struct{ typ, target, sha string }
	ours := map[string]entry{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			ours[rel] = entry{"symlink", target, ""}
		case d.IsDir():
			ours[rel] = entry{"dir", "", ""}
		default:
			c, _ := os.ReadFile(p)
			s := sha256.Sum256(c)
			ours[rel] = entry{"file", "", hex.EncodeToString(s[:])}
		}
		return nil
	})
	// Left out of the comparison: what agentlens does not download, the tag only huggingface_hub
	// fetched, the cache tag (each writes its own comment) and lock files (huggingface_hub locks every
	// file it considers, agentlens only what it downloads: checked below to use the same names).
	skip := func(p string) bool {
		return strings.HasSuffix(p, "README.md") || strings.Contains(p, "onnx") ||
			strings.HasSuffix(p, "refs/v1.0") || p == "CACHEDIR.TAG" || strings.HasPrefix(p, ".locks/")
	}
	fxPaths := map[string]bool{}
	for _, e := range fx.Entries {
		fxPaths[e.Path] = true
	}
	blobsOf := map[string]bool{}
	for _, c := range []string{"README.md", "onnx/model.onnx"} {
		blobsOf[hubtest.Etag(c, repo.Files[c])] = true
	}
	for _, e := range fx.Entries {
		if skip(e.Path) || blobsOf[filepath.Base(e.Path)] {
			continue
		}
		got, ok := ours[e.Path]
		delete(ours, e.Path)
		switch {
		case !ok:
			t.Errorf("huggingface_hub has %s %s; agentlens does not", e.Type, e.Path)
		case got.typ != e.Type || got.target != e.Target:
			t.Errorf("%s: agentlens has %s %q, huggingface_hub %s %q", e.Path, got.typ, got.target, e.Type, e.Target)
		case e.Type == "file" && got.sha != e.SHA256:
			if strings.Contains(e.Path, "/trees/") {
				continue // compared as JSON below
			}
			t.Errorf("%s: contents differ from huggingface_hub's", e.Path)
		}
	}
	for p, e := range ours {
		if p == "CACHEDIR.TAG" || strings.HasPrefix(p, ".locks/") && fxPaths[p] {
			continue
		}
		t.Errorf("agentlens made %s %s, which huggingface_hub does not", e.typ, p)
	}
	// The tree listings agree as JSON (huggingface_hub writes them with indent=1 too, but its key order
	// is its own).
	trees := func(d string) map[string]any {
		b, err := os.ReadFile(filepath.Join(d, "models--agentlens-test--tiny-llama", "trees", fx.Commit+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		json.Unmarshal(b, &v)
		return v
	}
	fxCache, _, _ := rebuildFixture(t)
	if a, b := trees(dir), trees(fxCache.Dir); !jsonEqual(a, b) {
		t.Errorf("trees/%s.json differ:\nagentlens %v\nhuggingface_hub %v", fx.Commit, a, b)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// hfPython returns a Python that has huggingface_hub: $AGENTLENS_NB_PYTHON (the notebooks' venv, which
// pins it; make test sets it), else the reference venv; "" when there is none.
func hfPython(t *testing.T) string {
	for _, py := range []string{os.Getenv("AGENTLENS_NB_PYTHON"), "../../internal/reference/.venv/bin/python"} {
		if py == "" {
			continue
		}
		if abs, err := filepath.Abs(py); err == nil && exec.Command(abs, "-c", "import huggingface_hub").Run() == nil {
			return abs
		}
	}
	return ""
}

// TestHuggingFaceHubReadsOurCache pulls the tiny model with agentlens and has the real huggingface_hub
// read the cache offline (internal/reference/hfcache/hf_cache.py check).
func TestHuggingFaceHubReadsOurCache(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python")
	}
	py := hfPython(t)
	if py == "" {
		t.Skip("no Python with huggingface_hub: set AGENTLENS_NB_PYTHON to the notebooks' venv (make nb-venv)")
	}
	repo := tinyRepo(t)
	dir := t.TempDir()
	pullInto(t, repo, dir)
	cmd := exec.Command(py, "internal/reference/hfcache/hf_cache.py", "check", dir, repo.ID)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "HF_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("huggingface_hub could not read agentlens's cache: %v\n%s", err, out)
	}
	var rep struct {
		Snapshot   string   `json:"snapshot"`
		Incomplete []string `json:"incomplete_without_patterns"`
		Scan       struct {
			Refs []string `json:"refs"`
		} `json:"scan"`
	}
	if err := json.Unmarshal(out[bytes.IndexByte(out, '{'):], &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if want := "models--agentlens-test--tiny-llama/snapshots/" + repo.Commit(); rep.Snapshot != want {
		t.Errorf("huggingface_hub's snapshot %s, want %s", rep.Snapshot, want)
	}
	if !slices.Equal(rep.Incomplete, []string{"README.md", "onnx/model.onnx"}) {
		t.Errorf("huggingface_hub sees %v missing from the full snapshot, want README.md and onnx/model.onnx", rep.Incomplete)
	}
	t.Logf("huggingface_hub's report:\n%s", out)
}
