// Package vmath holds float32 vector kernels shared by the host attention kernel and the SimpleGo
// executors: ExpShift (e^(x−shift) in place with the sum, a softmax row), RowMax, Sigmoid and the
// scalar Exp32 (Cephes expf, within 2 ulp). On amd64 with AVX2 and FMA the row loops run in assembly
// (exp_amd64.s); elsewhere, and with the purego tag, in Go.
package vmath
