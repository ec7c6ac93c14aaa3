package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/agentlens/agentlens/model/hub"
)

// Exit codes returned by Main.
const (
	// ExitOK means the command succeeded.
	ExitOK = 0
	// ExitError means the command failed.
	ExitError = 1
	// ExitUsage means the command line was wrong: unknown command or flag, bad arguments.
	ExitUsage = 2
	// ExitCanceled means the command was interrupted (SIGINT/SIGTERM), as shells report 128+SIGINT.
	ExitCanceled = 130
)

var (
	// ErrSilent is returned by a command that has already told the user what went wrong; Main exits
	// with ExitError without printing anything more.
	ErrSilent = errors.New("silent error")
)

// FlagError is a usage error: bad flags or arguments. Main prints it with a hint to run --help and
// exits with ExitUsage.
type FlagError struct {
	Err error
}

func (e *FlagError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FlagError) Unwrap() error { return e.Err }

// flagErrorf returns a FlagError with a formatted message.
func flagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// exitCode maps an error returned by a command to the process exit code. It is the only place that
// does so.
func exitCode(err error) int {
	var fe *FlagError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitCanceled
	case errors.As(err, &fe), errors.Is(err, hub.ErrUnknownSpec), isCobraUsageError(err):
		return ExitUsage
	default:
		return ExitError
	}
}

// isCobraUsageError recognises the usage errors cobra returns as plain errors.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command ") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.HasPrefix(msg, "flag needs an argument") ||
		strings.HasPrefix(msg, "invalid argument ") || strings.HasPrefix(msg, "required flag")
}

// printError writes err to w the way Main reports it, with a hint for usage errors.
func printError(w io.Writer, err error, cmdPath string) {
	switch code := exitCode(err); {
	case code == ExitOK, errors.Is(err, ErrSilent):
		return
	case code == ExitCanceled:
		fmt.Fprintln(w, "agentlens: interrupted")
	case code == ExitUsage:
		fmt.Fprintf(w, "agentlens: %v\nRun '%s --help' for usage.\n", err, cmdPath)
	default:
		fmt.Fprintf(w, "agentlens: %v\n", err)
	}
}
