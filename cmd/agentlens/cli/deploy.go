package cli

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/cmd/agentlens/deploy"
)

// deployOptions are the inputs of "agentlens deploy".
type deployOptions struct {
	IO  *IOStreams
	Ctx context.Context

	Engine string // "slurm", "k8s" or "all"
	Out    string
	Force  bool
	jsonOutput
}

// deployEngines are the directories of deploy.FS, one per scheduler.
var deployEngines = []string{"slurm", "k8s"}

func newCmdDeploy(f *Factory, runF func(*deployOptions) error) *cobra.Command {
	opts := &deployOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "deploy <slurm|k8s|all> --out <dir> [--force]",
		Short: "Write the files that run a sharded command on Slurm or Kubernetes",
		Long: `Write the cluster files built into this binary, so a cluster node needs the binary alone:

  slurm  agentlens-array.sbatch: sbatch --array=0-<n-1> agentlens-array.sbatch <command> <args>
         runs task i as <command> <args> --shard i/n (AGENTLENS_SHARDS=n for a rerun of some
         indices)
  k8s    indexed-job.yaml (an Indexed Job: pod JOB_COMPLETION_INDEX runs --shard
         $JOB_COMPLETION_INDEX/$AGENTLENS_SHARDS), pvc.yaml (the shared volume for the model
         cache and outputs), merge-job.yaml (agentlens merge after the Indexed Job completes),
         Dockerfile (the image)

Each file's header says how to use it. Existing files are kept unless --force.`,
		Example: `  agentlens deploy slurm --out cluster/
  sbatch --array=0-15 cluster/slurm/agentlens-array.sbatch capture data/ --out out/acts --tool-call-style xml
  agentlens deploy k8s --out k8s/ && kubectl apply -f k8s/k8s/pvc.yaml -f k8s/k8s/indexed-job.yaml
  agentlens deploy all --out deploy/ --json | jq -r '.files[]'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || (args[0] != "all" && !slices.Contains(deployEngines, args[0])) {
				return flagErrorf("deploy: name slurm, k8s or all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx, opts.Engine = cmd.Context(), args[0]
			if opts.Out == "" {
				return flagErrorf("--out: name the output directory")
			}
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return deployRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "", "output `dir`ectory (the files go into its slurm/ and k8s/)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite files that exist")
	opts.addJSONFlag(cmd)
	cmd.GroupID = groupAnalysis
	return cmd
}

func deployRun(opts *deployOptions) error {
	engines := deployEngines
	if opts.Engine != "all" {
		engines = []string{opts.Engine}
	}
	var written, kept []string
	for _, e := range engines {
		err := fs.WalkDir(deploy.FS, e, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := deploy.FS.ReadFile(path)
			if err != nil {
				return err
			}
			dst := filepath.Join(opts.Out, filepath.FromSlash(path))
			if _, err := os.Stat(dst); err == nil && !opts.Force {
				kept = append(kept, dst)
				return nil
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if strings.HasSuffix(path, ".sbatch") || strings.HasSuffix(path, ".sh") {
				mode = 0o755
			}
			if err := writeFileAtomic(dst, func(f *os.File) error { _, err := f.Write(b); return err }); err != nil {
				return err
			}
			written = append(written, dst)
			return os.Chmod(dst, mode)
		})
		if err != nil {
			return err
		}
	}
	if len(kept) > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "agentlens: kept %d files that exist (--force to overwrite): %s\n", len(kept), strings.Join(kept, " "))
	}
	if opts.JSON {
		return opts.print(map[string]any{"out": opts.Out, "files": written, "kept": kept})
	}
	_, err := fmt.Fprintf(opts.IO.Out, "wrote %s\n", strings.Join(written, " "))
	return err
}
