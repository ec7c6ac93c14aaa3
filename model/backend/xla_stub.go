//go:build !cgo || noxla

package backend

import "github.com/gomlx/gomlx/backends"

// xlaCompiled reports whether GoMLX's xla backend is linked into this binary.
const xlaCompiled = false

// newXLA is the stub used without cgo: it always fails with ErrXLANotCompiled.
func newXLA(path string, devices int) (backends.Backend, string, error) {
	return nil, "", ErrXLANotCompiled
}
