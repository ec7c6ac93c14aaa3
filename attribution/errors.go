package attribution

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrBadInput means the arguments do not fit together: a target outside the tokens, a rendered
	// episode without tokens, a scores slice of the wrong length.
	ErrBadInput = errors.New("attribution: bad input")
)
