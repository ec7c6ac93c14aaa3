package fastdot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	// The replacement VJPs write DotGeneral gradients as DotGenerals (the stock ones do not).
	_ "github.com/agentlens/agentlens/model/internal/autodiff"
)

func newBackend(t testing.TB) backends.Backend {
	t.Helper()
	if err := Install(); err != nil {
		t.Fatalf("Install() = %v", err)
	}
	b, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Finalize)
	return b
}

func TestInstallConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = Install() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Install() #%d = %v, want nil", i, err)
		}
	}
	if layout.paramsType == nil {
		t.Fatal("layout not probed after Install")
	}
}

// checker wraps the fast executor: every DotGeneral also runs the stock executor on the same inputs and
// the largest deviation (in units of the tolerance) is recorded. It returns the fast result.
type checker struct {
	mu              sync.Mutex
	calls, handled  int
	worst           float64 // max |fast-stock| / tol
	worstDesc       string
	stockCalledOnly int
}

// tolerance for a float32 contraction of length k with inputs of magnitude ≲ 1 (the test draws
// N(0,1)): both sides round each of k products and partial sums in float32 in different orders, so the
// difference grows like k·2⁻²⁴·(typical |partial sum|); 1e-6·k + 1e-5·|value| is ~10× above what the
// blocked and naive float32 orders give here, and orders of magnitude below an indexing error.
func tolerance(k int, want float64) float64 { return 1e-6*float64(k) + 1e-5*math.Abs(want) }

func (c *checker) exec(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer, _ []bool) (*simplego.Buffer, error) {
	stock, err := stockDotGeneral(backend, node, inputs, make([]bool, len(inputs)))
	if err != nil {
		return nil, err
	}
	fast, handled, err := fastDotGeneral(backend, node, inputs)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if !handled {
		c.stockCalledOnly++
		return stock, nil
	}
	if err != nil {
		return nil, err
	}
	c.handled++
	p, _ := layout.read(node)
	sa, _ := backend.BufferData(stock)
	fa, _ := backend.BufferData(fast)
	s, f := sa.([]float32), fa.([]float32)
	for i := range s {
		d := math.Abs(float64(f[i])-float64(s[i])) / tolerance(p.contracting, float64(s[i]))
		if !(d <= c.worst) { // NaN-safe: a NaN difference becomes the worst
			c.worst = d
			c.worstDesc = fmt.Sprintf("element %d: fast %v, stock %v", i, f[i], s[i])
		}
	}
	_ = backend.BufferFinalize(stock)
	return fast, nil
}

// useChecker registers a checker as the DotGeneral executor for the rest of the test.
func useChecker(t *testing.T) *checker {
	t.Helper()
	c := &checker{}
	setNodeExecutor(backends.OpTypeDotGeneral, priorityUser, c.exec)
	t.Cleanup(func() { setNodeExecutor(backends.OpTypeDotGeneral, priorityUser, execDotGeneral) })
	return c
}

func randTensor(r *rand.Rand, dims []int) (*tensors.Tensor, []float32) {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(data, dims...), data
}

// naiveEinsum evaluates a two-operand einsum equation in float64 by brute force: the independent
// reference for the graph outputs.
func naiveEinsum(eq string, lhsDims, rhsDims []int, lhs, rhs []float32) ([]float64, []int) {
	ins, out, _ := strings.Cut(eq, "->")
	l, r, _ := strings.Cut(ins, ",")
	size := map[rune]int{}
	for i, ch := range l {
		size[ch] = lhsDims[i]
	}
	for i, ch := range r {
		size[ch] = rhsDims[i]
	}
	var letters []rune
	for ch := range size {
		letters = append(letters, ch)
	}
	outDims := make([]int, 0, len(out))
	for _, ch := range out {
		outDims = append(outDims, size[ch])
	}
	nOut := 1
	for _, d := range outDims {
		nOut *= d
	}
	res := make([]float64, nOut)
	idx := map[rune]int{}
	flat := func(spec string, dims []int) int {
		o := 0
		for i, ch := range spec {
			o = o*dims[i] + idx[ch]
		}
		return o
	}
	var rec func(i int)
	rec = func(i int) {
		if i == len(letters) {
			res[flat(out, outDims)] += float64(lhs[flat(l, lhsDims)]) * float64(rhs[flat(r, rhsDims)])
			return
		}
		for v := range size[letters[i]] {
			idx[letters[i]] = v
			rec(i + 1)
		}
	}
	rec(0)
	return res, outDims
}

// contractionLength is the number of terms summed per output element: the product of the lhs sizes
// of the letters absent from the output (1 when nothing is contracted).
func contractionLength(eq string, lhsDims []int) int {
	ins, out, _ := strings.Cut(eq, "->")
	l, _, _ := strings.Cut(ins, ",")
	k := 1
	for i, ch := range l {
		if !strings.ContainsRune(out, ch) {
			k *= lhsDims[i]
		}
	}
	return k
}

type einsumCase struct {
	name     string
	eq       string
	lhs, rhs []int
}

var einsumCases = []einsumCase{
	{name: "matmul", eq: "ij,jk->ik", lhs: []int{7, 5}, rhs: []int{5, 3}},
	{name: "matmul_rhs_transposed", eq: "ij,kj->ik", lhs: []int{7, 5}, rhs: []int{3, 5}},
	{name: "matmul_lhs_transposed", eq: "ji,jk->ik", lhs: []int{5, 7}, rhs: []int{5, 3}},
	{name: "matmul_both_transposed", eq: "ji,kj->ik", lhs: []int{5, 7}, rhs: []int{3, 5}},
	{name: "output_transposed", eq: "ij,jk->ki", lhs: []int{9, 6}, rhs: []int{6, 4}},
	{name: "projection_hf_layout", eq: "bsd,fd->bsf", lhs: []int{2, 13, 24}, rhs: []int{40, 24}},
	{name: "projection", eq: "bsd,df->bsf", lhs: []int{2, 13, 24}, rhs: []int{24, 40}},
	{name: "attention_scores", eq: "bhsd,bhtd->bhst", lhs: []int{2, 3, 9, 8}, rhs: []int{2, 3, 11, 8}},
	{name: "attention_values", eq: "bhst,bhtd->bhsd", lhs: []int{2, 3, 9, 11}, rhs: []int{2, 3, 11, 8}},
	{name: "batch_not_leading", eq: "bshd,bthd->bhst", lhs: []int{2, 9, 3, 8}, rhs: []int{2, 11, 3, 8}},
	{name: "batch_not_leading_values", eq: "bhst,bthd->bshd", lhs: []int{2, 3, 9, 11}, rhs: []int{2, 11, 3, 8}},
	{name: "gqa_scores", eq: "bkgsd,bktd->bkgst", lhs: []int{1, 2, 3, 7, 16}, rhs: []int{1, 2, 10, 16}},
	{name: "gqa_values", eq: "bkgst,bktd->bkgsd", lhs: []int{1, 2, 3, 7, 10}, rhs: []int{1, 2, 10, 16}},
	{name: "gqa_seq_major", eq: "bskgd,btkd->bkgst", lhs: []int{1, 7, 2, 3, 16}, rhs: []int{1, 10, 2, 16}},
	{name: "two_contracting", eq: "ijk,jkl->il", lhs: []int{4, 3, 5}, rhs: []int{3, 5, 6}},
	{name: "two_contracting_swapped", eq: "ikj,jkl->il", lhs: []int{4, 5, 3}, rhs: []int{3, 5, 6}},
	{name: "contracting_not_adjacent", eq: "xky,k->xy", lhs: []int{4, 6, 5}, rhs: []int{6}},
	{name: "cross_split_by_batch", eq: "xby,bk->bxyk", lhs: []int{3, 2, 4}, rhs: []int{2, 5}},
	{name: "vector_dot", eq: "i,i->", lhs: []int{37}, rhs: []int{37}},
	{name: "matvec", eq: "ij,j->i", lhs: []int{33, 70}, rhs: []int{70}},
	{name: "vecmat", eq: "j,jk->k", lhs: []int{70}, rhs: []int{70, 33}},
	{name: "outer", eq: "i,j->ij", lhs: []int{5}, rhs: []int{6}},
	{name: "size_one_axes", eq: "aibj,cjd->aibcd", lhs: []int{1, 5, 1, 4}, rhs: []int{1, 4, 1}},
	{name: "blocked_sizes", eq: "sd,fd->sf", lhs: []int{130, 70}, rhs: []int{97, 70}},
	{name: "blocked_batched", eq: "hsd,htd->hst", lhs: []int{4, 70, 33}, rhs: []int{4, 129, 33}},
	{name: "decode_row", eq: "sd,vd->sv", lhs: []int{1, 64}, rhs: []int{300, 64}},
}

func TestEinsumMatchesStockAndNaive(t *testing.T) {
	b := newBackend(t)
	c := useChecker(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range einsumCases {
		t.Run(tc.name, func(t *testing.T) {
			x, xd := randTensor(r, tc.lhs)
			y, yd := randTensor(r, tc.rhs)
			before := c.handled
			got, err := graph.ExecOnce(b, func(x, y *graph.Node) *graph.Node { return graph.Einsum(tc.eq, x, y) }, x, y)
			if err != nil {
				t.Fatalf("Einsum(%q) = %v", tc.eq, err)
			}
			if c.handled == before {
				t.Fatalf("Einsum(%q): fast executor declined every DotGeneral", tc.eq)
			}
			want, wantDims := naiveEinsum(tc.eq, tc.lhs, tc.rhs, xd, yd)
			if fmt.Sprint(got.Shape().Dimensions) != fmt.Sprint(wantDims) {
				t.Fatalf("Einsum(%q) dims = %v, want %v", tc.eq, got.Shape().Dimensions, wantDims)
			}
			k := contractionLength(tc.eq, tc.lhs)
			gd := tensors.MustCopyFlatData[float32](got)
			for i := range want {
				if d := math.Abs(float64(gd[i]) - want[i]); !(d <= tolerance(k, want[i])) {
					t.Fatalf("Einsum(%q)[%d] = %v, want %v (naive float64)", tc.eq, i, gd[i], want[i])
				}
			}
		})
	}
	if c.worst > 1 {
		t.Errorf("fast vs stock DotGeneral: worst deviation %.3g × tolerance (%s)", c.worst, c.worstDesc)
	}
	t.Logf("%d DotGeneral calls, %d through sgemm, worst deviation from stock %.3g × tolerance", c.calls, c.handled, c.worst)
}

// naiveDotGeneral is DotGeneral from its definition, in float64: output [batch..., lhs cross...,
// rhs cross...].
func naiveDotGeneral(lhsDims []int, lc, lb []int, rhsDims []int, rc, rb []int, lhs, rhs []float32) []float64 {
	letter := 'a'
	next := func() rune { letter++; return letter - 1 }
	ls := make([]rune, len(lhsDims))
	rs := make([]rune, len(rhsDims))
	var out []rune
	for i := range lb {
		ch := next()
		ls[lb[i]], rs[rb[i]] = ch, ch
		out = append(out, ch)
	}
	for i := range lc {
		ch := next()
		ls[lc[i]], rs[rc[i]] = ch, ch
	}
	for i := range ls {
		if ls[i] == 0 {
			ls[i] = next()
			out = append(out, ls[i])
		}
	}
	for i := range rs {
		if rs[i] == 0 {
			rs[i] = next()
			out = append(out, rs[i])
		}
	}
	res, _ := naiveEinsum(string(ls)+","+string(rs)+"->"+string(out), lhsDims, rhsDims, lhs, rhs)
	return res
}

func TestDotGeneralAxes(t *testing.T) {
	b := newBackend(t)
	c := useChecker(t)
	r := rand.New(rand.NewPCG(5, 6))
	cases := []struct {
		name            string
		lhsDims, lc, lb []int
		rhsDims, rc, rb []int
	}{
		{"matmul", []int{3, 4}, []int{1}, nil, []int{4, 5}, []int{0}, nil},
		{"matmul_transposed_rhs", []int{3, 4}, []int{1}, nil, []int{5, 4}, []int{1}, nil},
		{"contract_first_axes", []int{4, 3}, []int{0}, nil, []int{4, 5}, []int{0}, nil},
		{"batched_heads", []int{2, 3, 4, 5}, []int{3}, []int{0, 1}, []int{2, 3, 6, 5}, []int{3}, []int{0, 1}},
		{"attention_pv", []int{2, 3, 4, 6}, []int{3}, []int{0, 1}, []int{2, 3, 6, 5}, []int{2}, []int{0, 1}},
		{"batch_not_leading", []int{4, 2, 3}, []int{0}, []int{1}, []int{2, 4, 5}, []int{1}, []int{0}},
		{"batch_axes_reversed", []int{2, 3, 4}, []int{2}, []int{1, 0}, []int{3, 2, 4}, []int{2}, []int{0, 1}},
		{"two_contracting_swapped", []int{3, 4, 5}, []int{2, 1}, nil, []int{5, 4, 6}, []int{0, 1}, nil},
		{"projection_3d", []int{1, 7, 8}, []int{2}, nil, []int{8, 9}, []int{0}, nil},
		{"negative_axes", []int{2, 7, 8}, []int{-1}, []int{0}, []int{2, 8, 9}, []int{-2}, []int{0}},
		{"gqa_grouped_queries", []int{2, 4, 3, 5, 8}, []int{4}, []int{0, 1}, []int{2, 4, 6, 8}, []int{3}, []int{0, 1}},
		{"large_batched", []int{3, 100, 64}, []int{2}, []int{0}, []int{3, 64, 120}, []int{1}, []int{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, xd := randTensor(r, tc.lhsDims)
			y, yd := randTensor(r, tc.rhsDims)
			before := c.handled
			got, err := graph.ExecOnce(b, func(x, y *graph.Node) *graph.Node {
				return graph.DotGeneral(x, tc.lc, tc.lb, y, tc.rc, tc.rb)
			}, x, y)
			if err != nil {
				t.Fatalf("DotGeneral = %v", err)
			}
			if c.handled != before+1 {
				t.Fatalf("DotGeneral went through sgemm %d times, want 1", c.handled-before)
			}
			norm := func(axes []int, rank int) []int {
				out := make([]int, len(axes))
				for i, a := range axes {
					out[i] = (a + rank) % rank
				}
				return out
			}
			lc, lb := norm(tc.lc, len(tc.lhsDims)), norm(tc.lb, len(tc.lhsDims))
			rc, rb := norm(tc.rc, len(tc.rhsDims)), norm(tc.rb, len(tc.rhsDims))
			want := naiveDotGeneral(tc.lhsDims, lc, lb, tc.rhsDims, rc, rb, xd, yd)
			k := 1
			for _, a := range lc {
				k *= tc.lhsDims[a]
			}
			gd := tensors.MustCopyFlatData[float32](got)
			if len(gd) != len(want) {
				t.Fatalf("DotGeneral size = %d, want %d", len(gd), len(want))
			}
			for i := range want {
				if d := math.Abs(float64(gd[i]) - want[i]); !(d <= tolerance(k, want[i])) {
					t.Fatalf("DotGeneral[%d] = %v, want %v (naive float64)", i, gd[i], want[i])
				}
			}
		})
	}
	if c.worst > 1 {
		t.Errorf("fast vs stock DotGeneral: worst deviation %.3g × tolerance (%s)", c.worst, c.worstDesc)
	}
}

func TestMatMul(t *testing.T) {
	b := newBackend(t)
	c := useChecker(t)
	r := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		name     string
		lhs, rhs []int
	}{
		{"rank2", []int{65, 129}, []int{129, 63}},
		{"rank3_batched", []int{3, 17, 33}, []int{3, 33, 9}},
		{"rank4_batched", []int{2, 3, 12, 32}, []int{2, 3, 32, 7}},
		{"matrix_vector", []int{40, 50}, []int{50}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, _ := randTensor(r, tc.lhs)
			y, _ := randTensor(r, tc.rhs)
			got, err := graph.ExecOnce(b, func(x, y *graph.Node) *graph.Node { return graph.MatMul(x, y) }, x, y)
			if err != nil {
				t.Fatalf("MatMul(%v, %v) = %v", tc.lhs, tc.rhs, err)
			}
			if got.Shape().Size() == 0 {
				t.Fatalf("MatMul(%v, %v) is empty", tc.lhs, tc.rhs)
			}
		})
	}
	if c.handled == 0 || c.worst > 1 {
		t.Errorf("MatMul: %d of %d DotGenerals through sgemm, worst deviation from stock %.3g × tolerance (%s)",
			c.handled, c.calls, c.worst, c.worstDesc)
	}
}

// TestFloat64GoesToStock checks that other dtypes are declined (and still computed, by the stock
// executor) and that the installed executor falls back itself.
func TestFloat64GoesToStock(t *testing.T) {
	b := newBackend(t)
	x := tensors.FromFlatDataAndDimensions([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	y := tensors.FromFlatDataAndDimensions([]float64{1, 0, 0, 1, 1, 1}, 3, 2)
	run := func() []float64 {
		got, err := graph.ExecOnce(b, func(x, y *graph.Node) *graph.Node { return graph.MatMul(x, y) }, x, y)
		if err != nil {
			t.Fatalf("MatMul(float64) = %v", err)
		}
		return tensors.MustCopyFlatData[float64](got)
	}
	want := []float64{1 + 3, 2 + 3, 4 + 6, 5 + 6}
	if got := run(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("installed executor: MatMul(float64) = %v, want %v", got, want)
	}
	c := useChecker(t)
	if got := run(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("checker: MatMul(float64) = %v, want %v", got, want)
	}
	if c.stockCalledOnly != 1 || c.handled != 0 {
		t.Errorf("float64 DotGeneral: %d declined, %d handled; want 1, 0", c.stockCalledOnly, c.handled)
	}
}

// TestGradientThroughFastDot differentiates through a DotGeneral (with package autodiff's VJPs, the
// gradients are DotGenerals too) and compares every DotGeneral with the stock executor.
func TestGradientThroughFastDot(t *testing.T) {
	b := newBackend(t)
	c := useChecker(t)
	r := rand.New(rand.NewPCG(9, 10))
	x, _ := randTensor(r, []int{2, 9, 16})
	w, _ := randTensor(r, []int{24, 16})
	exec, err := graph.NewExec(b, func(x, w *graph.Node) []*graph.Node {
		h := graph.Einsum("bsd,fd->bsf", x, w)
		loss := graph.ReduceAllSum(graph.Mul(h, h))
		return graph.Gradient(loss, x, w)
	})
	if err != nil {
		t.Fatalf("gradient graph: %v", err)
	}
	res, err := exec.Exec(x, w)
	if err != nil {
		t.Fatalf("gradient: %v", err)
	}
	if len(res) != 2 || c.handled < 3 || c.worst > 1 {
		t.Errorf("gradient: %d outputs, %d DotGenerals through sgemm, worst deviation %.3g × tolerance (%s)",
			len(res), c.handled, c.worst, c.worstDesc)
	}
}
