// Package vmath holds float32 vector kernels shared by the host attention kernel and the SimpleGo
// executors: ExpShift (e^(x−shift) in place with the sum, a softmax row), RowMax, Sigmoid and the
// scalar Exp32 (Cephes expf, within 2 ulp). On amd64 with AVX2 and FMA the row loops run in assembly
// (exp_amd64.s); elsewhere, with the purego tag, and with AGENTLENS_KERNEL=generic, in a Go twin that
// works in the same 8-lane blocks. The assembly is checked against the twin before its first use and
// skipped, with a warning, if it disagrees (package isa).
package vmath
