package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/agentlens/agentlens/model/modeltest"
)

// TestNotebooks runs the notebooks in notebooks/ with nbclient against tables the CLI writes here on a
// tiny random model, so that a change to a table that breaks a notebook fails the tests:
// 01_attribution reads one attribute run, 02_probes a capture → sweep → train → eval → apply chain,
// 03_many_runs a directory of three attribute runs. The notebooks check what they read (shares add up
// to one, the ROC area computed in numpy equals the AUROC probe eval computed in Go, the flags are the
// scores above the threshold). It needs the notebooks' Python environment: make test creates it from
// notebooks/requirements.txt and names its interpreter in $AGENTLENS_NB_PYTHON.
func TestNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED under -short: the notebooks were not run")
	}
	py := os.Getenv("AGENTLENS_NB_PYTHON")
	if py == "" {
		t.Skip("SKIPPED: $AGENTLENS_NB_PYTHON is not set (make test creates the notebooks' venv and sets it): the notebooks were not run")
	}
	dir := t.TempDir()
	mdir, err := modeltest.Write(filepath.Join(dir, "tiny"), "qwen2", 5)
	if err != nil {
		t.Fatal(err)
	}
	eps := filepath.Join(dir, "eps.jsonl")
	tinyPairs(t, eps, 12)
	data := filepath.Join(dir, "data")
	f, _, stderr := testFactory(map[string]string{"AGENTLENS_CACHE": filepath.Join(dir, "cache")})
	run := func(args ...string) {
		t.Helper()
		if code := Run(context.Background(), f, args); code != ExitOK {
			t.Fatalf("agentlens %v: exit %d\n%s", args, code, stderr.String())
		}
	}
	// Three attribution runs; the first is also the notebook 01 run.
	for _, id := range []string{"p0-mis", "p1-mis", "p2-ali"} {
		run("attribute", eps, "--id", id, "-m", mdir, "--backend", "go", "-o", filepath.Join(data, "runs", id),
			"--method", "grad_x_input,ig,deletion,matrix", "--ig-steps", "4", "--json")
	}
	if err := os.Symlink(filepath.Join(data, "runs", "p0-mis"), filepath.Join(data, "attribute")); err != nil {
		t.Fatal(err)
	}
	probes := filepath.Join(data, "probes")
	run("capture", eps, "-m", mdir, "--backend", "go", "-o", filepath.Join(probes, "acts"), "--positions", "decision")
	run("probe", "sweep", filepath.Join(probes, "acts"), "--out", probes, "--folds", "3", "--bootstrap", "50", "--eval-splits", "test_family")
	probe := filepath.Join(probes, "probe.parquet")
	run("probe", "train", filepath.Join(probes, "acts"), "--layer", "1", "--folds", "3", "--bootstrap", "20", "--out", probe)
	run("probe", "eval", probe, filepath.Join(probes, "acts"), "--bootstrap", "20", "--out", filepath.Join(probes, "eval.parquet"))
	run("probe", "apply", probe, eps, "--id", "p1-mis", "-m", mdir, "--backend", "go", "-o", filepath.Join(data, "monitor"))

	books, err := filepath.Glob(filepath.Join("..", "..", "..", "notebooks", "0*.ipynb"))
	if err != nil || len(books) != 3 {
		t.Fatalf("notebooks: %v %v, want 3", books, err)
	}
	out := filepath.Join(dir, "executed")
	cmd := exec.Command(py, append([]string{filepath.Join("..", "..", "..", "notebooks", "run.py"), out}, books...)...)
	cmd.Env = append(os.Environ(), "AGENTLENS_NB_DATA="+data)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("notebooks failed: %v\n%s", err, b)
	}
	t.Logf("%s", b)
}
