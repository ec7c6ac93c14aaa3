package bundled

import "errors"

var (
	// ErrUnknownEpisode is returned by Episode for a name that is not bundled.
	ErrUnknownEpisode = errors.New("unknown bundled episode")
)
