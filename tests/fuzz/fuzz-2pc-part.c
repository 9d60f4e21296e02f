/*
 * libFuzzer target: the log records 2pc-part replays at recovery, without
 * a daemon.  The tool's source is included with main renamed, so its
 * static replay() is called as it is, one record per input line (the
 * log's CRC is bypassed so that the fuzzer reaches the record decoder).
 * A malformed record must end in errx (exit 2), turned into a return
 * here; every allocation is freed after each input (track.h).
 */
#define main part_main
#include "../../src/2pc-part.c"
#undef main

#include "track.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *line, *nl;

	fuzz_begin();
	buf = xmalloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	txs = strmap_new();
	floors = strmap_new();
	doubt = NULL;
	if (setjmp(refused) == 0)
		for (line = buf; line != NULL; line = nl) {
			if ((nl = strchr(line, '\n')) != NULL)
				*nl++ = '\0';
			replay(NULL, line, strlen(line));
		}
	fuzz_end(1);
	return 0;
}
