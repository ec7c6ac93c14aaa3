package heatmap

import "errors"

// Errors of the figure writers.
var (
	// ErrFormat is an unknown figure format.
	ErrFormat = errors.New("unknown figure format")
	// ErrWidth is a figure width that cannot be read or is out of range.
	ErrWidth = errors.New("bad figure width")
	// ErrShape is figure data whose parts do not fit together (a ragged matrix, a series without points).
	ErrShape = errors.New("figure data do not fit together")
)
