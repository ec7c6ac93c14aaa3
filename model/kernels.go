package model

import (
	"fmt"

	"github.com/agentlens/agentlens/model/internal/isa"
	"github.com/agentlens/agentlens/model/internal/sgemm"
	"github.com/agentlens/agentlens/model/internal/vmath"
)

// KernelChoice is the structured form of Kernels: the instruction-set level the CPU has, the level in
// use, whether AGENTLENS_KERNEL forced it, and the matmul and vector kernels chosen after their
// start-up self-checks.
type KernelChoice struct {
	CPU    string `json:"cpu"`    // generic, avx2 or avx512
	Using  string `json:"using"`  // the level the kernels may use
	Forced bool   `json:"forced"` // AGENTLENS_KERNEL chose Using
	SGEMM  string `json:"sgemm"`  // the matmul kernel, e.g. "avx512-12x32+avx2"
	// SGEMMRace is the start-up timing that chose the micro-kernel among several that passed their
	// self-checks, the chosen one first ("avx512-12x32 T1 ms, avx2-6x16 T2 ms"); empty when there was
	// no choice to time or AGENTLENS_KERNEL forced the level.
	SGEMMRace string `json:"sgemm_race,omitempty"`
	VMath     string `json:"vmath"` // the vector kernel, e.g. "avx2"
}

// Kernels describes the CPU kernels this process computes with in one line (KernelChoice.String).
// Bug reports and benchmark headers carry it.
func Kernels() string { return CurrentKernels().String() }

// CurrentKernels returns the kernels this process computes with.
func CurrentKernels() KernelChoice {
	c := isa.Current()
	return KernelChoice{CPU: isa.CPULevel().String(), Using: c.Max.String(), Forced: c.Forced,
		SGEMM: sgemm.KernelName(), SGEMMRace: sgemm.KernelRace(), VMath: vmath.KernelName()}
}

// String describes the kernels in one line, e.g. "cpu avx512, using avx512: sgemm avx512-12x32+avx2
// (timed: avx512-12x32 T1 ms, avx2-6x16 T2 ms), vmath avx2".
func (k KernelChoice) String() string {
	use := k.Using
	if k.Forced {
		use += " (" + isa.EnvKernel + ")"
	}
	race := ""
	if k.SGEMMRace != "" {
		race = " (timed: " + k.SGEMMRace + ")"
	}
	return fmt.Sprintf("cpu %s, using %s: sgemm %s%s, vmath %s", k.CPU, use, k.SGEMM, race, k.VMath)
}
