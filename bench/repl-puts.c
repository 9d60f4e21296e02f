/*
 * repl-puts: a load generator for bench/growth.sh (built by it, not by
 * make).
 *
 *	repl-puts [-K KEYFILE] ADDR CLIENTS PUTS KEYS DEPTH
 *
 * Forks CLIENTS processes; each opens one connection to a repl-primary
 * address (load.h) and puts its share of PUTS writes, key "k" (N % KEYS), value
 * "vN", keeping DEPTH writes in flight (replies come in order).  Prints
 * "OPS_PER_SEC P50_MS P99_MS MAX_MS" over every write, each timed from
 * its request to its reply; exits 1 if any is not acknowledged.
 */
#define _POSIX_C_SOURCE 200809L
#include <sys/wait.h>

#include "load.h"

/* Puts writes ID, ID + STEP, ... below PUTS; writes latencies to OUT. */
static void
client(const char *addr, long id, long step, long puts, long keys,
    long depth, FILE *out)
{
	int fd = dial(addr);
	long n = (puts - id + step - 1) / step, sent = 0, done = 0;
	double *start = malloc((size_t)n * sizeof(double));
	char req[128], buf[65536];
	size_t have = 0;
	ssize_t r;
	FILE *fp;
	char *nl;

	if (start == NULL)
		err(1, NULL);
	if ((fp = fdopen(fd, "w")) == NULL)
		err(1, "fdopen");
	while (done < n) {
		for (; sent < n && sent - done < depth; sent++) {
			long k = id + sent * step;

			snprintf(req, sizeof(req), "PUT k%ld\tv%ld\n", k % keys,
			    k);
			start[sent] = now();
			fputs(req, fp);
		}
		fflush(fp);
		if ((r = read(fd, buf + have, sizeof(buf) - have)) <= 0)
			errx(1, "connection closed after %ld writes", done);
		have += (size_t)r;
		while ((nl = memchr(buf, '\n', have)) != NULL) {
			if (buf[0] != 'O')
				errx(1, "write refused: %.*s", (int)(nl - buf),
				    buf);
			fprintf(out, "%.6f\n", (now() - start[done++]) * 1000);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
		}
	}
	fflush(out);
}

int
main(int argc, char *argv[])
{
	long clients, puts, keys, depth, i;
	double t0, secs, *lat = NULL, v;
	size_t n = 0, cap = 0;
	int status, failed = 0;
	FILE *tmp;

	i = load_key_opt(argc, argv);
	argc -= (int)i;
	argv += i;
	if (argc != 6)
		errx(2, "usage: repl-puts [-K KEYFILE] ADDR CLIENTS PUTS KEYS "
		    "DEPTH");
	clients = atol(argv[2]);
	puts = atol(argv[3]);
	keys = atol(argv[4]);
	depth = atol(argv[5]);
	if ((tmp = tmpfile()) == NULL)
		err(1, "tmpfile");
	t0 = now();
	for (i = 0; i < clients; i++) {
		if (fork() == 0) {
			/* Each client's latencies, written in one go. */
			char *mem = NULL;
			size_t len = 0;
			FILE *out = open_memstream(&mem, &len);

			client(argv[1], i, clients, puts, keys, depth, out);
			fclose(out);
			setvbuf(tmp, NULL, _IONBF, 0);
			if (fwrite(mem, 1, len, tmp) != len)
				err(1, "tmpfile");
			_exit(0);
		}
	}
	for (i = 0; i < clients; i++) {
		wait(&status);
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	secs = now() - t0;
	if (failed)
		errx(1, "a client failed");
	rewind(tmp);
	while (fscanf(tmp, "%lf", &v) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 1 << 20;
			if ((lat = realloc(lat, cap * sizeof(*lat))) == NULL)
				err(1, NULL);
		}
		lat[n++] = v;
	}
	if (n == 0)
		errx(1, "no write acknowledged");
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("%.0f %.3f %.3f %.3f\n", n / secs, lat[n / 2],
	    lat[n * 99 / 100], lat[n - 1]);
	return 0;
}
