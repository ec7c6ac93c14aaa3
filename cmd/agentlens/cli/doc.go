// Package cli is the agentlens command line: a cobra command tree built from a Factory, which holds
// everything a command reaches outside itself (IO streams, environment, cache directory, HTTP client,
// the known model specs), so tests can substitute each.
//
// Each command follows one pattern: an xOptions struct filled from flags and the Factory,
// newCmdX(f, runF) building the cobra.Command (runF, when non-nil, replaces the real run so tests can
// check flag parsing), and xRun(opts) doing the work. Errors are returned, never printed by commands;
// Main prints them once and maps them to exit codes (see ExitOK and friends in errors.go).
//
// Commands: "model fetch" downloads model files and the XLA CPU plugin into the cache (package
// model/hub); "version" prints the build; trace, data, capture, attribute, demo, probe and bench do
// the analysis; "heatmap" redraws any figure (or the episode viewer) from the Parquet table that holds
// it; "completion" prints shell completion scripts; "help environment" lists the environment variables
// and exit codes. Every command that draws takes the figure flags of figureOptions (--format,
// --figure-width, --dpi, --no-title) and builds its figures from its table rows (figures.go), so the
// job and "heatmap" draw the same figure. Every command that prints a result (all but completion and
// the environment help topic) takes --json: stdout then holds exactly one JSON document, its field
// names the snake_case Parquet column names where the same quantity is stored, while progress and
// warnings stay on stderr; the commands added since attribute, demo and heatmap share jsonOutput
// (jsonout.go) for it. Exit codes: ExitError (internal), ExitUsage, ExitInput,
// ExitModel, ExitCanceled, chosen in exitCode from the packages' sentinel errors.
package cli
