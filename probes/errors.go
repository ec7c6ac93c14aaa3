package probes

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrInput means the examples cannot be trained or scored on: no rows, rows of different lengths,
	// NaN or ±Inf, labels and rows of different counts, or a feature count that differs from a probe's.
	ErrInput = errors.New("bad probe input")
	// ErrOneClass means a training or evaluation set holds only one label, so there is nothing to
	// separate (or no false-positive rate to set a threshold on).
	ErrOneClass = errors.New("only one class")
)
