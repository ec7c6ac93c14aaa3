package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/data"
)

// mergeOptions are the inputs of "agentlens merge".
type mergeOptions struct {
	IO  *IOStreams
	Ctx context.Context

	Dir    string
	Out    string // "": Dir/merged
	Status bool   // list the tasks, merge nothing
	jsonOutput
}

func newCmdMerge(f *Factory, runF func(*mergeOptions) error) *cobra.Command {
	opts := &mergeOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "merge <dir> [--out <dir>] [--status]",
		Short: "Check and merge the tasks of a sharded run (--shard i/n) into one dataset",
		Long: `Read the manifests of the n tasks a command ran with --shard i/n --out <dir>
(<dir>/shard-IIIII-of-NNNNN/manifest.json), check them and merge their tables.

Checked: every task 0…n−1 finished (its manifest exists: a task still running or killed has
none); all ran the same command on the same inputs (episode ids and file checksums) with
the same model weights (hash) and the same settings (every flag that changes rows); no
episode is in two tasks and every input episode is in one; every file matches the size and
sha256 its manifest gives. When something is missing the error names the tasks, how far
each got, and the Slurm array indices to resubmit; nothing is written.

Writes --out (default <dir>/merged): one <table>.parquet per table (activations, tokens,
segments, matrix, attention, scores, …: the same tables, columns and row order a single
process writes: by the episodes' order in the inputs) and manifest.json (format
agentlens-shard/1, merged_from = n, the hosts and backends each task ran on).

--status lists the tasks (state, episodes, rows, host and backend) and merges nothing.`,
		Example: `  agentlens merge out/acts                       # writes out/acts/merged/activations.parquet
  agentlens merge out/attr --out out/attr-all
  agentlens merge out/acts --status
  agentlens merge out/acts --json | jq .tables
  sbatch --dependency=afterok:$JOB --wrap 'agentlens merge out/acts'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return flagErrorf("merge: name the directory of one sharded run")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx, opts.Dir = cmd.Context(), args[0]
			if opts.Out == "" {
				opts.Out = filepath.Join(opts.Dir, "merged")
			}
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return mergeRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "", "output `dir`ectory (default <dir>/merged)")
	cmd.Flags().BoolVar(&opts.Status, "status", false, "list the tasks and their state; merge nothing")
	opts.addJSONFlag(cmd)
	cmd.GroupID = groupAnalysis
	return cmd
}

// taskRow is one task in merge --status.
type taskRow struct {
	Shard    string   `json:"shard"`
	State    string   `json:"state"` // finished, running, unfinished (stopped), not started
	Episodes int      `json:"episodes"`
	Rows     int64    `json:"rows"`
	Hosts    []string `json:"hosts,omitempty"`
	Backends []string `json:"backends,omitempty"`
}

func mergeRun(opts *mergeOptions) error {
	tasks, err := data.ScanTasks(opts.Dir)
	if err != nil {
		return err
	}
	if opts.Status {
		return mergeStatus(opts, tasks)
	}
	start := time.Now()
	rep, err := data.Merge(opts.Dir, opts.Out)
	if err != nil {
		return err
	}
	if opts.JSON {
		return opts.print(struct {
			*data.MergeReport
			ElapsedSecs float64 `json:"elapsed_s"`
		}{rep, time.Since(start).Seconds()})
	}
	var parts []string
	for _, f := range rep.Files {
		if t := strings.TrimSuffix(f, ".parquet"); t != f {
			parts = append(parts, fmt.Sprintf("%s (%d rows)", f, rep.Tables[t]))
		}
	}
	backends := map[string]bool{}
	for _, r := range rep.Runs {
		backends[r.Backend] = true
	}
	fmt.Fprintf(opts.IO.ErrOut, "agentlens: merged %d tasks of %s: %d episodes, model %s (%s), %d host/backend runs on %d backends\n",
		rep.Shards, rep.Command, rep.Episodes, rep.Model, rep.Hash, len(rep.Runs), len(backends))
	_, err = fmt.Fprintf(opts.IO.Out, "wrote %s: %s manifest.json\n", opts.Out, strings.Join(parts, " "))
	return err
}

func mergeStatus(opts *mergeOptions, tasks []data.TaskStatus) error {
	var rows []taskRow
	for _, t := range tasks {
		r := taskRow{Shard: t.Spec.String(), State: "not started"}
		switch {
		case t.Manifest != nil:
			r.State, r.Episodes = "finished", len(t.Manifest.Episodes)
			for _, f := range t.Manifest.Files {
				r.Rows += f.Rows
			}
			for _, run := range t.Manifest.Runs {
				r.Hosts, r.Backends = appendNew(r.Hosts, run.Host), appendNew(r.Backends, run.Backend)
			}
		case t.Running:
			r.State, r.Episodes = "running", t.Done
		case t.Started:
			r.State, r.Episodes = "unfinished", t.Done
		}
		rows = append(rows, r)
	}
	if opts.JSON {
		return opts.print(map[string]any{"dir": opts.Dir, "tasks": rows})
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "SHARD\tSTATE\tEPISODES\tROWS\tHOST\tBACKEND\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", r.Shard, r.State, r.Episodes, r.Rows, strings.Join(r.Hosts, ","), strings.Join(r.Backends, "; "))
	}
	return tw.Flush()
}

// appendNew appends x unless xs holds it.
func appendNew(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}
