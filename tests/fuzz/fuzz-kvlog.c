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
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvlog.h"

static jmp_buf refused;
static int in_open;		/* tracking allocations for a refusal */
static void **live;
static size_t nlive, caplive;
static char dir[] = "/tmp/hakit-fuzz-kvlog.XXXXXX";
static char path[sizeof(dir) + 4];

void *__real_xmalloc(size_t);
void *__real_xcalloc(size_t, size_t);
void *__real_xrealloc(void *, size_t);
char *__real_xstrdup(const char *);
char *__real_xmemdup(const void *, size_t);
void __real_free(void *);

static void
untrack(void *p)
{
	size_t i;

	for (i = nlive; i-- > 0;)
		if (live[i] == p) {
			live[i] = live[--nlive];
			return;
		}
}

static void *
track(void *p)
{
	if (!in_open)
		return p;
	if (nlive == caplive) {
		caplive = caplive ? 2 * caplive : 256;
		live = realloc(live, caplive * sizeof(*live));
		if (live == NULL)
			abort();
	}
	live[nlive++] = p;
	return p;
}

void *
__wrap_xmalloc(size_t n)
{
	return track(__real_xmalloc(n));
}

void *
__wrap_xcalloc(size_t n, size_t size)
{
	return track(__real_xcalloc(n, size));
}

void *
__wrap_xrealloc(void *p, size_t n)
{
	if (p != NULL && in_open)
		untrack(p);
	return track(__real_xrealloc(p, n));
}

char *
__wrap_xstrdup(const char *s)
{
	return track(__real_xstrdup(s));
}

char *
__wrap_xmemdup(const void *p, size_t n)
{
	return track(__real_xmemdup(p, n));
}

void
__wrap_free(void *p)
{
	if (p != NULL && in_open)
		untrack(p);
	__real_free(p);
}

void
__wrap_err(int status, const char *fmt, ...)
{
	(void)status;
	(void)fmt;
	longjmp(refused, 1);
}

void
__wrap_errx(int status, const char *fmt, ...)
{
	(void)status;
	(void)fmt;
	longjmp(refused, 1);
}

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
	nlive = 0;
	in_open = 1;
	if (setjmp(refused) == 0) {
		kv = kv_open(dir, 1);
		in_open = 0;
		kv_apply(kv, kv_count(kv), count, &total);
		kv_get(kv, "k");
		kv_close(kv);
	} else {
		in_open = 0;
		while (nlive > 0)
			__real_free(live[--nlive]);
		for (fd = lowfd; fd < lowfd + 8; fd++)
			close(fd);
	}
	return 0;
}
