/*
 * libFuzzer target: log recovery, as a replication member starts.  The
 * input is written as DIR/log; kv_open() replays it (torn tails truncated,
 * corruption refused) and kv_apply() decodes every record into the map.
 * A refusal ends in err()/errx(), which the harness turns into a return
 * (linked with -Wl,--wrap for err, errx, the x*alloc functions and free):
 * exiting 2 on corruption is the contract, anything else (a crash, a
 * sanitizer report, a leak after kv_close) is a bug.  What a refusal
 * leaves allocated is tracked and freed here, as exit would.  Inputs
 * are also mutated into truncations and flipped bits of a seed log by the
 * fuzzer itself.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvlog.h"

#include "track.h"

static char dir[] = "/tmp/hakit-fuzz-kvlog.XXXXXX";
static char path[sizeof(dir) + 4];

static void
count(void *arg, size_t pos, const char *rec, size_t len)
{
	(void)pos;
	(void)rec;
	*(size_t *)arg += len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvlog *kv;
	size_t total = 0;
	int fd, lowfd;

	if (path[0] == '\0') {
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/log", dir);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	/* A refusal leaves the log's descriptor open: close it after. */
	lowfd = dup(0);
	close(lowfd);
	fuzz_begin();
	if (setjmp(refused) == 0) {
		kv = kv_open(dir, 1);
		fuzz_end(0);
		kv_apply(kv, kv_count(kv), count, &total);
		kv_get(kv, "k");
		kv_close(kv);
	} else {
		fuzz_end(1);
		for (fd = lowfd; fd < lowfd + 8; fd++)
			close(fd);
	}
	return 0;
}
