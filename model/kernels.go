package model

import (
	"fmt"

	"github.com/agentlens/agentlens/model/internal/isa"
	"github.com/agentlens/agentlens/model/internal/sgemm"
	"github.com/agentlens/agentlens/model/internal/vmath"
)

// Kernels describes the CPU kernels this process computes with: the instruction-set level the CPU has,
// the level in use (AGENTLENS_KERNEL may force a lower one), and the matmul and vector kernels chosen
// after their start-up self-checks, e.g. "cpu avx512, using avx512: sgemm avx512-12x32+avx2, vmath
// avx2". Bug reports and benchmark headers carry it.
func Kernels() string {
	c := isa.Current()
	use := c.Max.String()
	if c.Forced {
		use += " (" + isa.EnvKernel + ")"
	}
	return fmt.Sprintf("cpu %s, using %s: sgemm %s, vmath %s", isa.CPULevel(), use, sgemm.KernelName(), vmath.KernelName())
}
