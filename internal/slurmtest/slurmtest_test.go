package slurmtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentlens/agentlens/internal/slurmtest"
)

// arrayScript is the sbatch script under test, relative to this package's directory.
const arrayScript = "../../cmd/agentlens/deploy/slurm/agentlens-array.sbatch"

// testCPUs is the node's CPU count in these tests, more than a small CI machine has: the fake jobs
// mostly sleep, and every task of an array should run at once.
const testCPUs = 8

// jobTimeout bounds each job; the jobs here take a few seconds (Slurm schedules every few seconds).
const jobTimeout = 40 * time.Second

// fakeAgentlens writes a stand-in for the agentlens binary into dir: each call appends its arguments,
// one a line, then GOMAXPROCS and an end line, to dir/args.<array index>. The call whose last
// argument is blockShard waits while dir/block exists, after creating dir/started.<index>.
func fakeAgentlens(t *testing.T, dir, blockShard string) string {
	t.Helper()
	path := filepath.Join(dir, "fake-agentlens")
	script := fmt.Sprintf(`#!/bin/sh
dir=%q
out="$dir/args.$SLURM_ARRAY_TASK_ID"
for last; do :; done
if [ "$last" = %q ] && [ -e "$dir/block" ]; then
  : > "$dir/started.$SLURM_ARRAY_TASK_ID"
  while [ -e "$dir/block" ]; do sleep 0.1; done
fi
sleep 0.2
printf '%%s\n' "$@" "GOMAXPROCS=$GOMAXPROCS" "--end--" >> "$out"
`, dir, blockShard)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// calls returns the argument lists the fake agentlens was called with for one array index.
func calls(t *testing.T, dir string, index int) [][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("args.%d", index)))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	var cur []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "--end--" {
			out = append(out, cur)
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return out
}

func scriptPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(arrayScript)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// userArgs are the agentlens arguments the tests submit, one with a space to check the quoting.
var userArgs = []string{"capture", "data/my episodes", "--out", "out/acts", "--model", "smollm2"}

// submit submits the array script with the fake agentlens and the given sbatch options.
func submit(t *testing.T, c *slurmtest.Cluster, fake, name string, sbatchArgs ...string) string {
	t.Helper()
	args := append([]string{
		"--cpus-per-task=1",
		"--output=" + filepath.Join(c.Dir, name+"-%A_%a.out"),
		"--export=ALL,AGENTLENS_BIN=" + fake,
	}, sbatchArgs...)
	args = append(args, scriptPath(t))
	args = append(args, userArgs...)
	id, err := c.Sbatch(args...)
	if err != nil {
		t.Fatalf("submit %s: %v", name, err)
	}
	return id
}

func wait(t *testing.T, c *slurmtest.Cluster, id string) map[int]string {
	t.Helper()
	if err := c.Wait(id, jobTimeout); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	states, err := c.TaskStates(id)
	if err != nil {
		t.Fatal(err)
	}
	return states
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts munged, slurmctld and slurmd: skipped under -short")
	}
}

// TestArrayShards submits the sbatch script as a 4-task array: each task calls agentlens once with
// the user's arguments and --shard i/4.
func TestArrayShards(t *testing.T) {
	skipShort(t)
	c := slurmtest.Start(t, slurmtest.Options{CPUs: testCPUs})
	fake := fakeAgentlens(t, c.Dir, "")
	id := submit(t, c, fake, "shards", "--array=0-3")
	states := wait(t, c, id)
	want := map[int]string{0: "COMPLETED", 1: "COMPLETED", 2: "COMPLETED", 3: "COMPLETED"}
	if !mapsEqual(states, want) {
		t.Errorf("TaskStates(%s) = %v, want %v", id, states, want)
	}
	for i := range 4 {
		got := calls(t, c.Dir, i)
		wantArgs := append(slices.Clone(userArgs), "--shard", fmt.Sprintf("%d/4", i), "GOMAXPROCS=1")
		if len(got) != 1 || !slices.Equal(got[0], wantArgs) {
			t.Errorf("task %d: agentlens calls = %q, want one call %q", i, got, wantArgs)
		}
	}
	if t.Failed() {
		logOutputs(t, c.Dir, "shards-*")
	}
}

// TestArrayRefuses checks the script refuses, with a message in the job's output, to run outside a
// 0-based contiguous array unless AGENTLENS_SHARDS gives the shard count.
func TestArrayRefuses(t *testing.T) {
	skipShort(t)
	c := slurmtest.Start(t, slurmtest.Options{CPUs: testCPUs})
	fake := fakeAgentlens(t, c.Dir, "")
	tests := []struct {
		name   string
		sbatch []string
		want   string // in the job's output
	}{
		{name: "not-array", sbatch: nil, want: "not a job array task"},
		{name: "step", sbatch: []string{"--array=0-6:2"}, want: "must be 0-based and contiguous"},
		{name: "not-0-based", sbatch: []string{"--array=1-4"}, want: "must be 0-based and contiguous"},
		{name: "subset", sbatch: []string{"--array=2"}, want: "set AGENTLENS_SHARDS=n"},
		{name: "beyond-shards", sbatch: []string{"--array=3", "--export=ALL,AGENTLENS_SHARDS=3,AGENTLENS_BIN=" + fake}, want: "not below AGENTLENS_SHARDS=3"},
	}
	ids := map[string]string{}
	for _, tt := range tests {
		ids[tt.name] = submit(t, c, fake, tt.name, tt.sbatch...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states := wait(t, c, ids[tt.name])
			if len(states) == 0 {
				t.Fatalf("TaskStates(%s) is empty", ids[tt.name])
			}
			for i, s := range states {
				if s != "FAILED" {
					t.Errorf("task %d state = %s, want FAILED", i, s)
				}
			}
			outs, _ := filepath.Glob(filepath.Join(c.Dir, tt.name+"-*.out"))
			if len(outs) != len(states) {
				t.Errorf("%d output files %q for %d tasks", len(outs), outs, len(states))
			}
			for _, o := range outs {
				data, err := os.ReadFile(o)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(data), tt.want) {
					t.Errorf("%s = %q, want it to contain %q", filepath.Base(o), data, tt.want)
				}
			}
		})
	}
	for i := range 8 {
		if got := calls(t, c.Dir, i); got != nil {
			t.Errorf("task %d: agentlens was called %q, want no call", i, got)
		}
	}
}

// TestArrayCancelResubmit cancels one task mid-run, then reruns that shard alone with
// AGENTLENS_SHARDS, as the script's header tells users to.
func TestArrayCancelResubmit(t *testing.T) {
	skipShort(t)
	c := slurmtest.Start(t, slurmtest.Options{CPUs: testCPUs})
	fake := fakeAgentlens(t, c.Dir, "2/4")
	block := filepath.Join(c.Dir, "block")
	if err := os.WriteFile(block, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	id := submit(t, c, fake, "first", "--array=0-3")

	started := filepath.Join(c.Dir, "started.2")
	deadline := time.Now().Add(jobTimeout)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			states, _ := c.TaskStates(id)
			t.Fatalf("task 2 did not start in %v (states %v)\n%s", jobTimeout, states, c.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.Cancel(id, 2); err != nil {
		t.Fatal(err)
	}
	states := wait(t, c, id)
	want := map[int]string{0: "COMPLETED", 1: "COMPLETED", 2: "CANCELLED", 3: "COMPLETED"}
	if !mapsEqual(states, want) {
		t.Errorf("after scancel %s_2: TaskStates = %v, want %v", id, states, want)
	}
	if got := calls(t, c.Dir, 2); got != nil {
		t.Errorf("cancelled task 2 finished its agentlens call %q", got)
	}

	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	id2 := submit(t, c, fake, "rerun", "--array=2", "--export=ALL,AGENTLENS_SHARDS=4,AGENTLENS_BIN="+fake)
	states = wait(t, c, id2)
	if want := map[int]string{2: "COMPLETED"}; !mapsEqual(states, want) {
		t.Errorf("rerun: TaskStates(%s) = %v, want %v", id2, states, want)
	}
	wantArgs := append(slices.Clone(userArgs), "--shard", "2/4", "GOMAXPROCS=1")
	if got := calls(t, c.Dir, 2); len(got) != 1 || !slices.Equal(got[0], wantArgs) {
		t.Errorf("rerun: task 2 agentlens calls = %q, want one call %q", got, wantArgs)
	}
	if t.Failed() {
		logOutputs(t, c.Dir, "*.out")
	}
}

func mapsEqual(a, b map[int]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func logOutputs(t *testing.T, dir, pattern string) {
	outs, _ := filepath.Glob(filepath.Join(dir, pattern))
	for _, o := range outs {
		data, _ := os.ReadFile(o)
		t.Logf("==> %s <==\n%s", filepath.Base(o), data)
	}
}
