package isa_test

import (
	"fmt"

	"github.com/agentlens/agentlens/model/internal/isa"
)

// ExampleChoose shows AGENTLENS_KERNEL capping an AVX-512 CPU at the AVX2 kernels, and asking for more
// than the CPU has.
func ExampleChoose() {
	c, _ := isa.Choose(isa.AVX512, "avx2")
	fmt.Println(c.Max, c.Forced)
	c, warnings := isa.Choose(isa.AVX2, "avx512")
	fmt.Println(c.Max, c.Forced, warnings)
	// Output:
	// avx2 true
	// avx2 false [AGENTLENS_KERNEL=avx512: this CPU runs at most avx2; using that]
}
