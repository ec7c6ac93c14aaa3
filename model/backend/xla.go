//go:build cgo && !noxla

package backend

import (
	"fmt"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
)

// xlaCompiled reports whether GoMLX's xla backend is linked into this binary.
const xlaCompiled = true

// newXLA loads the PJRT plugin at the absolute path and creates an XLA backend with the given number
// of CPU devices. It returns the backend and the plugin's PJRT C API version ("major.minor").
func newXLA(path string, devices int) (b backends.Backend, version string, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, version, err = nil, "", fmt.Errorf("%w: panic: %v", ErrPluginLoad, r)
		}
	}()
	// GoMLX's auto-install only runs for plugin names that are not absolute paths, and
	// GOMLX_NO_AUTO_INSTALL is read at init; switch it off explicitly as well so nothing in this
	// process downloads a plugin.
	xla.EnableAutoInstall(false)
	// "shared_buffers": the plugin is given by path, not called "cpu", so GoMLX would not enable
	// zero-copy host/device buffers by itself; on the CPU plugin device memory is host memory.
	// A CPU plugin shares host buffers and takes a device count; a GPU plugin (devices 0) neither:
	// its device memory is not host memory.
	opts, config := pjrt.NamedValuesMap{}, path
	if devices > 0 {
		opts["cpu_device_count"] = int64(devices)
		config += ",shared_buffers"
	}
	xb, err := xla.NewWithOptions(config, opts)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrPluginLoad, err)
	}
	// The plugin is cached by go-xla under its path, so this does not load it again.
	p, err := pjrt.GetPlugin(path)
	if err != nil {
		xb.Finalize()
		return nil, "", fmt.Errorf("%w: %v", ErrPluginLoad, err)
	}
	major, minor := p.Version()
	if major != 0 {
		xb.Finalize()
		return nil, "", fmt.Errorf("%w: plugin PJRT C API %d.%d, go-xla speaks 0.x", ErrPluginLoad, major, minor)
	}
	return xb, fmt.Sprintf("%d.%d", major, minor), nil
}
