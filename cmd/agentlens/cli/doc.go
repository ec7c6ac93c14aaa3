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
// model/hub); "version" prints the build. Later commands (trace show, run, attribute, bench, demo) plug
// into NewCmdRoot the same way.
package cli
