package bench

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/backend"
)

var torchPython = flag.String("torch-python", "", "with -update: the Python with torch and transformers that rewrites testdata/crossturn-torch.json")

// crossTurnGolden is testdata/crossturn-torch.json: the check values (Measurement.Check) that the PyTorch
// reference (torchref.py, Hugging Face transformers, float32, sdpa) computes for the cross-turn jobs on
// modeltest's tiny llama (seed 1) with the default synthetic tokens.
type crossTurnGolden struct {
	Torch  string             `json:"torch"`
	Checks map[string]float64 `json:"checks"` // job ("matrix:200") → torch's check value
}

var crossTurnJobs = []Job{{Matrix, 64}, {Matrix, 200}, {AtP, 200}, {Patch, 200}}

// TestCrossTurnMatchesTorch runs the matrix, AtP and patch jobs in process on the tiny llama and
// compares their results (the sum of the matrix's effects, of the AtP estimates, of the patched runs'
// changes in log p) with what transformers computed for the same jobs: to 1e-4 relative, float32 sums
// of O(100) terms in another order (agreement measured at 1e-5 or better on both backends). Run with
// -update -torch-python PATH to rewrite the golden through the real reference.
func TestCrossTurnMatchesTorch(t *testing.T) {
	golden := filepath.Join("testdata", "crossturn-torch.json")
	dir := tinyModel(t)
	if *update {
		if *torchPython == "" {
			t.Fatal("-update needs -torch-python")
		}
		rep, err := Run(context.Background(), Options{Model: dir, Backend: "go", Jobs: crossTurnJobs, Threads: 1, Python: *torchPython,
			ChildCommand: selfCommand(envChild), TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		g := crossTurnGolden{Torch: rep.Torch, Checks: map[string]float64{}}
		for _, r := range rep.Rows {
			if r.Torch == nil || !r.Torch.OK() {
				t.Fatalf("%s: torch reference failed: %+v", r.Job, r.Torch)
			}
			g.Checks[r.Job.String()] = r.Torch.Check
		}
		data, _ := json.MarshalIndent(g, "", "  ")
		if err := os.WriteFile(golden, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var g crossTurnGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	b, _, err := backend.New("go", backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	m, _, err := model.Load(dir, model.LoadOptions{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range crossTurnJobs {
		want, ok := g.Checks[j.String()]
		if !ok {
			t.Fatalf("%s missing from %s", j, golden)
		}
		got, err := runCrossTurn(m, j, Tokens(j.Tokens, m.Dims().DVocab, DefaultSeed), false)
		if err != nil {
			t.Fatalf("%s: %v", j, err)
		}
		if math.Abs(got-want) > 1e-4*math.Abs(want) {
			t.Errorf("%s: agentlens %v, transformers (%s) %v", j, got, g.Torch, want)
		}
	}
}
