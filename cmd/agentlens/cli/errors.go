package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/cmd/agentlens/heatmap"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/backend"
	"github.com/agentlens/agentlens/model/gguf"
	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/ollama"
	"github.com/agentlens/agentlens/model/safetensors"
	"github.com/agentlens/agentlens/model/tokenizer"
	"github.com/agentlens/agentlens/probes"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/bundled"
	"github.com/agentlens/agentlens/trace/chat"
)

// Exit codes returned by Main, one per kind of failure, so that scripts can tell a bad file from a
// model that will not load. exitCode is the only place that maps errors to them.
const (
	// ExitOK means the command succeeded.
	ExitOK = 0
	// ExitError means an internal error: anything not classified below (a failed write, a bug).
	ExitError = 1
	// ExitUsage means the command line was wrong: unknown command or flag, bad arguments.
	ExitUsage = 2
	// ExitInput means an input was bad: a file missing or unreadable as what it should be (an
	// episode, a recording, a Parquet table, a segment rule, a chat template), a target that is not
	// there, data a method cannot take.
	ExitInput = 3
	// ExitModel means the model failed: not fetched or not downloadable, weights or tokenizer
	// unreadable or unsupported, the backend or its plugin would not start.
	ExitModel = 4
	// ExitCanceled means the command was interrupted (SIGINT/SIGTERM), as shells report 128+SIGINT.
	ExitCanceled = 130
)

var (
	// ErrSilent is returned by a command that has already told the user what went wrong; Main exits
	// with ExitError without printing anything more.
	ErrSilent = errors.New("silent error")
	// ErrModelNotFetched is returned for a model named by spec that is not in the cache.
	ErrModelNotFetched = errors.New("model not fetched")
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

// modelErrors are the sentinels of a model that cannot be had or run (ExitModel).
var modelErrors = []error{
	ErrModelNotFetched,
	model.ErrUnsupportedArchitecture, model.ErrMissingTensor, model.ErrShapeMismatch, model.ErrBadConfig,
	backend.ErrUnknownBackend, backend.ErrXLANotCompiled, backend.ErrPluginNotFound, backend.ErrPluginLoad,
	gguf.ErrFormat, gguf.ErrVersion, gguf.ErrUnsupportedType, gguf.ErrNotFound, gguf.ErrBadValue,
	safetensors.ErrFormat, safetensors.ErrUnknownDType, safetensors.ErrUnsupportedDType, safetensors.ErrNotFound,
	tokenizer.ErrMalformed, tokenizer.ErrUnsupported,
	ollama.ErrBadReference, ollama.ErrNotFound, ollama.ErrBadManifest,
	hub.ErrInvalidSpec, hub.ErrNotFound, hub.ErrNoWheel, hub.ErrDigestMismatch, hub.ErrSizeMismatch, hub.ErrTruncated,
	hub.ErrMissingMember, hub.ErrUnsafeEntry, hub.ErrTooLarge,
	hub.ErrNotCached, hub.ErrOffline, hub.ErrNoModelFiles, hub.ErrUnauthorized, hub.ErrGated, hub.ErrHubNotFound, hub.ErrChecksum,
}

// inputErrors are the sentinels of bad input data (ExitInput).
var inputErrors = []error{
	fs.ErrNotExist, fs.ErrPermission,
	trace.ErrMalformedTag, trace.ErrUnknownRole, trace.ErrFormat, trace.ErrUnknownFormat, trace.ErrUnsafePath,
	trace.ErrTooLarge, trace.ErrMissingFile, trace.ErrNoTarget, trace.ErrBadTarget, trace.ErrUnknownSegment,
	trace.ErrNotRendered, trace.ErrBadOption, trace.ErrBadRule, trace.ErrTokenizer,
	bundled.ErrUnknownEpisode, chat.ErrNoTemplate, chat.ErrSyntax, chat.ErrRaised, chat.ErrRender,
	data.ErrSchema, data.ErrSchemaVersion, data.ErrManifest, data.ErrTaskMismatch, data.ErrShardCorrupt, data.ErrShardsMissing,
	data.ErrShardsDisagree, probes.ErrInput, probes.ErrOneClass, attribution.ErrBadInput, model.ErrBadInput,
	heatmap.ErrShape,
}

// exitCode maps an error returned by a command to the process exit code. It is the only place that
// does so: interrupted, then usage, then model, then input, else internal.
func exitCode(err error) int {
	var fe *FlagError
	var syntax *json.SyntaxError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitCanceled
	case errors.As(err, &fe), errors.Is(err, hub.ErrUnknownSpec), isCobraUsageError(err):
		return ExitUsage
	case isAny(err, modelErrors):
		return ExitModel
	case isAny(err, inputErrors), errors.As(err, &syntax):
		return ExitInput
	default:
		return ExitError
	}
}

// isAny reports whether err is any of the targets.
func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
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
