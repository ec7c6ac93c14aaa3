package bench

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentlens/agentlens/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.md golden tables")

// sampleReport covers every kind of cell: success on both sides, an engine failure, a torch failure,
// torch unavailable, and torch not run; the matmul row adds the GFLOP/s line (10·4·4096·576·1536 =
// 144.9 GFLOP in 1.0 s and 0.8 s: 144.9 and 181.2 GFLOP/s, 80%). The forward and ablate rows have
// phases for the breakdown table: its columns are the union in model.PhaseNames order (embed before
// the graphs), a phase a row lacks is a dash, and rest is 12.5 − 11.5 = 1.0 s (8%) and 150 s (60%).
// The forward's phases have CPU seconds (2.0, 1.8 and 1.5 cores; its rest 23.75 − 20 = 3.75 CPU
// seconds in 1.0 s: 3.8 cores); the ablate row's have none, so no cores are shown.
func sampleReport(torch string) *Report {
	ok := func(engine string, s, w, rss float64) Measurement {
		return Measurement{Engine: engine, Backend: "go", Seconds: s, CPUSeconds: 1.9 * s, WarmupSeconds: w, CompileSeconds: w - s, PeakRSS: int64(rss * (1 << 20))}
	}
	rep := &Report{Model: "/m/SmolLM2.gguf", Threads: 2, Machine: "Test CPU, 2 CPUs, linux/amd64", Backend: "go",
		Torch: "torch 2.9.0, transformers 4.57.1", Seed: DefaultSeed, Warmup: true}
	t1 := ok(EngineTorch, 0.8, 1.1, 900)
	t1.Backend = "cpu"
	t3 := ok(EngineTorch, 0.8, 0.9, 400)
	t2 := Measurement{Engine: EngineTorch, Error: "RuntimeError: out of memory\nat line 3 | here", PeakRSS: 20 << 30}
	fwd := ok(EngineAgentlens, 12.5, 12.6, 1536)
	fwd.Phases = []model.PhaseTime{{Phase: "pre-attention graphs", Seconds: 2.5, CPUSeconds: 5, Calls: 30},
		{Phase: "attention kernel", Seconds: 5, CPUSeconds: 9, Calls: 30}, {Phase: "post-attention graphs", Seconds: 4, CPUSeconds: 6, Calls: 30}}
	abl := ok(EngineAgentlens, 250.3, 263.1, 700)
	abl.Phases = []model.PhaseTime{{Phase: "embed", Seconds: 0.3, Calls: 2}, {Phase: "attention kernel", Seconds: 100, Calls: 60}}
	rep.Rows = []Row{
		{Job: Job{Forward, 512}, Agentlens: fwd, Torch: &t1},
		{Job: Job{Gradient, 4096}, Agentlens: Measurement{Engine: EngineAgentlens, Error: "child process failed: signal: killed"}, Torch: &t2},
		{Job: Job{Ablate, 1024}, Agentlens: abl},
		{Job: Job{Matmul, 4096}, Agentlens: ok(EngineAgentlens, 1.0, 1.1, 300), Torch: &t3},
	}
	switch torch {
	case "unavailable":
		rep.Torch = "unavailable: python3 cannot import torch"
		for i := range rep.Rows {
			rep.Rows[i].Torch = &Measurement{Engine: EngineTorch, Unavailable: true, Error: "python3 cannot import torch, transformers: ModuleNotFoundError"}
		}
	case "rounds":
		// Three rounds of the forward: agentlens 12.5, 13 and 12 s against torch 0.8, 0.9 and 0.7 s.
		rep.Rounds = 3
		r := &rep.Rows[0]
		for i, d := range []float64{0, 0.5, -0.5} {
			a, tm := fwd, t1
			a.Seconds += d
			tm.Seconds += d / 5
			r.Rounds = append(r.Rounds, Round{Agentlens: a, Torch: &tm, TorchFirst: i == 1})
		}
		r.Agentlens, r.Torch = r.representatives()
	case "none":
		rep.Torch, rep.Warmup = "", false
		for i := range rep.Rows {
			rep.Rows[i].Torch = nil
		}
	}
	return rep
}

func TestWriteTable(t *testing.T) {
	for _, name := range []string{"full", "unavailable", "none", "rounds"} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteTable(&b, sampleReport(name)); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "table-"+name+".md")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("WriteTable =\n%s\nwant (%s)\n%s", got, golden, want)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bench.md")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, sampleReport("full")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	WriteTable(&want, sampleReport("full"))
	if string(got) != want.String() {
		t.Errorf("WriteFile wrote %q, want the WriteTable output", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("WriteFile left %d files in the directory, want 1 (no temp files)", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.md"), sampleReport("full")); err == nil {
		t.Errorf("WriteFile into a missing directory succeeded, want an error")
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{formatSeconds(0.01234), "0.012"},
		{formatSeconds(1.234), "1.23"},
		{formatSeconds(12.34), "12.3"},
		{formatSeconds(123.4), "123"},
		{formatBytes(0), "–"},
		{formatBytes(512 << 20), "512 MiB"},
		{formatBytes(3 << 29), "1.50 GiB"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("format = %q, want %q", tc.got, tc.want)
		}
	}
}
