/*
 * track.h: for fuzz targets that call code which exits on bad input.
 * Linked with -Wl,--wrap for err, errx, the x*alloc functions and free
 * (see the Makefile): between fuzz_begin() and fuzz_end(), err()/errx()
 * jump back to the setjmp in the target instead of exiting, and every
 * allocation still live at fuzz_end() is freed, as exit would.  Included
 * by one target each; not a library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

static jmp_buf refused;
static int tracking;
static void **live_allocs;
static size_t nlive, caplive;

void *__real_xmalloc(size_t);
void *__real_xcalloc(size_t, size_t);
void *__real_xrealloc(void *, size_t);
char *__real_xstrdup(const char *);
char *__real_xmemdup(const void *, size_t);
char *__real_xvasprintf(size_t *, const char *, va_list);
void __real_free(void *);

static void
untrack(void *p)
{
	size_t i;

	for (i = nlive; i-- > 0;)
		if (live_allocs[i] == p) {
			live_allocs[i] = live_allocs[--nlive];
			return;
		}
}

static void *
track(void *p)
{
	if (!tracking)
		return p;
	if (nlive == caplive) {
		caplive = caplive ? 2 * caplive : 256;
		live_allocs = realloc(live_allocs, caplive * sizeof(*live_allocs));
		if (live_allocs == NULL)
			abort();
	}
	live_allocs[nlive++] = p;
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
	if (p != NULL && tracking)
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

/*
 * util.c's xasprintf calls xvasprintf, and that xmalloc, inside one file,
 * where --wrap does not reach: both are wrapped here for their callers.
 */
char *
__wrap_xvasprintf(size_t *len, const char *fmt, va_list ap)
{
	return track(__real_xvasprintf(len, fmt, ap));
}

char *
__wrap_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = __real_xvasprintf(NULL, fmt, ap);
	va_end(ap);
	return track(s);
}

void
__wrap_free(void *p)
{
	if (p != NULL && tracking)
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

/* Starts tracking allocations. */
static void
fuzz_begin(void)
{
	nlive = 0;
	tracking = 1;
}

/* Stops tracking; if FREE_ALL, frees whatever is still allocated. */
static void
fuzz_end(int free_all)
{
	tracking = 0;
	while (free_all && nlive > 0)
		__real_free(live_allocs[--nlive]);
	nlive = 0;
}
