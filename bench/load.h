/*
 * load.h: what the load generators in bench/ share.  Each is one file that
 * bench/lib.sh builds against lib/libhakit.a (not make: they are never
 * installed), so this header holds definitions, not only declarations.
 *
 * Addresses are the daemons' (hakit(7) Addresses): a UNIX socket path,
 * HOST:PORT or [V6ADDR]:PORT.  With -K KEYFILE, every TCP connection opens
 * with the shared-key handshake, as the tools' own clients do.
 */
#ifndef BENCH_LOAD_H
#define BENCH_LOAD_H

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "sock.h"

#define DIAL_MS	10000	/* how long a connection and its handshake may take */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Takes "-K KEYFILE" off the front of ARGV, loading the key; returns how
 * many arguments it took (0 or 2).
 */
static int
load_key_opt(int argc, char *argv[])
{
	if (argc > 2 && strcmp(argv[1], "-K") == 0) {
		auth_load_key(argv[2]);
		return 2;
	}
	return 0;
}

/* Connects to ADDR (with the handshake if a key is loaded); a blocking fd. */
static int
dial(const char *addr)
{
	int fd = sock_connect_wait(addr, DIAL_MS), fl;

	if (fd == -1)
		err(1, "%s", addr);
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		err(1, "fcntl");
	return fd;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Opens N connections to ADDR one after the other, each closed once it
 * has answered REQ (a line) with a line; prints "CONNS_PER_SEC P50_US
 * P99_US", each connection timed from connect(2) to that answer (with a
 * key, the handshake included).
 */
static void __attribute__((unused))
connects(const char *addr, long n, const char *req)
{
	double *lat = calloc((size_t)n, sizeof(*lat)), t, t0 = now();
	char buf[4096];
	size_t len = strlen(req);
	ssize_t r;
	long i;
	int fd;

	if (lat == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++) {
		t = now();
		fd = dial(addr);
		if (write(fd, req, len) != (ssize_t)len)
			err(1, "write");
		do {
			if ((r = read(fd, buf, sizeof(buf))) <= 0)
				errx(1, "%s: no answer", addr);
		} while (buf[r - 1] != '\n');
		lat[i] = (now() - t) * 1e6;
		close(fd);
	}
	t = now() - t0;
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("%.0f %.0f %.0f\n", n / t, lat[n / 2], lat[n * 99 / 100]);
}

#endif
