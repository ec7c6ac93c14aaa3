package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// versionOptions are the inputs of "agentlens version".
type versionOptions struct {
	IO      *IOStreams
	Version string
}

func newCmdVersion(f *Factory, runF func(*versionOptions) error) *cobra.Command {
	opts := &versionOptions{IO: f.IO}
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the agentlens version",
		Example: "  agentlens version",
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
	_, err := fmt.Fprintf(opts.IO.Out, "agentlens %s (%s, %s/%s)\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
