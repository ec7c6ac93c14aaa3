package bench

import (
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"
)

// cpuFeatures are the x86 feature flags that decide a CPU kind's feature level.
type cpuFeatures struct {
	AVX512F, AVX512BW, AVX512DQ, AVX512VL bool
	AVX2, FMA                             bool
}

// CPUKind names the kind of CPU this process runs on, for keeping one speed table per kind: key is
// "<vendor>-<level>" ("amd-avx2", "intel-avx512", "intel-avx2", "arm64-generic") and label is human
// text with the model name and features ("AMD EPYC 7B13, AVX2 (no AVX-512)").
//
// The vendor comes from /proc/cpuinfo's vendor_id (AuthenticAMD → amd, GenuineIntel → intel), else
// it is GOARCH. The level is the highest the hardware has, whatever AGENTLENS_KERNEL asks the kernels
// to use: avx512 needs avx512f, avx512bw, avx512dq and avx512vl; avx2 needs avx2 and fma; anything
// else is generic. The flags come from golang.org/x/sys/cpu, which honours GODEBUG's cpu.* options, so
// GODEBUG=cpu.avx512f=off makes an AVX-512 machine report avx2.
func CPUKind() (key, label string) {
	vendor, modelName := readCPUInfo("/proc/cpuinfo")
	f := cpuFeatures{
		AVX512F: cpu.X86.HasAVX512F, AVX512BW: cpu.X86.HasAVX512BW,
		AVX512DQ: cpu.X86.HasAVX512DQ, AVX512VL: cpu.X86.HasAVX512VL,
		AVX2: cpu.X86.HasAVX2, FMA: cpu.X86.HasFMA,
	}
	return cpuKind(vendor, modelName, runtime.GOARCH, f)
}

// readCPUInfo returns the first vendor_id and model name in a /proc/cpuinfo file; both are empty when
// the file cannot be read or lacks them (as on non-Linux systems and most arm64 kernels).
func readCPUInfo(path string) (vendor, modelName string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "vendor_id":
			if vendor == "" {
				vendor = strings.TrimSpace(v)
			}
		case "model name":
			if modelName == "" {
				modelName = strings.TrimSpace(v)
			}
		}
		if vendor != "" && modelName != "" {
			break
		}
	}
	return vendor, modelName
}

// cpuKind is CPUKind's logic: vendor is /proc/cpuinfo's vendor_id, modelName its model name (either
// may be empty), goarch the Go architecture and f the CPU's feature flags.
func cpuKind(vendor, modelName, goarch string, f cpuFeatures) (key, label string) {
	prefix := goarch
	switch vendor {
	case "AuthenticAMD":
		prefix = "amd"
	case "GenuineIntel":
		prefix = "intel"
	}
	level, features := "generic", goarch
	switch {
	case f.AVX512F && f.AVX512BW && f.AVX512DQ && f.AVX512VL:
		level, features = "avx512", "AVX-512 (avx512f/bw/dq/vl)"
	case f.AVX2 && f.FMA && f.AVX512F:
		level, features = "avx2", "AVX2 (AVX-512 without all of avx512bw/dq/vl)"
	case f.AVX2 && f.FMA:
		level, features = "avx2", "AVX2 (no AVX-512)"
	case goarch == "amd64" || goarch == "386":
		features = "no AVX2+FMA"
	}
	name := modelName
	if name == "" {
		name = vendor
	}
	if name == "" {
		name = goarch
	}
	if name == features {
		return prefix + "-" + level, name
	}
	return prefix + "-" + level, name + ", " + features
}
