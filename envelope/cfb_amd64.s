//go:build amd64 && !purego

#include "textflag.h"

// func cfbBlocksAsm(nr int, xk *byte, ks *[16]byte, dst, src *byte, n int)
//
// X0 carries the keystream / cipher state, X1 the plaintext block, X2–X14
// round keys 1–13; round keys 0 and nr are read from (aligned) memory.
TEXT ·cfbBlocksAsm(SB), NOSPLIT, $0-48
	MOVQ nr+0(FP), CX
	MOVQ xk+8(FP), AX
	MOVQ ks+16(FP), BX
	MOVQ dst+24(FP), DI
	MOVQ src+32(FP), SI
	MOVQ n+40(FP), DX
	MOVOU (BX), X0
	MOVOU 16(AX), X2
	MOVOU 32(AX), X3
	MOVOU 48(AX), X4
	MOVOU 64(AX), X5
	MOVOU 80(AX), X6
	MOVOU 96(AX), X7
	MOVOU 112(AX), X8
	MOVOU 128(AX), X9
	MOVOU 144(AX), X10
	CMPQ CX, $14
	JEQ aes256

aes128:
	MOVOU (SI), X1
	PXOR X1, X0
	MOVOU X0, (DI)
	PXOR (AX), X0
	AESENC X2, X0
	AESENC X3, X0
	AESENC X4, X0
	AESENC X5, X0
	AESENC X6, X0
	AESENC X7, X0
	AESENC X8, X0
	AESENC X9, X0
	AESENC X10, X0
	AESENCLAST 160(AX), X0
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ DX
	JNZ aes128
	MOVOU X0, (BX)
	RET

aes256:
	MOVOU 160(AX), X11
	MOVOU 176(AX), X12
	MOVOU 192(AX), X13
	MOVOU 208(AX), X14
loop256:
	MOVOU (SI), X1
	PXOR X1, X0
	MOVOU X0, (DI)
	PXOR (AX), X0
	AESENC X2, X0
	AESENC X3, X0
	AESENC X4, X0
	AESENC X5, X0
	AESENC X6, X0
	AESENC X7, X0
	AESENC X8, X0
	AESENC X9, X0
	AESENC X10, X0
	AESENC X11, X0
	AESENC X12, X0
	AESENC X13, X0
	AESENC X14, X0
	AESENCLAST 224(AX), X0
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ DX
	JNZ loop256
	MOVOU X0, (BX)
	RET
