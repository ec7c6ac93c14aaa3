package hub_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/hub/hubtest"
)

const tinyID = "agentlens-test/tiny-llama"

func tinyRepo(t *testing.T) hubtest.HFRepo {
	t.Helper()
	r, err := hubtest.TinyRepo(tinyID, "llama", 1)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRef(t *testing.T, s string) hub.HFRef {
	t.Helper()
	r, err := hub.ParseHFRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// modelPaths are the files of a tiny repository a model needs (README.md and onnx/ are left out).
var modelPaths = []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}

// checkSnapshot checks the layout huggingface_hub expects: every model file is a relative symlink into
// blobs/ named by the file's etag, with the hub's contents. With onlyModel, nothing else is there.
func checkSnapshot(t *testing.T, cache hub.HFCache, repo hubtest.HFRepo, snap hub.Snapshot, onlyModel bool) {
	t.Helper()
	if snap.Commit != repo.Commit() {
		t.Fatalf("commit = %s, want %s", snap.Commit, repo.Commit())
	}
	if want := filepath.Join(cache.RepoDir(repo.ID), "snapshots", repo.Commit()); snap.Dir != want {
		t.Fatalf("snapshot dir = %s, want %s", snap.Dir, want)
	}
	for _, p := range modelPaths {
		link := filepath.Join(snap.Dir, p)
		target, err := os.Readlink(link)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := filepath.Join("..", "..", "blobs", hubtest.Etag(p, repo.Files[p])); target != want {
			t.Errorf("%s links to %s, want %s", p, target, want)
		}
		got, err := os.ReadFile(link)
		if err != nil || !bytes.Equal(got, repo.Files[p]) {
			t.Errorf("%s: contents differ from the hub's (err %v)", p, err)
		}
	}
	for _, p := range []string{"README.md", "onnx/model.onnx"} {
		if !onlyModel {
			break
		}
		if _, err := os.Lstat(filepath.Join(snap.Dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was downloaded; a model does not need it", p)
		}
	}
}

func countGets(log []string, file string) (gets, ranged int) {
	for _, l := range log {
		if strings.HasPrefix(l, "GET ") && strings.Contains(l, "/resolve/") && strings.Contains(l, "/"+file) {
			gets++
			if strings.Contains(l, "Range:") {
				ranged++
			}
		}
	}
	return
}

// TestPullFresh pulls a tiny model into an empty cache, checks the layout, then pulls again (nothing
// downloaded) and resolves offline (no request at all).
func TestPullFresh(t *testing.T) {
	repo := tinyRepo(t)
	srv := hubtest.NewHFHub(repo)
	defer srv.Close()
	srv.PageSize = 2 // the tree listing comes in pages
	cache := hub.HFCache{Dir: t.TempDir()}
	ref := mustRef(t, "hf:"+tinyID)
	res, err := cache.Pull(context.Background(), ref, hub.PullOptions{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, cache, repo, res.Snapshot, true)
	var got []string
	for _, f := range res.Files {
		got = append(got, f.Path+" "+f.Status)
	}
	want := []string{"config.json fetched", "model.safetensors fetched", "tokenizer.json fetched", "tokenizer_config.json fetched"}
	if !slices.Equal(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(cache.RepoDir(tinyID), "refs", "main")); err != nil || string(b) != repo.Commit() {
		t.Errorf("refs/main = %q (%v), want %s", b, err, repo.Commit())
	}
	if res.Path != res.Dir {
		t.Errorf("Path = %s, want the snapshot dir", res.Path)
	}

	before := srv.Requests()
	res2, err := cache.Pull(context.Background(), ref, hub.PullOptions{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res2.Files {
		if f.Status != "cached" {
			t.Errorf("second pull: %s %s, want cached", f.Path, f.Status)
		}
	}
	if g, _ := countGets(srv.Log()[before:], ""); g != 0 {
		t.Errorf("second pull downloaded %d files, want none", g)
	}

	before = srv.Requests()
	snap, err := cache.Pull(context.Background(), ref, hub.PullOptions{Endpoint: srv.URL, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, cache, repo, snap.Snapshot, true)
	if n := srv.Requests() - before; n != 0 {
		t.Errorf("offline pull made %d requests, want 0", n)
	}
	// The commit itself resolves too.
	if _, err := cache.Resolve(mustRef(t, "hf:"+tinyID+"@"+repo.Commit())); err != nil {
		t.Errorf("resolve by commit: %v", err)
	}
}

// TestPullResumes cuts the weights' download after 5000 bytes: within one Pull the next try resumes
// with a Range request; with one try per Pull the .incomplete file stays and the next Pull resumes it.
func TestPullResumes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		attempts    int
		ignoreRange bool
	}{
		{"retry within one pull", 0, false},
		{"second pull resumes", 1, false},
		{"server ignores Range", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := tinyRepo(t)
			srv := hubtest.NewHFHub(repo)
			defer srv.Close()
			srv.CutAfter, srv.CutDownloads, srv.IgnoreRange = 5000, 1, tc.ignoreRange
			cache := hub.HFCache{Dir: t.TempDir()}
			ref := mustRef(t, "hf:"+tinyID)
			var log bytes.Buffer
			opts := hub.PullOptions{Endpoint: srv.URL, Attempts: tc.attempts, Log: &log}
			res, err := cache.Pull(context.Background(), ref, opts)
			if tc.attempts == 1 {
				if err == nil {
					t.Fatal("first pull with one try succeeded, want a cut download")
				}
				etag := hubtest.Etag("model.safetensors", repo.Files["model.safetensors"])
				st, serr := os.Stat(filepath.Join(cache.RepoDir(tinyID), "blobs", etag+".incomplete"))
				if serr != nil || st.Size() != 5000 {
					t.Fatalf("after the cut: .incomplete %v %v, want 5000 bytes", st, serr)
				}
				if _, err := cache.Resolve(ref); !errors.Is(err, hub.ErrNotCached) {
					t.Errorf("resolve after a failed pull = %v, want ErrNotCached", err)
				}
				res, err = cache.Pull(context.Background(), ref, opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			checkSnapshot(t, cache, repo, res.Snapshot, true)
			for _, f := range res.Files {
				want := "fetched"
				switch {
				case f.Path == "model.safetensors" && !tc.ignoreRange:
					want = "resumed" // the retry started with 5000 bytes in hand
				case f.Path == "config.json" && tc.attempts == 1:
					want = "cached" // the first pull got it before the cut
				}
				if f.Status != want {
					t.Errorf("%s status %s, want %s (log %s)", f.Path, f.Status, want, log.String())
				}
			}
			gets, ranged := countGets(srv.Log(), "model.safetensors")
			if gets != 2 || ranged != 1 {
				t.Errorf("model.safetensors: %d GETs, %d with Range, want 2 and 1: %q", gets, ranged, srv.Log())
			}
			if tc.ignoreRange && !strings.Contains(log.String(), "ignored the range") {
				t.Errorf("log does not say the server ignored the range:\n%s", log.String())
			}
			if !strings.Contains(log.String(), "resuming "+tinyID+" model.safetensors at 5000 of") {
				t.Errorf("log does not say it resumed:\n%s", log.String())
			}
			blobs, _ := filepath.Glob(filepath.Join(cache.RepoDir(tinyID), "blobs", "*.incomplete"))
			if len(blobs) != 0 {
				t.Errorf("left behind %v", blobs)
			}
		})
	}
}

// TestPullChecksumMismatch serves corrupted weights: Pull fails naming the file and both hashes, and
// leaves no blob, no partial file, no link and no ref.
func TestPullChecksumMismatch(t *testing.T) {
	repo := tinyRepo(t)
	srv := hubtest.NewHFHub(repo)
	defer srv.Close()
	srv.Corrupt = map[string]bool{"model.safetensors": true}
	cache := hub.HFCache{Dir: t.TempDir()}
	_, err := cache.Pull(context.Background(), mustRef(t, "hf:"+tinyID), hub.PullOptions{Endpoint: srv.URL})
	if !errors.Is(err, hub.ErrChecksum) {
		t.Fatalf("Pull = %v, want ErrChecksum", err)
	}
	etag := hubtest.Etag("model.safetensors", repo.Files["model.safetensors"])
	for _, want := range []string{"model.safetensors", "sha256", etag} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if gets, _ := countGets(srv.Log(), "model.safetensors"); gets != 1 {
		t.Errorf("a checksum mismatch was downloaded %d times, want once (never retried)", gets)
	}
	dir := cache.RepoDir(tinyID)
	for _, p := range []string{
		filepath.Join(dir, "blobs", etag), filepath.Join(dir, "blobs", etag+".incomplete"),
		filepath.Join(dir, "snapshots", repo.Commit(), "model.safetensors"), filepath.Join(dir, "refs", "main"),
	} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a checksum mismatch", p)
		}
	}
}

// TestPullAccess checks private and gated repositories, unknown repositories, revisions and files.
func TestPullAccess(t *testing.T) {
	priv := tinyRepo(t)
	priv.ID, priv.Private = "org/private", true
	gated := tinyRepo(t)
	gated.ID, gated.Gated = "org/gated", true
	ggufRepo := hubtest.HFRepo{ID: "org/tiny-gguf", Files: map[string][]byte{
		"tiny-Q4_K_M.gguf": []byte("GGUF q4"), "tiny-Q8_0.gguf": []byte("GGUF q8"), "README.md": []byte("hi"),
	}}
	srv := hubtest.NewHFHub(priv, gated, ggufRepo)
	defer srv.Close()
	srv.Token, srv.Accepted = "hf_good", []string{"hf_good"}
	for _, tc := range []struct {
		name, ref, token string
		want             error
		msg              string
	}{
		{"private without token", "org/private", "", hub.ErrUnauthorized, "HF_TOKEN"},
		{"private with a bad token", "org/private", "hf_bad", hub.ErrUnauthorized, "can read it"},
		{"private with the token", "org/private", "hf_good", nil, ""},
		{"gated without token", "org/gated", "", hub.ErrGated, "/org/gated"},
		{"gated, conditions not accepted", "org/gated", "hf_other", hub.ErrGated, "not accepted"},
		{"gated, accepted", "org/gated", "hf_good", nil, ""},
		{"no such repository", "org/missing", "", hub.ErrUnauthorized, "org/missing"},
		{"no such revision", "org/private@v9", "hf_good", hub.ErrHubNotFound, "v9"},
		{"gguf by quantisation tag", "org/tiny-gguf:q8_0", "", nil, ""},
		{"gguf without a choice", "org/tiny-gguf", "", hub.ErrNoModelFiles, "tiny-Q4_K_M.gguf, tiny-Q8_0.gguf"},
		{"gguf, no such quantisation", "org/tiny-gguf:Q2_K", "", hub.ErrNoModelFiles, "no GGUF file matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := hub.HFCache{Dir: t.TempDir()}
			res, err := cache.Pull(context.Background(), mustRef(t, tc.ref), hub.PullOptions{Endpoint: srv.URL, Token: tc.token})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(tc.ref, ":") {
					if filepath.Base(res.Path) != "tiny-Q8_0.gguf" || len(res.Files) != 1 {
						t.Errorf("pulled %v into %s, want tiny-Q8_0.gguf alone", res.Files, res.Path)
					}
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Pull = %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
	// The token goes to the hub with every request of an authenticated pull.
	for _, l := range srv.Log() {
		if strings.Contains(l, "org/private/resolve") && !strings.HasSuffix(l, " auth") {
			t.Errorf("request without the token: %s", l)
		}
	}
}

// TestPullOffline checks HF_HUB_OFFLINE: nothing is requested, a missing model is an error naming the
// variable, and an incomplete snapshot (the tree listing names a file that is not there) is not used.
func TestPullOffline(t *testing.T) {
	repo := tinyRepo(t)
	srv := hubtest.NewHFHub(repo)
	defer srv.Close()
	cache := hub.HFCache{Dir: t.TempDir()}
	ref := mustRef(t, "hf:"+tinyID)
	_, err := cache.Pull(context.Background(), ref, hub.PullOptions{Endpoint: srv.URL, Offline: true})
	if !errors.Is(err, hub.ErrOffline) || !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Fatalf("offline pull of a missing model = %v, want ErrOffline and ErrNotCached", err)
	}
	if srv.Requests() != 0 {
		t.Fatalf("offline pull made %d requests", srv.Requests())
	}
	if _, err := cache.Pull(context.Background(), ref, hub.PullOptions{Endpoint: srv.URL}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(cache.RepoDir(tinyID), "snapshots", repo.Commit(), "tokenizer.json"))
	_, err = cache.Resolve(ref)
	if !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("resolve of a snapshot without tokenizer.json = %v, want ErrNotCached naming it", err)
	}
}

func TestParseHFRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want hub.HFRef
		err  bool
	}{
		{"hf:org/name", hub.HFRef{Repo: "org/name", Revision: "main"}, false},
		{"org/name@v1.0", hub.HFRef{Repo: "org/name", Revision: "v1.0"}, false},
		{"hf:gpt2", hub.HFRef{Repo: "gpt2", Revision: "main"}, false},
		{"hf:bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M", hub.HFRef{Repo: "bartowski/SmolLM2-135M-Instruct-GGUF", Revision: "main", File: "Q4_K_M"}, false},
		{"hf:org/name@refs/pr/1:model.gguf", hub.HFRef{Repo: "org/name", Revision: "refs/pr/1", File: "model.gguf"}, false},
		{"hf:", hub.HFRef{}, true},
		{"hf:org/name@", hub.HFRef{}, true},
		{"hf:org/name:", hub.HFRef{}, true},
		{"hf:org/../x", hub.HFRef{}, true},
		{"hf:org--x/y", hub.HFRef{}, true},
		{"hf:a/b/c", hub.HFRef{}, true},
		{"hf:org/name@../../etc", hub.HFRef{}, true},
		{"hf:-org/name", hub.HFRef{}, true},
	} {
		got, err := hub.ParseHFRef(tc.in)
		if tc.err {
			if !errors.Is(err, hub.ErrBadRef) {
				t.Errorf("ParseHFRef(%q) = %+v, %v, want ErrBadRef", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseHFRef(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
		if again, err := hub.ParseHFRef(got.String()); err != nil || again != got {
			t.Errorf("ParseHFRef(%q.String() = %q) = %+v, %v", tc.in, got.String(), again, err)
		}
	}
}

// TestReadHFEnv checks huggingface_hub's precedence (constants.py, utils/_auth.py of huggingface_hub
// 2.4.0) on the variables agentlens reads.
func TestReadHFEnv(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "hfhome"), 0o755)
	os.WriteFile(filepath.Join(home, "hfhome", "token"), []byte("hf_fromfile\n"), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want hub.HFEnv
	}{
		{"defaults", map[string]string{"HOME": home},
			hub.HFEnv{CacheDir: filepath.Join(home, ".cache/huggingface/hub"), Endpoint: hub.DefaultEndpoint}},
		{"XDG_CACHE_HOME", map[string]string{"HOME": home, "XDG_CACHE_HOME": "/x"},
			hub.HFEnv{CacheDir: "/x/huggingface/hub", Endpoint: hub.DefaultEndpoint}},
		{"HF_HOME with its token file", map[string]string{"HOME": home, "HF_HOME": "~/hfhome", "XDG_CACHE_HOME": "/x"},
			hub.HFEnv{CacheDir: filepath.Join(home, "hfhome/hub"), Endpoint: hub.DefaultEndpoint, Token: "hf_fromfile"}},
		{"HF_HUB_CACHE over HUGGINGFACE_HUB_CACHE over HF_HOME", map[string]string{"HOME": home, "HF_HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/old", "HF_HUB_CACHE": "$HOME/c"},
			hub.HFEnv{CacheDir: filepath.Join(home, "c"), Endpoint: hub.DefaultEndpoint}},
		{"legacy cache variable", map[string]string{"HOME": home, "HUGGINGFACE_HUB_CACHE": "/old"},
			hub.HFEnv{CacheDir: "/old", Endpoint: hub.DefaultEndpoint}},
		{"endpoint, tokens, offline", map[string]string{"HOME": home, "HF_HOME": "~/hfhome", "HF_ENDPOINT": "https://hf-mirror.com/", "HF_TOKEN": " hf_env ", "HUGGING_FACE_HUB_TOKEN": "hf_old", "HF_HUB_OFFLINE": "yes"},
			hub.HFEnv{CacheDir: filepath.Join(home, "hfhome/hub"), Endpoint: "https://hf-mirror.com", Token: "hf_env", Offline: true}},
		{"legacy token and TRANSFORMERS_OFFLINE", map[string]string{"HOME": home, "HUGGING_FACE_HUB_TOKEN": "hf_old", "TRANSFORMERS_OFFLINE": "1"},
			hub.HFEnv{CacheDir: filepath.Join(home, ".cache/huggingface/hub"), Endpoint: hub.DefaultEndpoint, Token: "hf_old", Offline: true}},
		{"HF_HUB_OFFLINE=0", map[string]string{"HOME": home, "HF_HUB_OFFLINE": "0", "HF_TOKEN_PATH": filepath.Join(home, "hfhome", "token")},
			hub.HFEnv{CacheDir: filepath.Join(home, ".cache/huggingface/hub"), Endpoint: hub.DefaultEndpoint, Token: "hf_fromfile"}},
	} {
		got := hub.ReadHFEnv(func(k string) string { return tc.env[k] })
		if got != tc.want {
			t.Errorf("%s: ReadHFEnv = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
