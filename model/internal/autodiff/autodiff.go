// Package autodiff replaces GoMLX v0.26.0 vector-Jacobian products that are unusable for transformers.
//
// The stock VJPs of Dot and DotGeneral materialise [batch, i, j, k] broadcasts (one layer at 128 tokens
// took ~15 s and 7.7 GB); Rsqrt has no VJP; the Slice VJP needs Pad, which the SimpleGo backend lacks.
// Importing this package (for its side effect) registers replacements in graph.VJPRegistration that
// express both DotGeneral gradients as DotGeneral + Transpose, Rsqrt's as a product, and Slice's as a
// Concatenate with zeros. The replacement is installed in init, before any graph is differentiated, so
// the global map is never written concurrently with a reader.
package autodiff

import (
	"reflect"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Installed reports whether the replacements were installed (false if GoMLX's internals changed shape and
// the stock VJPs were kept).
var Installed bool

var (
	stockDotGeneral = graph.VJPRegistration[graph.NodeTypeDotGeneral]
	stockDot        = graph.VJPRegistration[graph.NodeTypeDot]
	stockSlice      = graph.VJPRegistration[graph.NodeTypeSlice]
)

func init() {
	if !probe() {
		return
	}
	graph.VJPRegistration[graph.NodeTypeDotGeneral] = dotGeneralVJP
	graph.VJPRegistration[graph.NodeTypeDot] = dotVJP
	graph.VJPRegistration[graph.NodeTypeRsqrt] = rsqrtVJP
	graph.VJPRegistration[graph.NodeTypeSlice] = sliceVJP
	Installed = true
}

// probe checks that the unexported fields this package reads still exist with the expected types.
func probe() bool {
	t := reflect.TypeOf(graph.Node{})
	f, ok := t.FieldByName("inputs")
	return ok && f.Type.Kind() == reflect.Interface
}

// params returns the struct behind a node's unexported inputs field.
func params(node *graph.Node) reflect.Value {
	v := reflect.ValueOf(node).Elem().FieldByName("inputs")
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	return v
}

// ints reads an unexported []int field of a node's inputs.
func ints(p reflect.Value, name string) ([]int, bool) {
	f := p.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Slice {
		return nil, false
	}
	out := make([]int, f.Len())
	for i := range out {
		out[i] = int(f.Index(i).Int())
	}
	return out, true
}

// freeAxes returns the axes of a rank-r operand that are neither batch nor contracting, ascending: the
// order in which DotGeneral lays them out in its output.
func freeAxes(rank int, contracting, batch []int) []int {
	var out []int
	for a := 0; a < rank; a++ {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

// dotGeneralVJP computes the gradients of out = DotGeneral(lhs, rhs) with two DotGenerals.
// out's axes are [batch..., lhsFree..., rhsFree...].
func dotGeneralVJP(node *graph.Node, vjps []*graph.Node, outShape shapes.Shape) []*graph.Node {
	p := params(node)
	lc, ok1 := ints(p, "lhsContractingAxes")
	lb, ok2 := ints(p, "lhsBatchAxes")
	rc, ok3 := ints(p, "rhsContractingAxes")
	rb, ok4 := ints(p, "rhsBatchAxes")
	if !(ok1 && ok2 && ok3 && ok4) {
		return stockDotGeneral(node, vjps, outShape)
	}
	in := node.Inputs()
	lhs, rhs, v := in[0], in[1], vjps[0]
	return []*graph.Node{
		gradOperand(v, lhs.Rank(), lc, lb, rhs, rc, rb, true),
		gradOperand(v, rhs.Rank(), rc, rb, lhs, lc, lb, false),
	}
}

// gradOperand returns the gradient with respect to "this" operand (rank thisRank, contracting axes tc,
// batch axes tb) of out = DotGeneral, given the other operand. thisIsLHS says where this operand's free
// axes sit in v: right after the batch axes (lhs) or after the lhs free axes (rhs).
func gradOperand(v *graph.Node, thisRank int, tc, tb []int, other *graph.Node, oc, ob []int, thisIsLHS bool) *graph.Node {
	nb := len(tb)
	thisFree := freeAxes(thisRank, tc, tb)
	otherFree := freeAxes(other.Rank(), oc, ob)
	// Positions in v of the batch axes and of the other operand's free axes.
	vBatch := make([]int, nb)
	for i := range vBatch {
		vBatch[i] = i
	}
	vOther := make([]int, len(otherFree))
	start := nb
	if thisIsLHS {
		start = nb + len(thisFree)
	}
	for i := range vOther {
		vOther[i] = start + i
	}
	// g = DotGeneral(v, contract v's other-free axes with other's free axes, batch on batch axes).
	// g's axes: [batch..., thisFree..., other's remaining axes (its contracting axes, ascending)...].
	g := graph.DotGeneral(v, vOther, vBatch, other, otherFree, ob)
	// Map every axis of g to the axis of this operand it stands for.
	perm := make([]int, 0, thisRank) // perm[k] = axis of this operand for g's axis k
	perm = append(perm, tb...)
	perm = append(perm, thisFree...)
	otherContractAsc := slices.Clone(oc)
	slices.Sort(otherContractAsc)
	for _, a := range otherContractAsc {
		perm = append(perm, tc[slices.Index(oc, a)])
	}
	// Transpose so output axis a is g's axis k with perm[k] == a.
	inv := make([]int, thisRank)
	identity := true
	for k, a := range perm {
		inv[a] = k
		if a != k {
			identity = false
		}
	}
	if identity {
		return g
	}
	return graph.TransposeAllDims(g, inv...)
}

// dotVJP handles Dot on rank-2 × rank-2 and rank-2 × rank-1 operands with DotGeneral; other ranks use the
// stock VJP.
func dotVJP(node *graph.Node, vjps []*graph.Node, outShape shapes.Shape) []*graph.Node {
	in := node.Inputs()
	lhs, rhs, v := in[0], in[1], vjps[0]
	switch {
	case lhs.Rank() == 2 && rhs.Rank() == 2:
		// out[m,n] = lhs[m,k] rhs[k,n]
		return []*graph.Node{
			graph.DotGeneral(v, []int{1}, nil, rhs, []int{1}, nil), // [m,k]
			graph.DotGeneral(lhs, []int{0}, nil, v, []int{0}, nil), // [k,n]
		}
	case lhs.Rank() == 2 && rhs.Rank() == 1:
		// out[m] = lhs[m,k] rhs[k]
		return []*graph.Node{
			graph.Mul(graph.InsertAxes(v, -1), graph.InsertAxes(rhs, 0)), // [m,k]
			graph.DotGeneral(lhs, []int{0}, nil, v, []int{0}, nil),       // [k]
		}
	}
	return stockDot(node, vjps, outShape)
}

// rsqrtVJP: d/dx x^(-1/2) = -1/2 · x^(-3/2) = -1/2 · out³.
func rsqrtVJP(node *graph.Node, vjps []*graph.Node, _ shapes.Shape) []*graph.Node {
	out := node
	return []*graph.Node{graph.Mul(vjps[0], graph.MulScalar(graph.Mul(out, graph.Square(out)), -0.5))}
}

// sliceVJP scatters the adjoint back into zeros with Concatenate (unit strides); strided slices use the
// stock VJP.
func sliceVJP(node *graph.Node, vjps []*graph.Node, outShape shapes.Shape) []*graph.Node {
	p := params(node)
	starts, ok1 := ints(p, "starts")
	limits, ok2 := ints(p, "limits")
	strides, ok3 := ints(p, "strides")
	if !(ok1 && ok2 && ok3) {
		return stockSlice(node, vjps, outShape)
	}
	for _, s := range strides {
		if s > 1 {
			return stockSlice(node, vjps, outShape)
		}
	}
	x := node.Inputs()[0]
	g := vjps[0]
	dims := x.Shape().Dimensions
	for axis := range dims {
		before, after := starts[axis], dims[axis]-limits[axis]
		if before == 0 && after == 0 {
			continue
		}
		parts := make([]*graph.Node, 0, 3)
		if before > 0 {
			parts = append(parts, zerosLikeAlong(g, axis, before))
		}
		parts = append(parts, g)
		if after > 0 {
			parts = append(parts, zerosLikeAlong(g, axis, after))
		}
		g = graph.Concatenate(parts, axis)
	}
	return []*graph.Node{g}
}

// zerosLikeAlong returns zeros shaped like x except with size n along axis.
func zerosLikeAlong(x *graph.Node, axis, n int) *graph.Node {
	s := x.Shape().Clone()
	s.Dimensions[axis] = n
	return graph.Zeros(x.Graph(), s)
}
