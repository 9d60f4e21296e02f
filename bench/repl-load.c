/*
 * repl-load: a load generator for bench/repl.sh (not installed).
 *
 *	repl-load hakit SOCK CLIENTS SECONDS
 *	repl-load redis SOCK CLIENTS SECONDS
 *
 * Forks CLIENTS processes; each opens one connection and puts unique keys
 * one at a time for SECONDS: with "hakit", PUT on a repl-primary socket;
 * with "redis", SET then WAIT 1 0 on a redis-server UNIX socket.  Prints
 * "OPS_PER_SEC P50_MS P99_MS" over all the acknowledged writes.
 */
#include <err.h>
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

/* Reads until COUNT lines have arrived; returns -1 on EOF or error. */
static int
read_lines(int fd, int count, int redis)
{
	char buf[4096];
	ssize_t n, i;

	while (count > 0) {
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			return -1;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n')
				count--;
			if (!redis && i == 0 && buf[0] != 'O')
				return -1;
			if (redis && buf[i] == '-')
				return -1;
		}
	}
	return 0;
}

static void
client(const char *kind, const char *path, int id, double secs, FILE *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), redis, n, len;
	char req[256], *log = NULL;
	size_t loglen = 0, logcap = 0;
	double end = now() + secs, t;

	redis = strcmp(kind, "redis") == 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "%s", path);
	for (n = 0; (t = now()) < end; n++) {
		if (redis)
			len = snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n"
			    "$13\r\nk%05d-%06d\r\n$5\r\nvalue\r\n"
			    "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n",
			    id % 100000, n % 1000000);
		else
			len = snprintf(req, sizeof(req), "PUT k%d-%d\tvalue\n",
			    id, n);
		if (write(fd, req, (size_t)len) != len)
			err(1, "write");
		if (read_lines(fd, redis ? 2 : 1, redis) == -1)
			errx(1, "write %d failed", n);
		if (logcap - loglen < 64) {
			logcap = logcap ? 2 * logcap : 1 << 16;
			if ((log = realloc(log, logcap)) == NULL)
				err(1, NULL);
		}
		loglen += (size_t)snprintf(log + loglen, 64, "%.6f\n",
		    (now() - t) * 1000);
	}
	/* One write, so the clients' lines never interleave. */
	if (loglen > 0 && fwrite(log, 1, loglen, out) != loglen)
		err(1, "tmpfile");
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	int clients, i, status;
	double secs, *lat = NULL, v;
	size_t n = 0, cap = 0;
	FILE *tmp;

	if (argc != 5)
		errx(2, "usage: repl-load hakit|redis SOCK CLIENTS SECONDS");
	clients = atoi(argv[3]);
	secs = atof(argv[4]);
	if ((tmp = tmpfile()) == NULL)
		err(1, "tmpfile");
	for (i = 0; i < clients; i++) {
		if (fork() == 0) {
			setvbuf(tmp, NULL, _IONBF, 0);
			client(argv[1], argv[2], i, secs, tmp);
			fflush(tmp);
			_exit(0);
		}
	}
	for (i = 0; i < clients; i++) {
		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			errx(1, "a client failed");
	}
	rewind(tmp);
	while (fscanf(tmp, "%lf", &v) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			if ((lat = realloc(lat, cap * sizeof(*lat))) == NULL)
				err(1, NULL);
		}
		lat[n++] = v;
	}
	if (n == 0)
		errx(1, "no write acknowledged");
	qsort(lat, n, sizeof(*lat), cmp);
	printf("%.0f %.3f %.3f\n", n / secs, lat[n / 2], lat[n * 99 / 100]);
	return 0;
}
