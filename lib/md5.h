/*
 * md5: the MD5 message digest (RFC 1321), tuned for the short strings that
 * consistent hashing feeds it (keys and "NODE-i" point names).
 *
 * md5() digests any length.  md5_word0() returns only the first 32-bit
 * little-endian word of the digest, which is the whole of the MD5 key
 * hash used by ketama; it skips the work that cannot affect that word.
 * Both are pure functions of their input.
 */
#ifndef HAKIT_MD5_H
#define HAKIT_MD5_H

#include <stddef.h>
#include <stdint.h>

void md5(const void *data, size_t len, unsigned char digest[16]);
uint32_t md5_word0(const void *data, size_t len);

#endif
