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
}

func newCmdVersion(f *Factory, runF func(*versionOptions) error) *cobra.Command {
	opts := &versionOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the agentlens version",
		Long: `Print the agentlens version and the CPU kernels this machine computes with: the instruction-set
level the CPU has, the one in use (AGENTLENS_KERNEL=generic|avx2|avx512 forces a lower one), and the
matmul and vector kernels that passed their start-up self-check. Include it in bug reports.`,
		Example: "  agentlens version\n  AGENTLENS_KERNEL=generic agentlens version",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Version = f.Version
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *versionOptions) error {
	v := opts.Version
	if v == "" {
		v = "unknown"
	}
	_, err := fmt.Fprintf(opts.IO.Out, "agentlens %s (%s, %s/%s)\nkernels: %s\n", v, runtime.Version(), runtime.GOOS,
		runtime.GOARCH, model.Kernels())
	return err
}
