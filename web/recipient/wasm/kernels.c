// kernels.c is the source of web/recipient/static/kernels.wasm (built by
// scripts/wasm, which also checks that the committed file is this source
// built): the recipient page's three per-byte loops for a large document,
// CFB decryption over whole AES blocks (OpenPGP SEIPD v1) and the block
// functions of SHA-1 (the MDC) and SHA-256 (the fingerprint and the signed
// digest). They compute exactly what aes.js, sha1.js and sha256.js do,
// which stay the fallback; kernels.js checks each against them when it
// loads and browsertest/crypto.mjs does so at length. bench web-wasm
// measured these loops at 1.3–2.5× the JavaScript for AES and up to 1.9×
// for the hashes (docs/recipient.md).
//
// Key expansion, the AES tables, SHA-256's constants, buffering and padding
// stay in JavaScript: kernels.js writes the tables and constants, round keys, chaining values and up to
// DATA_CAP bytes into this module's memory, runs a loop, and reads the
// result back. No imports, no allocation, fixed memory.

#include <stdint.h>

typedef uint32_t u32;

#define EXPORT(name) __attribute__((export_name(#name)))
#define DATA_CAP (1 << 20)

// T: the four AES round tables, S: the S-box in each byte of a word (1024
// words each, written by kernels.js from aes.js's).
static u32 T[1024], S[1024];
// RK: AES round keys (little-endian words, 44, 52 or 60 of them); ST: the
// CFB state (the previous ciphertext block); H: a hash's chaining value.
static u32 RK[60], ST[4], H[8];
static uint8_t DATA[DATA_CAP] __attribute__((aligned(16)));

// K256: SHA-256's round constants (written by kernels.js from sha256.js's).
static u32 K256[64];

EXPORT(t_ptr) u32 *t_ptr(void) { return T; }
EXPORT(s_ptr) u32 *s_ptr(void) { return S; }
EXPORT(k256_ptr) u32 *k256_ptr(void) { return K256; }
EXPORT(rk_ptr) u32 *rk_ptr(void) { return RK; }
EXPORT(st_ptr) u32 *st_ptr(void) { return ST; }
EXPORT(h_ptr) u32 *h_ptr(void) { return H; }
EXPORT(data_ptr) uint8_t *data_ptr(void) { return DATA; }
EXPORT(data_cap) u32 data_cap(void) { return DATA_CAP; }

#define TT(a, b, c, d) (T[(a) & 255] ^ T[256 | ((b) >> 8 & 255)] ^ T[512 | ((c) >> 16 & 255)] ^ T[768 | (d) >> 24])
#define SS(a, b, c, d) (S[(a) & 255] | S[256 | ((b) >> 8 & 255)] | S[512 | ((c) >> 16 & 255)] | S[768 | (d) >> 24])

// cfb runs CFB decryption in place over n whole blocks of DATA, with nr
// rounds, the state in ST; inlined once per key size so that the rounds
// unroll.
static inline __attribute__((always_inline)) void cfb(u32 n, const int nr) {
	u32 *d = (u32 *)DATA;
	u32 p0 = ST[0], p1 = ST[1], p2 = ST[2], p3 = ST[3];
	for (u32 i = 0; i < 4 * n; i += 4) {
		u32 s0 = p0 ^ RK[0], s1 = p1 ^ RK[1], s2 = p2 ^ RK[2], s3 = p3 ^ RK[3];
		for (int r = 1; r < nr; r++) {
			const u32 *k = RK + 4 * r;
			u32 t0 = TT(s0, s1, s2, s3) ^ k[0];
			u32 t1 = TT(s1, s2, s3, s0) ^ k[1];
			u32 t2 = TT(s2, s3, s0, s1) ^ k[2];
			u32 t3 = TT(s3, s0, s1, s2) ^ k[3];
			s0 = t0;
			s1 = t1;
			s2 = t2;
			s3 = t3;
		}
		const u32 *k = RK + 4 * nr;
		u32 k0 = SS(s0, s1, s2, s3) ^ k[0];
		u32 k1 = SS(s1, s2, s3, s0) ^ k[1];
		u32 k2 = SS(s2, s3, s0, s1) ^ k[2];
		u32 k3 = SS(s3, s0, s1, s2) ^ k[3];
		p0 = d[i];
		p1 = d[i + 1];
		p2 = d[i + 2];
		p3 = d[i + 3];
		d[i] = p0 ^ k0;
		d[i + 1] = p1 ^ k1;
		d[i + 2] = p2 ^ k2;
		d[i + 3] = p3 ^ k3;
	}
	ST[0] = p0;
	ST[1] = p1;
	ST[2] = p2;
	ST[3] = p3;
}

// cfb_decrypt decrypts n whole blocks of DATA in place (n ≤ DATA_CAP/16)
// with the nk-word key (4, 6 or 8) whose round keys are in RK. It returns
// 0, or 1 for an nk or n it does not take.
EXPORT(cfb_decrypt) u32 cfb_decrypt(u32 nk, u32 n) {
	if (n > DATA_CAP / 16) return 1;
	switch (nk) {
	case 4: cfb(n, 10); return 0;
	case 6: cfb(n, 12); return 0;
	case 8: cfb(n, 14); return 0;
	}
	return 1;
}

static inline u32 rotl(u32 x, int n) { return (x << n) | (x >> (32 - n)); }
static inline u32 rotr(u32 x, int n) { return (x >> n) | (x << (32 - n)); }
static inline u32 be32(const uint8_t *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }

// sha1_blocks hashes n whole 64-byte blocks of DATA into H[0..5).
// It returns 0, or 1 for an n too large.
EXPORT(sha1_blocks) u32 sha1_blocks(u32 n) {
	if (n > DATA_CAP / 64) return 1;
	u32 W[16];
	u32 h0 = H[0], h1 = H[1], h2 = H[2], h3 = H[3], h4 = H[4];
	const uint8_t *p = DATA;
	for (u32 b = 0; b < n; b++, p += 64) {
		for (int i = 0; i < 16; i++) W[i] = be32(p + 4 * i);
		u32 a = h0, bb = h1, c = h2, d = h3, e = h4;
		for (int i = 0; i < 80; i++) {
			u32 w;
			if (i < 16) {
				w = W[i];
			} else {
				w = rotl(W[(i - 3) & 15] ^ W[(i - 8) & 15] ^ W[(i - 14) & 15] ^ W[i & 15], 1);
				W[i & 15] = w;
			}
			u32 f, k;
			if (i < 20) {
				f = (bb & c) | (~bb & d);
				k = 0x5a827999;
			} else if (i < 40) {
				f = bb ^ c ^ d;
				k = 0x6ed9eba1;
			} else if (i < 60) {
				f = (bb & c) | (bb & d) | (c & d);
				k = 0x8f1bbcdc;
			} else {
				f = bb ^ c ^ d;
				k = 0xca62c1d6;
			}
			u32 t = rotl(a, 5) + f + e + k + w;
			e = d;
			d = c;
			c = rotl(bb, 30);
			bb = a;
			a = t;
		}
		h0 += a;
		h1 += bb;
		h2 += c;
		h3 += d;
		h4 += e;
	}
	H[0] = h0;
	H[1] = h1;
	H[2] = h2;
	H[3] = h3;
	H[4] = h4;
	return 0;
}

// sha256_blocks hashes n whole 64-byte blocks of DATA into H[0..8).
// It returns 0, or 1 for an n too large.
EXPORT(sha256_blocks) u32 sha256_blocks(u32 n) {
	if (n > DATA_CAP / 64) return 1;
	u32 W[64];
	u32 h0 = H[0], h1 = H[1], h2 = H[2], h3 = H[3], h4 = H[4], h5 = H[5], h6 = H[6], h7 = H[7];
	const uint8_t *p = DATA;
	for (u32 b = 0; b < n; b++, p += 64) {
		for (int i = 0; i < 16; i++) W[i] = be32(p + 4 * i);
		for (int i = 16; i < 64; i++) {
			u32 x = W[i - 15], y = W[i - 2];
			W[i] = W[i - 16] + (rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)) + W[i - 7] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10));
		}
		u32 a = h0, bb = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
		for (int i = 0; i < 64; i++) {
			u32 t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + W[i];
			u32 t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
			hh = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = bb;
			bb = a;
			a = t1 + t2;
		}
		h0 += a;
		h1 += bb;
		h2 += c;
		h3 += d;
		h4 += e;
		h5 += f;
		h6 += g;
		h7 += hh;
	}
	H[0] = h0;
	H[1] = h1;
	H[2] = h2;
	H[3] = h3;
	H[4] = h4;
	H[5] = h5;
	H[6] = h6;
	H[7] = h7;
	return 0;
}
