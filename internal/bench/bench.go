package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/gguf"
)

// Options configure Run. Model and ChildCommand are required.
type Options struct {
	// Model is the GGUF file or Hugging Face model directory both engines load.
	Model string
	// Backend is the agentlens backend ("go", "xla", "auto"); empty means model/backend's default.
	Backend string
	// Jobs are run in order; nil means DefaultJobs.
	Jobs []Job
	// Threads is the thread count both engines get; 0 means runtime.NumCPU.
	Threads int
	// Seed seeds the synthetic tokens; 0 means DefaultSeed.
	Seed uint64
	// NoWarmup skips the untimed warm-up run (halving the time; compile time then counts in Seconds).
	NoWarmup bool
	// Rounds is how many times each job runs on each engine; 0 means 1. The engines alternate which
	// goes first (agentlens in odd rounds, torch in even ones), so a machine whose speed drifts over
	// minutes slows both sides of a round's ratio alike; see Row.
	Rounds int
	// Python is the interpreter for the PyTorch reference; empty means DefaultPython.
	Python string
	// NoTorch skips the PyTorch reference.
	NoTorch bool
	// TorchAttn is the transformers attention implementation; empty means "sdpa".
	TorchAttn string
	// JobTimeout bounds each child process; 0 means no limit. A job that runs out is reported as
	// failed and the run goes on.
	JobTimeout time.Duration
	// ChildCommand returns the command that runs the engine side of a job: a process that calls
	// ServeChild(requestPath). Build it with exec.CommandContext(ctx, ...) so cancellation kills it.
	ChildCommand func(ctx context.Context, requestPath string) *exec.Cmd
	// Log, if set, receives one line per event (job started, job finished with its timing).
	Log func(line string)
	// ChildLog, if set, receives the children's stderr, line by line.
	ChildLog func(line string)
	// TempDir is where request, token and result files go; empty means os.TempDir. A fresh
	// directory is made inside it and removed at the end.
	TempDir string
}

// Row is one job's outcome on both engines. With several rounds, Agentlens and Torch are each
// engine's median round (by wall-clock seconds; the lower middle one for an even count), or its first
// failed round, and Rounds holds every round in the order run.
type Row struct {
	Job       Job
	Agentlens Measurement
	// Torch is nil when the reference was not run (NoTorch).
	Torch *Measurement
	// Rounds are the row's rounds, one per Options.Rounds; nil in rows built by hand.
	Rounds []Round
}

// Round is one run of a job on each engine, close together in time.
type Round struct {
	Agentlens Measurement
	// Torch is nil when the reference was not run (NoTorch).
	Torch *Measurement
	// TorchFirst reports that the reference ran before the engine in this round.
	TorchFirst bool
}

// Report is the outcome of Run.
type Report struct {
	Model   string
	Threads int
	// Machine describes the host: CPU model, cores, OS/arch.
	Machine string
	// Backend is the agentlens backend that ran (from the first job that got that far).
	Backend string
	// Torch describes the reference (library versions), or why it was unavailable.
	Torch string
	Seed  uint64
	// Warmup reports whether each timing followed an untimed warm-up run.
	Warmup bool
	// Rounds is how many times each job ran on each engine (Options.Rounds, at least 1).
	Rounds int
	Rows   []Row
}

// Run runs every job on the agentlens engine and (unless NoTorch) on the PyTorch reference, one child
// process at a time, and returns the report. A failing job is recorded in its row; Run returns an
// error only for bad options, an unreadable model or a cancelled context.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.ChildCommand == nil {
		return nil, ErrNoChildCommand
	}
	jobs := opts.Jobs
	if jobs == nil {
		jobs = DefaultJobs()
	}
	for _, j := range jobs {
		if err := j.Validate(); err != nil {
			return nil, err
		}
	}
	modelPath, err := filepath.Abs(opts.Model)
	if err != nil {
		return nil, fmt.Errorf("bench %s: %w", opts.Model, err)
	}
	vocab, isGGUF, err := VocabSize(modelPath)
	if err != nil {
		return nil, err
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	seed := opts.Seed
	if seed == 0 {
		seed = DefaultSeed
	}
	python := opts.Python
	if python == "" {
		python = DefaultPython
	}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			opts.Log(fmt.Sprintf(format, args...))
		}
	}
	dir, err := os.MkdirTemp(opts.TempDir, "agentlens-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)

	rounds := max(1, opts.Rounds)
	rep := &Report{Model: opts.Model, Threads: threads, Machine: machine(), Seed: seed, Warmup: !opts.NoWarmup, Rounds: rounds}
	var script, torchMissing string
	if !opts.NoTorch {
		if torchMissing = torchAvailable(ctx, python, isGGUF); torchMissing != "" {
			rep.Torch = "unavailable: " + torchMissing
			logf("torch reference unavailable: %s", torchMissing)
		} else if script, err = writeScript(dir); err != nil {
			return nil, err
		}
	}
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		tokFile := filepath.Join(dir, fmt.Sprintf("tokens-%d.json", j.Tokens))
		if _, err := os.Stat(tokFile); err != nil {
			if err := writeJSON(tokFile, tokenFile{Tokens: Tokens(j.Tokens, vocab, seed)}); err != nil {
				return nil, err
			}
		}
		req := Request{Model: modelPath, Backend: opts.Backend, Job: j, Segments: AblateSegments,
			TokensFile: tokFile, Threads: threads, Warmup: !opts.NoWarmup, Attn: opts.TorchAttn}
		row := Row{Job: j}
		for r := range rounds {
			tag := ""
			if rounds > 1 {
				tag = fmt.Sprintf(" (round %d of %d)", r+1, rounds)
			}
			round := Round{TorchFirst: r%2 == 1 && !opts.NoTorch}
			engine := func() {
				logf("%s agentlens%s: running", j, tag)
				req.Result = filepath.Join(dir, fmt.Sprintf("result-%d-%d-agentlens.json", i, r))
				round.Agentlens = runOne(ctx, opts.JobTimeout, req, EngineAgentlens, func(ctx context.Context, p string) *exec.Cmd {
					return opts.ChildCommand(ctx, p)
				}, opts.ChildLog)
				logf("%s agentlens%s: %s", j, tag, summary(&round.Agentlens))
				if rep.Backend == "" && round.Agentlens.Backend != "" {
					rep.Backend = round.Agentlens.Backend
				}
			}
			reference := func() {
				t := Measurement{Engine: EngineTorch, Unavailable: torchMissing != "", Error: torchMissing}
				if torchMissing == "" {
					logf("%s torch%s: running", j, tag)
					req.Result = filepath.Join(dir, fmt.Sprintf("result-%d-%d-torch.json", i, r))
					t = runOne(ctx, opts.JobTimeout, req, EngineTorch, func(ctx context.Context, p string) *exec.Cmd {
						return torchCommand(ctx, python, script, p, threads)
					}, opts.ChildLog)
					logf("%s torch%s: %s", j, tag, summary(&t))
					if rep.Torch == "" && t.Detail != "" {
						rep.Torch = t.Detail
					}
				}
				round.Torch = &t
			}
			switch {
			case opts.NoTorch:
				engine()
			case round.TorchFirst:
				reference()
				engine()
			default:
				engine()
				reference()
			}
			row.Rounds = append(row.Rounds, round)
			if ctx.Err() != nil {
				break
			}
		}
		row.Agentlens, row.Torch = row.representatives()
		rep.Rows = append(rep.Rows, row)
	}
	return rep, ctx.Err()
}

// runOne writes the request and runs one child for it, bounded by timeout.
func runOne(ctx context.Context, timeout time.Duration, req Request, engine string,
	command func(context.Context, string) *exec.Cmd, log func(string)) Measurement {
	fail := func(err error) Measurement { return Measurement{Engine: engine, Error: err.Error()} }
	reqPath := strings.TrimSuffix(req.Result, ".json") + "-request.json"
	if err := writeJSON(reqPath, req); err != nil {
		return fail(err)
	}
	cctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("timed out after %v", timeout))
		defer cancel()
	}
	m, err := runChild(cctx, command(cctx, reqPath), req.Result, log)
	m.Engine = engine
	if err != nil && m.Error == "" {
		m.Error = err.Error()
	}
	return m
}

// summary is a one-line description of a measurement for the log.
func summary(m *Measurement) string {
	if !m.OK() {
		return "failed: " + m.Error
	}
	return fmt.Sprintf("%.2f s (warm-up %.2f s, load %.2f s), peak RSS %s", m.Seconds, m.WarmupSeconds, m.LoadSeconds, formatBytes(m.PeakRSS))
}

// VocabSize returns the vocabulary size of a GGUF file (rows of token_embd.weight) or a Hugging Face
// directory (config.json vocab_size, or text_config.vocab_size), and whether the model is GGUF.
func VocabSize(path string) (int, bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, false, fmt.Errorf("%w %s: %v", ErrModel, path, err)
	}
	if !st.IsDir() {
		f, err := gguf.Open(path)
		if err != nil {
			return 0, true, fmt.Errorf("%w %s: %v", ErrModel, path, err)
		}
		defer f.Close()
		t, ok := f.Tensor("token_embd.weight")
		if !ok || len(t.Shape()) != 2 {
			return 0, true, fmt.Errorf("%w %s: no two-dimensional tensor token_embd.weight", ErrModel, path)
		}
		return t.Shape()[0], true, nil
	}
	cfgPath := filepath.Join(path, "config.json")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return 0, false, fmt.Errorf("%w %s: %v", ErrModel, path, err)
	}
	var cfg struct {
		VocabSize  int `json:"vocab_size"`
		TextConfig struct {
			VocabSize int `json:"vocab_size"`
		} `json:"text_config"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return 0, false, fmt.Errorf("%w %s: %v", ErrModel, cfgPath, err)
	}
	v := firstNonZero(cfg.VocabSize, cfg.TextConfig.VocabSize)
	if v <= 0 {
		return 0, false, fmt.Errorf("%w %s: field vocab_size is missing", ErrModel, cfgPath)
	}
	return v, false, nil
}

// firstNonZero returns the first non-zero value.
func firstNonZero(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// machine describes the host for the report header.
func machine() string {
	cpu := ""
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	s := fmt.Sprintf("%d CPUs, %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if cpu != "" {
		s = cpu + ", " + s
	}
	return s + "; kernels " + model.Kernels()
}
