/*
 * libFuzzer target: the wire-line parsers every daemon uses on what a
 * peer sends.  The input is cut into lines as a wconn would (at most
 * WIRE_MAX_LINE bytes each); each line goes through wire_split() as the
 * 2PC and replication handlers use it, wire_token_ok() on every field,
 * wire_unescape() on the payload, and repl_split_cmd() as repl-client and
 * pipe mode use it.  wire_escape() then wire_unescape() must give back
 * the payload exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repl.h"
#include "wire.h"

static void
one_line(const char *line, size_t len)
{
	char *a = malloc(len + 1), *b = malloc(len + 1), *esc, *f[8];
	long ulen;
	size_t elen;
	int i, n;

	memcpy(a, line, len);
	a[len] = '\0';
	memcpy(b, a, len + 1);
	n = wire_split(a, f, 6);
	if (n < 0 || n > 6)
		abort();
	for (i = 0; i < n; i++)
		wire_token_ok(f[i]);
	if (n > 0) {
		ulen = wire_unescape(f[n - 1], strlen(f[n - 1]));
		if (ulen >= 0) {
			esc = malloc(2 * (size_t)ulen + 1);
			elen = wire_escape(f[n - 1], (size_t)ulen, esc);
			esc[elen] = '\0';
			if (wire_unescape(esc, elen) != ulen ||
			    memcmp(esc, f[n - 1], (size_t)ulen) != 0)
				abort();
			free(esc);
		}
	}
	n = repl_split_cmd(b, f, 3);
	if (n < 1 || n > 3)
		abort();
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) <= WIRE_MAX_LINE &&
		    memchr(p, '\0', (size_t)(nl - p)) == NULL)
			one_line(p, (size_t)(nl - p));
		p = nl + 1;
	}
	return 0;
}
