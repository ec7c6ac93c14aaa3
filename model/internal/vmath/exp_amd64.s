//go:build amd64 && !purego

#include "textflag.h"

// Constants of expShiftAVX2, each broadcast from one float32 (see exp32 in attn.go for the method).
DATA expc<>+0(SB)/4, $-87.33654       // lowest input: clamp (e^-87.34 ≈ 1.2e-38)
DATA expc<>+4(SB)/4, $1.44269504      // log2(e)
DATA expc<>+8(SB)/4, $0.5
DATA expc<>+12(SB)/4, $0.693359375    // ln 2, high part
DATA expc<>+16(SB)/4, $-2.12194440e-4 // ln 2, low part
DATA expc<>+20(SB)/4, $1.9875691500e-4
DATA expc<>+24(SB)/4, $1.3981999507e-3
DATA expc<>+28(SB)/4, $8.3334519073e-3
DATA expc<>+32(SB)/4, $4.1665795894e-2
DATA expc<>+36(SB)/4, $1.6666665459e-1
DATA expc<>+40(SB)/4, $5.0000001201e-1
DATA expc<>+44(SB)/4, $1.0
DATA expc<>+48(SB)/4, $127
GLOBL expc<>(SB), RODATA|NOPTR, $52

// func expShiftAVX2(n int, x *float32, shift float32) float32
// x[i] = e^(x[i]-shift) for i < n (n a multiple of 8); returns the sum of the results.
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSS shift+16(FP), Y15
	VBROADCASTSS expc<>+0(SB), Y14
	VBROADCASTSS expc<>+4(SB), Y13
	VBROADCASTSS expc<>+8(SB), Y12
	VBROADCASTSS expc<>+12(SB), Y11
	VBROADCASTSS expc<>+16(SB), Y10
	VBROADCASTSS expc<>+44(SB), Y9
	VPBROADCASTD expc<>+48(SB), Y8
	VBROADCASTSS expc<>+20(SB), Y7
	VBROADCASTSS expc<>+24(SB), Y6
	VXORPS Y1, Y1, Y1 // sum
	SHRQ $3, CX
	JZ done

loop:
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0           // x - shift
	VMAXPS Y14, Y0, Y0           // clamp below
	VMOVAPS Y12, Y2
	VFMADD231PS Y13, Y0, Y2      // x·log2e + 0.5
	VROUNDPS $1, Y2, Y2          // n = floor(x·log2e + 0.5)
	VFNMADD231PS Y11, Y2, Y0     // r = x - n·ln2hi
	VFNMADD231PS Y10, Y2, Y0     // r -= n·ln2lo
	VMOVAPS Y7, Y3
	VFMADD213PS Y6, Y0, Y3       // p = p·r + c
	VBROADCASTSS expc<>+28(SB), Y4
	VFMADD213PS Y4, Y0, Y3
	VBROADCASTSS expc<>+32(SB), Y4
	VFMADD213PS Y4, Y0, Y3
	VBROADCASTSS expc<>+36(SB), Y4
	VFMADD213PS Y4, Y0, Y3
	VBROADCASTSS expc<>+40(SB), Y4
	VFMADD213PS Y4, Y0, Y3
	VMULPS Y0, Y0, Y5            // r²
	VFMADD213PS Y0, Y5, Y3       // p·r² + r
	VADDPS Y9, Y3, Y3            // + 1
	VCVTPS2DQ Y2, Y2             // n as int32
	VPADDD Y8, Y2, Y2
	VPSLLD $23, Y2, Y2           // 2^n
	VMULPS Y2, Y3, Y3
	VMOVUPS Y3, (SI)
	VADDPS Y3, Y1, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ loop

done:
	VEXTRACTF128 $1, Y1, X0
	VADDPS X0, X1, X1
	VHADDPS X1, X1, X1
	VHADDPS X1, X1, X1
	VMOVSS X1, ret+24(FP)
	VZEROUPPER
	RET

// func maxAVX2(n int, x *float32, init float32) float32
// The largest of init and x[0..n) (n a multiple of 8); NaNs are not expected.
TEXT ·maxAVX2(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSS init+16(FP), Y0
	VMOVAPS Y0, Y1
	SHRQ $3, CX
	JZ mdone
	TESTQ $1, CX
	JZ mpairs
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JZ mdone

mpairs:
	VMAXPS (SI), Y0, Y0
	VMAXPS 32(SI), Y1, Y1
	ADDQ $64, SI
	SUBQ $2, CX
	JNZ mpairs

mdone:
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
