package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/internal/acttest"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/trace"
)

// activationTol is the tolerance of the sharded-vs-single comparisons on the tiny model: see
// acttest.SameActivations; on the go backend the vectors come out bit for bit equal.
const activationTol = 1e-5

// TestShardedCaptureMerge: four tasks of a sharded capture, one of them killed after its first chunk
// (a table file written, its marker not: the state a kill between the two leaves), rerun, and
// merged, equal a single-process capture row for row; a finished task reruns as a no-op; merge names
// a missing task.
func TestShardedCaptureMerge(t *testing.T) {
	dir := t.TempDir()
	mdir, err := modeltest.Write(filepath.Join(dir, "tiny"), "qwen2", 5)
	if err != nil {
		t.Fatal(err)
	}
	eps := filepath.Join(dir, "eps.jsonl")
	tinyPairs(t, eps, 8)
	f, stdout, _ := testFactory(map[string]string{"AGENTLENS_CACHE": filepath.Join(dir, "cache")})
	capture := func(out string, extra ...string) error {
		stdout.Reset()
		return execute(f, newCmdCapture(f, nil), append([]string{eps, "-m", mdir, "--backend", "go", "-o", out, "--positions", "decision,final,assistant_mean"}, extra...))
	}
	single := filepath.Join(dir, "single")
	if err := capture(single); err != nil {
		t.Fatal(err)
	}
	want, err := data.ReadAll[data.Activation](filepath.Join(single, shardName(0)))
	if err != nil {
		t.Fatal(err)
	}
	sharded := filepath.Join(dir, "sharded")
	for i := range 4 {
		if err := capture(sharded, "--shard", fmt.Sprintf("%d/4", i), "--shard-size", "2", "--json"); err != nil {
			t.Fatal(err)
		}
	}
	// Kill task 2 after its first chunk: drop its manifest and the markers of later chunks, and leave
	// the table file of chunk 1 without its marker.
	t2 := filepath.Join(sharded, "shard-00002-of-00004")
	os.Remove(filepath.Join(t2, data.ShardManifestFile))
	markers, _ := filepath.Glob(filepath.Join(t2, "chunk-*.json"))
	if len(markers) < 2 {
		t.Fatalf("task 2 wrote %d chunks; the test needs two or more", len(markers))
	}
	for _, m := range markers[1:] {
		os.Remove(m)
	}
	err = execute(f, newCmdMerge(f, nil), []string{sharded})
	if !errors.Is(err, data.ErrShardsMissing) || !strings.Contains(err.Error(), "2/4 (unfinished: 2 episodes committed)") {
		t.Fatalf("merge with task 2 killed: %v", err)
	}
	if err := capture(sharded, "--shard", "2/4", "--shard-size", "2", "--json"); err != nil {
		t.Fatal(err)
	}
	var sum shardSummary
	decodeOne(t, stdout.Bytes(), &sum)
	if sum.Before != 2 || sum.Computed != sum.Owned-2 || sum.AlreadyDone {
		t.Errorf("resumed task 2: %+v, want 2 episodes kept and the rest computed", sum)
	}
	if err := capture(sharded, "--shard", "0/4", "--shard-size", "2", "--json"); err != nil {
		t.Fatal(err)
	}
	decodeOne(t, stdout.Bytes(), &sum)
	if !sum.AlreadyDone || sum.Computed != 0 {
		t.Errorf("rerun of finished task 0: %+v", sum)
	}
	if err := capture(sharded, "--shard", "1/4", "--shard-size", "2", "--layers", "0"); !errors.Is(err, data.ErrTaskMismatch) || !strings.Contains(err.Error(), "--layers") {
		t.Errorf("rerun of task 1 with other layers: %v", err)
	}
	stdout.Reset()
	if err := execute(f, newCmdMerge(f, nil), []string{sharded, "--json"}); err != nil {
		t.Fatal(err)
	}
	var rep data.MergeReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	got, err := data.ReadAll[data.Activation](filepath.Join(sharded, "merged", "activations.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	acttest.SameActivations(t, got, want, activationTol)
	if rep.Episodes != 17 || rep.Shards != 4 || rep.Tables["activations"] != int64(len(want)) {
		t.Errorf("merge report %+v", rep)
	}
	// Twins (one pair_id, the default --shard-key) share a task, so they share their prefix there.
	taskOf := map[string]int{}
	for i := range 4 {
		m, err := data.ReadShardManifest(filepath.Join(sharded, data.ShardSpec{Index: i, Count: 4}.Dir(), data.ShardManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range m.Episodes {
			taskOf[e.ID] = i
		}
	}
	for p := range 8 {
		if a, b := taskOf[fmt.Sprintf("p%d-mis", p)], taskOf[fmt.Sprintf("p%d-ali", p)]; a != b {
			t.Errorf("pair p%d is split over tasks %d and %d", p, a, b)
		}
	}
	// The merged directory is a capture output the probe commands read.
	if files, err := activationFiles([]string{filepath.Join(sharded, "merged")}); err != nil || len(files) != 1 {
		t.Errorf("activationFiles(merged) = %v, %v", files, err)
	}
}

// readRows reads a table file, failing the test on error; a missing file is an empty table.
func readRows[T data.Row](t *testing.T, path string) []T {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	rows, err := data.ReadAll[T](path)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestShardedAttributeAndApplyMerge: a sharded attribute (gradient × input, deletion, the segment
// matrix and attention) and a sharded probe apply, each in three tasks and merged, equal the tables
// that one-episode runs write, concatenated in input order: the batch path computes what the
// single-episode path does.
func TestShardedAttributeAndApplyMerge(t *testing.T) {
	dir := t.TempDir()
	mdir, err := modeltest.Write(filepath.Join(dir, "tiny"), "qwen2", 5)
	if err != nil {
		t.Fatal(err)
	}
	all := filepath.Join(dir, "all.jsonl")
	tinyPairs(t, all, 4)
	loaded, err := loadEpisodes(all, "", trace.SegmentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ep := range loaded {
		if ep.ID != "chat" { // no tool call: nothing to attribute
			ids = append(ids, ep.ID)
		}
	}
	eps := filepath.Join(dir, "eps.jsonl")
	if err := trace.SaveNative(eps, loaded[:len(ids)]...); err != nil {
		t.Fatal(err)
	}
	f, _, _ := testFactory(map[string]string{"AGENTLENS_CACHE": filepath.Join(dir, "cache")})
	methods := "grad_x_input,deletion,matrix,attention,rollout"
	sharded := filepath.Join(dir, "attr")
	for i := range 3 {
		if err := execute(f, newCmdAttribute(f, nil), []string{eps, "-m", mdir, "--backend", "go", "--method", methods, "--shard", fmt.Sprintf("%d/3", i),
			"--chunk-size", "2", "-o", sharded}); err != nil {
			t.Fatal(err)
		}
	}
	if err := execute(f, newCmdMerge(f, nil), []string{sharded}); err != nil {
		t.Fatal(err)
	}
	var tok []data.TokenAttribution
	var seg []data.SegmentAttribution
	var mat []data.SegmentMatrixEntry
	var att []data.AttentionEntry
	for _, id := range ids {
		out := filepath.Join(dir, "one", id)
		if err := execute(f, newCmdAttribute(f, nil), []string{eps, "--id", id, "-m", mdir, "--backend", "go", "--method", methods, "-o", out}); err != nil {
			t.Fatal(err)
		}
		tok = append(tok, readRows[data.TokenAttribution](t, filepath.Join(out, "tokens.parquet"))...)
		seg = append(seg, readRows[data.SegmentAttribution](t, filepath.Join(out, "segments.parquet"))...)
		mat = append(mat, readRows[data.SegmentMatrixEntry](t, filepath.Join(out, "matrix.parquet"))...)
		att = append(att, readRows[data.AttentionEntry](t, filepath.Join(out, "attention.parquet"))...)
	}
	merged := filepath.Join(sharded, "merged")
	for name, eq := range map[string]bool{
		"tokens":    reflect.DeepEqual(readRows[data.TokenAttribution](t, filepath.Join(merged, "tokens.parquet")), tok),
		"segments":  reflect.DeepEqual(readRows[data.SegmentAttribution](t, filepath.Join(merged, "segments.parquet")), seg),
		"matrix":    reflect.DeepEqual(readRows[data.SegmentMatrixEntry](t, filepath.Join(merged, "matrix.parquet")), mat),
		"attention": reflect.DeepEqual(readRows[data.AttentionEntry](t, filepath.Join(merged, "attention.parquet")), att),
	} {
		if !eq {
			t.Errorf("merged %s differs from the one-episode runs'", name)
		}
	}
	if len(tok) == 0 || len(seg) == 0 || len(mat) == 0 || len(att) == 0 {
		t.Fatalf("one-episode runs wrote %d, %d, %d, %d rows: the comparison is empty", len(tok), len(seg), len(mat), len(att))
	}

	// probe apply: a probe trained on a capture of the same episodes, applied in three tasks.
	acts, probe := filepath.Join(dir, "acts"), filepath.Join(dir, "probe.parquet")
	if err := execute(f, newCmdCapture(f, nil), []string{eps, "-m", mdir, "--backend", "go", "-o", acts}); err != nil {
		t.Fatal(err)
	}
	if err := execute(f, newCmdProbe(f), []string{"train", acts, "--layer", "1", "--folds", "2", "--bootstrap", "10",
		"--method", "diff_mean", "--train-splits", "", "--out", probe}); err != nil {
		t.Fatal(err)
	}
	mon := filepath.Join(dir, "mon")
	for i := range 3 {
		if err := execute(f, newCmdProbe(f), []string{"apply", probe, eps, "-m", mdir, "--backend", "go", "--shard", fmt.Sprintf("%d/3", i), "-o", mon}); err != nil {
			t.Fatal(err)
		}
	}
	if err := execute(f, newCmdMerge(f, nil), []string{mon}); err != nil {
		t.Fatal(err)
	}
	var scores []data.ProbeScore
	var segScores []data.ProbeSegmentScore
	for _, id := range ids {
		out := filepath.Join(dir, "mon-one", id)
		if err := execute(f, newCmdProbe(f), []string{"apply", probe, eps, "--id", id, "-m", mdir, "--backend", "go", "-o", out}); err != nil {
			t.Fatal(err)
		}
		scores = append(scores, readRows[data.ProbeScore](t, filepath.Join(out, "scores.parquet"))...)
		segScores = append(segScores, readRows[data.ProbeSegmentScore](t, filepath.Join(out, "segments.parquet"))...)
	}
	if got := readRows[data.ProbeScore](t, filepath.Join(mon, "merged", "scores.parquet")); len(scores) == 0 || !reflect.DeepEqual(got, scores) {
		t.Errorf("merged scores: %d rows, the one-episode runs %d, or they differ", len(got), len(scores))
	}
	if got := readRows[data.ProbeSegmentScore](t, filepath.Join(mon, "merged", "segments.parquet")); !reflect.DeepEqual(got, segScores) {
		t.Errorf("merged segment scores: %d rows, the one-episode runs %d, or they differ", len(got), len(segScores))
	}
	// What a sharded attribute refuses.
	err = execute(f, newCmdAttribute(f, nil), []string{eps, "-m", mdir, "--method", "patch", "--baseline", eps, "--shard", "0/3", "-o", sharded})
	if err == nil || !strings.Contains(err.Error(), "need one --baseline per episode") {
		t.Errorf("sharded patch: %v", err)
	}
}

// TestDeployWritesClusterFiles: agentlens deploy writes the files of the repository's deploy folder,
// byte for byte, the sbatch script executable, and keeps an existing file unless --force.
func TestDeployWritesClusterFiles(t *testing.T) {
	out := t.TempDir()
	f, _, _ := testFactory(nil)
	if err := execute(f, newCmdDeploy(f, nil), []string{"all", "--out", out}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"slurm/agentlens-array.sbatch", "k8s/indexed-job.yaml", "k8s/pvc.yaml", "k8s/merge-job.yaml", "k8s/Dockerfile"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from cmd/agentlens/deploy/%s", name, name)
		}
	}
	st, err := os.Stat(filepath.Join(out, "slurm/agentlens-array.sbatch"))
	if err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("the sbatch script is not executable: %v %v", st.Mode(), err)
	}
	p := filepath.Join(out, "k8s/pvc.yaml")
	os.WriteFile(p, []byte("mine"), 0o644)
	if err := execute(f, newCmdDeploy(f, nil), []string{"k8s", "--out", out}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "mine" {
		t.Error("deploy overwrote an existing file without --force")
	}
	if err := execute(f, newCmdDeploy(f, nil), []string{"k8s", "--out", out, "--force"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) == "mine" {
		t.Error("deploy --force kept the existing file")
	}
}

// TestShardedSkipErrors: an episode with no email to delete (the chat) stops a sharded attribute, naming
// --skip-errors; with it the episode is recorded as failed (no rows) and merge lists it.
func TestShardedSkipErrors(t *testing.T) {
	dir := t.TempDir()
	mdir, err := modeltest.Write(filepath.Join(dir, "tiny"), "qwen2", 5)
	if err != nil {
		t.Fatal(err)
	}
	eps := filepath.Join(dir, "eps.jsonl")
	tinyPairs(t, eps, 2) // and "chat", which has no email
	f, _, _ := testFactory(map[string]string{"AGENTLENS_CACHE": filepath.Join(dir, "cache")})
	out := filepath.Join(dir, "attr")
	run := func(extra ...string) error {
		return execute(f, newCmdAttribute(f, nil), append([]string{eps, "-m", mdir, "--backend", "go", "--method", "deletion", "--segments", "email", "--shard", "0/1", "-o", out}, extra...))
	}
	if err := run(); err == nil || !strings.Contains(err.Error(), "--skip-errors") {
		t.Fatalf("attribute over an episode without an action: %v", err)
	}
	if err := run("--skip-errors"); err != nil {
		t.Fatal(err)
	}
	stdout := f.IO.Out.(interface{ Reset() })
	stdout.Reset()
	if err := execute(f, newCmdMerge(f, nil), []string{out, "--json"}); err != nil {
		t.Fatal(err)
	}
	var rep data.MergeReport
	if err := json.Unmarshal(f.IO.Out.(interface{ Bytes() []byte }).Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].ID != "chat" || rep.Episodes != 5 {
		t.Errorf("merge report: %d episodes, failed %+v; want 5 with chat failed", rep.Episodes, rep.Failed)
	}
	for _, r := range readRows[data.SegmentAttribution](t, filepath.Join(out, "merged", "segments.parquet")) {
		if r.EpisodeID == "chat" {
			t.Fatal("the failed episode has rows")
		}
	}
}
