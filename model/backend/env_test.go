package backend

import (
	"os"
	"testing"

	"github.com/agentlens/agentlens/model/internal/isa"
)

// TestCapXLAISA checks that a forced kernel level reaches XLA as --xla_cpu_max_isa (XLA then logs
// "`xla_cpu_max_isa` is set. Will not use features newer than: AVX2"), that an unforced choice leaves
// XLA_FLAGS alone, and that a cap the user set is kept and reported.
func TestCapXLAISA(t *testing.T) {
	cases := []struct {
		name      string
		flags     string
		choice    isa.Choice
		want      string
		wantFlags string
	}{
		{"unforced", "", isa.Choice{Max: isa.AVX512}, "", ""},
		{"forced_avx2", "", isa.Choice{Max: isa.AVX2, Forced: true}, "AVX2", "--xla_cpu_max_isa=AVX2"},
		{"forced_generic_keeps_flags", "--xla_cpu_enable_fast_math=false", isa.Choice{Max: isa.Generic, Forced: true},
			"SSE4_2", "--xla_cpu_enable_fast_math=false --xla_cpu_max_isa=SSE4_2"},
		{"user_cap_wins", "--xla_cpu_max_isa=AVX --foo", isa.Choice{Max: isa.AVX2, Forced: true}, "AVX",
			"--xla_cpu_max_isa=AVX --foo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvXLAFlags, tc.flags)
			if got := capXLAISA(tc.choice); got != tc.want {
				t.Errorf("capXLAISA(%+v) = %q, want %q", tc.choice, got, tc.want)
			}
			if got := os.Getenv(EnvXLAFlags); got != tc.wantFlags {
				t.Errorf("XLA_FLAGS = %q, want %q", got, tc.wantFlags)
			}
		})
	}
}
