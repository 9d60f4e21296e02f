/*
 * util: the small helpers every hakit tool uses.
 *
 * Diagnostics use <err.h> (err, errx, warn, warnx), which print
 * "tool: message[: strerror]" on stderr as SPEC §1 asks.  The exit statuses
 * below mean the same in every tool.
 */
#ifndef HAKIT_UTIL_H
#define HAKIT_UTIL_H

#include <stdarg.h>
#include <stddef.h>

enum {
	EXIT_OK = 0,		/* success */
	EXIT_FAIL = 1,		/* failed or negative outcome (abort, not found) */
	EXIT_USAGE = 2,		/* usage error or unusable input */
	EXIT_UNAVAIL = 3	/* unavailable or indeterminate */
};

/*
 * Parses S as a decimal integer in [MIN, MAX] with nothing around it (no
 * sign, no blanks, no exponent).  Returns 0 and stores it in *OUT, or -1
 * if S is not such a number.
 */
int parse_ulong(const char *s, unsigned long min, unsigned long max,
    unsigned long *out);

/* As parse_ulong(), any value an unsigned long long holds. */
int parse_ullong(const char *s, unsigned long long *out);

/* As parse_ulong(), a position or count: at most SIZE_MAX / 2. */
int parse_pos(const char *s, size_t *out);

/* Allocation that cannot fail: on exhaustion the tool exits 1. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xmemdup(const void *p, size_t n);	/* adds a terminating NUL */
/* A new string formatted as printf(3) does. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As vasprintf(3), never failing; stores the length in *LEN unless NULL. */
char *xvasprintf(size_t *len, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Writes LEN bytes of DATA into HEX: 2 * LEN lowercase hex digits, a NUL. */
void hex_encode(const void *data, size_t len, char *hex);

/*
 * Fills HEX with 2 * NBYTES lowercase hex digits from getrandom(2) and a
 * NUL (NBYTES at most 64): a name nobody else will pick, or a nonce.
 * Uses no descriptor.  Exits 1 if there is no randomness.
 */
void random_hex(char *hex, size_t nbytes);

/* Prints "PROGNAME VERSION" on stdout and exits 0 (the -V option). */
void print_version(void) __attribute__((noreturn));

#endif
