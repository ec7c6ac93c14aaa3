package fastdot

import (
	"fmt"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	_ "unsafe" // for go:linkname

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// gomlxModule and gomlxVersion pin the SimpleGo internals this package was written against: the
// signatures below must match them exactly.
const (
	gomlxModule  = "github.com/gomlx/gomlx"
	gomlxVersion = "v0.26.0"
)

// priorityUser is simplego's registerPriority for user overrides (above its generic, typed and
// architecture-specific executors).
const priorityUser = 100

// nodeExecutor has the underlying type of simplego.nodeExecutor.
type nodeExecutor = func(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer,
	inputsOwned []bool) (*simplego.Buffer, error)

// setNodeExecutor is simplego.setNodeExecutor(opType, priority registerPriority, executor nodeExecutor):
// registerPriority is an int and nodeExecutor a func type, so the ABI is the same.
//
//go:linkname setNodeExecutor github.com/gomlx/gomlx/backends/simplego.setNodeExecutor
func setNodeExecutor(opType backends.OpType, priority int, executor nodeExecutor)

// stockDotGeneral is simplego's own DotGeneral executor, used for what this package does not handle.
//
//go:linkname stockDotGeneral github.com/gomlx/gomlx/backends/simplego.execDotGeneral
func stockDotGeneral(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer,
	inputsOwned []bool) (*simplego.Buffer, error)

// Install registers the sgemm-based DotGeneral executor in the SimpleGo backend (for every SimpleGo
// backend in the process). It is idempotent and safe for concurrent calls; call it before executing
// graphs (the registration itself is not synchronised with running executions). It returns
// ErrUnsupportedGoMLX, wrapped, and installs nothing when the linked GoMLX is not the version this
// package was written for or its internals no longer look as expected.
func Install() error { return installOnce() }

var installOnce = sync.OnceValue(func() error {
	if err := checkVersion(); err != nil {
		return err
	}
	l, err := probeLayout()
	if err != nil {
		return err
	}
	layout = l
	setNodeExecutor(backends.OpTypeDotGeneral, priorityUser, execDotGeneral)
	installBinary()
	installReduce()
	installUnary()
	return nil
})

// checkVersion fails when the build says the linked GoMLX is another version. Binaries without build
// information (rare) are let through: probeLayout still checks the internals.
func checkVersion() error {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	for _, dep := range info.Deps {
		if dep.Path != gomlxModule {
			continue
		}
		if dep.Replace != nil {
			dep = dep.Replace
		}
		if dep.Version != gomlxVersion {
			return fmt.Errorf("fastdot: %s %s (need %s): %w", gomlxModule, dep.Version, gomlxVersion, ErrUnsupportedGoMLX)
		}
	}
	return nil
}

// nodeLayout records where the unexported pieces of a simplego DotGeneral node live, found by probing.
type nodeLayout struct {
	inputsField int          // index of Node.inputs
	dataField   int          // index of Node.data
	paramsType  reflect.Type // dynamic type of Node.data for DotGeneral (*simplego.dotGeneralNodeData)
	// indices of the dotGeneralNodeData fields
	lhsContracting, lhsBatch, rhsContracting, rhsBatch int
	batchSize, lhsCross, rhsCross, contracting         int
}

// layout is set once by Install (inside installOnce, before the executor that reads it is registered).
var layout nodeLayout

// probeLayout builds a small DotGeneral with a throw-away SimpleGo backend and checks that its node
// carries the fields (names, types and values) the executor reads.
func probeLayout() (l nodeLayout, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fastdot: probing simplego DotGeneral node: %v: %w", r, ErrUnsupportedGoMLX)
		}
	}()
	fail := func(what string) (nodeLayout, error) {
		return nodeLayout{}, fmt.Errorf("fastdot: simplego DotGeneral node: %s: %w", what, ErrUnsupportedGoMLX)
	}
	nodeType := reflect.TypeFor[simplego.Node]()
	fi, ok := nodeType.FieldByName("inputs")
	if !ok || fi.Type != reflect.TypeFor[[]*simplego.Node]() {
		return fail("no inputs []*Node field")
	}
	fd, ok := nodeType.FieldByName("data")
	if !ok || fd.Type.Kind() != reflect.Interface || len(fi.Index) != 1 || len(fd.Index) != 1 {
		return fail("no data interface field")
	}
	l.inputsField, l.dataField = fi.Index[0], fd.Index[0]

	be, err := simplego.New("")
	if err != nil {
		return fail(err.Error())
	}
	defer be.Finalize()
	bld := be.Builder("fastdot_probe")
	x, err := bld.Parameter("x", shapes.Make(dtypes.Float32, 2, 5, 3), nil)
	if err != nil {
		return fail(err.Error())
	}
	y, err := bld.Parameter("y", shapes.Make(dtypes.Float32, 2, 3, 4), nil)
	if err != nil {
		return fail(err.Error())
	}
	out, err := bld.DotGeneral(x, []int{2}, []int{0}, y, []int{1}, []int{0})
	if err != nil {
		return fail(err.Error())
	}
	reshape, ok := out.(*simplego.Node)
	if !ok {
		return fail(fmt.Sprintf("DotGeneral returned %T", out))
	}
	ins := reflect.ValueOf(reshape).Elem().Field(l.inputsField)
	if ins.Len() != 1 {
		return fail("DotGeneral is not a single Reshape of the DotGeneral node")
	}
	data := ins.Index(0).Elem().Field(l.dataField)
	if data.IsNil() || data.Elem().Kind() != reflect.Pointer || data.Elem().Elem().Kind() != reflect.Struct {
		return fail("data is not a pointer to a struct")
	}
	l.paramsType = data.Elem().Type()
	st := l.paramsType.Elem()
	field := func(name string, kind reflect.Kind, dst *int) bool {
		f, ok := st.FieldByName(name)
		if !ok || len(f.Index) != 1 || f.Type.Kind() != kind || (kind == reflect.Slice && f.Type.Elem().Kind() != reflect.Int) {
			return false
		}
		*dst = f.Index[0]
		return true
	}
	for _, f := range []struct {
		name string
		kind reflect.Kind
		dst  *int
	}{
		{"lhsContractingAxes", reflect.Slice, &l.lhsContracting},
		{"lhsBatchAxes", reflect.Slice, &l.lhsBatch},
		{"rhsContractingAxes", reflect.Slice, &l.rhsContracting},
		{"rhsBatchAxes", reflect.Slice, &l.rhsBatch},
		{"batchSize", reflect.Int, &l.batchSize},
		{"lhsCrossSize", reflect.Int, &l.lhsCross},
		{"rhsCrossSize", reflect.Int, &l.rhsCross},
		{"contractingSize", reflect.Int, &l.contracting},
	} {
		if !field(f.name, f.kind, f.dst) {
			return fail("field " + f.name + " missing or of another type")
		}
	}
	p, ok := l.read((*simplego.Node)(ins.Index(0).UnsafePointer()))
	want := params{lhsContracting: []int{2}, lhsBatch: []int{0}, rhsContracting: []int{1}, rhsBatch: []int{0},
		batchSize: 2, lhsCross: 5, rhsCross: 4, contracting: 3}
	if !ok || !p.equal(want) {
		return fail(fmt.Sprintf("probe parameters %+v, want %+v", p, want))
	}
	return l, nil
}

// params are a DotGeneral node's axes and the sizes of its normalised [batch, lhsCross, rhsCross] output.
type params struct {
	lhsContracting, lhsBatch, rhsContracting, rhsBatch []int
	batchSize, lhsCross, rhsCross, contracting         int
}

func (p params) equal(q params) bool {
	return slices.Equal(p.lhsContracting, q.lhsContracting) && slices.Equal(p.lhsBatch, q.lhsBatch) &&
		slices.Equal(p.rhsContracting, q.rhsContracting) && slices.Equal(p.rhsBatch, q.rhsBatch) &&
		p.batchSize == q.batchSize && p.lhsCross == q.lhsCross && p.rhsCross == q.rhsCross &&
		p.contracting == q.contracting
}

// read extracts the DotGeneral parameters of node; false when its data is not what the probe saw.
func (l *nodeLayout) read(node *simplego.Node) (params, bool) {
	if node == nil || l.paramsType == nil {
		return params{}, false
	}
	d := reflect.ValueOf(node).Elem().Field(l.dataField)
	if d.IsNil() || d.Elem().Type() != l.paramsType || d.Elem().IsNil() {
		return params{}, false
	}
	s := d.Elem().Elem()
	ints := func(i int) []int {
		f := s.Field(i)
		out := make([]int, f.Len())
		for j := range out {
			out[j] = int(f.Index(j).Int())
		}
		return out
	}
	return params{
		lhsContracting: ints(l.lhsContracting), lhsBatch: ints(l.lhsBatch),
		rhsContracting: ints(l.rhsContracting), rhsBatch: ints(l.rhsBatch),
		batchSize: int(s.Field(l.batchSize).Int()), lhsCross: int(s.Field(l.lhsCross).Int()),
		rhsCross: int(s.Field(l.rhsCross).Int()), contracting: int(s.Field(l.contracting).Int()),
	}, true
}

// execDotGeneral is the registered executor: float32 products through sgemm, everything else (other
// dtypes, unexpected nodes) through the stock executor.
func execDotGeneral(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer,
	inputsOwned []bool) (*simplego.Buffer, error) {
	out, handled, err := fastDotGeneral(backend, node, inputs)
	if !handled {
		return stockDotGeneral(backend, node, inputs, inputsOwned)
	}
	return out, err
}

// fastDotGeneral computes the DotGeneral with sgemm; handled is false when it declined (nothing was
// allocated then).
func fastDotGeneral(backend *simplego.Backend, node *simplego.Node, inputs []*simplego.Buffer) (
	out *simplego.Buffer, handled bool, err error) {
	if backend == nil || len(inputs) != 2 || inputs[0] == nil || inputs[1] == nil {
		return nil, false, nil
	}
	lhsShape, err1 := backend.BufferShape(inputs[0])
	rhsShape, err2 := backend.BufferShape(inputs[1])
	if err1 != nil || err2 != nil || lhsShape.DType != dtypes.Float32 || rhsShape.DType != dtypes.Float32 {
		return nil, false, nil
	}
	p, ok := layout.read(node)
	if !ok {
		return nil, false, nil
	}
	lhs, ok1 := float32Data(backend, inputs[0], lhsShape.Size())
	rhs, ok2 := float32Data(backend, inputs[1], rhsShape.Size())
	if !ok1 || !ok2 {
		return nil, false, nil
	}
	prob, ok := plan(p, lhsShape.Dimensions, rhsShape.Dimensions)
	if !ok {
		return nil, false, nil
	}
	outBuf, outFlat, ok := newFloat32(backend, p.batchSize, p.lhsCross, p.rhsCross)
	if !ok {
		return nil, false, nil
	}
	if err := prob.run(lhs, rhs, outFlat); err != nil {
		_ = backend.BufferFinalize(outBuf)
		return nil, true, fmt.Errorf("fastdot: DotGeneral lhs %v (contracting %v, batch %v) rhs %v (contracting %v, batch %v): %w",
			lhsShape.Dimensions, p.lhsContracting, p.lhsBatch, rhsShape.Dimensions, p.rhsContracting, p.rhsBatch, err)
	}
	return outBuf, true, nil
}

// float32Data returns buf's flat data when it is a []float32 of n elements; ok is false otherwise.
func float32Data(backend *simplego.Backend, buf *simplego.Buffer, n int) ([]float32, bool) {
	data, err := backend.BufferData(buf)
	flat, ok := data.([]float32)
	return flat, err == nil && ok && len(flat) == n
}

// newFloat32 allocates a float32 output buffer of dims and returns it with its flat data; ok is false,
// with nothing left allocated, when the backend's buffer is not the expected []float32.
func newFloat32(backend *simplego.Backend, dims ...int) (*simplego.Buffer, []float32, bool) {
	buf := backend.NewBuffer(shapes.Make(dtypes.Float32, dims...))
	flat, ok := float32Data(backend, buf, numel(dims))
	if !ok {
		if buf != nil {
			_ = backend.BufferFinalize(buf)
		}
		return nil, nil, false
	}
	return buf, flat, true
}
