/*
 * base64: RFC 4648 base64 (the standard alphabet, with padding), the
 * encoding of keys and values on etcd's v3 JSON gateway.
 */
#ifndef HAKIT_BASE64_H
#define HAKIT_BASE64_H

#include <stddef.h>

/* Bytes base64_encode writes for LEN bytes, NUL not counted. */
#define BASE64_LEN(len)	(((len) + 2) / 3 * 4)

/* Writes LEN bytes of S to OUT, encoded, and a NUL; returns the length. */
size_t base64_encode(const void *s, size_t len, char *out);

/*
 * Decodes LEN bytes of S into OUT (room for LEN / 4 * 3 + 3 bytes), and
 * NUL-terminates it.  Returns the decoded length, or -1 if S is not
 * padded base64 (a bad byte, blanks and newlines included, a bad length,
 * padding anywhere but at the end, bits after the padding): so each byte
 * string has one encoding, the one base64_encode() writes.
 */
long base64_decode(const char *s, size_t len, void *out);

#endif
