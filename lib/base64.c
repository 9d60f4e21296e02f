#include <stddef.h>

#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encode(const void *s, size_t len, char *out)
{
	const unsigned char *p = s;
	unsigned long v;
	size_t i, n = 0;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		out[n++] = alphabet[v >> 18];
		out[n++] = alphabet[v >> 12 & 63];
		out[n++] = alphabet[v >> 6 & 63];
		out[n++] = alphabet[v & 63];
	}
	if (len - i > 0) {
		v = (unsigned long)p[i] << 16;
		if (len - i == 2)
			v |= (unsigned long)p[i + 1] << 8;
		out[n++] = alphabet[v >> 18];
		out[n++] = alphabet[v >> 12 & 63];
		out[n++] = len - i == 2 ? alphabet[v >> 6 & 63] : '=';
		out[n++] = '=';
	}
	out[n] = '\0';
	return n;
}

/* The value of base64 digit C, or -1. */
static int
digit(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == '/' ? 63 : -1;
}

/*
 * Padding may only end the last group of four, as "xx==" or "xxx=", and
 * the bits the padding leaves over must be zero (RFC 4648 §3.5), so each
 * byte string has exactly one encoding that decodes.
 */
long
base64_decode(const char *s, size_t len, void *out)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char *o = out;
	unsigned long v;
	size_t i, n = 0;
	int k, d, pad;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		if (i + 4 == len) {
			if (p[i + 3] == '=')
				pad = p[i + 2] == '=' ? 2 : 1;
		}
		v = 0;
		for (k = 0; k < 4 - pad; k++) {
			if ((d = digit(p[i + k])) < 0)
				return -1;
			v = v << 6 | (unsigned long)d;
		}
		v <<= 6 * pad;
		if ((pad == 1 && (v & 0xff) != 0) ||
		    (pad == 2 && (v & 0xffff) != 0))
			return -1;
		o[n++] = (unsigned char)(v >> 16);
		if (pad < 2)
			o[n++] = (unsigned char)(v >> 8);
		if (pad < 1)
			o[n++] = (unsigned char)v;
	}
	o[n] = '\0';
	return (long)n;
}
