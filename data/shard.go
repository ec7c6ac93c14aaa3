package data

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ShardSpec names task Index of Count (0 ≤ Index < Count) of a sharded run: the task owns the
// episodes whose shard key (ShardEpisode.ShardKey) hashes to Index (ShardOf), so any number of
// independent tasks — Slurm array tasks, Kubernetes Indexed Job pods, shell loops — split a dataset
// without talking to each other.
type ShardSpec struct{ Index, Count int }

// ParseShard reads "i/n" (task i of n, 0-based).
func ParseShard(s string) (ShardSpec, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return ShardSpec{}, fmt.Errorf("shard %q: want i/n, such as 0/4", s)
	}
	if n < 1 || i < 0 || i >= n {
		return ShardSpec{}, fmt.Errorf("shard %q: want 0 ≤ i < n", s)
	}
	return ShardSpec{Index: i, Count: n}, nil
}

// String returns "i/n".
func (s ShardSpec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Dir returns the task's directory name under a sharded run's output: "shard-00002-of-00004".
func (s ShardSpec) Dir() string { return fmt.Sprintf("shard-%05d-of-%05d", s.Index, s.Count) }

// Owns reports whether the task owns the episode with this shard key.
func (s ShardSpec) Owns(key string) bool { return ShardOf(key, s.Count) == s.Index }

// ShardOf returns the task of n that owns an episode: FNV-1a (64 bit) of its shard key modulo n. It
// depends on the key alone, so an episode lands in the same task whatever order or files the inputs
// come in.
func ShardOf(key string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}

// ShardManifestFile is the file name of a task's manifest; it is written last, so a task directory without
// it is unfinished whatever else it holds.
const ShardManifestFile = "manifest.json"

// ShardManifestFormat is the format tag of the manifests this build writes and reads.
const ShardManifestFormat = "agentlens-shard/1"

// ShardManifest describes one finished task of a sharded run (or, with MergedFrom > 0, a merged dataset):
// what ran (command, flags, model), on what (inputs, episodes), where (host, backend) and what it
// wrote (files with row counts and checksums). It is JSON; the package documentation lists its fields.
type ShardManifest struct {
	Format  string `json:"format"`
	Command string `json:"command"` // "capture", "attribute", "probe apply"
	Shard   int    `json:"shard"`
	Shards  int    `json:"shards"`
	// MergedFrom is the number of task manifests merged into this one (0 for a task's own).
	MergedFrom int    `json:"merged_from,omitempty"`
	Version    string `json:"agentlens_version,omitempty"`
	Model      string `json:"model"`
	ModelHash  string `json:"model_hash"`
	// Flags are the command's settings that change its rows (every flag but where the output goes,
	// which task this is and how it prints), as given or defaulted.
	Flags map[string]string `json:"flags"`
	// Inputs are the episode files as named on the command line, with their size and checksum.
	Inputs []ShardInput `json:"inputs"`
	// InputEpisodes is the number of episodes in all inputs (every task's); InputIDs the sha256 of
	// their ids in input order, one per line.
	InputEpisodes int    `json:"input_episodes"`
	InputIDs      string `json:"input_ids_sha256"`
	// Episodes are the episodes this task owns, in input order, with their index in the inputs.
	Episodes []ShardEpisode `json:"episodes"`
	Files    []ShardFile    `json:"files"`
	// Failed are the episodes skipped for an error (with --skip-errors), in input order.
	Failed []ShardFailure `json:"failed,omitempty"`
	// Runs say where the chunks were computed, one entry per host and backend.
	Runs     []ShardRun `json:"runs"`
	Finished time.Time  `json:"finished"`
}

// ShardInput is one input file of a sharded run.
type ShardInput struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256,omitempty"` // empty for a built-in source (bundled:…)
}

// ShardEpisode is an episode of a task and its index in the inputs; Key, when set, is what its task
// was picked by instead of the id (ShardOf(Key, n)): a label such as the twin-pair id, so episodes
// that share a prefix land in one task.
type ShardEpisode struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
	Key   string `json:"key,omitempty"`
}

// ShardKey returns the string an episode's task is picked by: Key, else ID.
func (e ShardEpisode) ShardKey() string {
	if e.Key != "" {
		return e.Key
	}
	return e.ID
}

// ShardFailure is an episode a task could not compute (with --skip-errors): it counts as done and has
// no rows.
type ShardFailure struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

// ShardFile is a Parquet file a task wrote: its table (the file's name without the chunk number),
// the row type (a table of schema.go) and how to check it.
type ShardFile struct {
	Name   string `json:"name"`
	Table  string `json:"table"`
	Type   string `json:"type"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ShardRun says where a task's chunks were computed: one per host and backend, with when its first
// and last chunk were committed.
type ShardRun struct {
	Host     string    `json:"host"`
	Backend  string    `json:"backend"`
	First    time.Time `json:"first_chunk"`
	Last     time.Time `json:"last_chunk"`
	Chunks   int       `json:"chunks"`
	Episodes int       `json:"episodes"`
}

// identity returns the fields that two tasks of one run must share, by name, for error messages.
func (m *ShardManifest) identity() [][2]string {
	keys := slices.Sorted(maps.Keys(m.Flags))
	out := [][2]string{{"command", m.Command}, {"shards", strconv.Itoa(m.Shards)}, {"model_hash", m.ModelHash},
		{"input_episodes", strconv.Itoa(m.InputEpisodes)}, {"input_ids_sha256", m.InputIDs}}
	for i, in := range m.Inputs {
		if in.SHA256 != "" {
			out = append(out, [2]string{fmt.Sprintf("input %d (%s)", i+1, filepath.Base(in.Path)), in.SHA256})
		}
	}
	for _, k := range keys {
		out = append(out, [2]string{"--" + k, m.Flags[k]})
	}
	return out
}

// differs names the first identity field where a and b disagree ("" when none).
func differs(a, b *ShardManifest) string {
	ia, ib := a.identity(), b.identity()
	mb := map[string]string{}
	for _, kv := range ib {
		mb[kv[0]] = kv[1]
	}
	for _, kv := range ia {
		if v, ok := mb[kv[0]]; !ok || v != kv[1] {
			if !ok {
				v = "(absent)"
			}
			return fmt.Sprintf("%s is %q, not %q", kv[0], kv[1], v)
		}
		delete(mb, kv[0])
	}
	for k, v := range mb {
		return fmt.Sprintf("%s is absent, not %q", k, v)
	}
	return ""
}

// InputIDsHash returns ShardManifest.InputIDs for episode ids in input order.
func InputIDsHash(ids []string) string {
	h := sha256.New()
	for _, id := range ids {
		io.WriteString(h, id)
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// FileSHA256 returns "sha256:<hex>" of a file's bytes and its size.
func FileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}

// ReadShardManifest reads a manifest file, checking its format.
func ReadShardManifest(path string) (*ShardManifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m ShardManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrManifest, err)
	}
	if m.Format != ShardManifestFormat {
		return nil, fmt.Errorf("%s: format %q: %w (this build reads %q)", path, m.Format, ErrManifest, ShardManifestFormat)
	}
	return &m, nil
}

// writeJSON writes v as indented JSON to path through a temporary file and a rename.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

// taskLockFile is locked (flock) by the process working on a task, so that two runs of one task —
// a duplicate submission, a requeue racing the original — do not write the same chunks.
const taskLockFile = "task.lock"

// taskHeadFile records the settings a task directory was started with, so a rerun with other settings
// fails instead of mixing rows.
const taskHeadFile = "task.json"

// chunkMarker is the file that commits chunk n: written after its tables, it lists them and the
// episodes they hold. Table files without a marker are leftovers of an interrupted run.
func chunkMarker(n int) string { return fmt.Sprintf("chunk-%05d.json", n) }

var chunkMarkerRE = regexp.MustCompile(`^chunk-(\d{5})\.json$`)

// chunkRecord is a chunk marker's content.
type chunkRecord struct {
	Episodes []string       `json:"episodes"`
	Failed   []ShardFailure `json:"failed,omitempty"` // among Episodes: computed to an error, no rows
	Files    []ShardFile    `json:"files"`
	Host     string         `json:"host"`
	Backend  string         `json:"backend"`
	Written  time.Time      `json:"written"`
}

// Task is one task of a sharded run, writing into its own directory under the run's output: tables in
// chunks of episodes, each committed by a marker file after its tables, and the manifest last. Opening
// a task directory again resumes it: committed chunks are kept, anything an interrupted run left
// behind is removed, and a finished task reports Finished.
type Task struct {
	Dir  string
	head ShardManifest
	// committed chunks in order
	chunks  []chunkRecord
	done    map[string]bool
	final   *ShardManifest
	host    string
	backend string
	lock    *os.File // the flock on task.lock, held until Close
}

// OpenTask opens (creating it if needed) the directory of task spec under root for a run described
// by head (Command, Shards, ModelHash, Flags, Inputs, InputEpisodes, InputIDs; Shard and Format are
// set here) and locks it (Close releases it): a second process on the same task gets ErrTaskRunning.
// A directory started or finished with other settings is an error naming the setting.
func OpenTask(root string, spec ShardSpec, head ShardManifest) (*Task, error) {
	head.Format, head.Shard, head.Shards = ShardManifestFormat, spec.Index, spec.Count
	dir := filepath.Join(root, spec.Dir())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	t := &Task{Dir: dir, head: head, done: map[string]bool{}}
	lock, err := lockFile(filepath.Join(dir, taskLockFile))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	t.lock = lock
	ok := false
	defer func() {
		if !ok {
			t.Close()
		}
	}()
	if m, err := ReadShardManifest(filepath.Join(dir, ShardManifestFile)); err == nil {
		if d := differs(&head, m); d != "" {
			return nil, fmt.Errorf("%s: %w: finished with other settings (%s); remove the directory to redo it", dir, ErrTaskMismatch, d)
		}
		if err := verifyFiles(dir, m.Files); err != nil {
			return nil, err
		}
		t.final, ok = m, true
		return t, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	headPath := filepath.Join(dir, taskHeadFile)
	var started ShardManifest
	if b, err := os.ReadFile(headPath); err == nil {
		if err := json.Unmarshal(b, &started); err != nil {
			return nil, fmt.Errorf("%s: %w: %v", headPath, ErrManifest, err)
		}
		if d := differs(&head, &started); d != "" {
			return nil, fmt.Errorf("%s: %w: started with other settings (%s); rerun with the same settings or remove the directory", dir, ErrTaskMismatch, d)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		if err := writeJSON(headPath, head); err != nil {
			return nil, err
		}
	} else {
		return nil, err
	}
	if err := t.recover(); err != nil {
		return nil, err
	}
	ok = true
	return t, nil
}

// Close releases the task directory's lock.
func (t *Task) Close() error {
	if t.lock == nil {
		return nil
	}
	err := t.lock.Close()
	t.lock = nil
	return err
}

// recover reads the committed chunks and removes what an interrupted run left: temporary files and
// table files no marker lists.
func (t *Task) recover() error {
	ents, err := os.ReadDir(t.Dir)
	if err != nil {
		return err
	}
	keep := map[string]bool{taskHeadFile: true, taskLockFile: true}
	var markers []string
	for _, e := range ents {
		if chunkMarkerRE.MatchString(e.Name()) {
			markers = append(markers, e.Name())
		}
	}
	sort.Strings(markers)
	// The chunks count up to the first one that is out of sequence, unreadable or whose files do not
	// match it (a crash before the data reached the disk): that one and every later one are redone.
	for i, name := range markers {
		if name != chunkMarker(i) {
			break
		}
		var c chunkRecord
		b, err := os.ReadFile(filepath.Join(t.Dir, name))
		if err == nil {
			err = json.Unmarshal(b, &c)
		}
		if err != nil || verifyFiles(t.Dir, c.Files) != nil {
			break
		}
		keep[name] = true
		for _, f := range c.Files {
			keep[f.Name] = true
		}
		for _, id := range c.Episodes {
			t.done[id] = true
		}
		t.chunks = append(t.chunks, c)
	}
	for _, e := range ents {
		if !keep[e.Name()] && !e.IsDir() {
			if err := os.Remove(filepath.Join(t.Dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// verifyFiles checks each file's size and checksum.
func verifyFiles(dir string, files []ShardFile) error {
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		sum, n, err := FileSHA256(p)
		if err != nil {
			return fmt.Errorf("%s: %w: %v", dir, ErrShardCorrupt, err)
		}
		if n != f.Bytes || sum != f.SHA256 {
			return fmt.Errorf("%s: %w: %s has %d bytes with %s, its manifest says %d bytes with %s", dir, ErrShardCorrupt, f.Name, n, sum, f.Bytes, f.SHA256)
		}
	}
	return nil
}

// Finished returns the task's manifest when it finished already (nil otherwise).
func (t *Task) Finished() *ShardManifest { return t.final }

// Done reports whether a committed chunk holds the episode.
func (t *Task) Done(id string) bool { return t.done[id] }

// SetRun says where this process runs, for the manifest's Runs.
func (t *Task) SetRun(host, backend string) { t.host, t.backend = host, backend }

// Chunk is one chunk of a task being written: its tables, then Commit.
type Chunk struct {
	t     *Task
	n     int
	files []ShardFile
}

// NewChunk starts the task's next chunk.
func (t *Task) NewChunk() *Chunk { return &Chunk{t: t, n: len(t.chunks)} }

// WriteTable writes the chunk's rows of one table as <table>-NNNNN.parquet (nothing when rows is
// empty).
func WriteTable[T Row](c *Chunk, table string, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	name := fmt.Sprintf("%s-%05d.parquet", table, c.n)
	w, err := NewWriter[T](filepath.Join(c.t.Dir, name))
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	sum, n := w.Digest()
	c.files = append(c.files, ShardFile{Name: name, Table: table, Type: typeName[T](), Rows: int64(len(rows)), Bytes: n, SHA256: sum})
	return nil
}

// Commit writes the chunk's marker: from here on its episodes count as done, failed (a subset of
// episodes, with their errors) included.
func (c *Chunk) Commit(episodes []string, failed []ShardFailure) error {
	rec := chunkRecord{Episodes: episodes, Failed: failed, Files: c.files, Host: c.t.host, Backend: c.t.backend, Written: time.Now().UTC()}
	if err := writeJSON(filepath.Join(c.t.Dir, chunkMarker(c.n)), rec); err != nil {
		return err
	}
	c.t.chunks = append(c.t.chunks, rec)
	for _, id := range episodes {
		c.t.done[id] = true
	}
	return nil
}

// Finish writes the manifest, last: owned are the task's episodes in input order, each of which must
// be in a committed chunk.
func (t *Task) Finish(owned []ShardEpisode) (*ShardManifest, error) {
	if t.final != nil {
		return t.final, nil
	}
	var missing []string
	for _, e := range owned {
		if !t.done[e.ID] {
			missing = append(missing, e.ID)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %d episodes not written yet (%s)", t.Dir, len(missing), strings.Join(missing[:min(5, len(missing))], ", "))
	}
	m := t.head
	m.Episodes = owned
	idx := map[string]int{}
	for _, c := range t.chunks {
		m.Files = append(m.Files, c.Files...)
		m.Failed = append(m.Failed, c.Failed...)
		k := c.Host + "\x00" + c.Backend
		i, ok := idx[k]
		if !ok {
			i, idx[k] = len(m.Runs), len(m.Runs)
			m.Runs = append(m.Runs, ShardRun{Host: c.Host, Backend: c.Backend, First: c.Written})
		}
		m.Runs[i].Last = c.Written
		m.Runs[i].Chunks++
		m.Runs[i].Episodes += len(c.Episodes)
	}
	m.Finished = time.Now().UTC()
	if err := writeJSON(filepath.Join(t.Dir, ShardManifestFile), m); err != nil {
		return nil, err
	}
	t.final = &m
	return &m, nil
}
