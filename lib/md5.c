/*
 * MD5 written from RFC 1321.  The 64 steps are unrolled; one block of
 * input is read as sixteen little-endian words.  Keys of up to 55 bytes
 * fit in one padded block, so the common case is a single compression.
 */
#include <string.h>

#include "md5.h"

#define F(x, y, z)	((z) ^ ((x) & ((y) ^ (z))))
#define G(x, y, z)	((y) ^ ((z) & ((x) ^ (y))))
#define H(x, y, z)	((x) ^ (y) ^ (z))
#define I(x, y, z)	((y) ^ ((x) | ~(z)))
#define ROTL(x, s)	(((x) << (s)) | ((x) >> (32 - (s))))
#define STEP(f, a, b, c, d, w, k, s) \
	((a) += f((b), (c), (d)) + (w) + (k), (a) = ROTL((a), (s)) + (b))

static inline uint32_t
load_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
store_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/*
 * The first 61 steps of the compression function on block W, from state
 * S.  They end with the last update of A; steps 62-64 only touch B, C, D.
 */
#define ROUNDS_TO_A(a, b, c, d, w) do {					\
	STEP(F, a, b, c, d, w[0], 0xd76aa478, 7);				\
	STEP(F, d, a, b, c, w[1], 0xe8c7b756, 12);				\
	STEP(F, c, d, a, b, w[2], 0x242070db, 17);				\
	STEP(F, b, c, d, a, w[3], 0xc1bdceee, 22);				\
	STEP(F, a, b, c, d, w[4], 0xf57c0faf, 7);				\
	STEP(F, d, a, b, c, w[5], 0x4787c62a, 12);				\
	STEP(F, c, d, a, b, w[6], 0xa8304613, 17);				\
	STEP(F, b, c, d, a, w[7], 0xfd469501, 22);				\
	STEP(F, a, b, c, d, w[8], 0x698098d8, 7);				\
	STEP(F, d, a, b, c, w[9], 0x8b44f7af, 12);				\
	STEP(F, c, d, a, b, w[10], 0xffff5bb1, 17);				\
	STEP(F, b, c, d, a, w[11], 0x895cd7be, 22);				\
	STEP(F, a, b, c, d, w[12], 0x6b901122, 7);				\
	STEP(F, d, a, b, c, w[13], 0xfd987193, 12);				\
	STEP(F, c, d, a, b, w[14], 0xa679438e, 17);				\
	STEP(F, b, c, d, a, w[15], 0x49b40821, 22);				\
	STEP(G, a, b, c, d, w[1], 0xf61e2562, 5);				\
	STEP(G, d, a, b, c, w[6], 0xc040b340, 9);				\
	STEP(G, c, d, a, b, w[11], 0x265e5a51, 14);				\
	STEP(G, b, c, d, a, w[0], 0xe9b6c7aa, 20);				\
	STEP(G, a, b, c, d, w[5], 0xd62f105d, 5);				\
	STEP(G, d, a, b, c, w[10], 0x02441453, 9);				\
	STEP(G, c, d, a, b, w[15], 0xd8a1e681, 14);				\
	STEP(G, b, c, d, a, w[4], 0xe7d3fbc8, 20);				\
	STEP(G, a, b, c, d, w[9], 0x21e1cde6, 5);				\
	STEP(G, d, a, b, c, w[14], 0xc33707d6, 9);				\
	STEP(G, c, d, a, b, w[3], 0xf4d50d87, 14);				\
	STEP(G, b, c, d, a, w[8], 0x455a14ed, 20);				\
	STEP(G, a, b, c, d, w[13], 0xa9e3e905, 5);				\
	STEP(G, d, a, b, c, w[2], 0xfcefa3f8, 9);				\
	STEP(G, c, d, a, b, w[7], 0x676f02d9, 14);				\
	STEP(G, b, c, d, a, w[12], 0x8d2a4c8a, 20);				\
	STEP(H, a, b, c, d, w[5], 0xfffa3942, 4);				\
	STEP(H, d, a, b, c, w[8], 0x8771f681, 11);				\
	STEP(H, c, d, a, b, w[11], 0x6d9d6122, 16);				\
	STEP(H, b, c, d, a, w[14], 0xfde5380c, 23);				\
	STEP(H, a, b, c, d, w[1], 0xa4beea44, 4);				\
	STEP(H, d, a, b, c, w[4], 0x4bdecfa9, 11);				\
	STEP(H, c, d, a, b, w[7], 0xf6bb4b60, 16);				\
	STEP(H, b, c, d, a, w[10], 0xbebfbc70, 23);				\
	STEP(H, a, b, c, d, w[13], 0x289b7ec6, 4);				\
	STEP(H, d, a, b, c, w[0], 0xeaa127fa, 11);				\
	STEP(H, c, d, a, b, w[3], 0xd4ef3085, 16);				\
	STEP(H, b, c, d, a, w[6], 0x04881d05, 23);				\
	STEP(H, a, b, c, d, w[9], 0xd9d4d039, 4);				\
	STEP(H, d, a, b, c, w[12], 0xe6db99e5, 11);				\
	STEP(H, c, d, a, b, w[15], 0x1fa27cf8, 16);				\
	STEP(H, b, c, d, a, w[2], 0xc4ac5665, 23);				\
	STEP(I, a, b, c, d, w[0], 0xf4292244, 6);				\
	STEP(I, d, a, b, c, w[7], 0x432aff97, 10);				\
	STEP(I, c, d, a, b, w[14], 0xab9423a7, 15);				\
	STEP(I, b, c, d, a, w[5], 0xfc93a039, 21);				\
	STEP(I, a, b, c, d, w[12], 0x655b59c3, 6);				\
	STEP(I, d, a, b, c, w[3], 0x8f0ccc92, 10);				\
	STEP(I, c, d, a, b, w[10], 0xffeff47d, 15);				\
	STEP(I, b, c, d, a, w[1], 0x85845dd1, 21);				\
	STEP(I, a, b, c, d, w[8], 0x6fa87e4f, 6);				\
	STEP(I, d, a, b, c, w[15], 0xfe2ce6e0, 10);				\
	STEP(I, c, d, a, b, w[6], 0xa3014314, 15);				\
	STEP(I, b, c, d, a, w[13], 0x4e0811a1, 21);				\
	STEP(I, a, b, c, d, w[4], 0xf7537e82, 6);				\
} while (0)

#define ROUNDS_AFTER_A(a, b, c, d, w) do {				\
	STEP(I, d, a, b, c, w[11], 0xbd3af235, 10);				\
	STEP(I, c, d, a, b, w[2], 0x2ad7d2bb, 15);				\
	STEP(I, b, c, d, a, w[9], 0xeb86d391, 21);				\
} while (0)

enum { A0 = 0x67452301, B0 = 0xefcdab89, C0 = 0x98badcfe, D0 = 0x10325476 };

static void
compress(uint32_t st[4], const unsigned char *block)
{
	uint32_t w[16], a = st[0], b = st[1], c = st[2], d = st[3];
	int i;

	for (i = 0; i < 16; i++)
		w[i] = load_le32(block + 4 * i);
	ROUNDS_TO_A(a, b, c, d, w);
	ROUNDS_AFTER_A(a, b, c, d, w);
	st[0] += a;
	st[1] += b;
	st[2] += c;
	st[3] += d;
}

/* Pads the final LEN (< 64) bytes of a TOTAL-byte message into one or two
 * blocks; returns how many. */
static int
pad_tail(unsigned char blocks[128], const unsigned char *tail, size_t len,
    uint64_t total)
{
	int n = len < 56 ? 1 : 2;
	uint64_t bits = total * 8;
	int i;

	memset(blocks, 0, 64 * (size_t)n);
	memcpy(blocks, tail, len);
	blocks[len] = 0x80;
	for (i = 0; i < 8; i++)
		blocks[64 * n - 8 + i] = (unsigned char)(bits >> (8 * i));
	return n;
}

void
md5(const void *data, size_t len, unsigned char digest[16])
{
	const unsigned char *p = data;
	uint32_t st[4] = { A0, B0, C0, D0 };
	unsigned char tail[128];
	size_t full = len & ~(size_t)63;
	int i, n;

	for (size_t off = 0; off < full; off += 64)
		compress(st, p + off);
	n = pad_tail(tail, p + full, len - full, len);
	for (i = 0; i < n; i++)
		compress(st, tail + 64 * i);
	for (i = 0; i < 4; i++)
		store_le32(digest + 4 * i, st[i]);
}

uint32_t
md5_word0(const void *data, size_t len)
{
	uint32_t w[16], a = A0, b = B0, c = C0, d = D0;
	unsigned char digest[16];

	if (len >= 56) {
		md5(data, len, digest);
		return load_le32(digest);
	}
	/* One block: the message, 0x80, zeros, and the bit length. */
	memset(w, 0, sizeof(w));
	memcpy(w, data, len);
	((unsigned char *)w)[len] = 0x80;
	w[14] = (uint32_t)(len * 8);
	for (int i = 0; i < 14; i++)	/* big-endian hosts read LE words */
		w[i] = load_le32((unsigned char *)&w[i]);
	ROUNDS_TO_A(a, b, c, d, w);
	return A0 + a;
}
