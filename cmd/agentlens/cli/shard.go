package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model/backend"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/bundled"
)

// sharding is the --shard flag of the per-episode commands (capture, attribute, probe apply): task i
// of n takes the episodes whose shard key (--shard-key label, else id) hashes to i and writes into
// --out/shard-IIIII-of-NNNNN/.
type sharding struct {
	Shard     *data.ShardSpec // nil: not sharded
	ChunkSize int             // episodes per committed chunk
	KeyLabel  string          // episode label that picks the task ("id": the episode id)
	// SkipErrors records an episode that fails (no target, nothing to delete) in the chunk and the
	// manifest and goes on, instead of stopping the task.
	SkipErrors bool
	RowFlags   map[string]string // the settings that change rows, for the manifest
}

// outputOnlyFlags change where or how a command prints, not its rows: tasks that differ only in these
// still merge.
var outputOnlyFlags = map[string]bool{"skip-errors": true, "out": true, "shard": true, "chunk-size": true, "shard-size": true, "json": true,
	"model": true, "backend": true, "top": true, "format": true, "figure-width": true, "dpi": true, "no-title": true,
	"embed-svg-fonts": true, "help": true, "attention-segment": true, "cache": true}

// addShardFlags registers --shard (and, unless the command has its own, --chunk-size with def episodes).
func (s *sharding) addShardFlags(cmd *cobra.Command, arg *string, def int) {
	cmd.Flags().StringVar(arg, "shard", "", "run task `i/n` of n: the episodes whose --shard-key hashes to i, into --out/shard-IIIII-of-NNNNN/ (merge with agentlens merge)")
	if def > 0 {
		cmd.Flags().IntVar(&s.ChunkSize, "chunk-size", def, "with --shard: episodes per committed chunk (a rerun resumes after the last one)")
	}
	cmd.Flags().BoolVar(&s.SkipErrors, "skip-errors", false, "with --shard: record an episode that fails (no target, nothing to delete) in the manifest and go on")
	cmd.Flags().StringVar(&s.KeyLabel, "shard-key", "pair_id", "with --shard: episode `label` whose value picks the task, so episodes sharing it (twins) share one task and their prefix; episodes without it, or id, go by episode id")
}

// key returns the string that picks an episode's task, and whether it is not the id.
func (s *sharding) key(ep *trace.Episode) (string, bool) {
	if v := ep.Labels[s.KeyLabel]; s.KeyLabel != "id" && v != "" {
		return s.KeyLabel + "=" + v, true
	}
	return ep.ID, false
}

// parseShard reads --shard and records the command's row-changing flags.
func (s *sharding) parseShard(cmd *cobra.Command, arg string) error {
	if arg == "" {
		return nil
	}
	spec, err := data.ParseShard(arg)
	if err != nil {
		return flagErrorf("--shard %s: %v", arg, err)
	}
	if s.ChunkSize <= 0 {
		return flagErrorf("--chunk-size %d: want a positive number of episodes", s.ChunkSize)
	}
	s.Shard = &spec
	s.RowFlags = map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !outputOnlyFlags[f.Name] && err == nil {
			s.RowFlags[f.Name], err = flagIdentity(f.Name, f.Value.String())
		}
	})
	return err
}

// fileFlags name a file whose content changes rows: the tasks compare its checksum, not its path
// (nodes may mount it elsewhere; an edited file must not mix with the old one's rows).
var fileFlags = map[string]bool{"labels": true, "segment-rule": true, "chat-template": true, "readout": true, "judge-chat-template": true}

// flagIdentity returns how a flag's value enters a task's settings: the value, or for a file flag
// the file's sha256.
func flagIdentity(name, value string) (string, error) {
	if !fileFlags[name] || value == "" || value == "[]" {
		return value, nil
	}
	var sums []string
	for _, p := range strings.Split(strings.Trim(value, "[]"), ",") {
		sum, _, err := data.FileSHA256(p)
		if err != nil {
			return "", flagErrorf("--%s %s: %v", name, p, err)
		}
		sums = append(sums, sum)
	}
	return strings.Join(sums, ","), nil
}

// shardTask is one task of a sharded per-episode command.
type shardTask struct {
	IO      *IOStreams
	Command string // as in the manifest: "capture", "attribute", "probe apply"
	Out     string
	sharding
	Inputs []string // the episode arguments
	Eps    []*trace.Episode
	Model  *modelChoice
	// Open loads what the work needs once there is work (the model session), given the model's hash
	// (computed once, for the manifest); it returns the backend description the manifest records.
	Open func(hash string) (string, error)
	// Work computes and writes one chunk's tables for eps, calling progress after each episode. An
	// episode's own error goes through skip, which returns it (stop) or nil (recorded, counted as
	// progress, go on).
	Work func(c *data.Chunk, eps []*trace.Episode, progress func(), skip func(*trace.Episode, error) error) error
}

// shardSummary is the --json output of a task of a sharded command.
type shardSummary struct {
	Command        string  `json:"command"`
	Shard          string  `json:"shard"`
	Dir            string  `json:"dir"`
	Model          string  `json:"model"`
	ModelHash      string  `json:"model_hash"`
	Backend        string  `json:"backend,omitempty"` // empty when nothing was left to compute
	InputEpisodes  int     `json:"input_episodes"`
	Owned          int     `json:"episodes"`          // this task's share
	Before         int     `json:"episodes_done"`     // committed by an earlier run, kept
	Computed       int     `json:"episodes_computed"` // by this run
	Failed         int     `json:"episodes_failed"`   // skipped for an error (--skip-errors), in all runs
	Chunks         int     `json:"chunks_written"`
	AlreadyDone    bool    `json:"already_finished"`
	Files          int     `json:"files"`
	Rows           int64   `json:"rows"`
	ElapsedSecs    float64 `json:"elapsed_s"`
	SecsPerEpisode float64 `json:"seconds_per_episode,omitempty"`
}

// run runs the task: skips it when finished, resumes after its last committed chunk, and writes the
// manifest once every episode it owns is in a chunk.
func (t *shardTask) run(ctx context.Context) (*shardSummary, error) {
	start := time.Now()
	spec := *t.Shard
	ids := make([]string, len(t.Eps))
	where := map[string]int{}
	for i, ep := range t.Eps {
		if j, dup := where[ep.ID]; dup {
			return nil, fmt.Errorf("episode id %s appears twice in the inputs (episodes %d and %d): sharding needs unique ids", ep.ID, j, i)
		}
		where[ep.ID], ids[i] = i, ep.ID
	}
	if err := t.Model.fetchIfMissing(ctx, t.IO); err != nil {
		return nil, err
	}
	hash, err := modelHash(t.Model.Model)
	if err != nil {
		return nil, err
	}
	inputs, err := inputChecksums(t.Inputs, t.Out)
	if err != nil {
		return nil, err
	}
	head := data.ShardManifest{Command: t.Command, Model: strings.TrimSuffix(filepath.Base(t.Model.Model), ".gguf"), ModelHash: hash,
		Flags: t.RowFlags, Inputs: inputs, InputEpisodes: len(ids), InputIDs: data.InputIDsHash(ids), Version: buildVersion()}
	if err := os.MkdirAll(t.Out, 0o755); err != nil {
		return nil, err
	}
	task, err := data.OpenTask(t.Out, spec, head)
	if err != nil {
		return nil, err
	}
	defer task.Close()
	sum := &shardSummary{Command: t.Command, Shard: spec.String(), Dir: task.Dir, Model: head.Model, ModelHash: hash, InputEpisodes: len(ids)}
	var owned []data.ShardEpisode
	var todo []*trace.Episode
	for i, ep := range t.Eps {
		if key, byLabel := t.key(ep); spec.Owns(key) {
			e := data.ShardEpisode{ID: ep.ID, Index: i}
			if byLabel {
				e.Key = key
			}
			owned = append(owned, e)
			if task.Finished() == nil && !task.Done(ep.ID) {
				todo = append(todo, ep)
			}
		}
	}
	sum.Owned = len(owned)
	if m := task.Finished(); m != nil {
		fmt.Fprintf(t.IO.ErrOut, "agentlens: shard %s finished already (%s): nothing to do\n", spec, filepath.Join(task.Dir, data.ShardManifestFile))
		sum.AlreadyDone, sum.Before = true, len(owned)
		sum.fill(m, start)
		return sum, nil
	}
	sum.Before = len(owned) - len(todo)
	fmt.Fprintf(t.IO.ErrOut, "agentlens: shard %s: %d of %d episodes are this task's; %d done already, %d to compute\n", spec, len(owned), len(ids), sum.Before, len(todo))
	if len(todo) > 0 {
		if sum.Backend, err = t.Open(hash); err != nil {
			return nil, err
		}
		host, _ := os.Hostname()
		task.SetRun(host, sum.Backend)
		prog := newETAProgress(t.IO, t.Command+" shard "+spec.String()+": episode", len(todo))
		done := 0
		progress := func() { done++; prog.update(done, "") }
		for c := 0; c < len(todo); c += t.ChunkSize {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			eps := todo[c:min(len(todo), c+t.ChunkSize)]
			ch := task.NewChunk()
			var failed []data.ShardFailure
			skip := func(ep *trace.Episode, err error) error {
				if !t.SkipErrors {
					return fmt.Errorf("%w (--skip-errors records such an episode and goes on)", err)
				}
				prog.clear()
				fmt.Fprintf(t.IO.ErrOut, "agentlens: shard %s: skipped episode %s: %v\n", spec, ep.ID, err)
				failed = append(failed, data.ShardFailure{ID: ep.ID, Error: err.Error()})
				progress()
				return nil
			}
			if err := t.Work(ch, eps, progress, skip); err != nil {
				return nil, err
			}
			cids := make([]string, len(eps))
			for i, ep := range eps {
				cids[i] = ep.ID
			}
			if err := ch.Commit(cids, failed); err != nil {
				return nil, err
			}
			sum.Chunks++
			sum.Computed += len(eps)
			if !t.IO.StderrTTY { // a cluster log file: one line per committed chunk instead of the status line
				fmt.Fprintf(t.IO.ErrOut, "agentlens: shard %s: chunk %d committed: %s\n", spec, sum.Chunks, prog.line(done, ""))
			}
		}
		prog.update(len(todo), "")
	}
	m, err := task.Finish(owned)
	if err != nil {
		return nil, err
	}
	sum.fill(m, start)
	fmt.Fprintf(t.IO.ErrOut, "agentlens: shard %s finished: %d episodes (%d computed now) in %.1f s; %s\n", spec, len(owned), sum.Computed,
		sum.ElapsedSecs, filepath.Join(task.Dir, data.ShardManifestFile))
	return sum, nil
}

func (s *shardSummary) fill(m *data.ShardManifest, start time.Time) {
	s.Files, s.Failed = len(m.Files), len(m.Failed)
	for _, f := range m.Files {
		s.Rows += f.Rows
	}
	s.ElapsedSecs = time.Since(start).Seconds()
	if s.Computed > 0 {
		s.SecsPerEpisode = s.ElapsedSecs / float64(s.Computed)
	}
}

// print writes the task's summary: JSON with --json, else one line on stdout.
func (s *shardSummary) print(io *IOStreams, j *jsonOutput) error {
	if j.JSON {
		return j.print(s)
	}
	_, err := fmt.Fprintf(io.Out, "wrote %s: shard %s, %d episodes, %d rows in %d files\n", s.Dir, s.Shard, s.Owned, s.Rows, s.Files)
	return err
}

// inputChecksums returns the inputs with their size and checksum: a file's bytes, a directory's files
// (path relative to it and checksum, in name order; nothing under out, where the tasks write), nothing
// for a built-in episode.
func inputChecksums(paths []string, outDir string) ([]data.ShardInput, error) {
	outAbs, _ := filepath.Abs(outDir)
	var out []data.ShardInput
	for _, p := range paths {
		if strings.HasPrefix(p, bundled.SourcePrefix) {
			out = append(out, data.ShardInput{Path: p})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			sum, n, err := data.FileSHA256(p)
			if err != nil {
				return nil, err
			}
			out = append(out, data.ShardInput{Path: p, Bytes: n, SHA256: sum})
			continue
		}
		var lines []string
		var total int64
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if abs, _ := filepath.Abs(path); d.IsDir() && abs == outAbs {
				return filepath.SkipDir
			}
			if d.IsDir() {
				return nil
			}
			sum, n, err := data.FileSHA256(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(p, path)
			lines, total = append(lines, sum+"  "+filepath.ToSlash(rel)+"\n"), total+n
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(lines)
		h := sha256.New()
		for _, l := range lines {
			h.Write([]byte(l))
		}
		out = append(out, data.ShardInput{Path: p, Bytes: total, SHA256: "sha256:" + hex.EncodeToString(h.Sum(nil))})
	}
	return out, nil
}

// backendLabel is the backend as a manifest records it: its name and what it runs on.
func backendLabel(b backend.Info) string {
	if b.Name == backend.XLA {
		return fmt.Sprintf("xla (%s, PJRT C API %s)", filepath.Base(b.PluginPath), b.PluginAPIVersion)
	}
	return b.Name
}
