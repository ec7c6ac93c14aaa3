package isa

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/cpu"
)

// EnvKernel names the environment variable that forces a level: generic, avx2 or avx512.
const EnvKernel = "AGENTLENS_KERNEL"

// Level is an instruction-set level a kernel needs, ordered: a CPU at one level runs every level below.
type Level int

// The levels, lowest first.
const (
	Generic Level = iota // pure Go, any CPU
	AVX2                 // amd64 with AVX2 and FMA
	AVX512               // amd64 with AVX-512F (plus AVX2 and FMA)
)

var levelNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

// String returns the level's name as AGENTLENS_KERNEL spells it.
func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel reads a level name (generic, avx2 or avx512; "go" and "purego" mean generic).
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "generic", "go", "purego":
		return Generic, nil
	case "avx2":
		return AVX2, nil
	case "avx512", "avx-512":
		return AVX512, nil
	}
	return 0, fmt.Errorf("%s=%q: want generic, avx2 or avx512", EnvKernel, s)
}

// CPULevel returns the highest level this CPU (and this build: amd64 without the purego tag) runs.
func CPULevel() Level {
	if runtime.GOARCH != "amd64" || purego {
		return Generic
	}
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return AVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return AVX2
	}
	return Generic
}

// Choice is the level the kernels may use: the CPU's, or the one AGENTLENS_KERNEL forces.
type Choice struct {
	Max    Level // highest level to use
	Forced bool  // AGENTLENS_KERNEL named a level the CPU has: use it even if its self-check fails
}

// Choose combines the CPU's level with the value of AGENTLENS_KERNEL (empty: not set). A forced level
// above the CPU's is capped at the CPU's, with a warning; an unknown value is ignored with a warning.
func Choose(cpuLevel Level, env string) (Choice, []string) {
	if strings.TrimSpace(env) == "" {
		return Choice{Max: cpuLevel}, nil
	}
	l, err := ParseLevel(env)
	if err != nil {
		return Choice{Max: cpuLevel}, []string{err.Error() + "; ignored"}
	}
	if l > cpuLevel {
		return Choice{Max: cpuLevel}, []string{fmt.Sprintf("%s=%s: this CPU runs at most %s; using that",
			EnvKernel, l, cpuLevel)}
	}
	return Choice{Max: l, Forced: true}, nil
}

var current = sync.OnceValue(func() Choice {
	c, warnings := Choose(CPULevel(), os.Getenv(EnvKernel))
	for _, w := range warnings {
		Warn("%s", w)
	}
	return c
})

// Current returns this process's choice: CPULevel capped by AGENTLENS_KERNEL, read once.
func Current() Choice { return current() }

var warned sync.Map

// Warn prints "agentlens: <message>" on stderr, once per distinct message per process.
func Warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if _, dup := warned.LoadOrStore(msg, true); dup {
		return
	}
	fmt.Fprintf(os.Stderr, "agentlens: %s\n", msg)
}

// Candidate is one kernel of a family, with the level it needs.
type Candidate[K any] struct {
	Name   string
	Level  Level
	Kernel K
}

// Select returns the first candidate (best first) whose level the choice allows and whose check
// passes, with a warning for each one skipped because its check failed. check returns nil when the
// kernel agrees with the reference. The last allowed candidate is taken whatever its check says (it
// is the reference itself, the pure-Go kernel); a forced choice takes its first allowed candidate and
// only warns when that fails. family names the kernels in warnings ("sgemm micro-kernel").
func Select[K any](family string, c Choice, cands []Candidate[K], check func(K) error) (Candidate[K], []string) {
	var allowed []Candidate[K]
	for _, cd := range cands {
		if cd.Level <= c.Max {
			allowed = append(allowed, cd)
		}
	}
	if len(allowed) == 0 {
		panic("isa: no " + family + " candidate at level " + c.Max.String())
	}
	var warnings []string
	for i, cd := range allowed {
		last := i == len(allowed)-1
		err := check(cd.Kernel)
		if err == nil {
			return cd, warnings
		}
		if c.Forced {
			warnings = append(warnings, fmt.Sprintf("%s %s failed its self-check (%v); using it anyway, as %s=%s asks",
				family, cd.Name, err, EnvKernel, c.Max))
			return cd, warnings
		}
		if last {
			warnings = append(warnings, fmt.Sprintf("%s %s (the last one) failed its self-check (%v); using it anyway",
				family, cd.Name, err))
			return cd, warnings
		}
		warnings = append(warnings, fmt.Sprintf("%s %s failed its self-check (%v); falling back to %s",
			family, cd.Name, err, allowed[i+1].Name))
	}
	panic("unreachable")
}
