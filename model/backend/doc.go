// Package backend chooses and creates the GoMLX backend agentlens runs models on: "go" (SimpleGo,
// pure Go), "xla" (XLA through the PJRT CPU plugin of the PyPI wheel xla-cpu-pjrt) or "auto" (XLA when
// its plugin loads, else go). A backend here is a GoMLX backends.Backend; New also returns an Info that
// says which one was chosen and why, for the caller to print.
//
// # Choosing
//
// New(name, opts) takes "auto", "go" or "xla"; an empty name reads $AGENTLENS_BACKEND and defaults to
// "auto". "go" is simplego.New(DefaultGoConfig). "xla" loads the plugin by absolute path (first
// PluginFileName in the directories of $PJRT_PLUGIN_LIBRARY_PATH, then
// <cache>/pjrt/pjrt_c_api_cpu_plugin.so with cache = Options.CacheDir, $AGENTLENS_CACHE or
// ~/.cache/agentlens) and fails if it cannot. "auto" falls back to go on any XLA failure and puts the
// XLA error in Info.Reason. GoMLX never downloads anything through this package: the plugin is always
// given by absolute path, which bypasses GoMLX's auto-install, and auto-install is also switched off.
// backends/default is never imported.
//
// # Build
//
// GoMLX's backends/xla (and go-xla's pjrt package under it) is linked in by the file xla.go, built
// when cgo is on (the default wherever a C compiler is found) and the noxla tag is absent. It needs
// only libc headers and libdl at build time (go-xla ships its own pjrt_c_api.h and dlopens the plugin
// at run time), so a Debian machine with gcc builds it with no extra packages. With CGO_ENABLED=0 or
// -tags noxla a stub is built instead and "xla" fails with ErrXLANotCompiled ("auto" picks go).
//
// # The xla-cpu-pjrt plugin and GoMLX v0.26.0
//
// GoMLX v0.26.0 uses go-xla v0.1.4, compiled against the PJRT C API 0.83 header. The only
// xla-cpu-pjrt release on PyPI, 0.0.1 (manylinux_2_27 x86_64), ships xla_plugins/xla_cpu_pjrt/
// xla_cpu_pjrt.so exporting GetPjrtApi (the symbol go-xla looks up) and reports PJRT C API 0.81,
// StableHLO 0.9.0–1.13.3. It loads and runs: 0.83 differs from 0.81 only by two functions appended to
// the end of the API table (PJRT_Client_CreateErrorBuffer,
// PJRT_AsyncHostToDeviceTransferManager_TransferLiteral) and one appended extension enum value, none of
// which go-xla calls, and every argument struct carries its struct_size. go-xla does not check the
// minor version; New refuses only a major version other than 0 and reports the version in Info.
// go-xla finds plugins by the file name pjrt_c_api_<name>_plugin.so; this package passes an absolute
// path instead, so the name only matters to go-xla's own search, and is PluginFileName.
//
// The plugin is created with one CPU device (Options.XLADevices; the plugin's default is 4, GoMLX uses
// device 0 only) and with shared buffers: on the CPU plugin device memory is host memory, so a tensor
// materialised on the device is a view of a Go-allocated, aligned slice and its host copy is freed.
//
// # Keeping weights on the device
//
// graph.Exec accepts *tensors.Tensor arguments and moves each to the device the first time it is used
// (Tensor.MaterializeOnDevice, or implicitly in Exec); it is not donated, so it stays there and later
// executions reuse the same device buffer with no copy. Go slices and other Go values passed to Exec
// are instead converted and uploaded on every call. So: build each weight once as a *tensors.Tensor
// (tensors.FromFlatDataAndDimensions), optionally call MaterializeOnDevice(backend, true, 0) at load
// time, and pass the same tensors to every execution; outputs come back as on-device tensors and can
// be fed to the next execution without a round trip. Use graph.DonateTensorBuffer for an input whose
// value is not needed afterwards (a layer's residual input), so XLA may reuse its memory.
package backend
