package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/agentlens/agentlens/model"
	_ "github.com/agentlens/agentlens/model/all" // every family
	"github.com/agentlens/agentlens/model/backend"
)

// Engine names in Measurement.Engine.
const (
	EngineAgentlens = "agentlens"
	EngineTorch     = "torch"
)

// Request is what a child process is asked to do. It travels as a JSON file whose path is the child's
// only argument; the same format feeds the engine child (ServeChild) and the PyTorch script.
type Request struct {
	// Model is the GGUF file or Hugging Face directory.
	Model string `json:"model"`
	// Backend is the agentlens backend name given to model/backend.New ("go", "xla", "auto"; empty:
	// that package's default). Ignored by the PyTorch script.
	Backend string `json:"backend,omitempty"`
	// Job is the workload; Segments repeats AblateSegments for the script.
	Job      Job `json:"job"`
	Segments int `json:"segments"`
	// TokensFile is a JSON file {"tokens": [ids...]} holding exactly Job.Tokens ids.
	TokensFile string `json:"tokens_file"`
	// Threads is the number of threads the child may use (GOMAXPROCS; torch.set_num_threads); 0 leaves
	// the default.
	Threads int `json:"threads,omitempty"`
	// Warmup runs the job once untimed before the timed run.
	Warmup bool `json:"warmup"`
	// Attn is the transformers attention implementation ("sdpa", "eager"). PyTorch only.
	Attn string `json:"attn,omitempty"`
	// Result is where the child writes its Measurement as JSON (through a temp file and a rename).
	Result string `json:"result"`
}

// Measurement is one engine's outcome on one job.
type Measurement struct {
	// Engine is EngineAgentlens or EngineTorch.
	Engine string `json:"engine"`
	// Backend is the backend that ran: "go" or "xla" for agentlens, "cpu" for torch.
	Backend string `json:"backend,omitempty"`
	// Detail describes the backend or the library versions ("torch 2.9.0, transformers 4.57.1").
	Detail string `json:"detail,omitempty"`
	// LoadSeconds is the time to load the model (file reading, dequantisation, transfer).
	LoadSeconds float64 `json:"load_s"`
	// WarmupSeconds is the untimed first run (graph compilation included); 0 without warm-up.
	WarmupSeconds float64 `json:"warmup_s"`
	// CompileSeconds estimates one-time costs: the warm-up time minus the timed time of the same work
	// (never negative); 0 without warm-up.
	CompileSeconds float64 `json:"compile_s"`
	// Seconds is the wall-clock time of the timed run.
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the user plus system CPU time of the timed run, all threads together (0 where
	// unknown). On a shared machine it is steadier than Seconds.
	CPUSeconds float64 `json:"cpu_s"`
	// PeakRSS is the child's peak resident set in bytes: the parent's ru_maxrss of the child process
	// where the platform has it, else what the child reported about itself.
	PeakRSS int64 `json:"peak_rss"`
	// Check is a number both engines compute from the job's results, so the table can show they did
	// the same work: the sum of the matrix's effects (Matrix), of the AtP estimates (AtP) or of the
	// patched runs' metric changes (Patch); 0 for the other jobs.
	Check float64 `json:"check,omitempty"`
	// Phases is where the agentlens engine's timed run spent its wall-clock time (model.Profile);
	// what they do not cover is the rest of Seconds. Empty for torch.
	Phases []model.PhaseTime `json:"phases,omitempty"`
	// Error is set when the job failed (or, with Unavailable, why the engine could not run at all).
	Error string `json:"error,omitempty"`
	// Unavailable is set when the engine could not be run at all (no torch, no interpreter).
	Unavailable bool `json:"unavailable,omitempty"`
}

// OK reports whether the measurement holds a timing.
func (m *Measurement) OK() bool { return m != nil && m.Error == "" && !m.Unavailable }

// TokensPerSecond returns the job's Work divided by the timed seconds, or 0.
func (m *Measurement) TokensPerSecond(j Job) float64 {
	if !m.OK() || m.Seconds <= 0 {
		return 0
	}
	return float64(j.Work()) / m.Seconds
}

// ServeChild runs the engine side of one job as described by the request file at requestPath and
// writes the Measurement to the request's Result path. It is what the re-executed binary calls; the
// returned error (also recorded in the result file when it can be written) should become a non-zero
// exit status.
func ServeChild(requestPath string) error {
	req, err := readRequest(requestPath)
	if err != nil {
		return err
	}
	m := Measurement{Engine: EngineAgentlens}
	runErr := serve(req, &m)
	if runErr != nil {
		m.Error = runErr.Error()
	}
	if m.PeakRSS == 0 {
		m.PeakRSS = selfPeakRSS()
	}
	if err := writeJSON(req.Result, m); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

func serve(req *Request, m *Measurement) error {
	if req.Threads > 0 {
		runtime.GOMAXPROCS(req.Threads)
	}
	if err := req.Job.Validate(); err != nil {
		return err
	}
	tokens, err := readTokens(req.TokensFile, req.Job.Tokens)
	if err != nil {
		return err
	}
	b, info, err := backend.New(req.Backend, backend.Options{})
	if err != nil {
		return err
	}
	defer b.Finalize()
	m.Backend, m.Detail = info.Name, info.Reason
	start := time.Now()
	mdl, _, err := model.Load(req.Model, model.LoadOptions{Backend: b})
	if err != nil {
		return err
	}
	m.LoadSeconds = time.Since(start).Seconds()
	if v := mdl.Dims().DVocab; maxID(tokens) >= v {
		return fmt.Errorf("tokens %s: id %d outside the model's vocabulary of %d", req.TokensFile, maxID(tokens), v)
	}
	if req.Warmup {
		start = time.Now()
		if _, err := runEngine(mdl, req.Job, tokens, true); err != nil {
			return fmt.Errorf("%s warm-up: %w", req.Job, err)
		}
		m.WarmupSeconds = time.Since(start).Seconds()
	}
	var prof model.Profile
	mdl.SetProfile(&prof)
	start, cpu := time.Now(), selfCPUSeconds()
	if m.Check, err = runEngine(mdl, req.Job, tokens, false); err != nil {
		return fmt.Errorf("%s: %w", req.Job, err)
	}
	m.Seconds = time.Since(start).Seconds()
	m.CPUSeconds = selfCPUSeconds() - cpu
	mdl.SetProfile(nil)
	m.Phases = prof.Phases()
	if req.Warmup {
		m.CompileSeconds = max(0, m.WarmupSeconds-m.Seconds*warmupFraction(req.Job))
	}
	return nil
}

// warmupFraction is the share of the timed work that the warm-up repeats.
func warmupFraction(j Job) float64 {
	switch j.Kind {
	case Ablate: // the base pass and two segment passes of the base pass and AblateSegments
		return 3.0 / (AblateSegments + 1)
	case Shared: // the prompt and one batch of episodes, of the prompt and SharedEpisodes (the prompt is half an episode)
		return (0.5 + float64(sharedBatch(j.Tokens))) / (SharedEpisodes + 0.5)
	case Matmul:
		return 1.0 / MatmulRepeats
	case Matrix, Patch: // two of the CrossSegments segments
		return 2.0 / CrossSegments
	case Generate: // two of GenerateNew tokens per call (the prompts, about a tenth of the time at 1k, are not counted)
		return 2.0 / GenerateNew
	}
	return 1
}

func maxID(ids []int) int {
	m := -1
	for _, id := range ids {
		m = max(m, id)
	}
	return m
}

func readRequest(path string) (*Request, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench request: %w", err)
	}
	var req Request
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, fmt.Errorf("bench request %s: %w", path, err)
	}
	if req.Result == "" {
		return nil, fmt.Errorf("bench request %s: field result is empty", path)
	}
	return &req, nil
}

// tokenFile is the JSON shape of Request.TokensFile.
type tokenFile struct {
	Tokens []int `json:"tokens"`
}

func readTokens(path string, want int) ([]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	var tf tokenFile
	if err := json.Unmarshal(data, &tf); err != nil {
		return nil, fmt.Errorf("tokens %s: %w", path, err)
	}
	if len(tf.Tokens) != want {
		return nil, fmt.Errorf("tokens %s: field tokens has %d ids, want %d", path, len(tf.Tokens), want)
	}
	for i, id := range tf.Tokens {
		if id < 0 {
			return nil, fmt.Errorf("tokens %s: tokens[%d] = %d is negative", path, i, id)
		}
	}
	return tf.Tokens, nil
}

// writeJSON writes v to path through a temporary file in the same directory and a rename.
func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to path through a temporary file and a rename, so an interrupted write
// never leaves a complete-looking file. The file gets the temporary file's mode, 0600.
func writeFileAtomic(path string, data []byte) error {
	return writeFileAtomicMode(path, data, 0)
}

// writeFileAtomicMode is writeFileAtomic with the file's permissions set to perm, unless perm is 0.
func writeFileAtomicMode(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	if perm != 0 {
		err = f.Chmod(perm)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// runChild runs cmd, which must write a Measurement to resultPath, and fills in its peak RSS from the
// process's resource usage. The child's stderr is kept (its tail goes into errors) and copied to log.
func runChild(ctx context.Context, cmd *exec.Cmd, resultPath string, log func(string)) (Measurement, error) {
	var m Measurement
	tail := &tailBuffer{max: 4096}
	cmd.Stdout = tail // SimpleGo prints some configuration to stdout
	pr, pw, err := os.Pipe()
	if err != nil {
		return m, fmt.Errorf("%w: %v", ErrChild, err)
	}
	cmd.Stderr = pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			tail.Write(append(sc.Bytes(), '\n'))
			if log != nil {
				log(sc.Text())
			}
		}
	}()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		<-done
		return m, fmt.Errorf("%w: start %s: %v", ErrChild, cmd.Path, err)
	}
	waitErr := cmd.Wait()
	<-done
	pr.Close()
	data, readErr := os.ReadFile(resultPath)
	if readErr == nil {
		if err := json.Unmarshal(data, &m); err != nil {
			readErr = fmt.Errorf("result %s: %w", resultPath, err)
		}
	}
	if rss := childPeakRSS(cmd.ProcessState); rss > 0 {
		m.PeakRSS = rss
	}
	switch {
	case ctx.Err() != nil:
		return m, fmt.Errorf("%w: %s: %v", ErrChild, cmd.Path, context.Cause(ctx))
	case readErr != nil && waitErr != nil:
		return m, fmt.Errorf("%w: %v%s", ErrChild, waitErr, tail.lastLines(3))
	case readErr != nil:
		return m, fmt.Errorf("%w: %v%s", ErrChild, readErr, tail.lastLines(3))
	case waitErr != nil && m.Error == "":
		return m, fmt.Errorf("%w: %v%s", ErrChild, waitErr, tail.lastLines(3))
	}
	return m, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

// lastLines returns up to n last non-empty lines, prefixed with ": ", or "".
func (t *tailBuffer) lastLines(n int) string {
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(t.buf, nil))), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	s := strings.TrimSpace(strings.Join(lines, " | "))
	if s == "" {
		return ""
	}
	return ": " + s
}

// parseKB reads a "VmHWM:   123456 kB" style value in bytes.
func parseKB(line string) int64 {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return n * 1024
}
