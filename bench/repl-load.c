/*
 * repl-load: a load generator for bench/repl.sh (not installed).
 *
 *	repl-load [-K KEYFILE] put ADDR CLIENTS SECONDS
 *	repl-load [-K KEYFILE] get ADDR CLIENTS SECONDS
 *	repl-load redis SOCK CLIENTS SECONDS
 *	repl-load [-K KEYFILE] -c N ADDR
 *	repl-load [-K KEYFILE] -f SECONDS ADDR...
 *
 * Forks CLIENTS processes; each opens one connection and, for SECONDS,
 * sends one request at a time: with "put", PUT of unique keys on a
 * repl-primary address (load.h); with "get", GET of a key it put first;
 * with "redis", SET then WAIT 1 0 on a redis-server UNIX socket.  Prints
 * "OPS_PER_SEC P50_MS P99_MS" over all the answered requests.  With -c,
 * opens N connections one after the other, each asked one GET, and prints
 * "CONNS_PER_SEC P50_US P99_US", from connect to answer.  With -f (for
 * failover times), keeps one PUT at a time in flight at every member ADDR,
 * at most one every 10 ms each, for SECONDS, never waiting on one member
 * for another (a dead, stopped or cut-off member costs the others
 * nothing), and prints "UNIX_TIME ADDR EPOCH POSITION" for each
 * acknowledged put, flushed; backups answer REDIRECT, which is dropped.
 */
#define _POSIX_C_SOURCE 200809L
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>

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

static double
unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define PROBE_MAX	8
#define PROBE_GAP	0.01	/* between two puts at one member */
#define PROBE_DIAL_MS	50	/* a connection and its handshake */
#define PROBE_REDIAL	0.2	/* after a failed connection */

/* -f: puts at every member at once, stamping each acknowledgement. */
static void
probe(double secs, int n, char *addrs[])
{
	struct member {
		int fd, busy;
		double next;		/* when to dial or send again */
		char buf[4096];
		size_t have;
	} m[PROBE_MAX];
	struct pollfd pfd[PROBE_MAX];
	double end = now() + secs, t;
	char req[64], *nl;
	long seq = 0;
	ssize_t r;
	int i, len;

	if (n > PROBE_MAX)
		errx(2, "-f: at most %d members", PROBE_MAX);
	memset(m, 0, sizeof(m));
	for (i = 0; i < n; i++)
		m[i].fd = -1;
	while ((t = now()) < end) {
		for (i = 0; i < n; i++) {
			if (m[i].fd == -1 && t >= m[i].next &&
			    (m[i].fd = sock_connect_wait(addrs[i],
			    PROBE_DIAL_MS)) == -1)
				m[i].next = now() + PROBE_REDIAL;
			if (m[i].fd != -1 && !m[i].busy && t >= m[i].next) {
				len = snprintf(req, sizeof(req),
				    "PUT f%ld\tv\n", seq++);
				if (write(m[i].fd, req, (size_t)len) != len) {
					close(m[i].fd);
					m[i].fd = -1;
					continue;
				}
				m[i].busy = 1;
				m[i].next = t + PROBE_GAP;
			}
			pfd[i].fd = m[i].busy ? m[i].fd : -1;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, 10) == -1 && errno != EINTR)
			err(1, "poll");
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = read(m[i].fd, m[i].buf + m[i].have,
			    sizeof(m[i].buf) - m[i].have - 1);
			if (r == -1 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				close(m[i].fd);
				m[i].fd = -1;
				m[i].busy = 0;
				m[i].have = 0;
				m[i].next = now() + PROBE_GAP;
				continue;
			}
			m[i].have += (size_t)r;
			m[i].buf[m[i].have] = '\0';
			while ((nl = strchr(m[i].buf, '\n')) != NULL) {
				*nl = '\0';
				if (strncmp(m[i].buf, "OK ", 3) == 0)
					printf("%.6f %s %s\n", unix_now(),
					    addrs[i], m[i].buf + 3);
				fflush(stdout);
				m[i].busy = 0;
				m[i].have -= (size_t)(nl + 1 - m[i].buf);
				memmove(m[i].buf, nl + 1, m[i].have + 1);
			}
		}
	}
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
	if (argc >= 4 && strcmp(argv[1], "-f") == 0) {
		probe(atof(argv[2]), argc - 3, argv + 3);
		return 0;
	}
	if (argc != 5)
		errx(2, "usage: repl-load [-K KEYFILE] put|get|redis ADDR "
		    "CLIENTS SECONDS | -c N ADDR | -f SECONDS ADDR...");
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
