package sgemm

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model/internal/isa"
)

// testKernels returns every micro-kernel and GEMV kernel the tests run: this CPU's assembly ones (see
// archKernels) and the pure-Go twins of every assembly tile shape, so the driver code for each shape
// runs on any machine. Each is recorded as exercised for the report TestMain writes.
func testKernels() ([]*kernel, []*vecKernels) {
	gemms := append(archKernels(), twinKernels...)
	vecs := append(archVecKernels(), vecTwin)
	for _, k := range gemms {
		kernelLog.Ran(k.name, k.level.String())
	}
	for _, v := range vecs {
		kernelLog.Ran("gemv-"+v.name, v.level.String())
	}
	return gemms, vecs
}

var kernelLog testutil.KernelLog

// TestMain runs the tests, then reports which kernels ran on this CPU and which assembly kernels this
// CPU could not run (make test prints the report).
func TestMain(m *testing.M) {
	code := m.Run()
	var missed []string
	for _, k := range asmKernels() {
		if k.level > isa.CPULevel() {
			missed = append(missed, k.name)
		}
	}
	kernelLog.Report("sgemm", missed)
	os.Exit(code)
}

// sweepCases are the shapes of the edge sweep for tiles up to 12×32 and cache blocks up to mc=144,
// kc=384, ncMax columns: every m ≤ 26 and n ≤ 66 (beyond two of the largest tiles) with each
// transpose at k = 1 and 5 (the 4-step unrolled loop and its tail); depths 1…17 and around one and two
// kc blocks; rows around one and two mc blocks; columns around one and two ncMax blocks. alpha/beta
// and the row-stride padding cycle through the cases.
func sweepCases() []gemmCase {
	abs := [][2]float32{{1, 0}, {0.5, 1}, {-1.25, 0.75}, {2, 0}}
	var cases []gemmCase
	add := func(m, n, k, tr int) {
		ab := abs[len(cases)%len(abs)]
		cases = append(cases, gemmCase{
			name:   fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_a%g_b%g", m, n, k, tr&1 != 0, tr&2 != 0, ab[0], ab[1]),
			transA: tr&1 != 0, transB: tr&2 != 0, m: m, n: n, k: k,
			padA: len(cases) % 3, padB: len(cases) % 2, padC: len(cases) % 4,
			alpha: ab[0], beta: ab[1],
		})
	}
	for m := 1; m <= 26; m++ {
		for n := 1; n <= 66; n++ {
			for _, k := range []int{1, 5} {
				for tr := range 4 {
					add(m, n, k, tr)
				}
			}
		}
	}
	depths := []int{255, 256, 257, 383, 384, 385, 513, 769}
	for k := 2; k <= 17; k++ {
		depths = append(depths, k)
	}
	for i, k := range depths {
		for j, mn := range [][2]int{{6, 32}, {13, 17}, {18, 48}, {25, 65}} {
			add(mn[0], mn[1], k, (i+j)%4)
		}
	}
	for i, m := range []int{127, 128, 129, 143, 144, 145, 257, 289} {
		for j, k := range []int{7, 385} {
			add(m, 35, k, (i+j)%4)
		}
	}
	for i, n := range []int{ncMax - 1, ncMax + 1, 2*ncMax + 1} {
		add(13, n, 3, i%4)
		add(6, n, 257, (i+1)%4)
	}
	return cases
}

// TestKernelSweep runs the edge sweep through every kernel (assembly where this CPU has it, and the
// pure-Go twins) against the float64 reference, serially and on 3 goroutines.
func TestKernelSweep(t *testing.T) {
	gemms, _ := testKernels()
	cases := sweepCases()
	if testing.Short() {
		cases = slices.DeleteFunc(cases, func(tc gemmCase) bool { return tc.m*tc.n*tc.k > parallelMinWork })
	}
	for _, tc := range cases {
		o := newOperands(tc)
		for _, kern := range gemms {
			for _, threads := range []int{1, 3} {
				if threads > 1 && tc.m*tc.n*tc.k < parallelMinWork {
					continue // runs serially whatever the plan says
				}
				runCase(t, fmt.Sprintf("%s_t%d", kern.name, threads), plan{k: kern, v: vecGeneric, threads: threads}, tc, o)
			}
		}
	}
}

// TestGemvSweep runs the single-row and single-column shapes through every GEMV kernel (the AVX2 one
// where this CPU has it, its 8-wide pure-Go twin, the generic one): lengths 1…40 around the 8-lane step
// and its 16-wide unrolling, and around the row chunks (64) and column chunks (2,048) the drivers split.
func TestGemvSweep(t *testing.T) {
	_, vecs := testKernels()
	var cases []gemmCase
	lens := []int{63, 64, 65, 255, 257, 2047, 2048, 2049, 4097}
	for i := 1; i <= 40; i++ {
		lens = append(lens, i)
	}
	for i, n := range lens {
		for j, k := range []int{1, 7, 8, 9, 17, 33, 300} {
			for tr := range 4 {
				ab := [][2]float32{{1, 0}, {0.5, 1}, {-1.25, 0.75}}[(i+j+tr)%3]
				for _, mn := range [][2]int{{1, n}, {n, 1}} {
					cases = append(cases, gemmCase{
						name:   fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v", mn[0], mn[1], k, tr&1 != 0, tr&2 != 0),
						transA: tr&1 != 0, transB: tr&2 != 0, m: mn[0], n: mn[1], k: k,
						padA: (i + j) % 3, padB: (i + tr) % 2, padC: j % 3, alpha: ab[0], beta: ab[1],
					})
				}
			}
		}
	}
	for _, tc := range cases {
		o := newOperands(tc)
		for _, vec := range vecs {
			for _, threads := range []int{1, 2} {
				runCase(t, fmt.Sprintf("gemv-%s_t%d", vec.name, threads), plan{k: kernelGeneric, v: vec, threads: threads}, tc, o)
			}
		}
	}
}

// TestBatchSweep runs strided, broadcast and offset batches through every micro-kernel on shapes at the
// tile edges, against the float64 reference item by item.
func TestBatchSweep(t *testing.T) {
	gemms, vecs := testKernels()
	for _, kern := range gemms {
		for _, d := range [][3]int{{6, 32, 16}, {18, 17, 5}, {1, 40, 9}, {13, 1, 33}, {25, 65, 3}} {
			for tr := range 4 {
				for _, bcast := range []int{0, 1, 2} { // none, A shared, B shared
					tc := gemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: d[0], n: d[1], k: d[2], alpha: 0.5, beta: 2}
					tc.name = fmt.Sprintf("batch_m%d_n%d_k%d_tr%d_bcast%d", tc.m, tc.n, tc.k, tr, bcast)
					const batch = 4
					items := make([]operands, batch)
					for i := range items {
						c := tc
						items[i] = newOperandsSeed(c, uint64(i))
						if bcast == 1 {
							items[i].a = items[0].a
						} else if bcast == 2 {
							items[i].b = items[0].b
						}
						items[i].want = append([]float32(nil), items[i].c...)
						naive(c.transA, c.transB, c.m, c.n, c.k, c.alpha, items[i].a, items[i].lda, items[i].b,
							items[i].ldb, c.beta, items[i].want, items[i].ldc)
					}
					a, strideA := concat(items, func(o operands) []float32 { return o.a }, bcast == 1)
					b, strideB := concat(items, func(o operands) []float32 { return o.b }, bcast == 2)
					c, strideC := concat(items, func(o operands) []float32 { return o.c }, false)
					o0 := items[0]
					p := plan{k: kern, v: vecs[0], threads: 2}
					p.batch(tc.transA, tc.transB, batch, tc.m, tc.n, tc.k, tc.alpha, a, o0.lda, b, o0.ldb, tc.beta, c,
						o0.ldc, func(i int) (int, int, int) { return i * strideA, i * strideB, i * strideC })
					for i := range items {
						compare(t, fmt.Sprintf("%s_item%d", kern.name, i), tc, items[i], c[i*strideC:(i+1)*strideC])
					}
				}
			}
		}
	}
}

// concat lays the items' matrices one after another, returning the data and the stride (0 when
// shared: one copy for all items).
func concat(items []operands, f func(operands) []float32, shared bool) ([]float32, int) {
	if shared {
		return f(items[0]), 0
	}
	n := len(f(items[0]))
	var out []float32
	for _, o := range items {
		out = append(out, f(o)...)
	}
	return out, n
}

// TestSelfCheckCatchesWrongKernel plants a wrong micro-kernel (the 12×32 twin with rows 6…11 of
// every tile shifted, the shape of the real AVX-512 packing bug) at the top of the list and a wrong
// GEMV kernel: the self-check must refuse both, name them, and fall back to the next kernel; a forced
// choice keeps the wrong kernel but still warns; correct kernels pass without a warning.
func TestSelfCheckCatchesWrongKernel(t *testing.T) {
	good := tileKernel(12, 32)
	wrong := &kernel{name: "planted-12x32", level: isa.AVX512, mr: 12, nr: 32, mc: 144, kc: 384,
		fn: func(kc int, a, b, c *float32, ldc int, alpha, beta float32, load int) {
			good(kc, a, b, c, ldc, alpha, beta, load)
			cs := unsafe.Slice(c, 11*ldc+1)
			for r := 6; r < 12; r++ {
				cs[r*ldc] += 1
			}
		}}
	next := *twinKernels[1] // go-6x16, as if it were the AVX2 kernel
	next.level = isa.AVX2
	wrongVec := *vecTwin
	wrongVec.name, wrongVec.level = "planted-gemv", isa.AVX2
	wrongVec.dot1 = func(n int, a, x *float32) float32 { return dot1Generic(n, a, x) + 0.25 }

	cases := []struct {
		name              string
		choice            isa.Choice
		gemms             []*kernel
		vecs              []*vecKernels
		wantGemm, wantVec string
		wantWarn          []string // substrings, one warning each, in order
	}{
		{"falls_back", isa.Choice{Max: isa.AVX512}, []*kernel{wrong, &next, kernelGeneric},
			[]*vecKernels{&wrongVec, vecGeneric}, "go-6x16", "go",
			[]string{"sgemm micro-kernel planted-12x32 failed its self-check (m=", "falling back to go-6x16",
				"sgemm GEMV kernel planted-gemv failed its self-check", "falling back to go"}},
		{"forced_keeps_it", isa.Choice{Max: isa.AVX512, Forced: true}, []*kernel{wrong, &next, kernelGeneric},
			[]*vecKernels{vecGeneric}, "planted-12x32", "go",
			[]string{"planted-12x32 failed its self-check", "using it anyway, as AGENTLENS_KERNEL=avx512 asks"}},
		{"capped_level_skips_it", isa.Choice{Max: isa.AVX2}, []*kernel{wrong, &next, kernelGeneric},
			[]*vecKernels{vecGeneric}, "go-6x16", "go", nil},
		{"correct_kernels_pass", isa.Choice{Max: isa.CPULevel()}, append(archKernels()[:len(archKernels()):len(archKernels())],
			twinKernels...), append(archVecKernels(), vecTwin), archKernels()[0].name, archVecKernels()[0].name, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks, warnings := choose(tc.choice, tc.gemms, tc.vecs)
			if ks.gemm.name != tc.wantGemm || ks.vec.name != tc.wantVec {
				t.Errorf("choose = %s+%s, want %s+%s", ks.gemm.name, ks.vec.name, tc.wantGemm, tc.wantVec)
			}
			joined := strings.Join(warnings, "\n")
			for _, w := range tc.wantWarn {
				if !strings.Contains(joined, w) {
					t.Errorf("warnings = %q, want one containing %q", warnings, w)
				}
			}
			if len(tc.wantWarn) == 0 && len(warnings) > 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
		})
	}
	// Every twin passes the self-check: they are correct kernels of each tile shape.
	for _, k := range twinKernels {
		if err := checkGemmKernel(k); err != nil {
			t.Errorf("self-check of twin %s: %v", k.name, err)
		}
	}
}

// TestRaceGemm checks the start-up race on planted times: the self-checked best kernel stays unless a
// rival is more than 10% faster; the fastest qualifying rival wins; a rival that fails its self-check,
// a pure-Go kernel and a kernel above the allowed level are never timed; with no rival there is no race.
func TestRaceGemm(t *testing.T) {
	wide := *twinKernels[0] // go-12x32, standing in for the AVX-512 kernel
	wide.name, wide.level = "wide-12x32", isa.AVX512
	narrow := *twinKernels[1] // go-6x16, standing in for the AVX2 kernel
	narrow.name, narrow.level = "narrow-6x16", isa.AVX2
	other := narrow
	other.name = "other-6x16"
	broken := narrow
	broken.name = "broken-6x16"
	good := broken.fn
	broken.fn = func(kc int, a, b, c *float32, ldc int, alpha, beta float32, load int) {
		good(kc, a, b, c, ldc, alpha, beta, load)
		*c += 1
	}
	cands := []*kernel{&wide, &narrow, &other, &broken, kernelGeneric}
	cases := []struct {
		name  string
		times map[string]time.Duration
		max   isa.Level
		best  *kernel
		want  string
		timed []string // the race's order: the winner first
	}{
		{"best_is_fastest", map[string]time.Duration{"wide-12x32": 10, "narrow-6x16": 12, "other-6x16": 15},
			isa.AVX512, &wide, "wide-12x32", []string{"wide-12x32", "narrow-6x16", "other-6x16"}},
		{"within_margin_keeps_best", map[string]time.Duration{"wide-12x32": 100, "narrow-6x16": 95, "other-6x16": 200},
			isa.AVX512, &wide, "wide-12x32", []string{"wide-12x32", "narrow-6x16", "other-6x16"}},
		{"fastest_rival_wins", map[string]time.Duration{"wide-12x32": 100, "narrow-6x16": 80, "other-6x16": 70},
			isa.AVX512, &wide, "other-6x16", []string{"other-6x16", "wide-12x32", "narrow-6x16"}},
		{"level_cap", map[string]time.Duration{"narrow-6x16": 100, "other-6x16": 50},
			isa.AVX2, &narrow, "other-6x16", []string{"other-6x16", "narrow-6x16"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			timer := func(k *kernel) time.Duration {
				asked = append(asked, k.name)
				d, ok := tc.times[k.name]
				if !ok {
					t.Errorf("timed %s, which must not race", k.name)
				}
				return d
			}
			got, raced := raceGemm(tc.best, cands, tc.max, timer)
			if got.name != tc.want {
				t.Errorf("raceGemm chose %s, want %s (asked %v)", got.name, tc.want, asked)
			}
			var names []string
			for _, r := range raced {
				names = append(names, r.name)
				if r.d != tc.times[r.name] {
					t.Errorf("%s reported %v, timed %v", r.name, r.d, tc.times[r.name])
				}
			}
			if !slices.Equal(names, tc.timed) {
				t.Errorf("race order %v, want %v", names, tc.timed)
			}
		})
	}
	// Nobody to race: a lone assembly kernel, or the pure-Go reference chosen.
	for _, best := range []*kernel{&narrow, kernelGeneric} {
		got, raced := raceGemm(best, []*kernel{best, kernelGeneric}, isa.AVX512, func(k *kernel) time.Duration {
			t.Errorf("timed %s with no rival", k.name)
			return 0
		})
		if got != best || raced != nil {
			t.Errorf("lone %s: chose %s, raced %v", best.name, got.name, raced)
		}
	}
	// The real timer measures something on this CPU.
	if d := timeKernel(archKernels()[0]); d <= 0 {
		t.Errorf("timeKernel(%s) = %v", archKernels()[0].name, d)
	}
}
