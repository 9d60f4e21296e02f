/*
 * sha256: SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the
 * challenge-response of auth.h.  Checked against the NIST example
 * vectors and RFC 4231 in tests/44-tcp-auth.bats.
 *
 * Promise: the functions only read their inputs and write their outputs;
 * a context holds no pointer to the caller's data.
 */
#ifndef HAKIT_SHA256_H
#define HAKIT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32	/* bytes of a digest */
#define SHA256_BLOCK	64

struct sha256 {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed so far */
	unsigned char buf[SHA256_BLOCK];
	size_t nbuf;
};

void sha256_init(struct sha256 *);
void sha256_update(struct sha256 *, const void *data, size_t len);
void sha256_final(struct sha256 *, unsigned char out[SHA256_LEN]);

/* OUT = SHA-256(DATA). */
void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);

/* OUT = HMAC-SHA-256(KEY, DATA). */
void hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[SHA256_LEN]);

#endif
