package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/internal/bench"
	"github.com/agentlens/agentlens/model/hub"
)

// EnvPython names the Python interpreter of the PyTorch reference for "agentlens bench".
const EnvPython = "AGENTLENS_PYTHON"

// benchOptions are the inputs of "agentlens bench".
type benchOptions struct {
	IO  *IOStreams
	Ctx context.Context

	Model     string // resolved path of the GGUF file or HF directory
	Backend   string
	Jobs      []bench.Job
	Threads   int
	Seed      uint64
	NoWarmup  bool
	Rounds    int
	Python    string
	NoTorch   bool
	TorchAttn string
	Timeout   time.Duration
	Out       string
	Verbose   bool
	jsonOutput

	// Child is the request file of a child process (the hidden --child flag); set, the command only
	// serves that request.
	Child string
	// Executable is the binary re-executed for each job's child process.
	Executable string
}

func newCmdBench(f *Factory, runF func(*benchOptions) error) *cobra.Command {
	opts := &benchOptions{IO: f.IO}
	var modelArg, jobsArg string
	cmd := &cobra.Command{
		Use:   "bench [--model <file|dir|name>] [--jobs <list>] [--backend go|xla|auto] [--python <exe>] [--out <file.md>]",
		Short: "Benchmark the engine against PyTorch on the same model and tokens",
		Long: `Run benchmark jobs on the agentlens engine and on a PyTorch reference (Hugging Face
transformers loading the same file) with the same synthetic token ids and thread count,
and print a Markdown table: seconds, compile time, tokens/s and peak RSS per engine, and
the ratio of agentlens seconds to torch seconds.

Jobs are kind:N items, N with an optional k suffix, several lengths joined by "/":
  forward   forward pass capturing every layer's resid_post (logits at the last position)
  gradient  gradient of the last token's log-prob with respect to hook_embed
  ablate    a base forward, then 20 forwards, each with one of 20 equal segments of the
            tokens removed, reusing the base's keys and values before the segment
            (agentlens packs the 20 into one batch; torch runs them one by one)
  shared    100 episodes of N tokens sharing their first N/2 (a system prompt, run once),
            each capturing every layer's resid_post (agentlens: batches of 4096 positions)
  matmul    10 MLP-shaped matmul pairs on N rows ([N,576]x[576,1536], then back), on the
            backend and with torch.matmul (the tuned sgemm): achieved GFLOP/s under the table
  matrix    the segment × segment deletion matrix (attribute --method matrix) of N tokens,
            the last the target and the rest cut into 20 equal segments: a base pass scoring
            every next token, then one pass per deleted segment after the base's keys and
            values before it, scoring every later segment
  atp       attribution patching (attribute --method atp) into the same tokens with segment
            10 rewritten: clean forward, corrupted forward and backward, resid_pre, attn_out
            and mlp_out of every layer × 20 segments
  patch     activation patching of that pair at resid_pre of the first, middle and last
            layer × 20 segments (60 runs after the corrupted run's keys and values)
            The cross-turn jobs' results are summed in both engines and printed under the
            table, to show both did the same work.
  generate  text generation with a KV cache after an N-token prompt: 64 greedy tokens for
            one sample, then 64 sampled tokens for each of 8 samples (agentlens decodes them
            together after one pass over the prompt; torch runs generate with
            num_return_sequences=8); tokens/s counts the 576 generated tokens, prompts' time
            included
The default is forward:512/1k/4k,gradient:1k/4k.

Every job runs in a child process of its own (this binary, re-executed), after an untimed
warm-up run, so its peak RSS is its own. The reference runs an embedded Python script with
--python, else $` + EnvPython + `, else python3; if torch or transformers cannot be
imported the reference is reported as unavailable.

--rounds N runs each job N times on each engine, the engines taking turns to go first
(agentlens, torch; torch, agentlens; …): the table shows each engine's median round and
the median of the rounds' ratios with their range, so a machine whose speed drifts over
minutes (a shared VM) moves the ratio less.

--model takes a GGUF file, a Hugging Face model directory, or a model name known to
"agentlens model fetch" (looked up in the cache).

A second table shows where agentlens's timed run of each job went: the wall-clock seconds
of each phase of its passes (embedding, pre-attention graphs, the host attention kernel,
post-attention graphs, backward graphs, the kernel's backward, the head, device↔host
copies) and the rest no phase covers, each with its share of the run.

--json prints the report as one JSON object instead of the table: the setup, and per job
its measurements on each engine (seconds, cpu_s, compile_s, load_s, peak_rss in bytes,
phases: [{phase, seconds, calls}], error), tokens_per_s and the ratios.`,
		Example: `  agentlens bench --jobs forward:512/1k,gradient:1k --backend go --out bench.md
  agentlens bench --model ./tiny-llama --jobs forward:64 --no-torch
  AGENTLENS_PYTHON=.venv/bin/python agentlens bench --threads 2 --timeout 10m
  agentlens bench --jobs forward:1k --no-torch --json | jq '.rows[] | {job, tokens_per_s}'
  agentlens bench --jobs forward:1k --no-torch --json | jq '.rows[].agentlens.phases'
  agentlens bench --jobs forward:1k,matmul:4k --rounds 3 --json | jq '.rows[] | {job, ratio, ratio_min, ratio_max}'`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if opts.Child != "" {
				if runF != nil {
					return runF(opts)
				}
				return benchRun(opts)
			}
			jobs, err := bench.ParseJobs(jobsArg)
			if err != nil {
				return &FlagError{Err: fmt.Errorf("--jobs: %w", err)}
			}
			opts.Jobs = jobs
			if opts.Threads < 0 {
				return flagErrorf("--threads %d: want 0 (all CPUs) or more", opts.Threads)
			}
			if opts.Rounds < 1 {
				return flagErrorf("--rounds %d: want 1 or more", opts.Rounds)
			}
			if opts.Timeout < 0 {
				return flagErrorf("--timeout %v: want a positive duration or 0 (none)", opts.Timeout)
			}
			ref, err := resolveModelArg(f, modelArg)
			if err != nil {
				return err
			}
			if opts.Model, err = ref.cached(); err != nil {
				return err
			}
			if opts.Python == "" {
				opts.Python = f.getenv(EnvPython)
			}
			if opts.Python == "" {
				opts.Python = bench.DefaultPython
			}
			if opts.Executable, err = selfExecutable(); err != nil {
				return err
			}
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return benchRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&modelArg, "model", "m", hub.NameSmolLM2, "model `file`, directory, or cached model name")
	fl.StringVar(&jobsArg, "jobs", "forward:512/1k/4k,gradient:1k/4k", "jobs to run: `list` of kind:N")
	fl.StringVar(&opts.Backend, "backend", "", "agentlens backend: go, xla or auto (default $AGENTLENS_BACKEND or auto)")
	fl.IntVarP(&opts.Threads, "threads", "t", 0, "threads for both engines (default: all CPUs)")
	fl.Uint64Var(&opts.Seed, "seed", bench.DefaultSeed, "seed of the synthetic token ids")
	fl.BoolVar(&opts.NoWarmup, "no-warmup", false, "time the first run (compile time included) instead of a second one")
	fl.IntVar(&opts.Rounds, "rounds", 1, "runs of each job on each engine, the engines taking turns to go first")
	fl.StringVar(&opts.Python, "python", "", "Python interpreter `exe`cutable with torch and transformers (default $"+EnvPython+" or python3)")
	fl.BoolVar(&opts.NoTorch, "no-torch", false, "skip the PyTorch reference")
	fl.StringVar(&opts.TorchAttn, "torch-attn", "sdpa", "transformers attention implementation: sdpa or eager")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "limit for each child process, e.g. 10m (0: none); a job over it is reported as failed")
	fl.StringVarP(&opts.Out, "out", "o", "", "also write the table to `file`.md")
	fl.BoolVarP(&opts.Verbose, "verbose", "v", false, "show the child processes' output")
	fl.StringVar(&opts.Child, "child", "", "serve one job's request `file` (internal)")
	_ = fl.MarkHidden("child")
	opts.addJSONFlag(cmd)
	cmd.GroupID = groupModels
	return cmd
}

// selfExecutable returns the path of the running binary, as invoked when that names a file (so a
// binary started through a link keeps its name), else as the OS reports it.
func selfExecutable() (string, error) {
	if p, err := exec.LookPath(os.Args[0]); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs, nil
		}
	}
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("bench: cannot find the agentlens binary to re-execute: %w", err)
	}
	return p, nil
}

func benchRun(opts *benchOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Child != "" {
		return bench.ServeChild(opts.Child)
	}
	errOut := opts.IO.ErrOut
	bopts := bench.Options{
		Model:      opts.Model,
		Backend:    opts.Backend,
		Jobs:       opts.Jobs,
		Threads:    opts.Threads,
		Seed:       opts.Seed,
		NoWarmup:   opts.NoWarmup,
		Rounds:     opts.Rounds,
		Python:     opts.Python,
		NoTorch:    opts.NoTorch,
		TorchAttn:  opts.TorchAttn,
		JobTimeout: opts.Timeout,
		ChildCommand: func(ctx context.Context, requestPath string) *exec.Cmd {
			return exec.CommandContext(ctx, opts.Executable, "bench", "--child", requestPath)
		},
		Log: func(line string) { fmt.Fprintln(errOut, "bench:", line) },
	}
	if opts.Verbose {
		bopts.ChildLog = func(line string) { fmt.Fprintln(errOut, "  |", line) }
	}
	rep, err := bench.Run(ctx, bopts)
	if opts.JSON && rep != nil {
		if opts.Out != "" && len(rep.Rows) > 0 {
			if werr := bench.WriteFile(opts.Out, rep); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			return err
		}
		return opts.print(benchJSON(rep))
	}
	if rep != nil && len(rep.Rows) > 0 {
		if werr := bench.WriteTable(opts.IO.Out, rep); werr != nil && err == nil {
			err = werr
		}
		if opts.Out != "" {
			if werr := bench.WriteFile(opts.Out, rep); werr != nil && err == nil {
				err = werr
			}
		}
	}
	return err
}

// benchSummary is the --json output of "agentlens bench": the report's setup and one row per job.
type benchSummary struct {
	Model   string     `json:"model"`
	Threads int        `json:"threads"`
	Machine string     `json:"machine"`
	Backend string     `json:"backend"`
	Torch   string     `json:"torch"` // the reference's library versions, or why it was unavailable
	Seed    uint64     `json:"seed"`
	Warmup  bool       `json:"warmup"` // each timing followed an untimed warm-up run
	Rounds  int        `json:"rounds"` // runs of each job on each engine
	Rows    []benchRow `json:"rows"`
}

// benchRow is one row of bench's table.
type benchRow struct {
	Job         string             `json:"job"` // kind:tokens, as --jobs takes it
	Kind        string             `json:"kind"`
	Tokens      int                `json:"tokens"`
	Agentlens   bench.Measurement  `json:"agentlens"`
	Torch       *bench.Measurement `json:"torch"`                  // null with --no-torch
	TokensPerS  float64            `json:"tokens_per_s,omitempty"` // agentlens; 0 when it failed
	Ratio       *float64           `json:"ratio"`                  // agentlens seconds / torch seconds (median over rounds)
	RatioMin    *float64           `json:"ratio_min,omitempty"`    // the smallest round's ratio, with several rounds
	RatioMax    *float64           `json:"ratio_max,omitempty"`    // the largest
	CPURatio    *float64           `json:"cpu_ratio"`              // the same of CPU seconds
	GFLOPPerSec float64            `json:"gflop_per_s,omitempty"`  // matmul jobs: agentlens's achieved rate
	// Rounds are every round's measurements in the order run, with several rounds; agentlens and
	// torch above are each engine's median round.
	Rounds []benchRound `json:"rounds,omitempty"`
}

// benchRound is one round of a job: both engines' measurements, close together in time.
type benchRound struct {
	Agentlens  bench.Measurement  `json:"agentlens"`
	Torch      *bench.Measurement `json:"torch"`
	TorchFirst bool               `json:"torch_first"`
}

func benchJSON(rep *bench.Report) benchSummary {
	sum := benchSummary{Model: rep.Model, Threads: rep.Threads, Machine: rep.Machine, Backend: rep.Backend, Torch: rep.Torch,
		Seed: rep.Seed, Warmup: rep.Warmup, Rounds: rep.Rounds, Rows: []benchRow{}}
	for _, r := range rep.Rows {
		a, t := r.Agentlens, r.Torch
		row := benchRow{Job: r.Job.String(), Kind: string(r.Job.Kind), Tokens: r.Job.Tokens, Agentlens: a, Torch: t,
			TokensPerS: a.TokensPerSecond(r.Job)}
		if s, ok := r.Ratio(); ok {
			row.Ratio = &s.Median
			if s.N > 1 {
				row.RatioMin, row.RatioMax = &s.Min, &s.Max
			}
		}
		if s, ok := r.CPURatio(); ok {
			row.CPURatio = &s.Median
		}
		if len(r.Rounds) > 1 {
			for _, rd := range r.Rounds {
				row.Rounds = append(row.Rounds, benchRound{Agentlens: rd.Agentlens, Torch: rd.Torch, TorchFirst: rd.TorchFirst})
			}
		}
		if f := r.Job.FLOPs(); f > 0 && a.OK() && a.Seconds > 0 {
			row.GFLOPPerSec = f / a.Seconds / 1e9
		}
		sum.Rows = append(sum.Rows, row)
	}
	return sum
}
