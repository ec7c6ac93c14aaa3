package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/model"
)

// versionOptions are the inputs of "agentlens version".
type versionOptions struct {
	IO      *IOStreams
	Version string
	jsonOutput
}

func newCmdVersion(f *Factory, runF func(*versionOptions) error) *cobra.Command {
	opts := &versionOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the agentlens version",
		Long: `Print the agentlens version and the CPU kernels this machine computes with: the instruction-set
level the CPU has, the one in use (AGENTLENS_KERNEL=generic|avx2|avx512 forces a lower one), and the
matmul and vector kernels that passed their start-up self-check. Include it in bug reports.`,
		Example: "  agentlens version\n  AGENTLENS_KERNEL=generic agentlens version\n  agentlens version --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Version = f.Version
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	opts.addJSONFlag(cmd)
	return cmd
}

// versionSummary is the --json output of "agentlens version".
type versionSummary struct {
	Version   string             `json:"version"`
	GoVersion string             `json:"go_version"`
	OS        string             `json:"os"`
	Arch      string             `json:"arch"`
	Kernels   model.KernelChoice `json:"kernels"`
}

func versionRun(opts *versionOptions) error {
	v := opts.Version
	if v == "" {
		v = "unknown"
	}
	sum := versionSummary{Version: v, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Kernels: model.CurrentKernels()}
	if opts.JSON {
		return opts.print(sum)
	}
	_, err := fmt.Fprintf(opts.IO.Out, "agentlens %s (%s, %s/%s)\nkernels: %s\n", sum.Version, sum.GoVersion, sum.OS, sum.Arch, sum.Kernels)
	return err
}
