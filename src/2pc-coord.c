/*
 * 2pc-coord: a two-phase commit coordinator (transaction manager).
 *
 * Each transaction is a line "TXID<TAB>NAME=PAYLOAD..." read from stdin or
 * sent by a client over the socket (-s); each NAME is a participant given
 * as an operand NAME=SOCK.  The coordinator sends PREPARE to every named
 * participant, and commits only if all vote yes within -t seconds.
 *
 * Presumed abort: the COMMIT decision (with the participant list) is the
 * only forced write; it is made durable before any COMMIT is sent and
 * before the client is told "commit".  END is written lazily once every
 * participant has acknowledged; aborts are written lazily and need no
 * acknowledgement.  After a crash, every decision without END is resent
 * until acknowledged; anything else is aborted, which is also the answer
 * to a participant asking about a transaction the log does not know.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"
#include "daemon.h"
#include "evloop.h"
#include "log.h"
#include "sock.h"
#include "strmap.h"
#include "trace.h"
#include "util.h"
#include "wire.h"

#define RETRY_MS		250
#define STDIN_WINDOW		256

struct part {
	char *name;
	char *sock;		/* absolute */
	int operand;		/* named on the command line */
	struct wconn *c;
	int recovered;		/* answered our RECOVER on this connection */
};

enum cstate { C_VOTING, C_COMMITTING };

struct cpart {
	struct part *p;
	char *payload;		/* escaped, as on the wire */
	int sent, voted, acked;
};

struct ctx {
	char *txid;
	enum cstate st;
	struct cpart *cp;
	int n;
	int from_stdin;
	struct wconn *client;	/* held while the client waits */
	long long timer;
	struct ctx *prev, *next;	/* live list */
};

/* Outcome markers in `known` for transactions no longer live. */
static char committed_mark, aborted_mark;

static struct evloop *ev;
static struct hlog *clog;
static struct strmap *known;	/* txid -> struct ctx or a marker */
static struct ctx *live;
static struct part **parts;
static int nparts;
static char *cid, *csock_abs;
static long timeout_ms = 5000;
static int any_uid, daemon_mode;
static int stdin_open = 1, stdin_inflight;
static long long drain_deadline;
static int n_abort, n_malformed;

static void usage(FILE *, int) __attribute__((noreturn));

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: 2pc-coord [-AhSV] [-m mode] [-r fd] [-s sock] [-t secs] "
	    "-l log NAME=SOCK...\n"
	    "       2pc-coord -C sock\n");
	exit(status);
}

/* Returns the participant NAME at SOCK, adding it if new. */
static struct part *
part_find(const char *name, const char *sock, int operand)
{
	struct part *p;
	int i;

	for (i = 0; i < nparts; i++)
		if (strcmp(parts[i]->name, name) == 0 &&
		    strcmp(parts[i]->sock, sock) == 0) {
			parts[i]->operand |= operand;
			return parts[i];
		}
	p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(name);
	p->sock = xstrdup(sock);
	p->operand = operand;
	parts = xrealloc(parts, (size_t)(nparts + 1) * sizeof(*parts));
	parts[nparts++] = p;
	return p;
}

static struct part *
operand_part(const char *name)
{
	int i;

	for (i = 0; i < nparts; i++)
		if (parts[i]->operand && strcmp(parts[i]->name, name) == 0)
			return parts[i];
	return NULL;
}

static void
live_add(struct ctx *x)
{
	x->next = live;
	if (live != NULL)
		live->prev = x;
	live = x;
}

static void
ctx_free(struct ctx *x)
{
	int i;

	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		live = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	if (x->timer != 0)
		ev_del_timer(ev, x->timer);
	if (x->client != NULL)
		wire_release(x->client);
	for (i = 0; i < x->n; i++)
		free(x->cp[i].payload);
	free(x->cp);
	free(x->txid);
	free(x);
}

/* ---- outcomes ---- */

static void
answer(struct ctx *x, const char *outcome, const char *reason)
{
	if (x->from_stdin) {
		if (reason != NULL)
			printf("%s\t%s\t%s\n", x->txid, outcome, reason);
		else
			printf("%s\t%s\n", x->txid, outcome);
		stdin_inflight--;
	} else if (x->client != NULL) {
		if (reason != NULL)
			wire_sendf(x->client, "OUTCOME %s\t%s\t%s", x->txid,
			    outcome, reason);
		else
			wire_sendf(x->client, "OUTCOME %s\t%s", x->txid,
			    outcome);
		if (crash_armed)
			wire_flush(x->client);
		wire_release(x->client);
		x->client = NULL;
	}
}

static void
abort_ctx(struct ctx *x, const char *reason)
{
	int i;

	log_appendf(clog, LOG_LAZY, NULL, NULL, "A\t%s", x->txid);
	strmap_put(known, x->txid, &aborted_mark);
	for (i = 0; i < x->n; i++)
		if (x->cp[i].sent && x->cp[i].p->c != NULL)
			wire_sendf(x->cp[i].p->c, "ABORT %s", x->txid);
	n_abort++;
	answer(x, "abort", reason);
	ctx_free(x);
}

static void
send_commit(struct ctx *x, struct cpart *cp)
{
	if (cp->p->c == NULL || cp->acked)
		return;
	wire_sendf(cp->p->c, "COMMIT %s", x->txid);
	if (crash_armed)
		wire_flush(cp->p->c);
}

static void
decided(void *arg)
{
	struct ctx *x = arg;
	int i;

	CRASH_POINT("coord.decided");
	x->st = C_COMMITTING;
	for (i = 0; i < x->n; i++)
		send_commit(x, &x->cp[i]);
	CRASH_POINT("coord.commit-sent");
	answer(x, "commit", NULL);
	CRASH_POINT("coord.answered");
}

static void
decide_commit(struct ctx *x)
{
	char *list = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&list, &len);
	int i;

	CRASH_POINT("coord.voted");
	if (x->timer != 0)
		ev_del_timer(ev, x->timer);
	x->timer = 0;
	for (i = 0; i < x->n; i++)
		fprintf(fp, "%s%s=%s", i ? "," : "", x->cp[i].p->name,
		    x->cp[i].p->sock);
	fclose(fp);
	x->st = C_COMMITTING;	/* a QUERY from now on learns commit */
	log_appendf(clog, LOG_FORCED, decided, x, "C\t%s\t%s", x->txid, list);
	free(list);
}

static void
acked(struct ctx *x, struct part *p)
{
	int i, all = 1;

	for (i = 0; i < x->n; i++) {
		if (x->cp[i].p == p)
			x->cp[i].acked = 1;
		all &= x->cp[i].acked;
	}
	if (!all)
		return;
	CRASH_POINT("coord.acked");
	log_appendf(clog, LOG_LAZY, NULL, NULL, "E\t%s", x->txid);
	strmap_put(known, x->txid, &committed_mark);
	ctx_free(x);
}

static long
vote_timeout(struct evloop *e, long long id, void *arg)
{
	struct ctx *x = arg;
	char why[300];
	int i;

	(void)e;
	(void)id;
	x->timer = 0;
	for (i = 0; i < x->n; i++)
		if (!x->cp[i].voted)
			break;
	snprintf(why, sizeof(why), "%s timed out",
	    i < x->n ? x->cp[i].p->name : "vote");
	abort_ctx(x, why);
	return -1;
}

/* ---- participant connections ---- */

static void part_line(struct wconn *, char *, size_t, void *);
static void part_close(struct wconn *, void *);

/* Returns a connection to P, opening it (and resending what P lacks). */
static struct wconn *
part_conn(struct part *p)
{
	struct ctx *x;
	int fd, i;

	if (p->c != NULL)
		return p->c;
	if ((fd = sock_connect(p->sock)) == -1)
		return NULL;
	p->c = wire_new(fd, p->name, part_line, part_close, p);
	p->recovered = 0;
	wire_sendf(p->c, "RECOVER %s", cid);
	for (x = live; x != NULL; x = x->next)
		if (x->st == C_COMMITTING)
			for (i = 0; i < x->n; i++)
				if (x->cp[i].p == p)
					send_commit(x, &x->cp[i]);
	return p->c;
}

static void
part_close(struct wconn *c, void *arg)
{
	struct part *p = arg;
	struct ctx *x, *next;
	char why[300];
	int i;

	(void)c;
	p->c = NULL;
	for (x = live; x != NULL; x = next) {
		next = x->next;
		if (x->st != C_VOTING)
			continue;
		for (i = 0; i < x->n; i++)
			if (x->cp[i].p == p && x->cp[i].sent &&
			    !x->cp[i].voted) {
				snprintf(why, sizeof(why), "%s unreachable",
				    p->name);
				abort_ctx(x, why);
				break;
			}
	}
}

/* Answers QUERY TXID: commit only if a commit decision exists. */
static void
answer_query(struct wconn *c, const char *txid)
{
	void *v = strmap_get(known, txid);
	struct ctx *x = v;

	if (v == &committed_mark || (v != NULL && v != &aborted_mark &&
	    x->st == C_COMMITTING))
		wire_sendf(c, "COMMIT %s", txid);
	else if (v != NULL && v != &aborted_mark)
		wire_sendf(c, "PENDING %s", txid);
	else
		wire_sendf(c, "ABORT %s", txid);
}

static struct cpart *
find_cpart(struct ctx *x, struct part *p)
{
	int i;

	for (i = 0; i < x->n; i++)
		if (x->cp[i].p == p)
			return &x->cp[i];
	return NULL;
}

static void
part_line(struct wconn *c, char *line, size_t len, void *arg)
{
	struct part *p = arg;
	struct cpart *cp;
	struct ctx *x;
	char *f[4], why[400];
	void *v;
	int n, i;

	(void)len;
	n = wire_split(line, f, 4);
	if (n >= 1 && strcmp(f[0], "ERR") == 0) {
		warnx("%s: %s", p->name, line);
		return;
	}
	if (n == 2 && strcmp(f[0], "RECOVERED") == 0) {
		p->recovered = 1;
		return;
	}
	if (n < 2) {
		wire_fail(c, "malformed reply");
		return;
	}
	if (strcmp(f[0], "QUERY") == 0) {
		answer_query(c, f[1]);
		return;
	}
	v = strmap_get(known, f[1]);
	x = (v == NULL || v == &committed_mark || v == &aborted_mark) ?
	    NULL : v;
	cp = x != NULL ? find_cpart(x, p) : NULL;
	if (strcmp(f[0], "VOTE") == 0 && n >= 3) {
		if (cp == NULL || x->st != C_VOTING || cp->voted)
			return;		/* late: the outcome is known */
		if (strcmp(f[2], "yes") != 0) {
			snprintf(why, sizeof(why), "%s voted no%s%s", p->name,
			    n > 3 ? ": " : "", n > 3 ? f[3] : "");
			abort_ctx(x, why);
			return;
		}
		cp->voted = 1;
		for (i = 0; i < x->n; i++)
			if (!x->cp[i].voted)
				return;
		decide_commit(x);
	} else if (strcmp(f[0], "ACK") == 0 && n == 2) {
		if (cp != NULL && x->st == C_COMMITTING)
			acked(x, p);
	} else
		wire_fail(c, "unknown verb or wrong arguments");
}

/* ---- starting transactions ---- */

/*
 * Parses "TXID<TAB>NAME=PAYLOAD..." (LINE is modified).  Returns a new
 * transaction, or NULL with the reason in WHY and the txid (if any) in
 * *TXID.
 */
static struct ctx *
parse_tx(char *line, char **txid, char *why, size_t whylen)
{
	struct ctx *x;
	char *tab, *field, *eq, *check;
	int i;

	*txid = NULL;
	if ((tab = strchr(line, '\t')) == NULL) {
		snprintf(why, whylen, "no participant");
		return NULL;
	}
	*tab = '\0';
	if (!wire_token_ok(line)) {
		snprintf(why, whylen, "bad txid");
		return NULL;
	}
	*txid = line;
	x = xcalloc(1, sizeof(*x));
	x->txid = xstrdup(line);
	for (field = tab + 1; field != NULL; field = tab) {
		if ((tab = strchr(field, '\t')) != NULL)
			*tab++ = '\0';
		if ((eq = strchr(field, '=')) == NULL) {
			snprintf(why, whylen, "field without '='");
			goto bad;
		}
		*eq = '\0';
		x->cp = xrealloc(x->cp, (size_t)(x->n + 1) * sizeof(*x->cp));
		memset(&x->cp[x->n], 0, sizeof(*x->cp));
		if ((x->cp[x->n].p = operand_part(field)) == NULL) {
			snprintf(why, whylen, "unknown participant %.200s",
			    field);
			goto bad;
		}
		for (i = 0; i < x->n; i++)
			if (x->cp[i].p == x->cp[x->n].p) {
				snprintf(why, whylen, "participant %.200s "
				    "named twice", field);
				goto bad;
			}
		check = xstrdup(eq + 1);
		if (wire_unescape(check, strlen(check)) < 0) {
			free(check);
			snprintf(why, whylen, "bad escape in payload for %.200s",
			    field);
			goto bad;
		}
		free(check);
		x->cp[x->n++].payload = xstrdup(eq + 1);
	}
	return x;
bad:
	for (i = 0; i < x->n; i++)
		free(x->cp[i].payload);
	free(x->cp);
	free(x->txid);
	free(x);
	return NULL;
}

/* Sends PREPARE for a new transaction X to every participant it names. */
static void
start_tx(struct ctx *x)
{
	char *peers = NULL, why[300];
	size_t len = 0;
	FILE *fp;
	int i;

	if (strmap_get(known, x->txid) != NULL) {
		live_add(x);
		n_abort++;
		answer(x, "abort", "duplicate txid");
		ctx_free(x);
		return;
	}
	strmap_put(known, x->txid, x);
	live_add(x);
	x->st = C_VOTING;
	fp = open_memstream(&peers, &len);
	for (i = 0; i < x->n; i++)
		fprintf(fp, "%s%s=%s", i ? "," : "", x->cp[i].p->name,
		    x->cp[i].p->sock);
	fclose(fp);
	CRASH_POINT("coord.prepare");
	for (i = 0; i < x->n; i++) {
		struct part *p = x->cp[i].p;

		if (part_conn(p) == NULL) {
			free(peers);
			snprintf(why, sizeof(why), "%s unreachable", p->name);
			abort_ctx(x, why);
			return;
		}
		wire_sendf(p->c, "PREPARE %s %s %s %s %s", x->txid, p->name,
		    csock_abs, peers, x->cp[i].payload);
		if (crash_armed)
			wire_flush(p->c);
		x->cp[i].sent = 1;
	}
	free(peers);
	CRASH_POINT("coord.prepare-sent");
	x->timer = ev_add_timer(ev, timeout_ms, vote_timeout, x);
}

/* ---- clients on the socket ---- */

static void
client_line(struct wconn *c, char *line, size_t len, void *arg)
{
	struct ctx *x;
	char why[300], *txid;

	(void)len;
	(void)arg;
	if (strncmp(line, "TX ", 3) == 0) {
		if ((x = parse_tx(line + 3, &txid, why, sizeof(why))) == NULL) {
			wire_fail(c, why);
			return;
		}
		wire_hold(c);
		x->client = c;
		start_tx(x);
	} else if (strncmp(line, "QUERY ", 6) == 0 &&
	    wire_token_ok(line + 6)) {
		answer_query(c, line + 6);
	} else if (strcmp(line, "STATS") == 0) {
		struct ctx *x;
		int pending = 0;

		for (x = live; x != NULL; x = x->next)
			pending++;
		wire_sendf(c, "STATS syncs=%llu pending=%d", log_syncs(clog),
		    pending);
	} else if (strncmp(line, "ACK ", 4) == 0) {
		/* An ack to a QUERY answer; our own connection gets one too. */
	} else
		wire_fail(c, "unknown verb or wrong arguments");
}

static void
on_accept(struct evloop *e, int fd, int events, void *arg)
{
	int cfd;

	(void)e;
	(void)events;
	(void)arg;
	while ((cfd = sock_accept(fd, any_uid)) != -1)
		wire_new(cfd, "client", client_line, NULL, NULL);
}

/* ---- stdin ---- */

static char *inbuf;
static size_t inlen, incap;

static void stdin_readable(struct evloop *, int, int, void *);

static void
stdin_line(char *line)
{
	struct ctx *x;
	char why[300], *txid;

	if ((x = parse_tx(line, &txid, why, sizeof(why))) == NULL) {
		warnx("bad input line: %s", why);
		printf("%s\tabort\tbad input: %s\n", txid != NULL ? txid : "-",
		    why);
		n_malformed++;
		return;
	}
	x->from_stdin = 1;
	stdin_inflight++;
	start_tx(x);
}

static void
stdin_readable(struct evloop *e, int fd, int events, void *arg)
{
	char *nl, *start;
	ssize_t n;

	(void)events;
	(void)arg;
	if (incap - inlen < 65536) {
		incap = incap ? incap * 2 : 131072;
		inbuf = xrealloc(inbuf, incap);
	}
	n = read(fd, inbuf + inlen, incap - inlen - 1);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1)
		err(EXIT_FAIL, "stdin");
	if (n == 0) {
		if (inlen > 0) {
			inbuf[inlen] = '\0';
			inlen = 0;
			stdin_line(inbuf);
		}
		stdin_open = 0;
		ev_del_fd(e, fd, EV_READ);
		return;
	}
	inlen += (size_t)n;
	start = inbuf;
	while ((nl = memchr(start, '\n', inlen - (size_t)(start - inbuf))) !=
	    NULL) {
		*nl = '\0';
		if (nl - start > WIRE_MAX_LINE) {
			warnx("bad input line: too long");
			printf("-\tabort\tbad input: line too long\n");
			n_malformed++;
		} else
			stdin_line(start);
		start = nl + 1;
	}
	inlen -= (size_t)(start - inbuf);
	memmove(inbuf, start, inlen);
	if (inlen > WIRE_MAX_LINE)
		errx(EXIT_USAGE, "stdin: line too long");
	if (stdin_inflight >= STDIN_WINDOW)
		ev_del_fd(e, fd, EV_READ);
}

/* ---- housekeeping ---- */

/*
 * Returns 1 when a run without -s is over: stdin is done, no transaction
 * is voting, every decision is acknowledged and every reachable
 * participant has been through recovery.
 */
static int
finished(void)
{
	struct ctx *x;
	int i;

	if (stdin_open || daemon_mode)
		return 0;
	for (x = live; x != NULL; x = x->next)
		if (x->st == C_VOTING)
			return 0;
	if (live != NULL)
		return -1;
	for (i = 0; i < nparts; i++)
		if (parts[i]->c != NULL && !parts[i]->recovered)
			return -1;
	return 1;
}

static long
housekeeping(struct evloop *e, long long id, void *arg)
{
	struct ctx *x;
	int i, f;

	(void)id;
	(void)arg;
	for (x = live; x != NULL; x = x->next)
		if (x->st == C_COMMITTING)
			for (i = 0; i < x->n; i++)
				if (!x->cp[i].acked)
					part_conn(x->cp[i].p);
	if (stdin_open && stdin_inflight < STDIN_WINDOW)
		ev_add_fd(e, STDIN_FILENO, EV_READ, stdin_readable, NULL);
	f = finished();
	if (f == 1 || (f == -1 && drain_deadline != 0 &&
	    ev_now_ms() >= drain_deadline))
		ev_stop(e);
	else if (f == -1 && drain_deadline == 0)
		drain_deadline = ev_now_ms() + timeout_ms;
	return f == 0 ? RETRY_MS : 20;
}

static void
before_sleep(struct evloop *e, void *arg)
{
	(void)arg;
	for (;;) {
		if (fflush(stdout) == EOF)
			err(EXIT_FAIL, "stdout");
		if (!log_pending(clog))
			break;
		log_flush(clog);
	}
	if (!daemon_mode && !stdin_open && finished() == 1)
		ev_stop(e);
}

/* ---- recovery ---- */

static void
replay(void *arg, const char *rec, size_t len)
{
	char *copy = xmemdup(rec, len), *f[3], *p, *next, *eq;
	struct ctx *x;
	void *v;
	int n = 0;

	(void)arg;
	for (p = copy; n < 3 && p != NULL; p = next) {
		if ((next = strchr(p, '\t')) != NULL)
			*next++ = '\0';
		f[n++] = p;
	}
	if (n < 2 || strlen(f[0]) != 1)
		errx(EXIT_USAGE, "log: malformed record");
	v = strmap_get(known, f[1]);
	x = (v == NULL || v == &committed_mark || v == &aborted_mark) ?
	    NULL : v;
	switch (f[0][0]) {
	case 'C':
		if (n != 3 || x != NULL)
			errx(EXIT_USAGE, "log: malformed record");
		x = xcalloc(1, sizeof(*x));
		x->txid = xstrdup(f[1]);
		x->st = C_COMMITTING;
		for (p = f[2]; p != NULL; p = next) {
			if ((next = strchr(p, ',')) != NULL)
				*next++ = '\0';
			if ((eq = strchr(p, '=')) == NULL)
				errx(EXIT_USAGE, "log: malformed record");
			*eq = '\0';
			x->cp = xrealloc(x->cp, (size_t)(x->n + 1) *
			    sizeof(*x->cp));
			memset(&x->cp[x->n], 0, sizeof(*x->cp));
			x->cp[x->n++].p = part_find(p, eq + 1, 0);
		}
		live_add(x);
		strmap_put(known, f[1], x);
		break;
	case 'E':
		if (x != NULL)
			ctx_free(x);
		strmap_put(known, f[1], &committed_mark);
		break;
	case 'A':
		if (x == NULL)
			strmap_put(known, f[1], &aborted_mark);
		break;
	default:
		errx(EXIT_USAGE, "log: unknown record type %s", f[0]);
	}
	free(copy);
}

/* ---- client mode ---- */

static int
client(const char *sock)
{
	char *line = NULL, *reply = NULL;
	size_t cap = 0, rcap = 0;
	ssize_t n;
	FILE *fp;
	int fd, fl, status = EXIT_OK, aborted = 0;

	sock_ignore_sigpipe();
	if ((fd = sock_connect(sock)) == -1) {
		warn("%s", sock);
		return EXIT_UNAVAIL;
	}
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if ((fp = fdopen(fd, "r+")) == NULL)
		err(EXIT_FAIL, "fdopen");
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		fprintf(fp, "TX %s\n", line);
		if (fflush(fp) == EOF ||
		    (n = getline(&reply, &rcap, fp)) <= 0) {
			warnx("%s: connection lost", sock);
			status = EXIT_UNAVAIL;
			break;
		}
		if (reply[n - 1] == '\n')
			reply[--n] = '\0';
		if (strncmp(reply, "OUTCOME ", 8) != 0) {
			warnx("%s", reply);
			status = EXIT_USAGE;
			break;
		}
		if (strstr(reply, "\tcommit") == NULL)
			aborted = 1;
		printf("%s\n", reply + 8);
		if (fflush(stdout) == EOF)
			err(EXIT_FAIL, "stdout");
	}
	free(line);
	free(reply);
	fclose(fp);
	return status != EXIT_OK ? status : aborted ? EXIT_FAIL : EXIT_OK;
}

int
main(int argc, char *argv[])
{
	const char *sock = NULL, *logpath = NULL;
	char *eq, *path, resolved[PATH_MAX];
	mode_t mode = 0600;
	unsigned long secs;
	int ch, i, nosync = 0, readyfd = -1, lfd = -1, status, stdin_flags;

	while ((ch = getopt(argc, argv, "AC:Shl:m:r:s:t:V")) != -1) {
		switch (ch) {
		case 'A':
			any_uid = 1;
			break;
		case 'C':
			return client(optarg);
		case 'S':
			nosync = 1;
			break;
		case 'V':
			print_version();
		case 'h':
			usage(stdout, EXIT_OK);
		case 'l':
			logpath = optarg;
			break;
		case 'm':
			if (sock_parse_mode(optarg, &mode) == -1)
				usage(stderr, EXIT_USAGE);
			break;
		case 'r':
			readyfd = daemon_parse_fd(optarg);
			break;
		case 's':
			sock = optarg;
			break;
		case 't':
			if (parse_ulong(optarg, 1, 86400, &secs) == -1)
				usage(stderr, EXIT_USAGE);
			timeout_ms = (long)secs * 1000;
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (logpath == NULL)
		usage(stderr, EXIT_USAGE);
	known = strmap_new();
	for (i = 0; i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) == NULL || eq == argv[i] ||
		    eq[1] == '\0')
			usage(stderr, EXIT_USAGE);
		*eq = '\0';
		path = daemon_abspath(eq + 1);
		if (!wire_token_ok(argv[i]) || strchr(argv[i], ',') != NULL ||
		    !wire_token_ok(path) || strchr(path, ',') != NULL)
			errx(EXIT_USAGE, "%s=%s: names and socket paths may not "
			    "hold blanks, commas or control characters",
			    argv[i], eq + 1);
		if (operand_part(argv[i]) != NULL)
			errx(EXIT_USAGE, "participant %s named twice", argv[i]);
		part_find(argv[i], path, 1);
		free(path);
	}

	crash_init();
	trace_init(sock != NULL ? sock : "2pc-coord");
	ev = ev_new();
	daemon_signals(ev);
	ev_before_sleep(ev, before_sleep, NULL);
	wire_init(ev);
	clog = log_open(logpath, replay, NULL);
	log_set_nosync(clog, nosync);
	if (realpath(logpath, resolved) == NULL)
		err(EXIT_FAIL, "%s", logpath);
	cid = xstrdup(resolved);
	csock_abs = sock != NULL ? daemon_abspath(sock) : xstrdup("-");
	if (!wire_token_ok(cid) || !wire_token_ok(csock_abs))
		errx(EXIT_USAGE, "log and socket paths may not hold blanks");
	if (sock != NULL) {
		daemon_mode = 1;
		lfd = sock_listen(sock, mode);
		ev_add_fd(ev, lfd, EV_READ, on_accept, NULL);
	}
	/* Recovery: meet every participant, resending undelivered commits. */
	for (i = 0; i < nparts; i++)
		part_conn(parts[i]);
	/* Non-blocking stdin, restored at exit: it may be a shared terminal. */
	if ((stdin_flags = fcntl(STDIN_FILENO, F_GETFL)) != -1)
		fcntl(STDIN_FILENO, F_SETFL, stdin_flags | O_NONBLOCK);
	ev_add_fd(ev, STDIN_FILENO, EV_READ, stdin_readable, NULL);
	ev_add_timer(ev, RETRY_MS, housekeeping, NULL);
	daemon_ready(readyfd);
	ev_run(ev);

	status = live != NULL ? EXIT_UNAVAIL : n_malformed ? EXIT_USAGE :
	    n_abort ? EXIT_FAIL : EXIT_OK;
	if (live != NULL) {
		struct ctx *x;

		for (x = live; x != NULL; x = x->next)
			if (x->st == C_COMMITTING)
				warnx("%s: commit not yet delivered to every "
				    "participant", x->txid);
	}
	if (stdin_flags != -1)
		fcntl(STDIN_FILENO, F_SETFL, stdin_flags);
	log_close(clog);
	wire_drain(200);
	if (sock != NULL)
		unlink(sock);
	if (fflush(stdout) == EOF)
		err(EXIT_FAIL, "stdout");
	return daemon_mode ? EXIT_OK : status;
}
