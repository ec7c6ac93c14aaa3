package backend

import "errors"

var (
	// ErrUnknownBackend is returned for a backend name other than "auto", "go" and "xla".
	ErrUnknownBackend = errors.New("unknown backend")
	// ErrXLANotCompiled is returned when the xla backend is asked for in a binary built without cgo
	// (or with the noxla build tag).
	ErrXLANotCompiled = errors.New("xla backend not compiled in (needs cgo)")
	// ErrPluginNotFound is returned when no PJRT CPU plugin file exists where the xla backend looks.
	ErrPluginNotFound = errors.New("pjrt plugin not found")
	// ErrPluginLoad is returned when the PJRT plugin exists but cannot be loaded or initialised.
	ErrPluginLoad = errors.New("pjrt plugin load failed")
)
