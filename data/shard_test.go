package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// shardRun is a planted sharded run: episodes e000…, each with a known number of segment rows whose
// scores encode (episode, row), so any misordering, loss or duplication shows in the merged table.
type shardRun struct {
	ids  []string
	head ShardManifest
}

func newShardRun(n int) shardRun {
	r := shardRun{}
	for i := range n {
		r.ids = append(r.ids, fmt.Sprintf("e%03d", i))
	}
	r.head = ShardManifest{Command: "attribute", Model: "tiny", ModelHash: "sha256:abc", Flags: map[string]string{"method": "deletion"},
		InputEpisodes: n, InputIDs: InputIDsHash(r.ids)}
	return r
}

// rowsOf returns episode i's planted rows: 1 + i%3 of them.
func rowsOf(id string, i int) []SegmentAttribution {
	var out []SegmentAttribution
	for k := range 1 + i%3 {
		out = append(out, SegmentAttribution{EpisodeID: id, Method: "deletion", SegmentID: fmt.Sprintf("s%d", k), Score: float64(1000*i + k)})
	}
	return out
}

// runTask writes task spec of the run in chunks of chunk episodes, stopping after stopAfter chunks
// (−1: finish).
func (r shardRun) runTask(t *testing.T, root string, spec ShardSpec, chunk, stopAfter int) (*ShardManifest, error) {
	t.Helper()
	task, err := OpenTask(root, spec, r.head)
	if err != nil {
		return nil, err
	}
	defer task.Close()
	if m := task.Finished(); m != nil {
		return m, nil
	}
	task.SetRun("host-"+spec.String(), "go")
	var owned []ShardEpisode
	var todo []int
	for i, id := range r.ids {
		if spec.Owns(id) {
			owned = append(owned, ShardEpisode{ID: id, Index: i})
			if !task.Done(id) {
				todo = append(todo, i)
			}
		}
	}
	for c, k := 0, 0; c < len(todo); c, k = c+chunk, k+1 {
		if k == stopAfter {
			return nil, nil
		}
		ch := task.NewChunk()
		var rows []SegmentAttribution
		var eps []string
		for _, i := range todo[c:min(len(todo), c+chunk)] {
			rows = append(rows, rowsOf(r.ids[i], i)...)
			eps = append(eps, r.ids[i])
		}
		if err := WriteTable(ch, "segments", rows); err != nil {
			return nil, err
		}
		if err := ch.Commit(eps, nil); err != nil {
			return nil, err
		}
	}
	return task.Finish(owned)
}

func (r shardRun) want() []SegmentAttribution {
	var out []SegmentAttribution
	for i, id := range r.ids {
		for _, row := range rowsOf(id, i) {
			row.SchemaVersion = SchemaVersion
			out = append(out, row)
		}
	}
	return out
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ShardSpec
		ok   bool
	}{{"0/4", ShardSpec{0, 4}, true}, {" 3/4", ShardSpec{3, 4}, true}, {"0/1", ShardSpec{0, 1}, true},
		{"4/4", ShardSpec{}, false}, {"-1/4", ShardSpec{}, false}, {"1", ShardSpec{}, false}, {"a/b", ShardSpec{}, false}, {"0/0", ShardSpec{}, false}} {
		got, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if d := (ShardSpec{2, 4}).Dir(); d != "shard-00002-of-00004" {
		t.Errorf("Dir() = %q", d)
	}
}

// TestShardOfPartition: every id lands in exactly one task, and the split is roughly even (FNV-1a
// over 4000 ids into 4 tasks: each within ±10% of 1000, a loose bound for a uniform hash).
func TestShardOfPartition(t *testing.T) {
	count := make([]int, 4)
	for i := range 4000 {
		id := fmt.Sprintf("episode-%d", i)
		owners := 0
		for s := range 4 {
			if (ShardSpec{s, 4}).Owns(id) {
				owners++
				count[s]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s is owned by %d tasks", id, owners)
		}
	}
	for s, c := range count {
		if c < 900 || c > 1100 {
			t.Errorf("shard %d/4 owns %d of 4000 ids", s, c)
		}
	}
}

func TestMergeEqualsSingleRun(t *testing.T) {
	r := newShardRun(23)
	root := t.TempDir()
	for s := range 4 {
		if _, err := r.runTask(t, root, ShardSpec{s, 4}, 2, -1); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(root, "merged")
	rep, err := Merge(root, out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll[SegmentAttribution](filepath.Join(out, "segments.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if want := r.want(); !reflect.DeepEqual(got, want) {
		t.Errorf("merged rows differ from the single run's: got %d rows, want %d", len(got), len(want))
	}
	if rep.Episodes != 23 || rep.Tables["segments"] != int64(len(got)) || rep.Shards != 4 {
		t.Errorf("report = %+v", rep)
	}
	m, err := ReadShardManifest(filepath.Join(out, ShardManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if m.MergedFrom != 4 || len(m.Episodes) != 23 || m.Episodes[5].Index != 5 || len(m.Runs) != 4 {
		t.Errorf("merged manifest: merged_from %d, %d episodes, %d runs", m.MergedFrom, len(m.Episodes), len(m.Runs))
	}
	if err := verifyFiles(out, m.Files); err != nil { // the sizes and checksums taken while writing
		t.Error(err)
	}
}

// TestTaskResume: a task killed after one chunk, with a table file whose marker was never written
// (the kill came between the two), resumes: the orphan is removed, the committed chunk kept, and the
// merge equals the single run. Running a finished task again changes nothing.
func TestTaskResume(t *testing.T) {
	r := newShardRun(30)
	root := t.TempDir()
	spec := ShardSpec{1, 3}
	if _, err := r.runTask(t, root, spec, 2, 1); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, spec.Dir())
	orphan := filepath.Join(dir, "segments-00001.parquet")
	if err := Write(orphan, rowsOf("e999", 999)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".segments-00002.parquet.tmp123"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(root, filepath.Join(root, "m")); !errors.Is(err, ErrShardsMissing) || !strings.Contains(err.Error(), "1/3 (unfinished: 2 episodes committed)") ||
		!strings.Contains(err.Error(), "0/3 (not started)") || !strings.Contains(err.Error(), "--array=0,1,2") {
		t.Errorf("merge of an unfinished run: %v", err)
	}
	for s := range 3 {
		if _, err := r.runTask(t, root, ShardSpec{s, 3}, 2, -1); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, ShardManifestFile))
	if _, err := r.runTask(t, root, spec, 2, -1); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, ShardManifestFile)); string(after) != string(before) {
		t.Error("rerunning a finished task rewrote its manifest")
	}
	if _, err := os.Stat(filepath.Join(dir, ".segments-00002.parquet.tmp123")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the temporary file of the interrupted run is still there")
	}
	if _, err := Merge(root, filepath.Join(root, "m")); err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll[SegmentAttribution](filepath.Join(root, "m", "segments.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r.want()) {
		t.Errorf("merge after resume: %d rows, want %d", len(got), len(r.want()))
	}
}

func TestMergeRefuses(t *testing.T) {
	r := newShardRun(12)
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, root string)
		want  error
		msg   string
	}{
		{"other flags", func(t *testing.T, root string) {
			os.RemoveAll(filepath.Join(root, ShardSpec{2, 3}.Dir()))
			r2 := r
			r2.head.Flags = map[string]string{"method": "ig"}
			if _, err := r2.runTask(t, root, ShardSpec{2, 3}, 2, -1); err != nil {
				t.Fatal(err)
			}
		}, ErrShardsDisagree, `--method is "deletion", not "ig"`},
		{"corrupt file", func(t *testing.T, root string) {
			p := filepath.Join(root, ShardSpec{0, 3}.Dir(), "segments-00000.parquet")
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o644)
		}, ErrShardCorrupt, "segments-00000.parquet"},
		{"mixed shard counts", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, ShardSpec{0, 5}.Dir()), 0o755)
		}, ErrShardsDisagree, "tasks of 3 and of 5"},
		{"episode twice", func(t *testing.T, root string) {
			p := filepath.Join(root, ShardSpec{1, 3}.Dir(), ShardManifestFile)
			m, _ := ReadShardManifest(p)
			m0, _ := ReadShardManifest(filepath.Join(root, ShardSpec{0, 3}.Dir(), ShardManifestFile))
			m.Episodes = append(m.Episodes, m0.Episodes[0])
			writeJSON(p, m)
		}, ErrShardsDisagree, "is in shard 0 and shard 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for s := range 3 {
				if _, err := r.runTask(t, root, ShardSpec{s, 3}, 2, -1); err != nil {
					t.Fatal(err)
				}
			}
			tc.spoil(t, root)
			out := filepath.Join(root, "merged")
			_, err := Merge(root, out)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Merge = %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if _, serr := os.Stat(filepath.Join(out, ShardManifestFile)); serr == nil {
				t.Error("a refused merge wrote a manifest")
			}
		})
	}
}

// TestTaskRefusesOtherSettings: a task directory started with one setting is not resumed with another.
func TestTaskRefusesOtherSettings(t *testing.T) {
	r := newShardRun(10)
	root := t.TempDir()
	if _, err := r.runTask(t, root, ShardSpec{0, 2}, 2, 1); err != nil {
		t.Fatal(err)
	}
	r.head.ModelHash = "sha256:other"
	if _, err := r.runTask(t, root, ShardSpec{0, 2}, 2, -1); !errors.Is(err, ErrTaskMismatch) || !strings.Contains(err.Error(), "model_hash") {
		t.Errorf("resume with another model: %v", err)
	}
}

// TestTaskLock: while one process (here: one open Task) works on a task, a second one is refused and
// merge reports the task as running; after Close the task opens again.
func TestTaskLock(t *testing.T) {
	r := newShardRun(6)
	root := t.TempDir()
	spec := ShardSpec{0, 2}
	task, err := OpenTask(root, spec, r.head)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTask(root, spec, r.head); !errors.Is(err, ErrTaskRunning) {
		t.Errorf("second OpenTask = %v, want ErrTaskRunning", err)
	}
	tasks, err := ScanTasks(root)
	if err != nil {
		t.Fatal(err)
	}
	if !tasks[0].Running || tasks[1].Started {
		t.Errorf("ScanTasks = %+v, want task 0 running and task 1 not started", tasks)
	}
	if _, err := Merge(root, filepath.Join(root, "m")); err == nil || !strings.Contains(err.Error(), "0/2 (running") {
		t.Errorf("merge while task 0 runs: %v", err)
	}
	task.Close()
	again, err := OpenTask(root, spec, r.head)
	if err != nil {
		t.Fatalf("OpenTask after Close: %v", err)
	}
	again.Close()
}

// TestTaskRecoversBadChunk: a chunk whose table file is gone (a crash before it reached the disk) and
// every chunk after it are redone, not a dead end; two inputs with one base name are two inputs.
func TestTaskRecoversBadChunk(t *testing.T) {
	r := newShardRun(20)
	r.head.Inputs = []ShardInput{{Path: "a/episodes.jsonl", SHA256: "sha256:1"}, {Path: "b/episodes.jsonl", SHA256: "sha256:2"}}
	root := t.TempDir()
	spec := ShardSpec{0, 2}
	if _, err := r.runTask(t, root, spec, 1, 3); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, spec.Dir())
	if err := os.Remove(filepath.Join(dir, "segments-00001.parquet")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.runTask(t, root, spec, 1, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := r.runTask(t, root, ShardSpec{1, 2}, 1, -1); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "m")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	// An older merge's table this merge does not write, listed in its manifest, goes.
	stale := filepath.Join(out, "tokens.parquet")
	os.WriteFile(stale, []byte("old"), 0o644)
	writeJSON(filepath.Join(out, ShardManifestFile), ShardManifest{Format: ShardManifestFormat, Files: []ShardFile{{Name: "tokens.parquet", Table: "tokens"}}})
	if _, err := Merge(root, out); err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll[SegmentAttribution](filepath.Join(out, "segments.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r.want()) {
		t.Errorf("merge after a redone chunk: %d rows, want %d", len(got), len(r.want()))
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("the older merge's tokens.parquet is still there")
	}
	if _, err := Merge(root, filepath.Join(dir, "merged")); err == nil || !strings.Contains(err.Error(), "inside the task directory") {
		t.Errorf("merge into a task directory: %v", err)
	}
}
