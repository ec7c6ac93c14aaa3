package bench

import "errors"

var (
	// ErrBadJob is returned for a job specification that does not parse or names an unknown kind.
	ErrBadJob = errors.New("bad job")
	// ErrChild is returned when a child process fails or writes no result.
	ErrChild = errors.New("child process failed")
	// ErrNoChildCommand is returned by Run when Options.ChildCommand is nil.
	ErrNoChildCommand = errors.New("no child command")
	// ErrModel is returned when the model's vocabulary size cannot be read from its file.
	ErrModel = errors.New("cannot read model")
	// ErrMarkers is returned by SpliceTables for a readme whose bench table markers are missing or
	// malformed.
	ErrMarkers = errors.New("bad bench table markers")
)
