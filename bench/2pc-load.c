/*
 * 2pc-load: a load generator for bench/2pc.sh (built by it, not by make).
 *
 *   2pc-load SOCK CLIENTS TXS PREFIX NAME...   run CLIENTS processes, each
 *       submitting TXS transactions one at a time ("TX PREFIX-c-i<TAB>
 *       NAME=1..."); prints "TX/S P50_US P99_US"; exits 1 if any aborted.
 *   2pc-load -s SOCK                            prints the daemon's syncs=N.
 */
#define _POSIX_C_SOURCE 200809L
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static FILE *
dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "%s", path);
	return fdopen(fd, "r+");
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
	int (*pipes)[2], bad = 0, st;
	double t0, t;
	FILE *fp;

	if (argc == 3 && strcmp(argv[1], "-s") == 0) {
		fp = dial(argv[2]);
		fprintf(fp, "STATS\n");
		fflush(fp);
		if (getline(&reply, &cap, fp) <= 0 ||
		    (p = strstr(reply, "syncs=")) == NULL)
			errx(1, "no STATS reply");
		printf("%lld\n", atoll(p + 6));
		return 0;
	}
	if (argc < 6)
		errx(2, "usage: 2pc-load SOCK CLIENTS TXS PREFIX NAME...");
	clients = atol(argv[2]);
	txs = atol(argv[3]);
	pipes = calloc((size_t)clients, sizeof(*pipes));
	lat = calloc((size_t)(clients * txs), sizeof(*lat));
	t0 = now();
	for (c = 0; c < clients; c++) {
		if (pipe(pipes[c]) == -1)
			err(1, "pipe");
		if (fork() != 0) {
			close(pipes[c][1]);
			continue;
		}
		fp = dial(argv[1]);
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
			if (write(pipes[c][1], &us, sizeof(us)) != sizeof(us))
				err(1, "write");
		}
		_exit(0);
	}
	for (c = 0; c < clients; c++) {
		uint32_t us;

		while (read(pipes[c][0], &us, sizeof(us)) == sizeof(us)) {
			if (us & 0x80000000u)
				bad++;
			lat[n++] = us & 0x7fffffffu;
		}
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	t = now() - t0;
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("%.0f %u %u\n", n / t, n ? lat[n / 2] : 0,
	    n ? lat[(n * 99) / 100] : 0);
	return bad ? 1 : 0;
}
