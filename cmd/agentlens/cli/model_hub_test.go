package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/hub/hubtest"
	"github.com/agentlens/agentlens/model/modeltest"
)

// hfEnv starts a fake hub serving the tiny Llama and returns it with an environment whose Hugging Face
// cache, agentlens cache and ollama store are empty directories.
func hfEnv(t *testing.T) (*hubtest.HFHub, hubtest.HFRepo, map[string]string) {
	t.Helper()
	repo, err := hubtest.TinyRepo("agentlens-test/tiny-llama", "llama", 3)
	if err != nil {
		t.Fatal(err)
	}
	srv := hubtest.NewHFHub(repo)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	return srv, repo, map[string]string{
		"HOME": dir, "HF_HUB_CACHE": filepath.Join(dir, "hf"), "HF_ENDPOINT": srv.URL,
		"AGENTLENS_CACHE": filepath.Join(dir, "agentlens"), "OLLAMA_MODELS": filepath.Join(dir, "ollama"),
	}
}

// TestModelPullListInfoHooks pulls the tiny model from the fake hub, then lists, describes and hooks it
// by its hf: name.
func TestModelPullListInfoHooks(t *testing.T) {
	srv, repo, env := hfEnv(t)
	ref := "hf:" + repo.ID
	f, stdout, _ := testFactory(env)
	if err := execute(f, newCmdModelPull(f, nil), []string{ref, "--json"}); err != nil {
		t.Fatal(err)
	}
	var pulled struct{ Models []pulledModel }
	decodeOne(t, stdout.Bytes(), &pulled)
	if len(pulled.Models) != 1 || pulled.Models[0].Commit != repo.Commit() || len(pulled.Models[0].Files) != 4 {
		t.Fatalf("pull --json = %+v", pulled)
	}
	for _, fl := range pulled.Models[0].Files {
		if fl.Status != "fetched" {
			t.Errorf("%s: %s, want fetched", fl.Path, fl.Status)
		}
	}
	snapDir := pulled.Models[0].Path

	f, stdout, _ = testFactory(env)
	if err := execute(f, newCmdModelList(f, nil), []string{"--json"}); err != nil {
		t.Fatal(err)
	}
	var list struct{ Models []modelSummary }
	decodeOne(t, stdout.Bytes(), &list)
	want := modelSummary{Name: ref, Source: "hf-cache", Path: snapDir, Format: "safetensors", Architecture: "LlamaForCausalLM",
		Layers: modeltest.NLayers, DModel: modeltest.DModel, Bytes: int64(len(repo.Files["model.safetensors"])), DType: "float32", Supported: true} // the config's torch_dtype
	if len(list.Models) != 1 || list.Models[0] != want {
		t.Fatalf("list --json = %+v, want [%+v]", list.Models, want)
	}

	f, stdout, _ = testFactory(env)
	if err := execute(f, newCmdModelInfo(f, nil), []string{ref, "--json"}); err != nil {
		t.Fatal(err)
	}
	var info modelInfo
	decodeOne(t, stdout.Bytes(), &info)
	// The weight hash is sha256(config.json ‖ model.safetensors), computed here from the hub's bytes.
	h := sha256.New()
	h.Write(repo.Files["config.json"])
	h.Write(repo.Files["model.safetensors"])
	if want := "sha256:" + hex.EncodeToString(h.Sum(nil)); info.WeightHash != want {
		t.Errorf("weight hash %s, want %s", info.WeightHash, want)
	}
	if info.Dims["n_layers"] != modeltest.NLayers || info.Dims["d_head"] != modeltest.DHead || info.Architecture != "LlamaForCausalLM" ||
		info.Tokenizer["eos"] != "<|im_end|>" || info.ChatTemplate != "the model's own" {
		t.Errorf("info --json = %+v", info)
	}

	f, stdout, _ = testFactory(env)
	if err := execute(f, newCmdModelHooks(f, nil), []string{ref, "--json", "--layer", "1"}); err != nil {
		t.Fatal(err)
	}
	var hooks struct{ Hooks []hookInfo }
	decodeOne(t, stdout.Bytes(), &hooks)
	if got, want := len(hooks.Hooks), 2+len(hook.BlockSites); got != want {
		t.Fatalf("%d hooks for one layer, want %d", got, want)
	}
	for _, hk := range hooks.Hooks {
		n, err := hook.Parse(hk.Name)
		if err != nil || n.Site.InBlock() && n.Layer != 1 {
			t.Errorf("hook %s: %v", hk.Name, err)
		}
		if n.Site == hook.K && !slices.Equal(hk.Sizes, []int{-1, -1, modeltest.NKVHeads, modeltest.DHead}) {
			t.Errorf("%s sizes %v", hk.Name, hk.Sizes)
		}
	}

	// Offline, nothing is requested; a model that is not cached is an error naming HF_HUB_OFFLINE.
	env["HF_HUB_OFFLINE"] = "1"
	before := srv.Requests()
	f, _, _ = testFactory(env)
	err := execute(f, newCmdModelPull(f, nil), []string{"hf:agentlens-test/other"})
	if !errors.Is(err, hub.ErrOffline) || exitCode(err) != ExitModel {
		t.Errorf("offline pull of a missing model = %v (exit %d), want ErrOffline, exit %d", err, exitCode(err), ExitModel)
	}
	f, _, _ = testFactory(env)
	if err := execute(f, newCmdModelPull(f, nil), []string{ref}); err != nil {
		t.Errorf("offline pull of a cached model: %v", err)
	}
	if n := srv.Requests() - before; n != 0 {
		t.Errorf("offline commands made %d requests", n)
	}
	f, _, _ = testFactory(env)
	if err := execute(f, newCmdModelPull(f, nil), []string{"smollm2"}); exitCode(err) != ExitUsage || !strings.Contains(err.Error(), "model fetch smollm2") {
		t.Errorf("pull smollm2 = %v, want a usage error pointing to model fetch", err)
	}
}

// TestCaptureModelFromHub runs capture with --model hf:… on an empty cache: the model is pulled when
// the command runs, and its rows carry the hash of the pulled weights.
func TestCaptureModelFromHub(t *testing.T) {
	srv, repo, env := hfEnv(t)
	dir := t.TempDir()
	eps := filepath.Join(dir, "eps.jsonl")
	tinyPairs(t, eps, 2)
	f, _, stderr := testFactory(env)
	acts := filepath.Join(dir, "acts")
	err := execute(f, newCmdCapture(f, nil), []string{eps, "-m", "hf:" + repo.ID, "--backend", "go", "-o", acts})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "is not in the Hugging Face cache, pulling it") || !strings.Contains(stderr.String(), "hf:"+repo.ID+" on ") {
		t.Errorf("stderr does not say it pulled and loaded the model:\n%s", stderr.String())
	}
	rows, err := data.ReadAll[data.Activation](filepath.Join(acts, shardName(0)))
	if err != nil || len(rows) == 0 {
		t.Fatalf("capture wrote %d rows: %v", len(rows), err)
	}
	h := sha256.New()
	h.Write(repo.Files["config.json"])
	h.Write(repo.Files["model.safetensors"])
	if want := "sha256:" + hex.EncodeToString(h.Sum(nil)); rows[0].ModelHash != want {
		t.Errorf("rows' model hash %s, want %s", rows[0].ModelHash, want)
	}
	gets := 0
	for _, l := range srv.Log() {
		if strings.HasPrefix(l, "GET ") && strings.Contains(l, "/resolve/") {
			gets++
		}
	}
	if gets != 4 {
		t.Errorf("%d downloads, want the 4 model files", gets)
	}
}
