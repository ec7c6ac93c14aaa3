// Package sgemm is a pure-Go (no cgo) single-precision GEMM: C = alpha·op(A)·op(B) + beta·C on
// row-major float32 matrices, the "matmul" behind every DotGeneral of the SimpleGo backend once
// package fastdot is installed.
//
// It follows the Goto/BLIS scheme: B is packed into kc×nr micro-panels, A into mr×kc micro-panels,
// and a Go-assembly micro-kernel keeps an mr×nr tile of C in vector registers (12×32 with AVX-512,
// 6×16 with AVX2+FMA; a pure-Go 4×4 kernel on other CPUs, under the purego build tag and with
// AGENTLENS_KERNEL=generic). Before first use each kernel is checked against the pure-Go one on edge
// shapes (exact arithmetic, compared bit for bit); one that disagrees is skipped with a warning (package
// isa). Every assembly tile shape has a pure-Go twin with the same tiling (go-12x32, go-6x16), so the
// tests sweep the driver's edge handling for each shape on any CPU. Products
// with m·n·k ≥ 96³ are split over runtime.GOMAXPROCS goroutines; single-row and single-column
// products (GEMV shapes, as in decoding) take a streaming path that never packs.
package sgemm
