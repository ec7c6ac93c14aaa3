package organism

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrBadInput means options that do not fit together (too few emails for the clues, an unknown
	// method).
	ErrBadInput = errors.New("organism: bad input")
)
