/*
 * 2pc-load: a load generator for bench/2pc.sh and bench/growth.sh.
 *
 *   2pc-load [-K KEYFILE] SOCK CLIENTS TXS PREFIX NAME...   run CLIENTS
 *       processes, each submitting TXS transactions one at a time on one
 *       connection ("TX PREFIX-c-i<TAB>NAME=1..."); prints "TX/S P50_US
 *       P99_US"; exits 1 if any aborted.
 *   2pc-load [-K KEYFILE] -s SOCK    prints the daemon's syncs=N.
 *   2pc-load [-K KEYFILE] -c N SOCK  N connections one after the other, each
 *       asked for STATS once; prints "CONNS/S P50_US P99_US" (load.h).
 *
 * SOCK is any daemon address (load.h).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "load.h"

static FILE *
dial_file(const char *addr)
{
	FILE *fp = fdopen(dial(addr), "r+");

	if (fp == NULL)
		err(1, "fdopen");
	return fp;
}

static int
cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	char line[4096], *reply = NULL, *p;
	size_t cap = 0;
	uint32_t *lat;
	long clients, txs, c, i, j, n = 0;
	int bad = 0, st;
	double t0, t;
	FILE *fp;

	j = load_key_opt(argc, argv);
	argc -= (int)j;
	argv += j;
	if (argc == 4 && strcmp(argv[1], "-c") == 0) {
		connects(argv[3], atol(argv[2]), "STATS\n");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "-s") == 0) {
		fp = dial_file(argv[2]);
		fprintf(fp, "STATS\n");
		fflush(fp);
		if (getline(&reply, &cap, fp) <= 0 ||
		    (p = strstr(reply, "syncs=")) == NULL)
			errx(1, "no STATS reply");
		printf("%lld\n", atoll(p + 6));
		return 0;
	}
	if (argc < 6)
		errx(2, "usage: 2pc-load [-K KEYFILE] SOCK CLIENTS TXS PREFIX "
		    "NAME... | -s SOCK | -c N SOCK");
	clients = atol(argv[2]);
	txs = atol(argv[3]);
	/* Each client writes its latencies in its own part of LAT. */
	lat = mmap(NULL, (size_t)(clients * txs) * sizeof(*lat),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lat == MAP_FAILED)
		err(1, "mmap");
	t0 = now();
	for (c = 0; c < clients; c++) {
		if (fork() != 0)
			continue;
		fp = dial_file(argv[1]);
		for (i = 0; i < txs; i++) {
			int len = snprintf(line, sizeof(line), "TX %s-%ld-%ld",
			    argv[4], c, i);
			uint32_t us;

			for (j = 5; j < argc; j++)
				len += snprintf(line + len, sizeof(line) - len,
				    "\t%s=%ld", argv[j], i);
			t = now();
			fprintf(fp, "%s\n", line);
			fflush(fp);
			if (getline(&reply, &cap, fp) <= 0)
				errx(1, "connection lost");
			us = (uint32_t)((now() - t) * 1e6);
			if (strstr(reply, "\tcommit") == NULL)
				us |= 0x80000000u;
			lat[c * txs + i] = us;
		}
		_exit(0);
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	t = now() - t0;
	for (i = 0; i < clients * txs; i++) {
		if (lat[i] & 0x80000000u)
			bad++;
		lat[n++] = lat[i] & 0x7fffffffu;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("%.0f %u %u\n", n / t, n ? lat[n / 2] : 0,
	    n ? lat[(n * 99) / 100] : 0);
	return bad ? 1 : 0;
}
