package fastdot

import "errors"

// ErrUnsupportedGoMLX reports that the linked GoMLX is not the version (or does not have the SimpleGo
// internals) this package was written against; Install then leaves the stock executor in place.
var ErrUnsupportedGoMLX = errors.New("unsupported gomlx version")
