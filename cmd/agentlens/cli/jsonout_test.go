package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/internal/bench"
	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/hub/hubtest"
	"github.com/agentlens/agentlens/model/modeltest"
)

// decodeOne decodes stdout of a --json run into v and fails unless it holds exactly one JSON document
// and nothing else (no table before or after it).
func decodeOne(t *testing.T, stdout []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, stdout)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("--json output holds more than one document (next: %v, %.80s)\n%s", err, extra, stdout)
	}
}

func TestVersionJSON(t *testing.T) {
	f, out, _ := testFactory(nil)
	if err := execute(f, newCmdVersion(f, nil), []string{"--json"}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version   string `json:"version"`
		GoVersion string `json:"go_version"`
		OS        string `json:"os"`
		Arch      string `json:"arch"`
		Kernels   struct {
			CPU, Using, SGEMM, VMath string
		} `json:"kernels"`
	}
	decodeOne(t, out.Bytes(), &got)
	if got.Version != "v0.0.0-test" || got.GoVersion != runtime.Version() || got.OS != runtime.GOOS || got.Arch != runtime.GOARCH {
		t.Errorf("version --json = %+v, want v0.0.0-test on %s %s/%s", got, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	// The table form prints the same kernels in one line.
	f2, text, _ := testFactory(nil)
	if err := execute(f2, newCmdVersion(f2, nil), nil); err != nil {
		t.Fatal(err)
	}
	k := got.Kernels
	if k.CPU == "" || k.Using == "" || k.SGEMM == "" || k.VMath == "" ||
		!bytes.Contains(text.Bytes(), []byte("cpu "+k.CPU+", using "+k.Using)) || !bytes.Contains(text.Bytes(), []byte("sgemm "+k.SGEMM+", vmath "+k.VMath)) {
		t.Errorf("kernels %+v do not match the text form %q", k, text)
	}
}

// TestModelFetchJSON fetches from the fake index of the scripts: --json lists each file with the size
// and sha256 of the bytes on disk, fetched the first time and complete the second.
func TestModelFetchJSON(t *testing.T) {
	srv := hubtest.NewServer(fakeFiles()...)
	defer srv.Close()
	f, out, _ := testFactory(map[string]string{EnvCache: t.TempDir(), hub.EnvIndexURL: srv.URL})
	f.Specs = fakeSpecs
	type doc struct {
		Files []fetchedFile `json:"files"`
	}
	for _, want := range []string{"fetched", "complete"} {
		out.Reset()
		if err := execute(f, newCmdModel(f), []string{"fetch", "smollm2", "gemma3", "--json"}); err != nil {
			t.Fatal(err)
		}
		var got doc
		decodeOne(t, out.Bytes(), &got)
		if len(got.Files) != 2 || got.Files[0].Name != "smollm2" || got.Files[1].Name != "gemma3" {
			t.Fatalf("model fetch --json = %+v, want smollm2 and gemma3", got)
		}
		for _, fl := range got.Files {
			b, err := os.ReadFile(fl.Path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if fl.Status != want || fl.Bytes != int64(len(b)) || fl.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: %+v, want status %s, %d bytes, sha256 %x", fl.Name, fl, want, len(b), sum)
			}
		}
	}
}

// TestBenchJSON runs bench on a tiny random model through the agentlens that TestMain puts on $PATH
// (each job is a child process of it): --json prints the report's rows, the table goes only to --out.
func TestBenchJSON(t *testing.T) {
	exe, err := exec.LookPath("agentlens")
	if err != nil {
		t.Fatalf("TestMain installs agentlens on $PATH: %v", err)
	}
	dir := t.TempDir()
	mdir, err := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 2)
	if err != nil {
		t.Fatal(err)
	}
	f, out, errOut := testFactory(nil)
	run := func(o *benchOptions) error { o.Executable = exe; return benchRun(o) }
	md := filepath.Join(dir, "bench.md")
	if err := execute(f, newCmdBench(f, run), []string{"--model", mdir, "--jobs", "forward:16,gradient:8", "--no-torch",
		"--backend", "go", "--threads", "1", "--rounds", "2", "--out", md, "--json"}); err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut)
	}
	var got benchSummary
	decodeOne(t, out.Bytes(), &got)
	if got.Threads != 1 || got.Backend != "go" || got.Rounds != 2 || len(got.Rows) != 2 || got.Rows[0].Job != "forward:16" || got.Rows[1].Job != "gradient:8" {
		t.Fatalf("bench --json = %+v", got)
	}
	table, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got.Rows {
		a := r.Agentlens
		job := bench.Job{Kind: bench.Kind(r.Kind), Tokens: r.Tokens}
		if a.Error != "" || a.Seconds <= 0 || a.PeakRSS <= 0 || r.Torch != nil || r.Ratio != nil ||
			math.Abs(r.TokensPerS-float64(job.Work())/a.Seconds) > 1e-9*r.TokensPerS {
			t.Errorf("row %+v", r)
		}
		// Two rounds: the one shown is the lower middle, the faster.
		if len(r.Rounds) != 2 || a.Seconds != min(r.Rounds[0].Agentlens.Seconds, r.Rounds[1].Agentlens.Seconds) {
			t.Errorf("row %s: %.4f s shown of rounds %+v, want the faster of 2", r.Job, a.Seconds, r.Rounds)
		}
		// The row of the table --out wrote: job, backend, tokens, then its seconds.
		if cell := fmt.Sprintf("| %s | go | %d |", r.Kind, r.Tokens); !bytes.Contains(table, []byte(cell)) {
			t.Errorf("the table lacks %q:\n%s", cell, table)
		}
	}
}

// TestBenchBadFlags checks that bench refuses bad counts as usage errors, before it loads anything.
func TestBenchBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rounds", "0"}, "--rounds 0: want 1 or more"},
		{[]string{"--threads", "-1"}, "--threads -1"},
		{[]string{"--jobs", "forward:x"}, "--jobs"},
	} {
		f, _, _ := testFactory(nil)
		err := execute(f, newCmdBench(f, func(*benchOptions) error { return nil }), append([]string{"--model", "/nonexistent"}, tc.args...))
		var fe *FlagError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench %v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}
