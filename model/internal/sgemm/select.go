package sgemm

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/agentlens/agentlens/model/internal/isa"
)

// kernelSet is the micro-kernel and the GEMV kernels one process uses.
type kernelSet struct {
	gemm *kernel
	vec  *vecKernels
	// raced holds the micro-kernels timed against each other at start-up (empty when fewer than two
	// assembly kernels were candidates, or the level was forced), the chosen one first.
	raced []raceTime
}

// raceTime is one micro-kernel's best time on the start-up race's product.
type raceTime struct {
	name string
	d    time.Duration
}

// chosen picks, once per process, the kernels this CPU runs (capped or forced by AGENTLENS_KERNEL)
// that pass their self-check, warning on stderr about any that fail; among several assembly
// micro-kernels that pass, the fastest on this CPU (raceGemm).
var chosen = sync.OnceValue(func() kernelSet {
	ks, warnings := choose(isa.Current(), archKernels(), archVecKernels())
	for _, w := range warnings {
		isa.Warn("%s", w)
	}
	if !isa.Current().Forced {
		ks.gemm, ks.raced = raceGemm(ks.gemm, archKernels(), isa.Current().Max, timeKernel)
	}
	return ks
})

// choose selects from the candidate kernels (best first, generic last) under c: the first allowed one
// whose self-check agrees with the generic kernels, with a warning for each one that does not.
func choose(c isa.Choice, gemms []*kernel, vecs []*vecKernels) (kernelSet, []string) {
	gc := make([]isa.Candidate[*kernel], len(gemms))
	for i, k := range gemms {
		gc[i] = isa.Candidate[*kernel]{Name: k.name, Level: k.level, Kernel: k}
	}
	vc := make([]isa.Candidate[*vecKernels], len(vecs))
	for i, v := range vecs {
		vc[i] = isa.Candidate[*vecKernels]{Name: v.name, Level: v.level, Kernel: v}
	}
	g, w1 := isa.Select("sgemm micro-kernel", c, gc, checkGemmKernel)
	v, w2 := isa.Select("sgemm GEMV kernel", c, vc, checkVecKernels)
	return kernelSet{gemm: g.Kernel, vec: v.Kernel}, append(w1, w2...)
}

// selfCheckShape is one product of a self-check.
type selfCheckShape struct {
	transA, transB bool
	m, n, k        int
	beta           float32
}

// gemmCheckShapes are the blocked-path shapes that exercise a micro-kernel of tile mr×nr at its edges:
// a full tile, half a tile of rows (the shape of the AVX-512 packing bug), one and a half and two
// tiles plus one, one short of a tile, with each transpose and both beta cases.
func gemmCheckShapes(mr, nr int) []selfCheckShape {
	dims := [][3]int{
		{mr, nr, 4}, {max(2, mr/2), nr, 5}, {mr + mr/2, 2 * nr, 9}, {2*mr + 1, nr + nr/2 + 1, 3},
		{max(2, mr-1), max(2, nr-1), 1}, {mr + 1, 3, 7},
	}
	var shapes []selfCheckShape
	for i, d := range dims {
		for tr := range 4 {
			shapes = append(shapes, selfCheckShape{transA: tr&1 != 0, transB: tr&2 != 0, m: d[0], n: d[1], k: d[2],
				beta: []float32{0, -0.5}[(i+tr)%2]})
		}
	}
	return shapes
}

// vecCheckShapes are GEMV shapes (m = 1 or n = 1) around an 8-lane step and its 16-wide unrolling.
func vecCheckShapes() []selfCheckShape {
	var shapes []selfCheckShape
	for i, d := range [][3]int{{1, 9, 17}, {1, 24, 8}, {1, 5, 33}, {7, 1, 17}, {9, 1, 40}, {13, 1, 3}} {
		for tr := range 4 {
			shapes = append(shapes, selfCheckShape{transA: tr&1 != 0, transB: tr&2 != 0, m: d[0], n: d[1], k: d[2],
				beta: []float32{0, -0.5}[(i+tr)%2]})
		}
	}
	return shapes
}

func checkGemmKernel(k *kernel) error {
	return selfCheck(plan{k: k, v: vecGeneric, threads: 1}, gemmCheckShapes(k.mr, k.nr))
}

func checkVecKernels(v *vecKernels) error {
	return selfCheck(plan{k: kernelGeneric, v: v, threads: 1}, vecCheckShapes())
}

// selfCheck runs each shape through p and through the generic kernels and reports the first element
// that differs. The operands are small multiples of 1/4 (products multiples of 1/16, sums of at most
// 40 of them, alpha 0.75 and beta −0.5), so every partial sum is exact in float32 whatever the order
// or fusing: any difference at all is a wrong kernel, and the comparison is bit for bit.
func selfCheck(p plan, shapes []selfCheckShape) error {
	ref := plan{k: kernelGeneric, v: vecGeneric, threads: 1}
	const alpha = 0.75
	for _, s := range shapes {
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		a, b := quarters(s.m*s.k, 1), quarters(s.k*s.n, 2)
		c := quarters(s.m*s.n, 3)
		if s.beta == 0 {
			for i := range c {
				c[i] = nan32 // beta = 0 must not read C
			}
		}
		got, want := append([]float32(nil), c...), append([]float32(nil), c...)
		p.gemm(s.transA, s.transB, s.m, s.n, s.k, alpha, a, lda, b, ldb, s.beta, got, s.n)
		ref.gemm(s.transA, s.transB, s.m, s.n, s.k, alpha, a, lda, b, ldb, s.beta, want, s.n)
		for i := range want {
			if got[i] != want[i] {
				return fmt.Errorf("m=%d n=%d k=%d transA=%v transB=%v beta=%g: C[%d,%d] = %g, want %g",
					s.m, s.n, s.k, s.transA, s.transB, s.beta, i/s.n, i%s.n, got[i], want[i])
			}
		}
	}
	return nil
}

// quarters returns n deterministic values in {−0.75, −0.5, …, 0.75}.
func quarters(n, seed int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32((i*5+seed*3)%7-3) * 0.25
	}
	return x
}

var nan32 = float32(math.NaN())

// raceMargin is how much faster (relative time) a lower-level micro-kernel must be to replace the
// self-checked best one: the race is a few milliseconds on a machine that may be busy, and a kernel
// that only ties is not worth leaving the wider one for.
const raceMargin = 0.9

// raceGemm times best (the highest-level micro-kernel that passed its self-check) against every other
// assembly micro-kernel allowed at level max that passes its self-check, and returns the fastest:
// a challenger wins only when its time is under raceMargin of best's. The pure-Go kernels are not
// raced (they are the reference, several times slower). It returns the times, the winner first; none
// when there was nobody to race.
func raceGemm(best *kernel, cands []*kernel, max isa.Level, timer func(*kernel) time.Duration) (*kernel, []raceTime) {
	var rivals []*kernel
	for _, k := range cands {
		if k != best && k.level > isa.Generic && k.level <= max && checkGemmKernel(k) == nil {
			rivals = append(rivals, k)
		}
	}
	if len(rivals) == 0 || best.level == isa.Generic {
		return best, nil
	}
	times := []raceTime{{best.name, timer(best)}}
	win, winD := best, times[0].d
	for _, k := range rivals {
		d := timer(k)
		times = append(times, raceTime{k.name, d})
		if float64(d) < raceMargin*float64(times[0].d) && d < winD {
			win, winD = k, d
		}
	}
	slices.SortStableFunc(times, func(a, b raceTime) int {
		switch {
		case a.name == win.name:
			return -1
		case b.name == win.name:
			return 1
		}
		return 0
	})
	return win, times
}

// Race product: one thread, a blocked product of the shape the host attention kernel and the linear
// layers give the micro-kernel (a few mc×kc panels), long enough (about 25 MFLOP) to time and short
// enough to run at every start.
const (
	raceM, raceN, raceK = 192, 256, 256
	raceReps            = 5
)

// timeKernel returns k's best time over raceReps runs of the race product, after one untimed run.
func timeKernel(k *kernel) time.Duration {
	a, b := quarters(raceM*raceK, 1), quarters(raceK*raceN, 2)
	c := make([]float32, raceM*raceN)
	p := plan{k: k, v: vecGeneric, threads: 1}
	best := time.Duration(math.MaxInt64)
	for r := range raceReps + 1 {
		t0 := time.Now()
		p.gemm(false, false, raceM, raceN, raceK, 1, a, raceK, b, raceN, 0, c, raceN)
		if d := time.Since(t0); r > 0 {
			best = min(best, d)
		}
	}
	return best
}
