#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

int
parse_ullong(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p;

	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (ULLONG_MAX - (unsigned long long)(*p - '0')) / 10)
			return -1;	/* would overflow */
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	*out = v;
	return 0;
}

int
parse_ulong(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long long v;

	if (parse_ullong(s, &v) == -1 || v < min || v > max)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

int
parse_pos(const char *s, size_t *out)
{
	unsigned long long v;

	if (parse_ullong(s, &v) == -1 || v > SIZE_MAX / 2)
		return -1;
	*out = (size_t)v;
	return 0;
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		err(EXIT_FAIL, "malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		err(EXIT_FAIL, "calloc");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		err(EXIT_FAIL, "realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

char *
xmemdup(const void *p, size_t n)
{
	char *s = xmalloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *
xvasprintf(size_t *len, const char *fmt, va_list ap)
{
	va_list again;
	char *s;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0)
		err(EXIT_FAIL, "vsnprintf");
	s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, again);
	va_end(again);
	if (len != NULL)
		*len = (size_t)n;
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(NULL, fmt, ap);
	va_end(ap);
	return s;
}

void
hex_encode(const void *data, size_t len, char *hex)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", p[i]);
	hex[2 * len] = '\0';
}

void
random_hex(char *hex, size_t nbytes)
{
	unsigned char b[64];
	size_t got = 0;
	ssize_t n;

	if (nbytes > sizeof(b))
		errx(EXIT_FAIL, "random_hex: %zu bytes asked", nbytes);
	/* getrandom, not /dev/urandom: it needs no descriptor. */
	while (got < nbytes) {
		if ((n = getrandom(b + got, nbytes - got, 0)) > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			err(EXIT_FAIL, "getrandom");
	}
	hex_encode(b, nbytes, hex);
}

void
print_version(void)
{
	extern char *program_invocation_short_name;

	printf("%s %s\n", program_invocation_short_name, HAKIT_VERSION);
	exit(fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL);
}
