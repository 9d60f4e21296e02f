/*
 * repl-client: puts, gets, deletes and raw appends on a replication group,
 * from the shell.
 *
 * Commands come as operands or, without operands, as stdin lines (fields
 * separated by TABs, or by the first two spaces).  With -L the client asks
 * the lease state where the primary is; with -s it talks to one member, and
 * follows a backup's redirect to the primary for writes.  When a member
 * dies it retries, re-reading the lease, until -t seconds have passed; a
 * put or del is retried even if it may have been applied (both are
 * idempotent), a raw append is not (its outcome is then in doubt: exit 3).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "lease.h"
#include "repl.h"
#include "sock.h"
#include "trace.h"
#include "util.h"
#include "wire.h"

static const char *lease_path, *sock_path;
static char *redirect;		/* where a backup sent us */
static long long retry_ms = 10000;
static int verbose;
static const char *wait_pos;

static int fd = -1;
static char *in;
static size_t inlen, incap;

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: repl-client [-v] [-L LEASE | -s SOCK] [-t SECS] "
	    "[-w POS] [command [arg ...]]\n"
	    "commands: put KEY VALUE | get KEY | del KEY | append PAYLOAD |\n"
	    "          wait POS | status\n");
	exit(status);
}

static void
disconnect(void)
{
	if (fd >= 0)
		close(fd);
	fd = -1;
	inlen = 0;
}

/* Returns the socket to talk to now, or NULL if none is known. */
static char *
target(void)
{
	struct lease_state st;
	char *p;

	if (redirect != NULL)
		return xstrdup(redirect);
	if (sock_path != NULL)
		return xstrdup(sock_path);
	if (lease_read(lease_path, &st) == -1 || st.primary == NULL) {
		lease_free(&st);
		return NULL;
	}
	p = xstrdup(st.primary);
	lease_free(&st);
	return p;
}

/* Connects if needed; returns -1 if no member accepts. */
static int
ensure_connected(void)
{
	char *path;

	if (fd >= 0)
		return 0;
	if ((path = target()) == NULL)
		return -1;
	fd = sock_connect(path);
	free(path);
	return fd >= 0 ? 0 : -1;
}

/* Sends LINE; returns -1 if the connection failed. */
static int
send_line(const char *line, long long deadline)
{
	size_t len = strlen(line), off = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	TRACE('>', "member", line, len - 1);
	while (off < len) {
		n = write(fd, line + off, len - off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			long long left = deadline - ev_now_ms();

			if (left <= 0)
				return -1;
			poll(&pfd, 1, (int)left);
			continue;
		}
		if (n == -1)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/*
 * Reads one reply line (NUL-terminated, without its newline) into a
 * static buffer; returns NULL on EOF, error or the deadline.
 */
static char *
read_line(long long deadline, size_t *lenp)
{
	static char *line;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *nl;
	ssize_t n;

	for (;;) {
		if (inlen > 0 && (nl = memchr(in, '\n', inlen)) != NULL) {
			size_t len = (size_t)(nl - in);

			free(line);
			line = xmemdup(in, len);
			memmove(in, nl + 1, inlen - len - 1);
			inlen -= len + 1;
			TRACE('<', "member", line, len);
			*lenp = len;
			return line;
		}
		if (incap - inlen < 4096) {
			incap = incap ? 2 * incap : 8192;
			in = xrealloc(in, incap);
		}
		n = read(fd, in + inlen, incap - inlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			long long left = deadline - ev_now_ms();

			if (left <= 0)
				return NULL;
			poll(&pfd, 1, (int)left);
			continue;
		}
		if (n <= 0)
			return NULL;
		inlen += (size_t)n;
	}
}

/* Appends LEN bytes of S escaped to the line being built in B. */
static void
add_escaped(char **b, size_t *blen, const char *s, size_t len)
{
	*b = xrealloc(*b, *blen + 2 * len + 4);
	*blen += wire_escape(s, len, *b + *blen);
	(*b)[*blen] = '\0';
}

/*
 * Sends REQ (and, for a read with -w, a WAIT first) and stores the
 * reply's line in *REPLY.  Follows redirects and retries until the
 * deadline.  Returns 0, or an exit status if there is no reply.
 */
static int
exchange(const char *req, int idempotent, char **reply, size_t *rlen)
{
	long long deadline = ev_now_ms() + retry_ms;
	char *line;
	int sent;

	for (;;) {
		sent = 0;
		if (ensure_connected() == 0 && send_line(req, deadline) == 0) {
			sent = 1;
			line = read_line(deadline, rlen);
			if (line != NULL && strncmp(line, "REDIRECT ", 9) == 0) {
				char *sp = strchr(line + 9, ' ');

				disconnect();
				free(redirect);
				redirect = sp ? xstrdup(sp + 1) : NULL;
				continue;
			}
			if (line != NULL && strncmp(line, "RETRY", 5) != 0) {
				*reply = line;
				return 0;
			}
		}
		disconnect();
		free(redirect);
		redirect = NULL;
		if (sent && !idempotent) {
			warnx("no answer: the outcome is in doubt");
			return EXIT_UNAVAIL;
		}
		if (ev_now_ms() >= deadline) {
			warnx("no primary answered within %lld ms", retry_ms);
			return EXIT_UNAVAIL;
		}
		usleep(10000);
	}
}

/* Prints the fields of a reply's numbers as EPOCH<TAB>POS. */
static int
print_pos(const char *args)
{
	unsigned long long e, p;

	if (sscanf(args, "%llu %llu", &e, &p) != 2) {
		warnx("bad reply");
		return EXIT_UNAVAIL;
	}
	printf("%llu\t%llu\n", e, p);
	return EXIT_OK;
}

/* Handles a reply that is not a success; returns the exit status. */
static int
failure(const char *line)
{
	if (strncmp(line, "FAIL ", 5) == 0) {
		warnx("%s", line + 5);
		return EXIT_UNAVAIL;
	}
	if (strncmp(line, "ERR ", 4) == 0) {
		disconnect();
		warnx("refused: %s", line + 4);
		return EXIT_USAGE;
	}
	warnx("unexpected reply: %s", line);
	return EXIT_UNAVAIL;
}

static int
bad_key(const char *key)
{
	if (*key == '\0' || strchr(key, '\n') != NULL) {
		warnx("a key is 1 or more bytes, no newline");
		return 1;
	}
	return 0;
}

/* Runs one command; returns its exit status. */
static int
run(int argc, char **argv)
{
	char *req = NULL, *reply;
	size_t blen = 0, rlen;
	int status, wlen;

	if (argc == 3 && strcmp(argv[0], "put") == 0) {
		if (bad_key(argv[1]))
			return EXIT_USAGE;
		req = xstrdup("PUT ");
		blen = 4;
		add_escaped(&req, &blen, argv[1], strlen(argv[1]));
		req[blen++] = '\t';
		add_escaped(&req, &blen, argv[2], strlen(argv[2]));
	} else if (argc == 2 && strcmp(argv[0], "del") == 0) {
		if (bad_key(argv[1]))
			return EXIT_USAGE;
		req = xstrdup("DEL ");
		blen = 4;
		add_escaped(&req, &blen, argv[1], strlen(argv[1]));
	} else if (argc == 2 && strcmp(argv[0], "append") == 0) {
		req = xstrdup("APPEND ");
		blen = 7;
		add_escaped(&req, &blen, argv[1], strlen(argv[1]));
	} else if (argc == 2 && strcmp(argv[0], "get") == 0) {
		if (bad_key(argv[1]))
			return EXIT_USAGE;
		wlen = wait_pos ? 32 + (int)strlen(wait_pos) : 0;
		req = xmalloc((size_t)wlen + 5);
		blen = (size_t)(wait_pos ? snprintf(req, (size_t)wlen,
		    "WAIT %s %lld\n", wait_pos, retry_ms) : 0);
		memcpy(req + blen, "GET ", 5);
		blen += 4;
		add_escaped(&req, &blen, argv[1], strlen(argv[1]));
	} else if (argc == 2 && strcmp(argv[0], "wait") == 0) {
		req = xmalloc(strlen(argv[1]) + 32);
		blen = (size_t)sprintf(req, "WAIT %s %lld", argv[1], retry_ms);
	} else if (argc == 1 && strcmp(argv[0], "status") == 0) {
		req = xstrdup("STATUS");
		blen = 6;
	} else {
		warnx("bad command: %s", argc > 0 ? argv[0] : "(none)");
		return EXIT_USAGE;
	}
	req = xrealloc(req, blen + 2);
	req[blen++] = '\n';
	req[blen] = '\0';
	status = exchange(req, argv[0][0] != 'a', &reply, &rlen);
	if (status == 0 && wait_pos && argv[0][0] == 'g') {
		/* The WAIT's reply came first; the GET's follows. */
		if (strncmp(reply, "OK ", 3) != 0)
			status = failure(reply);
		else if ((reply = read_line(ev_now_ms() + retry_ms, &rlen)) ==
		    NULL) {
			warnx("no answer");
			status = EXIT_UNAVAIL;
		}
	}
	free(req);
	if (status != 0)
		return status;
	if (strncmp(reply, "OK ", 3) == 0)
		return print_pos(reply + 3);
	if (strncmp(reply, "NONE ", 5) == 0) {
		if (verbose)
			print_pos(reply + 5);
		return EXIT_FAIL;
	}
	if (strncmp(reply, "VALUE ", 6) == 0) {
		char *f[4];
		long l;

		if (wire_split(reply, f, 4) != 4 ||
		    (l = wire_unescape(f[3], rlen - (size_t)(f[3] - reply))) <
		    0) {
			warnx("bad reply");
			return EXIT_UNAVAIL;
		}
		if (verbose)
			printf("%s\t%s\t", f[1], f[2]);
		fwrite(f[3], 1, (size_t)l, stdout);
		putchar('\n');
		return EXIT_OK;
	}
	if (strncmp(reply, "STATUS ", 7) == 0) {
		char *p;

		for (p = reply + 7; *p; p++)
			if (*p == ' ')
				*p = '\t';
		printf("%s\n", reply + 7);
		return EXIT_OK;
	}
	return failure(reply);
}

int
main(int argc, char *argv[])
{
	char *line = NULL, *f[3];
	size_t cap = 0;
	ssize_t n;
	double secs;
	char *end;
	int ch, status = EXIT_OK, s;

	while ((ch = getopt(argc, argv, "hL:s:t:vVw:")) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, EXIT_OK);
			break;
		case 'L':
			lease_path = optarg;
			break;
		case 's':
			sock_path = optarg;
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(secs >= 0) ||
			    secs > 86400)
				usage(stderr, EXIT_USAGE);
			retry_ms = (long long)(secs * 1000);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			print_version();
		case 'w':
			wait_pos = optarg;
			if (strspn(optarg, "0123456789") != strlen(optarg) ||
			    *optarg == '\0')
				usage(stderr, EXIT_USAGE);
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if ((lease_path == NULL) == (sock_path == NULL))
		usage(stderr, EXIT_USAGE);
	trace_init("repl-client");
	sock_ignore_sigpipe();
	if (argc > 0)
		status = run(argc, argv);
	else {
		while ((n = getline(&line, &cap, stdin)) != -1) {
			if (n > 0 && line[n - 1] == '\n')
				line[--n] = '\0';
			if (strncmp(line, "append", 6) == 0 &&
			    (line[6] == ' ' || line[6] == '\t')) {
				f[0] = line;
				line[6] = '\0';
				f[1] = line + 7;
				s = run(2, f);
			} else
				s = run(repl_split_cmd(line, f, 3), f);
			if (s > status)
				status = s;
			if (fflush(stdout) == EOF)
				err(EXIT_FAIL, "stdout");
		}
		free(line);
	}
	disconnect();
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EXIT_FAIL, "stdout");
	return status;
}
