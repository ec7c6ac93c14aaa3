package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// typeName returns the name of a row type as in schema.go ("Activation").
func typeName[T Row]() string {
	var zero T
	return strings.TrimPrefix(fmt.Sprintf("%T", zero), "data.")
}

// episodeOf returns a row's episode id (empty for the tables without one).
func episodeOf[T Row](r *T) string {
	switch v := any(r).(type) {
	case *TokenAttribution:
		return v.EpisodeID
	case *SegmentAttribution:
		return v.EpisodeID
	case *EpisodeLabel:
		return v.EpisodeID
	case *Activation:
		return v.EpisodeID
	case *DirectionEffect:
		return v.EpisodeID
	case *ProbeScore:
		return v.EpisodeID
	case *ProbeSegmentScore:
		return v.EpisodeID
	case *SegmentMatrixEntry:
		return v.EpisodeID
	case *PatchEntry:
		return v.EpisodeID
	case *AttentionEntry:
		return v.EpisodeID
	case *OrganismScore:
		return v.EpisodeID
	case *RolloutRow:
		return v.EpisodeID
	case *RolloutEpisode:
		return v.EpisodeID
	}
	return ""
}

var taskDirRE = regexp.MustCompile(`^shard-(\d{5,})-of-(\d{5,})$`)

// MergeReport says what Merge read and wrote.
type MergeReport struct {
	Out      string           `json:"out"`
	Command  string           `json:"command"`
	Shards   int              `json:"shards"`
	Episodes int              `json:"episodes"`
	Tables   map[string]int64 `json:"tables"`           // rows per merged table
	Files    []string         `json:"files"`            // written to Out, manifest.json last
	Runs     []ShardRun       `json:"runs"`             // of all tasks, in shard order
	Failed   []ShardFailure   `json:"failed,omitempty"` // episodes skipped for an error, no rows
	Model    string           `json:"model"`
	Hash     string           `json:"model_hash"`
}

// TaskStatus is one task's state in a sharded run's directory.
type TaskStatus struct {
	Spec     ShardSpec
	Manifest *ShardManifest // nil: unfinished or not started
	Started  bool           // its directory exists
	Running  bool           // unfinished, and a process holds its lock now
	Done     int            // episodes in committed chunks (unfinished tasks)
}

// ScanTasks lists the tasks of the sharded run under root, in shard order, with the number of tasks
// their directory names give. Tasks with no directory are listed as not started.
func ScanTasks(root string) ([]TaskStatus, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	n := 0
	dirs := map[int]string{}
	for _, e := range ents {
		m := taskDirRE.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		if n != 0 && c != n {
			return nil, fmt.Errorf("%s: %w: it holds tasks of %d and of %d shards (%s): merge one run at a time", root, ErrShardsDisagree, n, c, e.Name())
		}
		if c < 1 || i >= c {
			return nil, fmt.Errorf("%s: %w: task directory %s", root, ErrManifest, e.Name())
		}
		n, dirs[i] = c, filepath.Join(root, e.Name())
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: %w: no task directories shard-NNNNN-of-NNNNN (run a command with --shard i/n --out %s)", root, ErrShardsMissing, root)
	}
	out := make([]TaskStatus, n)
	for i := range out {
		out[i].Spec = ShardSpec{Index: i, Count: n}
		dir, ok := dirs[i]
		if !ok {
			continue
		}
		out[i].Started = true
		m, err := ReadShardManifest(filepath.Join(dir, ShardManifestFile))
		if errors.Is(err, os.ErrNotExist) {
			if l, err := lockFile(filepath.Join(dir, taskLockFile)); errors.Is(err, ErrTaskRunning) {
				out[i].Running = true
			} else if err == nil {
				l.Close()
			}
			markers, _ := filepath.Glob(filepath.Join(dir, "chunk-*.json"))
			for _, mk := range markers {
				var c chunkRecord
				if b, err := os.ReadFile(mk); err == nil && json.Unmarshal(b, &c) == nil {
					out[i].Done += len(c.Episodes)
				}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if m.Shard != i || m.Shards != n {
			return nil, fmt.Errorf("%s: %w: its manifest says shard %d/%d", dir, ErrManifest, m.Shard, m.Shards)
		}
		out[i].Manifest = m
	}
	return out, nil
}

// Merge checks the task manifests of the sharded run under root and merges their tables into out: one
// file <table>.parquet per table, rows ordered by the episodes' order in the inputs (within an
// episode, as its task wrote them), which is the order a single process writes them in; then
// out/manifest.json. It fails, writing nothing, when a task is missing or unfinished (naming it and
// how far it got), when tasks differ in command, model, flags or inputs, when an episode is in two
// tasks or in none, or when a file does not match its checksum.
func Merge(root, out string) (*MergeReport, error) {
	tasks, err := ScanTasks(root)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, t := range tasks {
		switch {
		case t.Manifest != nil:
		case !t.Started:
			missing = append(missing, fmt.Sprintf("%s (not started)", t.Spec))
		case t.Running:
			missing = append(missing, fmt.Sprintf("%s (running: %d episodes committed)", t.Spec, t.Done))
		default:
			missing = append(missing, fmt.Sprintf("%s (unfinished: %d episodes committed)", t.Spec, t.Done))
		}
	}
	if len(missing) > 0 {
		var idx []string
		for _, t := range tasks {
			if t.Manifest == nil {
				idx = append(idx, strconv.Itoa(t.Spec.Index))
			}
		}
		return nil, fmt.Errorf("merge %s: %w: %d of %d tasks have no manifest: %s; run them (again) with --shard i/%d (Slurm: sbatch --array=%s --export=ALL,AGENTLENS_SHARDS=%d agentlens-array.sbatch …)",
			root, ErrShardsMissing, len(missing), len(tasks), strings.Join(missing, ", "), len(tasks), strings.Join(idx, ","), len(tasks))
	}
	first := tasks[0].Manifest
	index := map[string]int{} // episode id → input index
	owner := map[string]int{}
	rep := &MergeReport{Out: out, Command: first.Command, Shards: len(tasks), Tables: map[string]int64{}, Model: first.Model, Hash: first.ModelHash}
	tables := map[string]string{} // table → row type
	var tableOrder []string
	for _, t := range tasks {
		m := t.Manifest
		if d := differs(first, m); d != "" {
			return nil, fmt.Errorf("merge %s: %w: shard %s's %s (shard %s)", root, ErrShardsDisagree, t.Spec, d, tasks[0].Spec)
		}
		dir := filepath.Join(root, t.Spec.Dir())
		if err := verifyFiles(dir, m.Files); err != nil {
			return nil, fmt.Errorf("merge %s: %w", root, err)
		}
		for _, e := range m.Episodes {
			if o, dup := owner[e.ID]; dup {
				return nil, fmt.Errorf("merge %s: %w: episode %s is in shard %d and shard %d", root, ErrShardsDisagree, e.ID, o, t.Spec.Index)
			}
			if o := ShardOf(e.ShardKey(), len(tasks)); o != t.Spec.Index {
				return nil, fmt.Errorf("merge %s: %w: episode %s is in shard %d but its key %q hashes to shard %d", root, ErrShardsDisagree, e.ID, t.Spec.Index, e.ShardKey(), o)
			}
			if e.Index < 0 || e.Index >= m.InputEpisodes {
				return nil, fmt.Errorf("merge %s: %w: episode %s has input index %d of %d", root, ErrManifest, e.ID, e.Index, m.InputEpisodes)
			}
			owner[e.ID], index[e.ID] = t.Spec.Index, e.Index
		}
		for _, f := range m.Files {
			if ty, ok := tables[f.Table]; ok && ty != f.Type {
				return nil, fmt.Errorf("merge %s: %w: table %s holds %s rows in one shard and %s in another", root, ErrShardsDisagree, f.Table, ty, f.Type)
			} else if !ok {
				tables[f.Table] = f.Type
				tableOrder = append(tableOrder, f.Table)
			}
		}
		rep.Runs = append(rep.Runs, m.Runs...)
		rep.Failed = append(rep.Failed, m.Failed...)
	}
	if len(owner) != first.InputEpisodes {
		return nil, fmt.Errorf("merge %s: %w: the tasks hold %d episodes, the inputs %d", root, ErrShardsMissing, len(owner), first.InputEpisodes)
	}
	seen := make([]bool, first.InputEpisodes)
	for id, i := range index {
		if seen[i] {
			return nil, fmt.Errorf("merge %s: %w: two episodes have input index %d (one is %s)", root, ErrManifest, i, id)
		}
		seen[i] = true
	}
	rep.Episodes = len(owner)
	slices.SortFunc(rep.Failed, func(a, b ShardFailure) int { return index[a.ID] - index[b.ID] })
	if err := checkMergeOut(root, out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	// An older merge in out: its manifest goes first (a merge that fails halfway never looks
	// finished), and its tables that this merge does not write go at the end.
	old, _ := ReadShardManifest(filepath.Join(out, ShardManifestFile))
	if err := os.Remove(filepath.Join(out, ShardManifestFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	sort.Strings(tableOrder)
	merged := *first
	merged.Shard, merged.Shards, merged.MergedFrom = 0, 1, len(tasks)
	merged.Episodes, merged.Files, merged.Runs, merged.Failed = nil, nil, rep.Runs, rep.Failed
	for _, t := range tasks {
		merged.Episodes = append(merged.Episodes, t.Manifest.Episodes...)
	}
	slices.SortFunc(merged.Episodes, func(a, b ShardEpisode) int { return a.Index - b.Index })
	for _, table := range tableOrder {
		var parts [][]string // per task, its files of this table in chunk order
		for _, t := range tasks {
			var files []string
			for _, f := range t.Manifest.Files {
				if f.Table == table {
					files = append(files, filepath.Join(root, t.Spec.Dir(), f.Name))
				}
			}
			parts = append(parts, files)
		}
		name := table + ".parquet"
		f, err := mergeTable(tables[table], filepath.Join(out, name), parts, index)
		if err != nil {
			return nil, fmt.Errorf("merge %s: table %s: %w", root, table, err)
		}
		f.Name, f.Table, f.Type = name, table, tables[table]
		merged.Files = append(merged.Files, f)
		rep.Tables[table] = f.Rows
		rep.Files = append(rep.Files, name)
	}
	if old != nil {
		for _, f := range old.Files {
			if _, ok := rep.Tables[f.Table]; !ok {
				os.Remove(filepath.Join(out, f.Name))
			}
		}
	}
	merged.Finished = time.Now().UTC()
	if err := writeJSON(filepath.Join(out, ShardManifestFile), merged); err != nil {
		return nil, err
	}
	rep.Files = append(rep.Files, ShardManifestFile)
	return rep, nil
}

// checkMergeOut refuses an output directory that is a task directory of the run or inside one.
func checkMergeOut(root, out string) error {
	r, err1 := filepath.Abs(root)
	o, err2 := filepath.Abs(out)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	rel, err := filepath.Rel(r, o)
	switch {
	case err != nil: // no relative path (another volume): not inside root
		return nil
	case rel == ".":
		return fmt.Errorf("merge %s: --out is the run's directory: name another one (default %s)", root, filepath.Join(root, "merged"))
	}
	if first, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); taskDirRE.MatchString(first) {
		return fmt.Errorf("merge %s: --out %s is inside the task directory %s", root, out, first)
	}
	return nil
}

// mergeTable dispatches on the row type a manifest names.
func mergeTable(typ, path string, parts [][]string, index map[string]int) (ShardFile, error) {
	switch typ {
	case typeName[TokenAttribution]():
		return mergeRows[TokenAttribution](path, parts, index)
	case typeName[SegmentAttribution]():
		return mergeRows[SegmentAttribution](path, parts, index)
	case typeName[EpisodeLabel]():
		return mergeRows[EpisodeLabel](path, parts, index)
	case typeName[Activation]():
		return mergeRows[Activation](path, parts, index)
	case typeName[DirectionEffect]():
		return mergeRows[DirectionEffect](path, parts, index)
	case typeName[ProbeScore]():
		return mergeRows[ProbeScore](path, parts, index)
	case typeName[ProbeSegmentScore]():
		return mergeRows[ProbeSegmentScore](path, parts, index)
	case typeName[SegmentMatrixEntry]():
		return mergeRows[SegmentMatrixEntry](path, parts, index)
	case typeName[PatchEntry]():
		return mergeRows[PatchEntry](path, parts, index)
	case typeName[AttentionEntry]():
		return mergeRows[AttentionEntry](path, parts, index)
	case typeName[OrganismScore]():
		return mergeRows[OrganismScore](path, parts, index)
	case typeName[RolloutRow]():
		return mergeRows[RolloutRow](path, parts, index)
	case typeName[RolloutEpisode]():
		return mergeRows[RolloutEpisode](path, parts, index)
	}
	return ShardFile{}, fmt.Errorf("%w: row type %q has no episode_id to merge by", ErrManifest, typ)
}

// mergeRows merges the tasks' files of one table into path: a k-way merge on the episodes' input
// index, streaming, since each task wrote its episodes in input order. It returns the file's rows,
// size and checksum.
func mergeRows[T Row](path string, parts [][]string, index map[string]int) (ShardFile, error) {
	type head struct {
		next func() (T, error, bool)
		stop func()
		row  T
		idx  int
		ok   bool
	}
	heads := make([]*head, len(parts))
	defer func() {
		for _, h := range heads {
			if h != nil {
				h.stop()
			}
		}
	}()
	advance := func(h *head) error {
		r, err, ok := h.next()
		if !ok {
			h.ok = false
			return nil
		}
		if err != nil {
			return err
		}
		id := episodeOf(&r)
		i, known := index[id]
		if !known {
			return fmt.Errorf("%w: a row of episode %q, which no manifest lists", ErrShardsDisagree, id)
		}
		if h.ok && i < h.idx {
			return fmt.Errorf("%w: rows of episode %q come after a later episode's", ErrManifest, id)
		}
		h.row, h.idx, h.ok = r, i, true
		return nil
	}
	for k, files := range parts {
		next, stop := iter.Pull2(concatRead[T](files))
		h := &head{next: next, stop: stop}
		heads[k] = h
		if err := advance(h); err != nil {
			return ShardFile{}, err
		}
	}
	w, err := NewWriter[T](path)
	if err != nil {
		return ShardFile{}, err
	}
	var n int64
	for {
		var best *head
		for _, h := range heads {
			if h.ok && (best == nil || h.idx < best.idx) {
				best = h
			}
		}
		if best == nil {
			break
		}
		if err := w.Write(best.row); err != nil {
			w.Abort()
			return ShardFile{}, err
		}
		n++
		if err := advance(best); err != nil {
			w.Abort()
			return ShardFile{}, err
		}
	}
	if err := w.Close(); err != nil {
		return ShardFile{}, err
	}
	sum, size := w.Digest()
	return ShardFile{Rows: n, Bytes: size, SHA256: sum}, nil
}

// concatRead streams the rows of several files one after the other.
func concatRead[T Row](files []string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, f := range files {
			for r, err := range Read[T](f) {
				if !yield(r, err) || err != nil {
					return
				}
			}
		}
	}
}
