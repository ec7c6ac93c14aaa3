package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model/modeltest"
)

// sameActivations compares two activation tables row for row: every column equal, vectors within
// 1e-5 absolute. Why not bit for bit: a sharded task puts other episodes next to each other, so the
// shared-prefix reuse of capture starts from other cached prefixes and sums in another order
// (float32 rounding, ~1e-7 relative on this tiny model's unit-scale activations).
func sameActivations(t *testing.T, got, want []data.Activation) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		gv, wv := g.Vector, w.Vector
		g.Vector, w.Vector = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("row %d = %+v, want %+v", i, g, w)
		}
		for k := range gv {
			if math.Abs(float64(gv[k]-wv[k])) > 1e-5 {
				t.Fatalf("row %d (%s layer %d %s): vector[%d] = %g, want %g", i, g.EpisodeID, g.Layer, g.Position, k, gv[k], wv[k])
			}
		}
	}
}

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
	sameActivations(t, got, want)
	if rep.Episodes != 17 || rep.Shards != 4 || rep.Tables["activations"] != int64(len(want)) {
		t.Errorf("merge report %+v", rep)
	}
	// The merged directory is a capture output the probe commands read.
	if files, err := activationFiles([]string{filepath.Join(sharded, "merged")}); err != nil || len(files) != 1 {
		t.Errorf("activationFiles(merged) = %v, %v", files, err)
	}
}
