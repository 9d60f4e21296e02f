/*
 * repl-client: puts, gets, deletes and raw appends on a replication group,
 * from the shell.
 *
 * Commands come as operands or, without operands, as stdin lines (fields
 * separated by TABs, or by the first two spaces), each answered with
 * exactly one stdout line, so the client works as a co-process.  With -L
 * it asks the lease state where the primary is, and takes a read only
 * from the primary of the current epoch; with -s it talks to one member
 * (a backup answers reads from its own copy, saying so, and redirects
 * writes to the primary).  When a member dies or does not answer, it
 * retries, re-reading the lease, until -t seconds have passed.  Every
 * write carries a request id, this client's id and a number of its own,
 * the same on every retry, so the primary applies it at most once.
 */
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "daemon.h"
#include "evloop.h"
#include "lease.h"
#include "repl.h"
#include "sock.h"
#include "trace.h"
#include "util.h"
#include "wire.h"

#define WAIT_GRACE_MS	1000	/* a WAIT's reply may come this late */
#define COMMANDS	"put KEY VALUE, get KEY, del KEY, append PAYLOAD, " \
			"wait POSITION, status"

/* How a command ended, for its stdin-mode line and its exit status. */
enum outcome {
	DONE,		/* answered; EXIT_OK or EXIT_FAIL (absent) */
	REFUSED,	/* not done: a bad command, or refused as malformed */
	FAILED,		/* not done, and never will be */
	UNKNOWN		/* a write that may or may not have been applied */
};

static const char *lease_path, *sock_path;
static struct lease *lease;	/* -L */
static char *lease_said;	/* why the lease could not be read */
static char *redirect;		/* where a backup sent us */
static unsigned long long lease_epoch;	/* the lease's, when last read */
static long long retry_ms = 10000;
static int verbose, coprocess;
static const char *wait_pos;
static char client_id[17];	/* request ids are CLIENT_ID:SEQ */
static unsigned long long seq;

#define CONNECT_MS	2000	/* for a TCP connection and its handshake */
#define ATTEMPT_MS	2000	/* through the lease: a silent primary is asked no
				   longer; the lease is read again (a stopped one
				   may have been replaced) */

static int fd = -1;
static char *in;
static size_t inlen, incap;

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: repl-client [-hvV] [-K keyfile] -L lease | -s sock "
	    "[-t secs]\n"
	    "                   [-w position] [command [arg ...]]\n");
	exit(status);
}

/*
 * Reports how a command ended: on stderr unless it succeeded, and in
 * stdin mode as its one stdout line ("error", "fail" or "unknown", a TAB
 * and the message).  Returns the exit status.
 */
static int
report(enum outcome how, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
report(enum outcome how, const char *fmt, ...)
{
	static const char *word[] = { "", "error", "fail", "unknown" };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warnx("%s", msg);
	if (coprocess)
		printf("%s\t%s\n", word[how], msg);
	return how == REFUSED ? EXIT_USAGE : EXIT_UNAVAIL;
}

static void
disconnect(void)
{
	if (fd >= 0)
		close(fd);
	fd = -1;
	inlen = 0;
}

/* Forgets a redirect: the next request starts from -s or the lease. */
static void
forget_redirect(void)
{
	if (redirect == NULL)
		return;
	disconnect();
	free(redirect);
	redirect = NULL;
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
	switch (lease_read(lease, &st)) {
	case -1:
		/* etcd answered: no member ever started there. */
		if (lease_is_etcd(lease_path))
			errx(EXIT_UNAVAIL, "%s: no lease state in etcd (is the "
			    "group started? is the prefix right?)", lease_path);
		break;
	case -2:
		free(lease_said);
		lease_said = xstrdup(lease_error(lease));
		break;
	}
	if (st.primary.sock == NULL) {
		lease_free(&st);
		return NULL;
	}
	lease_epoch = st.epoch;
	p = xstrdup(st.primary.sock);
	lease_free(&st);
	return p;
}

/*
 * Connects if needed, within CONNECT_MS and by DEADLINE; returns -1 if no
 * member accepts.
 */
static int
ensure_connected(long long deadline)
{
	long long left = deadline - ev_now_ms();
	char *path;

	if (fd >= 0)
		return 0;
	if ((path = target()) == NULL)
		return -1;
	fd = sock_connect_wait(path, left < CONNECT_MS ? (left > 0 ? left : 1) :
	    CONNECT_MS);
	free(path);
	return fd >= 0 ? 0 : -1;
}

/* Sends LINE (with its newline); returns -1 if the connection failed. */
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

/*
 * Returns whether a read's reply "VALUE|NONE ROLE EPOCH ..." may answer a
 * read through the lease: from the primary, of the lease's epoch or newer.
 */
static int
from_current_primary(const char *line)
{
	unsigned long long e;
	char role[16];

	return sscanf(strchr(line, ' ') + 1, "%15s %llu", role, &e) == 2 &&
	    strcmp(role, "primary") == 0 && e >= lease_epoch;
}

/* When to stop waiting for one answer: at DEADLINE, or sooner through the lease. */
static long long
attempt_end(long long deadline)
{
	long long soon = ev_now_ms() + ATTEMPT_MS;

	return lease_path != NULL && soon < deadline ? soon : deadline;
}

/* What one request is, for the retry loop. */
enum reqkind { WRITE, READ, OTHER };

/*
 * Sends REQ (a line with its newline) and stores the reply in *REPLY,
 * following redirects and retrying until the deadline: a write whose
 * outcome is unknown is sent again with the same request id, and a read
 * through the lease is taken only from the current primary.  Returns 0,
 * or an exit status (reported) if there is no reply.
 */
static int
exchange(const char *req, enum reqkind kind, long long grace, char **reply,
    size_t *rlen)
{
	long long deadline = ev_now_ms() + retry_ms;
	char *line, *doubt = NULL;
	int sent = 0, redirects = 0, status;

	for (;;) {
		if (ensure_connected(deadline) == 0 &&
		    send_line(req, deadline) == 0) {
			sent = 1;
			line = read_line(attempt_end(deadline) + grace, rlen);
			if (line != NULL && strncmp(line, "REDIRECT ", 9) == 0) {
				char *sp = strchr(line + 9, ' ');

				forget_redirect();
				disconnect();
				redirect = sp ? xstrdup(sp + 1) : NULL;
				if (redirects++ > 0)
					usleep(10000);	/* members disagree */
				continue;
			}
			if (line != NULL && kind == WRITE &&
			    strncmp(line, "UNKNOWN ", 8) == 0) {
				free(doubt);
				doubt = xstrdup(line + 8);
			} else if (line != NULL && kind == READ &&
			    lease_path != NULL &&
			    (strncmp(line, "VALUE ", 6) == 0 ||
			    strncmp(line, "NONE ", 5) == 0) &&
			    !from_current_primary(line))
				;	/* a stale member: ask the lease again */
			else if (line != NULL && strncmp(line, "RETRY", 5) != 0) {
				free(doubt);
				forget_redirect();
				*reply = line;
				return 0;
			}
		}
		forget_redirect();
		disconnect();
		if (ev_now_ms() >= deadline)
			break;
		usleep(10000);
	}
	if (doubt != NULL)
		status = report(UNKNOWN, "%s", doubt);
	else if (kind == WRITE && sent)
		status = report(UNKNOWN, "no answer within %lld ms: the "
		    "outcome is unknown", retry_ms);
	else
		status = report(FAILED, "no %s answered within %lld ms%s%s",
		    sock_path != NULL ? "member" : "primary", retry_ms,
		    lease_said != NULL ? "; " : "",
		    lease_said != NULL ? lease_said : "");
	free(doubt);
	return status;
}

/* Prints a reply's "EPOCH POSITION" as EPOCH<TAB>POSITION. */
static int
print_pos(const char *args)
{
	unsigned long long e, p;

	if (sscanf(args, "%llu %llu", &e, &p) != 2)
		return report(FAILED, "bad reply: %s", args);
	printf("%llu\t%llu\n", e, p);
	return EXIT_OK;
}

/* Handles a reply that is not a success; returns the exit status. */
static int
failure(const char *line)
{
	if (strncmp(line, "FAIL ", 5) == 0)
		return report(FAILED, "%s", line + 5);
	if (strncmp(line, "ERR ", 4) == 0) {
		disconnect();
		return report(REFUSED, "refused: %s", line + 4);
	}
	return report(FAILED, "unexpected reply: %s", line);
}

/* Prints LEN bytes of S: raw, or escaped as on the wire in stdin mode. */
static void
print_field(const char *s, size_t len)
{
	char *esc;

	if (!coprocess) {
		fwrite(s, 1, len, stdout);
		return;
	}
	esc = xmalloc(2 * len + 1);
	fwrite(esc, 1, wire_escape(s, len, esc), stdout);
	free(esc);
}

/* Prints a read's reply "VALUE ROLE EPOCH POS VALUE" or "NONE ...". */
static int
print_read(char *reply, size_t rlen, const char *key)
{
	char *f[5];
	long l;
	int n = wire_split(reply, f, 5);

	if (strcmp(f[0], "NONE") == 0 && n == 4) {
		if (verbose)
			printf("%s\t%s\t%s\n", f[1], f[2], f[3]);
		else if (coprocess) {
			print_field(key, strlen(key));
			printf("\tabsent\n");
		}
		return EXIT_FAIL;
	}
	if (n != 5 ||
	    (l = wire_unescape(f[4], rlen - (size_t)(f[4] - reply))) < 0)
		return report(FAILED, "bad reply");
	if (verbose)
		printf("%s\t%s\t%s\t", f[1], f[2], f[3]);
	print_field(f[4], (size_t)l);
	putchar('\n');
	return EXIT_OK;
}

/* Appends LEN bytes of S escaped to the line being built in B. */
static void
add_escaped(char **b, size_t *blen, const char *s, size_t len)
{
	*b = xrealloc(*b, *blen + 2 * len + 4);
	*blen += wire_escape(s, len, *b + *blen);
	(*b)[*blen] = '\0';
}

/* Builds a request: VERB, then ARG[0..N) escaped and TAB-separated. */
static char *
request(const char *verb, char **arg, int n, size_t *blen)
{
	char *req = xstrdup(verb);
	int i;

	*blen = strlen(verb);
	for (i = 0; i < n; i++) {
		req[(*blen)++] = i == 0 ? ' ' : '\t';
		add_escaped(&req, blen, arg[i], strlen(arg[i]));
	}
	return req;
}

/* Ends request REQ of BLEN bytes with a newline. */
static char *
end_request(char *req, size_t blen)
{
	req = xrealloc(req, blen + 2);
	req[blen] = '\n';
	req[blen + 1] = '\0';
	return req;
}

static int
bad_key(const char *key)
{
	if (*key == '\0' || strchr(key, '\n') != NULL) {
		report(REFUSED, "a key is 1 or more bytes, no newline");
		return 1;
	}
	return 0;
}

/* Runs put, del or append: VERB with its arguments and a request id. */
static int
run_write(const char *verb, char **arg, int n)
{
	char *req, *reply, id[64];
	size_t blen, rlen;
	int status;

	req = request(verb, arg, n, &blen);
	snprintf(id, sizeof(id), "\t%s:%llu", client_id, ++seq);
	req = xrealloc(req, blen + strlen(id) + 1);
	strcpy(req + blen, id);
	req = end_request(req, blen + strlen(id));
	status = exchange(req, WRITE, 0, &reply, &rlen);
	free(req);
	if (status != 0)
		return status;
	if (strncmp(reply, "OK ", 3) == 0)
		return print_pos(reply + 3);
	return failure(reply);
}

/* Runs wait POS; returns its exit status. */
static int
run_wait(const char *pos, int print)
{
	char req[64], *reply;
	size_t rlen;
	int status;

	snprintf(req, sizeof(req), "WAIT %s %lld\n", pos, retry_ms);
	status = exchange(req, OTHER, WAIT_GRACE_MS, &reply, &rlen);
	if (status != 0)
		return status;
	if (strncmp(reply, "OK ", 3) != 0)
		return failure(reply);
	return print ? print_pos(reply + 3) : EXIT_OK;
}

/* Runs get KEY, after wait POS if -w was given. */
static int
run_get(char *key)
{
	char *req, *reply;
	size_t blen, rlen;
	int status;

	if (wait_pos != NULL && (status = run_wait(wait_pos, 0)) != 0)
		return status;
	req = request(lease_path != NULL ? "GET" : "GETLOCAL", &key, 1, &blen);
	req = end_request(req, blen);
	status = exchange(req, READ, 0, &reply, &rlen);
	free(req);
	if (status != 0)
		return status;
	if (strncmp(reply, "VALUE ", 6) == 0 || strncmp(reply, "NONE ", 5) == 0)
		return print_read(reply, rlen, key);
	return failure(reply);
}

static int
run_status(void)
{
	char *reply;
	size_t rlen;
	int status;

	if ((status = exchange("STATUS\n", OTHER, 0, &reply, &rlen)) != 0)
		return status;
	if (strncmp(reply, "STATUS ", 7) != 0)
		return failure(reply);
	printf("%s\n", reply + 7);
	return EXIT_OK;
}

/* Runs one command; returns its exit status. */
static int
run(int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "";

	if (argc == 3 && strcmp(cmd, "put") == 0)
		return bad_key(argv[1]) ? EXIT_USAGE :
		    run_write("PUT", argv + 1, 2);
	if (argc == 2 && strcmp(cmd, "del") == 0)
		return bad_key(argv[1]) ? EXIT_USAGE :
		    run_write("DEL", argv + 1, 1);
	if (argc == 2 && strcmp(cmd, "append") == 0)
		return run_write("APPEND", argv + 1, 1);
	if (argc == 2 && strcmp(cmd, "get") == 0)
		return bad_key(argv[1]) ? EXIT_USAGE : run_get(argv[1]);
	if (argc == 2 && strcmp(cmd, "wait") == 0 && *argv[1] != '\0' &&
	    strspn(argv[1], "0123456789") == strlen(argv[1]))
		return run_wait(argv[1], 1);
	if (argc == 1 && strcmp(cmd, "status") == 0)
		return run_status();
	return report(REFUSED, "bad command: %s (commands: " COMMANDS ")",
	    argc > 0 ? cmd : "(none)");
}

/* Runs the commands on stdin, one a line; returns the worst status. */
static int
run_stdin(void)
{
	char *line = NULL, *f[3];
	size_t cap = 0;
	ssize_t n;
	int status = EXIT_OK, s;

	coprocess = 1;
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
			s = run(*line != '\0' ? repl_split_cmd(line, f, 3) : 0,
			    f);
		if (s > status)
			status = s;
		if (fflush(stdout) == EOF)
			err(EXIT_FAIL, "stdout");
	}
	free(line);
	return status;
}

/* Exits 3 at once if PATH names nothing: no group ever started there. */
static void
must_exist(const char *path, const char *what)
{
	struct stat sb;

	if (stat(path, &sb) == -1 && errno == ENOENT)
		errx(EXIT_UNAVAIL, "%s: no such %s (is the group started?)",
		    path, what);
}

int
main(int argc, char *argv[])
{
	const char *keyfile = NULL;
	double secs;
	char *end;
	int ch, status;

	daemon_stdio();

	while ((ch = getopt(argc, argv, "hK:L:s:t:vVw:")) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, EXIT_OK);
			break;
		case 'K':
			keyfile = optarg;
			break;
		case 'L':
			lease_path = optarg;
			break;
		case 's':
			sock_check_addr(optarg, NULL);
			sock_path = optarg;
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(secs >= 0) ||
			    secs > 86400) {
				warnx("-t %s: not a number of seconds from 0 "
				    "to 86400", optarg);
				usage(stderr, EXIT_USAGE);
			}
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
			    *optarg == '\0') {
				warnx("-w %s: not a position", optarg);
				usage(stderr, EXIT_USAGE);
			}
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if ((lease_path == NULL) == (sock_path == NULL)) {
		warnx("give one of -L lease and -s sock");
		usage(stderr, EXIT_USAGE);
	}
	if (keyfile != NULL)
		auth_load_key(keyfile);
	if (lease_path != NULL) {
		if (!lease_is_etcd(lease_path))
			must_exist(lease_path, "lease");
	} else if (sock_unix_path(sock_path) != NULL)
		must_exist(sock_unix_path(sock_path), "socket");
	if (lease_path != NULL)
		lease = lease_open(lease_path);
	trace_init("repl-client");
	sock_ignore_sigpipe();
	random_hex(client_id, 8);
	status = argc > 0 ? run(argc, argv) : run_stdin();
	disconnect();
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EXIT_FAIL, "stdout");
	return status;
}
