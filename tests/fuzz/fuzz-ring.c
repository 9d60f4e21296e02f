/*
 * libFuzzer target: the ring file parser.  Any bytes must either parse or
 * be refused with a message; a parsed ring must hold only valid names and
 * positive weights.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ring r;
	char err[512];
	size_t i;

	memset(&r, 0, sizeof(r));
	if (ring_parse(&r, "fuzz.ring", (const char *)data, size, err,
	    sizeof(err)) == 0) {
		for (i = 0; i < r.nnodes; i++)
			if (ring_bad_name(r.node[i].name) != NULL ||
			    r.node[i].weight == 0)
				abort();
	} else if (err[0] == '\0')
		abort();
	ring_free(&r);
	return 0;
}
