package agent

import "errors"

var (
	// ErrBadEpisode is returned for an episode Run cannot continue: no messages, or a last message that is
	// the assistant's (there is no decision left to generate).
	ErrBadEpisode = errors.New("episode cannot be continued")
	// ErrBadOption is returned for a missing Render function or Generator, or an unknown Syntax.
	ErrBadOption = errors.New("bad option")
	// ErrStopReason is returned when a Generator reports a stop reason other than StopEndOfTurn and
	// StopMaxTokens.
	ErrStopReason = errors.New("unknown stop reason")
)
