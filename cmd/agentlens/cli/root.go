package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Main runs the agentlens command line on the process's arguments, streams and environment, and returns
// the exit code. The first SIGINT or SIGTERM cancels the command's context (a command stops at its
// next check: between episodes, chunks, methods); a second one kills the process, since a long model
// pass does not look at the context. On Linux it first re-executes itself once with allocator
// tunables for the XLA backend (see mallocTunables).
func Main() int {
	tuneMalloc()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // the next signal gets the default action
	}()
	return Run(ctx, NewFactory(), os.Args[1:])
}

// Run executes the command tree built from f on args (without the program name), prints any error to
// f.IO.ErrOut and returns the exit code.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	path := root.CommandPath()
	if cmd != nil {
		path = cmd.CommandPath()
	}
	printError(f.IO.ErrOut, err, path)
	return exitCode(err)
}

// NewCmdRoot returns the agentlens root command with all subcommands.
func NewCmdRoot(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agentlens <command> [flags]",
		Short: "Mechanistic interpretability of multi-turn LLM agent traces",
		Long: `agentlens loads open-weight decoders, renders and tokenises agent traces exactly like
Hugging Face, runs models with TransformerLens hook names, and attributes harmful
agent actions to the emails and tool calls that caused them.

See 'agentlens help environment' for the environment variables and exit codes, and
'agentlens completion --help' for shell completion.`,
		Example: `  agentlens model fetch all
  agentlens demo
  agentlens trace show bundled:blackmail --model smollm2
  agentlens data generate --out selfpres
  agentlens bench --jobs gradient:1k --backend xla`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.PersistentFlags().StringVar(&f.CacheDirFlag, "cache", "",
		"cache `dir`ectory for models and plugins (default $"+EnvCache+" or $HOME/.cache/agentlens)")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &FlagError{Err: err}
	})
	cmd.CompletionOptions.DisableDefaultCmd = true

	cmd.AddGroup(&cobra.Group{ID: groupModels, Title: "Models:"})
	cmd.AddGroup(&cobra.Group{ID: groupAnalysis, Title: "Traces and analysis:"})
	cmd.AddCommand(
		newCmdModel(f),
		newCmdVersion(f, nil),
		newCmdBench(f, nil),
		newCmdDemo(f, nil),
		newCmdAttribute(f, nil),
		newCmdTrace(f),
		newCmdData(f),
		newCmdCapture(f, nil),
		newCmdRollout(f, nil),
		newCmdProbe(f),
		newCmdHeatmap(f, nil),
		newCmdCompletion(f),
		newCmdEnvironment(),
		newCmdOrganism(f),
		newCmdMerge(f, nil),
		newCmdDeploy(f, nil),
		// Later commands register here, each newCmdX(f, nil) in its own file, in group groupAnalysis.
	)
	registerCompletions(cmd)
	return cmd
}

// Command group IDs for the root help.
const (
	groupModels   = "models"
	groupAnalysis = "analysis"
)

// exactArgs is cobra.ExactArgs returning a FlagError.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &FlagError{Err: err}
		}
		return nil
	}
}
