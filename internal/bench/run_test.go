package bench

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentlens/agentlens/model/gguf"
	"github.com/agentlens/agentlens/model/modeltest"
)

// tinyModel writes a tiny llama into a temporary directory.
func tinyModel(t testing.TB) string {
	t.Helper()
	dir, err := modeltest.Write(t.TempDir(), "llama", 1)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunTinyModel runs every kind of job through real child processes on a tiny model, with a fake
// python standing in for the PyTorch reference. It checks the protocol, not the timings.
func TestRunTinyModel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	jobs := []Job{{Forward, 40}, {Gradient, 40}, {Ablate, 40}, {Shared, 40}, {Matmul, 40}, {Matrix, 60}, {AtP, 60}, {Patch, 60}}
	var logged []string
	rep, err := Run(context.Background(), Options{
		Model: tinyModel(t), Backend: "go", Jobs: jobs, Threads: 1,
		Python: fakePythonPath(t, envFakePython), ChildCommand: selfCommand(envChild),
		Log: func(s string) { logged = append(logged, s) }, TempDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Rows) != len(jobs) {
		t.Fatalf("Run returned %d rows, want %d", len(rep.Rows), len(jobs))
	}
	if rep.Backend != "go" || rep.Threads != 1 || !rep.Warmup {
		t.Errorf("report backend %q threads %d warmup %v, want go 1 true", rep.Backend, rep.Threads, rep.Warmup)
	}
	if rep.Torch != "fake torch, threads 1" {
		t.Errorf("report torch = %q, want the fake python's detail with OMP_NUM_THREADS=1", rep.Torch)
	}
	for i, r := range rep.Rows {
		a := r.Agentlens
		if r.Job != jobs[i] {
			t.Errorf("row %d job = %v, want %v", i, r.Job, jobs[i])
		}
		if !a.OK() {
			t.Errorf("%v agentlens failed: %s", r.Job, a.Error)
			continue
		}
		if a.Engine != EngineAgentlens || a.Backend != "go" {
			t.Errorf("%v agentlens engine %q backend %q, want agentlens go", r.Job, a.Engine, a.Backend)
		}
		if a.Seconds <= 0 || a.WarmupSeconds <= 0 || a.LoadSeconds <= 0 || a.CompileSeconds < 0 {
			t.Errorf("%v agentlens times load %v warm-up %v timed %v compile %v, want positive", r.Job, a.LoadSeconds, a.WarmupSeconds, a.Seconds, a.CompileSeconds)
		}
		// Any Go process that loaded a model holds more than 1 MiB.
		if a.PeakRSS < 1<<20 {
			t.Errorf("%v agentlens peak RSS = %d, want at least 1 MiB", r.Job, a.PeakRSS)
		}
		if r.Torch == nil || !r.Torch.OK() || r.Torch.Seconds != 0.5 || r.Torch.PeakRSS < 1<<20 {
			t.Errorf("%v torch = %+v, want the fake measurement with a measured RSS", r.Job, r.Torch)
		}
	}
	if !strings.Contains(strings.Join(logged, "\n"), "forward:40 agentlens: ") {
		t.Errorf("log %q has no line for forward:40", logged)
	}
	var b strings.Builder
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	// The first table has a row per job; the profile breakdown after it is another table.
	var rows int
	for _, chunk := range strings.Split(b.String(), "\n\n") {
		if strings.HasPrefix(chunk, "| job |") {
			rows = strings.Count("\n"+chunk, "\n| ")
			break
		}
	}
	if rows != 2+len(jobs) {
		t.Errorf("table has %d rows, want %d:\n%s", rows, 2+len(jobs), b.String())
	}
}

// TestRunFailures checks that failing children, a missing torch and timeouts become table notes while
// the run goes on.
func TestRunFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	model := tinyModel(t)
	tests := []struct {
		name      string
		child     string
		python    string
		timeout   time.Duration
		wantErr   string // in the agentlens measurement
		wantTorch string // in the torch measurement ("" : torch not run)
		wantUnav  bool
	}{
		{name: "crash without result", child: envCrash, python: "-", wantErr: "crashing on purpose"},
		{name: "timeout", child: envSleep, python: "-", timeout: 300 * time.Millisecond, wantErr: "timed out after 300ms"},
		{name: "torch missing", child: envCrash, python: "broken", wantErr: "exit status 3",
			wantTorch: "No module named 'torch'", wantUnav: true},
		{name: "no interpreter", child: envCrash, python: "/nonexistent/python3", wantErr: "exit status 3",
			wantTorch: "/nonexistent/python3", wantUnav: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Model: model, Jobs: []Job{{Forward, 8}}, ChildCommand: selfCommand(tc.child),
				JobTimeout: tc.timeout, Python: tc.python, TempDir: t.TempDir()}
			switch tc.python {
			case "-":
				opts.NoTorch = true
			case "broken":
				opts.Python = fakePythonPath(t, envBrokenTorch)
			}
			rep, err := Run(context.Background(), opts)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			a := rep.Rows[0].Agentlens
			if a.OK() || !strings.Contains(a.Error, tc.wantErr) {
				t.Errorf("agentlens error = %q, want one containing %q", a.Error, tc.wantErr)
			}
			tm := rep.Rows[0].Torch
			if tc.wantTorch == "" {
				if tm != nil {
					t.Errorf("torch = %+v, want nil with NoTorch", tm)
				}
				return
			}
			if tm == nil || tm.Unavailable != tc.wantUnav || !strings.Contains(tm.Error, tc.wantTorch) {
				t.Errorf("torch = %+v, want unavailable %v with an error containing %q", tm, tc.wantUnav, tc.wantTorch)
			}
		})
	}
}

func TestRunBadOptions(t *testing.T) {
	model := tinyModel(t)
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{name: "no child command", opts: Options{Model: model}, want: ErrNoChildCommand},
		{name: "bad job", opts: Options{Model: model, Jobs: []Job{{"sideways", 10}}, ChildCommand: selfCommand(envChild)}, want: ErrBadJob},
		{name: "missing model", opts: Options{Model: filepath.Join(model, "nope"), ChildCommand: selfCommand(envChild)}, want: ErrModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Run(context.Background(), tc.opts); !errors.Is(err, tc.want) {
				t.Errorf("Run error = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestServeChild runs the child side in-process, including its failure modes.
func TestServeChild(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.json")
	if err := writeJSON(tokens, tokenFile{Tokens: Tokens(16, modeltest.DVocab, 1)}); err != nil {
		t.Fatal(err)
	}
	outOfVocab := filepath.Join(dir, "oov.json")
	if err := writeJSON(outOfVocab, tokenFile{Tokens: Tokens(16, modeltest.DVocab+1000, 1)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{name: "forward", req: Request{Model: model, Backend: "go", Job: Job{Forward, 16}, TokensFile: tokens, Warmup: true}},
		{name: "gradient without warm-up", req: Request{Model: model, Backend: "go", Job: Job{Gradient, 16}, TokensFile: tokens}},
		{name: "length mismatch", req: Request{Model: model, Backend: "go", Job: Job{Forward, 17}, TokensFile: tokens}, wantErr: "has 16 ids, want 17"},
		{name: "out of vocabulary", req: Request{Model: model, Backend: "go", Job: Job{Forward, 16}, TokensFile: outOfVocab}, wantErr: "outside the model's vocabulary"},
		{name: "unknown backend", req: Request{Model: model, Backend: "tpu", Job: Job{Forward, 16}, TokensFile: tokens}, wantErr: "unknown backend"},
		{name: "bad job", req: Request{Model: model, Backend: "go", Job: Job{"sideways", 16}, TokensFile: tokens}, wantErr: "unknown kind"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Result = filepath.Join(dir, "result"+string(rune('a'+i))+".json")
			reqPath := tc.req.Result + ".req"
			if err := writeJSON(reqPath, tc.req); err != nil {
				t.Fatal(err)
			}
			err := ServeChild(reqPath)
			data, rerr := os.ReadFile(tc.req.Result)
			if rerr != nil {
				t.Fatalf("no result file: %v (ServeChild: %v)", rerr, err)
			}
			var m Measurement
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			if tc.wantErr == "" {
				if err != nil || !m.OK() || m.Seconds <= 0 {
					t.Errorf("ServeChild = %v, result %+v, want success", err, m)
				}
				if tc.req.Warmup != (m.WarmupSeconds > 0) {
					t.Errorf("warm-up seconds = %v with Warmup %v", m.WarmupSeconds, tc.req.Warmup)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || m.Error != err.Error() {
				t.Errorf("ServeChild = %v, result error %q, want both containing %q", err, m.Error, tc.wantErr)
			}
		})
	}
	if err := ServeChild(filepath.Join(dir, "missing.json")); err == nil {
		t.Errorf("ServeChild(missing request) succeeded")
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"model": 1}`), 0o644)
	if err := ServeChild(bad); err == nil {
		t.Errorf("ServeChild(bad request) succeeded")
	}
}

func TestVocabSize(t *testing.T) {
	dir := t.TempDir()
	ggufPath := filepath.Join(dir, "m.gguf")
	err := gguf.Write(ggufPath, []gguf.KV{{Key: "general.architecture", Value: "llama"}},
		[]gguf.WriteTensor{{Name: "token_embd.weight", Type: gguf.TypeF32, Shape: []int{77, 32}, Data: make([]float32, 77*32)}})
	if err != nil {
		t.Fatal(err)
	}
	noEmbed := filepath.Join(dir, "noembed.gguf")
	err = gguf.Write(noEmbed, nil, []gguf.WriteTensor{{Name: "x", Type: gguf.TypeF32, Shape: []int{32}, Data: make([]float32, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(dir, "nested")
	os.Mkdir(nested, 0o755)
	os.WriteFile(filepath.Join(nested, "config.json"), []byte(`{"text_config": {"vocab_size": 123}}`), 0o644)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	os.WriteFile(filepath.Join(empty, "config.json"), []byte(`{}`), 0o644)
	notGGUF := filepath.Join(dir, "x.bin")
	os.WriteFile(notGGUF, []byte("hello world, not gguf"), 0o644)
	tests := []struct {
		name     string
		path     string
		want     int
		wantGGUF bool
		wantErr  bool
	}{
		{name: "gguf", path: ggufPath, want: 77, wantGGUF: true},
		{name: "hf dir", path: tinyModel(t), want: modeltest.DVocab},
		{name: "text_config", path: nested, want: 123},
		{name: "no vocab_size", path: empty, wantErr: true},
		{name: "gguf without embedding", path: noEmbed, wantErr: true},
		{name: "not gguf", path: notGGUF, wantErr: true},
		{name: "missing", path: filepath.Join(dir, "nope"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, isGGUF, err := VocabSize(tc.path)
			if tc.wantErr {
				if !errors.Is(err, ErrModel) {
					t.Errorf("VocabSize(%s) = %d, %v, want an ErrModel error", tc.path, got, err)
				}
				return
			}
			if err != nil || got != tc.want || isGGUF != tc.wantGGUF {
				t.Errorf("VocabSize(%s) = %d, %v, %v, want %d, %v", tc.path, got, isGGUF, err, tc.want, tc.wantGGUF)
			}
		})
	}
}
