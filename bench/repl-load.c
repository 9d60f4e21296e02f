/*
 * repl-load: a load generator for bench/repl.sh (not installed).
 *
 *	repl-load [-K KEYFILE] put ADDR CLIENTS SECONDS
 *	repl-load [-K KEYFILE] get ADDR CLIENTS SECONDS
 *	repl-load redis SOCK CLIENTS SECONDS
 *	repl-load [-K KEYFILE] -c N ADDR
 *
 * Forks CLIENTS processes; each opens one connection and, for SECONDS,
 * sends one request at a time: with "put", PUT of unique keys on a
 * repl-primary address (load.h); with "get", GET of a key it put first;
 * with "redis", SET then WAIT 1 0 on a redis-server UNIX socket.  Prints
 * "OPS_PER_SEC P50_MS P99_MS" over all the answered requests.  With -c,
 * opens N connections one after the other, each asked one GET, and prints
 * "CONNS_PER_SEC P50_US P99_US", from connect to answer.
 */
#define _POSIX_C_SOURCE 200809L
#include <sys/wait.h>

#include "load.h"

/*
 * Reads until COUNT lines have arrived; returns -1 on EOF or error, or if
 * the answer does not start with OK (hakit puts), or is not VALUE (gets),
 * or holds an error (redis).
 */
static int
read_lines(int fd, int count, char kind)
{
	char buf[4096];
	ssize_t n, i;

	while (count > 0) {
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			return -1;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n')
				count--;
			if (kind != 'r' && i == 0 && buf[0] != kind)
				return -1;
			if (kind == 'r' && buf[i] == '-')
				return -1;
		}
	}
	return 0;
}

/* Sends REQ of LEN bytes on FD and reads its answer; exits 1 if refused. */
static void
ask(int fd, const char *req, int len, char kind)
{
	if (write(fd, req, (size_t)len) != len)
		err(1, "write");
	if (read_lines(fd, kind == 'r' ? 2 : 1, kind) == -1)
		errx(1, "a request failed: %.*s", len - 1, req);
}

/* KIND: 'O' puts, 'V' gets, 'r' redis (what answers start with). */
static void
client(char kind, const char *addr, int id, double secs, FILE *out)
{
	int fd = dial(addr), n, len;
	char req[256], *log = NULL;
	size_t loglen = 0, logcap = 0;
	double end, t;

	if (kind == 'V') {
		len = snprintf(req, sizeof(req), "PUT k%d\tvalue\n", id);
		ask(fd, req, len, 'O');
	}
	for (end = now() + secs, n = 0; (t = now()) < end; n++) {
		if (kind == 'r')
			len = snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n"
			    "$13\r\nk%05d-%06d\r\n$5\r\nvalue\r\n"
			    "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n",
			    id % 100000, n % 1000000);
		else if (kind == 'V')
			len = snprintf(req, sizeof(req), "GET k%d\n", id);
		else
			len = snprintf(req, sizeof(req), "PUT k%d-%d\tvalue\n",
			    id, n);
		ask(fd, req, len, kind);
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

int
main(int argc, char *argv[])
{
	int clients, i, status, kind;
	double secs, *lat = NULL, v;
	size_t n = 0, cap = 0;
	FILE *tmp;

	i = load_key_opt(argc, argv);
	argc -= i;
	argv += i;
	if (argc == 4 && strcmp(argv[1], "-c") == 0) {
		connects(argv[3], atol(argv[2]), "GET k\n");
		return 0;
	}
	if (argc != 5)
		errx(2, "usage: repl-load [-K KEYFILE] put|get|redis ADDR "
		    "CLIENTS SECONDS | -c N ADDR");
	kind = strcmp(argv[1], "put") == 0 ? 'O' :
	    strcmp(argv[1], "get") == 0 ? 'V' :
	    strcmp(argv[1], "redis") == 0 ? 'r' : 0;
	if (kind == 0)
		errx(2, "%s: not put, get or redis", argv[1]);
	clients = atoi(argv[3]);
	secs = atof(argv[4]);
	if ((tmp = tmpfile()) == NULL)
		err(1, "tmpfile");
	for (i = 0; i < clients; i++) {
		if (fork() == 0) {
			setvbuf(tmp, NULL, _IONBF, 0);
			client((char)kind, argv[2], i, secs, tmp);
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
		errx(1, "no request answered");
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("%.0f %.3f %.3f\n", n / secs, lat[n / 2], lat[n * 99 / 100]);
	return 0;
}
