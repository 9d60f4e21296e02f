/*
 * libFuzzer target: what 2pc-coord parses, without a daemon.  The tool's
 * source is included with main renamed, so its static parsers are called
 * as they are.  The input's first line is a transaction line from a
 * client or stdin (parse_tx, with participants a and b); every further
 * line is a log record replayed at recovery (replay; the log's CRC is
 * bypassed so that the fuzzer reaches the record decoder).  A malformed
 * record must end in errx (exit 2), turned into a return here; every
 * allocation is freed after each input (track.h).
 */
#define main coord_main
#include "../../src/2pc-coord.c"
#undef main

#include "track.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *line, *nl, *txid, why[256];
	struct ctx *x;

	fuzz_begin();
	buf = xmalloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	known = strmap_new();
	live = NULL;
	cid = "0123456789abcdef";	/* for parse_tx; replay makes its own */
	csock_abs = "-";
	parts = NULL;
	nparts = 0;
	part_find("a", "/a.sock", 1);
	part_find("b", "/b.sock", 1);
	if (setjmp(refused) == 0) {
		line = buf;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if ((x = parse_tx(line, &txid, why, sizeof(why))) != NULL)
			ctx_discard(x);
		cid = NULL;
		while (nl != NULL) {
			line = nl + 1;
			if ((nl = strchr(line, '\n')) != NULL)
				*nl = '\0';
			replay(NULL, line, strlen(line));
		}
	}
	fuzz_end(1);
	return 0;
}
