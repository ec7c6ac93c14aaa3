package bench

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestCPUKindOf(t *testing.T) {
	avx512 := cpuFeatures{AVX512F: true, AVX512BW: true, AVX512DQ: true, AVX512VL: true, AVX2: true, FMA: true}
	avx2 := cpuFeatures{AVX2: true, FMA: true}
	tests := []struct {
		name                      string
		vendor, modelName, goarch string
		f                         cpuFeatures
		key, label                string
	}{
		{"amd zen3", "AuthenticAMD", "AMD EPYC 7B13", "amd64", avx2,
			"amd-avx2", "AMD EPYC 7B13, AVX2 (no AVX-512)"},
		{"amd zen4", "AuthenticAMD", "AMD EPYC 9B14", "amd64", avx512,
			"amd-avx512", "AMD EPYC 9B14, AVX-512 (avx512f/bw/dq/vl)"},
		{"intel xeon avx512", "GenuineIntel", "Intel(R) Xeon(R) CPU @ 2.20GHz", "amd64", avx512,
			"intel-avx512", "Intel(R) Xeon(R) CPU @ 2.20GHz, AVX-512 (avx512f/bw/dq/vl)"},
		{"intel avx2", "GenuineIntel", "Intel(R) Core(TM) i7-8700", "amd64", avx2,
			"intel-avx2", "Intel(R) Core(TM) i7-8700, AVX2 (no AVX-512)"},
		{"intel avx512f only", "GenuineIntel", "Intel Xeon Phi", "amd64",
			cpuFeatures{AVX512F: true, AVX2: true, FMA: true},
			"intel-avx2", "Intel Xeon Phi, AVX2 (AVX-512 without all of avx512bw/dq/vl)"},
		{"avx2 without fma", "GenuineIntel", "Odd CPU", "amd64", cpuFeatures{AVX2: true},
			"intel-generic", "Odd CPU, no AVX2+FMA"},
		{"amd no model name", "AuthenticAMD", "", "amd64", avx2,
			"amd-avx2", "AuthenticAMD, AVX2 (no AVX-512)"},
		{"other x86 vendor", "HygonGenuine", "Hygon C86", "amd64", avx2,
			"amd64-avx2", "Hygon C86, AVX2 (no AVX-512)"},
		{"arm64 no cpuinfo", "", "", "arm64", cpuFeatures{},
			"arm64-generic", "arm64"},
		{"arm64 named", "", "Neoverse-N1", "arm64", cpuFeatures{},
			"arm64-generic", "Neoverse-N1, arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, label := cpuKind(tt.vendor, tt.modelName, tt.goarch, tt.f)
			if key != tt.key || label != tt.label {
				t.Errorf("cpuKind(%q, %q, %q, %+v) = %q, %q, want %q, %q",
					tt.vendor, tt.modelName, tt.goarch, tt.f, key, label, tt.key, tt.label)
			}
		})
	}
}

func TestReadCPUInfo(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cpuinfo")
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu avx2\n\n" +
		"processor\t: 1\nvendor_id\t: OtherVendor\nmodel name\t: Other\n"
	if err := os.WriteFile(p, []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, m := readCPUInfo(p); v != "AuthenticAMD" || m != "AMD EPYC 7B13" {
		t.Errorf("readCPUInfo = %q, %q, want %q, %q", v, m, "AuthenticAMD", "AMD EPYC 7B13")
	}
	if v, m := readCPUInfo(filepath.Join(dir, "missing")); v != "" || m != "" {
		t.Errorf("readCPUInfo(missing) = %q, %q, want empty", v, m)
	}
}

// TestCPUKindHost checks only the shape of the host's answer: the key is a valid table key and the
// label one line.
func TestCPUKindHost(t *testing.T) {
	key, label := CPUKind()
	if !regexp.MustCompile(`^[a-z0-9]+-(avx512|avx2|generic)$`).MatchString(key) {
		t.Errorf("CPUKind() key = %q, want <vendor>-<level>", key)
	}
	if label == "" || regexp.MustCompile(`[\r\n]`).MatchString(label) {
		t.Errorf("CPUKind() label = %q, want one non-empty line", label)
	}
	t.Logf("CPUKind() = %q, %q", key, label)
}
