// Package fastdot replaces the DotGeneral executor of GoMLX's pure-Go SimpleGo backend with one built
// on package sgemm, making float32 matrix products (MatMul, Einsum, DotGeneral, and the gradients
// built from them) roughly ten times faster without cgo.
//
// "DotGeneral" is GoMLX's general tensor contraction: batch axes (aligned in both operands),
// contracting axes (summed over) and cross axes (the rest), with output laid out as [batch, lhs cross,
// rhs cross]. The executor reads each operand as a batch of strided matrices in place when its axes
// allow (packing it with one transposing copy when they do not) and issues batched sgemm calls.
// Other dtypes, and nodes whose internals are not what this package expects, go to the stock
// executor.
//
// Install also replaces SimpleGo's float32 Add, Sub, Mul and Div when one operand is broadcast, and
// ReduceSum and ReduceMax over one contiguous block of axes, whose stock executors step a multi-axis
// iterator per element (a third of a pure-Go forward pass); the replacements give bit-identical results.
//
// Install hooks into SimpleGo through go:linkname and reflection on unexported fields of GoMLX
// v0.26.0; it checks the version and probes the node layout first, and installs nothing (returning
// ErrUnsupportedGoMLX) when they differ.
package fastdot
