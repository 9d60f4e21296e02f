/*
 * 2pc-coord: a two-phase commit coordinator (transaction manager).
 *
 * Each transaction is a line "TXID<TAB>NAME=PAYLOAD..." read from stdin or
 * sent by a client over the socket (-s); each NAME is a participant given
 * as an operand NAME=SOCK.  The coordinator sends PREPARE to every named
 * participant, and commits only if all vote yes within -t seconds.
 *
 * Identity: the coordinator is named by a random id made when its log is
 * created (the log's first record), and a transaction by (that id, txid).
 * Every message about a transaction carries the id, so participants
 * serving several coordinators keep their transactions apart, and a
 * coordinator that lost its log is a new coordinator, not one that forgot.
 *
 * Presumed abort, with one addition: a BEGIN record (txid, digest of the
 * submission, participants) is forced before the first PREPARE, so a txid
 * is never reused, not even across a crash that lost every volatile
 * trace of the transaction; a resubmission of the same txid (a client's
 * retry) is told that transaction's true outcome.  The COMMIT decision
 * (with the participant list) is forced before any COMMIT is sent and
 * before anyone (client or asking participant) learns "commit".  END is
 * written lazily once every participant has acknowledged; aborts are
 * written lazily and need no acknowledgement.  After a crash, every
 * decision without END is resent until acknowledged, and every begun
 * transaction without a decision is aborted.
 *
 * Bounded growth: memory and the log hold the live transactions and the
 * newest -w decided ones (remembered to answer retries; an older retry
 * runs as new).  The log is checkpointed as it grows (log.h), and the
 * participants are told the horizon, the sequence number below which
 * everything is decided and acknowledged, so that they may forget too.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "crash.h"
#include "daemon.h"
#include "evloop.h"
#include "log.h"
#include "md5.h"
#include "sock.h"
#include "strmap.h"
#include "trace.h"
#include "util.h"
#include "wire.h"

#define RETRY_MS	250
#define WARN_EVERY_MS	30000	/* how often a stuck delivery is reported */
#define DIGEST_LEN	16	/* bytes of an MD5 */

struct part {
	char *name;
	char *sock;		/* absolute */
	int operand;		/* named on the command line */
	struct wconn *c;
	int recovered;		/* answered our RECOVER on this connection */
	unsigned long long horizon;	/* the last HORIZON sent it */
	long long warned;	/* when we last said it cannot be reached */
};

/*
 * A transaction's life.  Only C_VOTING, C_DECIDING and C_COMMITTING are
 * live; the others are remembered to answer retries and late questions.
 */
enum cstate {
	C_VOTING,	/* BEGIN appended; PREPAREs sent once it is durable */
	C_DECIDING,	/* all voted yes; COMMIT appended, not yet durable */
	C_COMMITTING,	/* COMMIT durable: sent until every participant acks */
	C_COMMITTED,	/* every participant acknowledged */
	C_ABORTED
};

struct cpart {
	struct part *p;
	char *payload;		/* escaped, as on the wire; live only */
	int sent, voted, acked;
};

/* Someone waiting for an outcome: a client connection or a stdin line. */
struct waiter {
	struct wconn *client;	/* held */
	struct outline *out;
	struct waiter *next;
};

/* A stdin outcome line, printed in input order once known. */
struct outline {
	char *text;		/* NULL until the outcome is known */
	struct outline *next;
};

struct ctx {
	char *txid;
	unsigned long long seq;	/* order of BEGIN records, from 1 */
	unsigned char digest[DIGEST_LEN];	/* of the submitted line */
	enum cstate st;
	char *reason;		/* C_ABORTED */
	struct cpart *cp;	/* live only */
	int n;
	char *names;		/* remembered C_COMMITTED: "NAME,..." */
	struct waiter *waiters;
	long long timer;
	long long decided_at;	/* C_COMMITTING: when */
	struct ctx *prev, *next;	/* live list, or the remembered queue */
};

static struct evloop *ev;
static struct hlog *clog;
static struct strmap *known;	/* txid -> struct ctx: live or remembered */
static struct ctx *live;
/* Decided transactions, oldest first, kept to answer retries. */
static struct ctx *remembered, **remembered_tail = &remembered;
static unsigned long nremembered, window = 20000;
static unsigned long long next_seq = 1;
static struct part **parts;
static int nparts;
static char *cid;		/* our identity, from the log */
static char *cname;		/* how participants show us: socket or log */
static char *csock_abs;		/* our socket, or "-" */
static long timeout_ms = 5000;
static long jobs = 1;		/* stdin transactions at a time */
static int any_uid, daemon_mode;
static int stdin_open = 1;
static struct outline *out_head, **out_tail = &out_head;
static long out_pending;	/* stdin lines without an outcome yet */
static long long drain_deadline;
static int n_abort, n_malformed;

static void usage(FILE *, int) __attribute__((noreturn));

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: 2pc-coord [-AhSV] [-g growth] [-j jobs] [-K keyfile] "
	    "[-m mode] [-r fd]\n"
	    "                 [-s sock] [-t secs] [-w window] -l log "
	    "name=sock ...\n"
	    "       2pc-coord [-j jobs] [-K keyfile] -C sock\n");
	exit(status);
}

/* Prints why the command line is wrong, then the usage; exits 2. */
static void
bad_usage(const char *fmt, const char *arg) __attribute__((noreturn));

static void
bad_usage(const char *fmt, const char *arg)
{
	warnx(fmt, arg);
	usage(stderr, EXIT_USAGE);
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

static struct ctx *
ctx_new(const char *txid)
{
	struct ctx *x = xcalloc(1, sizeof(*x));

	x->txid = xstrdup(txid);
	strmap_put(known, txid, x);
	return x;
}

/* Frees X, a transaction parsed but never registered. */
static void
ctx_discard(struct ctx *x)
{
	int i;

	for (i = 0; i < x->n; i++)
		free(x->cp[i].payload);
	free(x->cp);
	free(x->txid);
	free(x);
}

static void
cpart_add(struct ctx *x, struct part *p, const char *payload)
{
	x->cp = xrealloc(x->cp, (size_t)(x->n + 1) * sizeof(*x->cp));
	memset(&x->cp[x->n], 0, sizeof(*x->cp));
	x->cp[x->n].p = p;
	x->cp[x->n++].payload = payload != NULL ? xstrdup(payload) : NULL;
}

/* Returns the participant list "NAME=SOCK,..." of X (a new string). */
static char *
part_list(const struct ctx *x)
{
	char *list = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&list, &len);
	int i;

	if (fp == NULL)
		err(EXIT_FAIL, "open_memstream");
	for (i = 0; i < x->n; i++)
		fprintf(fp, "%s%s=%s", i ? "," : "", x->cp[i].p->name,
		    x->cp[i].p->sock);
	if (fclose(fp) == EOF)
		err(EXIT_FAIL, "open_memstream");
	return list;
}

/* Returns X's participants' names "NAME,..." (a new string). */
static char *
part_names(const struct ctx *x)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < x->n; i++)
		len += strlen(x->cp[i].p->name) + 1;
	s = xmalloc(len);
	*s = '\0';
	for (i = 0; i < x->n; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, x->cp[i].p->name);
	}
	return s;
}

/* Parses a participant list into X's participants; -1 if malformed. */
static int
parse_part_list(struct ctx *x, char *list)
{
	char *p, *next, *eq;

	for (p = list; p != NULL; p = next) {
		if ((next = strchr(p, ',')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(p, '=')) == NULL)
			return -1;
		*eq = '\0';
		/* A participant named again on the command line, maybe at
		 * a new socket, is reached where it is now. */
		cpart_add(x, operand_part(p) != NULL ? operand_part(p) :
		    part_find(p, eq + 1, 0), NULL);
	}
	return 0;
}

/* Returns whether NAME took part in X, live or remembered. */
static int
took_part(const struct ctx *x, const char *name)
{
	size_t len = strlen(name);
	const char *p;
	int i;

	for (i = 0; i < x->n; i++)
		if (strcmp(x->cp[i].p->name, name) == 0)
			return 1;
	for (p = x->names; p != NULL; p = strchr(p, ',') ? strchr(p, ',') + 1 :
	    NULL)
		if (strncmp(p, name, len) == 0 && (p[len] == ',' ||
		    p[len] == '\0'))
			return 1;
	return 0;
}

/* Hex of X's digest, as the log keeps it (a static buffer). */
static const char *
digest_hex(const struct ctx *x)
{
	static char hex[2 * DIGEST_LEN + 1];

	hex_encode(x->digest, DIGEST_LEN, hex);
	return hex;
}

/* Reads a digest in hex into X; -1 if HEX is not one. */
static int
digest_parse(struct ctx *x, const char *hex)
{
	static const char digits[] = "0123456789abcdef";
	const char *hi, *lo;
	int i;

	if (strlen(hex) != 2 * DIGEST_LEN)
		return -1;
	for (i = 0; i < DIGEST_LEN; i++) {
		if ((hi = strchr(digits, hex[2 * i])) == NULL ||
		    (lo = strchr(digits, hex[2 * i + 1])) == NULL)
			return -1;
		x->digest[i] = (unsigned char)((hi - digits) << 4 |
		    (lo - digits));
	}
	return 0;
}

static struct cpart *
find_cpart(struct ctx *x, const char *name)
{
	int i;

	for (i = 0; i < x->n; i++)
		if (strcmp(x->cp[i].p->name, name) == 0)
			return &x->cp[i];
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

/* Forgets X altogether: a retry of its txid would now be new. */
static void
ctx_forget(struct ctx *x)
{
	strmap_del(known, x->txid);
	free(x->reason);
	free(x->names);
	ctx_discard(x);
}

/*
 * Ends X's live part: it is decided and, from now on, only remembered
 * (to tell retries its outcome), the newest WINDOW such transactions.
 */
static void
finish(struct ctx *x)
{
	struct ctx *old;
	int i;

	if (x->prev != NULL)
		x->prev->next = x->next;
	else if (live == x)
		live = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	if (x->timer != 0)
		ev_del_timer(ev, x->timer);
	x->timer = 0;
	/* What is remembered is small: an outcome, names, no payloads. */
	if (x->st == C_COMMITTED && x->n > 0) {
		free(x->names);
		x->names = part_names(x);
	}
	for (i = 0; i < x->n; i++)
		free(x->cp[i].payload);
	free(x->cp);
	x->cp = NULL;
	x->n = 0;
	*remembered_tail = x;
	remembered_tail = &x->next;
	if (++nremembered > window) {
		old = remembered;
		if ((remembered = old->next) == NULL)
			remembered_tail = &remembered;
		nremembered--;
		ctx_forget(old);
	}
}

/* ---- outcomes ---- */

static void
out_flush(void)
{
	struct outline *o;

	while ((o = out_head) != NULL && o->text != NULL) {
		fputs(o->text, stdout);
		out_head = o->next;
		if (out_head == NULL)
			out_tail = &out_head;
		free(o->text);
		free(o);
	}
}

/* Tells W the outcome line LINE ("TXID<TAB>commit"...); frees W. */
static void
tell(struct waiter *w, const char *line)
{
	if (w->out != NULL) {
		w->out->text = xasprintf("%s\n", line);
		out_pending--;
	} else if (w->client != NULL) {
		wire_sendf(w->client, "OUTCOME %s", line);
		if (crash_armed)
			wire_flush(w->client);
		wire_release(w->client);
	}
	free(w);
}

/* The outcome line of a decided transaction, or NULL while undecided. */
static char *
outcome_line(const struct ctx *x)
{
	if (x->st == C_COMMITTING || x->st == C_COMMITTED)
		return xasprintf("%s\tcommit", x->txid);
	if (x->st == C_ABORTED)
		return xasprintf("%s\tabort\t%s", x->txid, x->reason);
	return NULL;
}

static void
tell_all(struct ctx *x)
{
	char *line = outcome_line(x);
	struct waiter *w;

	while ((w = x->waiters) != NULL) {
		x->waiters = w->next;
		tell(w, line);
	}
	free(line);
}

/* Aborts X; REASON (control bytes shown as blanks) goes to its askers. */
static void
abort_ctx(struct ctx *x, const char *reason)
{
	char *r;
	int i;

	x->st = C_ABORTED;
	x->reason = xstrdup(reason);
	for (r = x->reason; *r != '\0'; r++)
		if ((unsigned char)*r < ' ')
			*r = ' ';
	log_appendf(clog, LOG_LAZY, NULL, NULL, "A\t%s\t%s", x->txid,
	    x->reason);
	for (i = 0; i < x->n; i++)
		if (x->cp[i].sent && x->cp[i].p->c != NULL)
			wire_sendf(x->cp[i].p->c, "ABORT %s %s %llu", cid,
			    x->txid, x->seq);
	n_abort++;
	tell_all(x);
	finish(x);
}

static void
send_commit(struct ctx *x, struct cpart *cp)
{
	if (cp->p->c == NULL || cp->acked)
		return;
	wire_sendf(cp->p->c, "COMMIT %s %s", cid, x->txid);
	if (crash_armed)
		wire_flush(cp->p->c);
}

/* The COMMIT record is durable: only now may anyone learn "commit". */
static void
decided(void *arg)
{
	struct ctx *x = arg;
	int i;

	CRASH_POINT("coord.decided");
	x->st = C_COMMITTING;
	x->decided_at = ev_now_ms();
	for (i = 0; i < x->n; i++)
		send_commit(x, &x->cp[i]);
	CRASH_POINT("coord.commit-sent");
	tell_all(x);
	CRASH_POINT("coord.answered");
}

static void
decide_commit(struct ctx *x)
{
	char *list = part_list(x);

	CRASH_POINT("coord.voted");
	if (x->timer != 0)
		ev_del_timer(ev, x->timer);
	x->timer = 0;
	x->st = C_DECIDING;
	log_appendf(clog, LOG_FORCED, decided, x, "C\t%s\t%s", x->txid, list);
	free(list);
}

static void
acked(struct ctx *x, struct cpart *cp)
{
	int i;

	cp->acked = 1;
	for (i = 0; i < x->n; i++)
		if (!x->cp[i].acked)
			return;
	CRASH_POINT("coord.acked");
	log_appendf(clog, LOG_LAZY, NULL, NULL, "E\t%s", x->txid);
	x->st = C_COMMITTED;
	finish(x);
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

/*
 * Returns a connection to P, opening it (and resending what P lacks), or
 * NULL; says so, at most every WARN_EVERY_MS, when P cannot be reached
 * while a commit waits for it.
 */
static struct wconn *
part_conn(struct part *p, const char *waiting)
{
	long long now;
	struct ctx *x;
	int i;

	if (p->c != NULL)
		return p->c;
	if ((p->c = wire_dial(p->sock, p->name, part_line, part_close,
	    p)) == NULL) {
		now = ev_now_ms();
		if (waiting != NULL && (p->warned == 0 ||
		    now - p->warned >= WARN_EVERY_MS)) {
			warn("%s: cannot deliver the commit of %s yet: %s",
			    p->name, waiting, p->sock);
			p->warned = now;
		}
		return NULL;
	}
	p->recovered = 0;
	p->horizon = 0;
	wire_sendf(p->c, "RECOVER %s %s", cid, cname);
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

/*
 * Answers QUERY CID TXID NAME.  A transaction is (coordinator, txid), and
 * the answer is about the one NAME took part in: COMMIT only once the
 * decision is durable and NAME is among its participants, PENDING while
 * it is undecided, ABORT for anything else (presumed abort: a txid we
 * never began, or began and aborted).  A question for another coordinator
 * gets UNKNOWN, so the asker turns to its peers.
 */
static void
answer_query(struct wconn *c, const char *qcid, const char *txid,
    const char *name)
{
	struct ctx *x = strmap_get(known, txid);

	if (strcmp(qcid, cid) != 0)
		wire_sendf(c, "UNKNOWN %s %s", qcid, txid);
	else if (x == NULL || !took_part(x, name))
		wire_sendf(c, "ABORT %s %s", cid, txid);
	else if (x->st == C_COMMITTING || x->st == C_COMMITTED)
		wire_sendf(c, "COMMIT %s %s", cid, txid);
	else if (x->st == C_VOTING || x->st == C_DECIDING)
		wire_sendf(c, "PENDING %s %s", cid, txid);
	else
		wire_sendf(c, "ABORT %s %s", cid, txid);
}

/* Handles "QUERY CID TXID NAME" in F (4 fields); -1 if malformed. */
static int
on_query(struct wconn *c, char **f, int n)
{
	if (n != 4 || strcmp(f[0], "QUERY") != 0 || !wire_token_ok(f[1]) ||
	    !wire_token_ok(f[2]) || !wire_token_ok(f[3]))
		return -1;
	answer_query(c, f[1], f[2], f[3]);
	return 0;
}

static void
part_line(struct wconn *c, char *line, size_t len, void *arg)
{
	struct part *p = arg;
	struct cpart *cp;
	struct ctx *x;
	char *f[5], why[400];
	int n, i;

	(void)len;
	if (strncmp(line, "ERR ", 4) == 0) {
		warnx("%s: %s", p->name, line);
		return;
	}
	n = wire_split(line, f, 5);
	if (n == 2 && strcmp(f[0], "RECOVERED") == 0) {
		/* Reachable: a TCP connection is only known to be up now. */
		p->recovered = 1;
		p->warned = 0;
		return;
	}
	if (on_query(c, f, n) == 0)
		return;
	if (n < 3 || strcmp(f[1], cid) != 0) {
		wire_fail(c, "malformed message or another coordinator's id");
		return;
	}
	x = strmap_get(known, f[2]);
	cp = x != NULL ? find_cpart(x, p->name) : NULL;
	if (strcmp(f[0], "VOTE") == 0 && n >= 4) {
		if (cp == NULL || x->st != C_VOTING || cp->voted || !cp->sent)
			return;		/* late: the outcome is known */
		if (strcmp(f[3], "yes") != 0) {
			snprintf(why, sizeof(why), "%s voted no%s%s", p->name,
			    n > 4 ? ": " : "", n > 4 ? f[4] : "");
			abort_ctx(x, why);
			return;
		}
		cp->voted = 1;
		for (i = 0; i < x->n; i++)
			if (!x->cp[i].voted)
				return;
		decide_commit(x);
	} else if (strcmp(f[0], "ACK") == 0 && n == 3) {
		if (cp != NULL && x->st == C_COMMITTING)
			acked(x, cp);
	} else
		wire_fail(c, "unknown verb or wrong arguments");
}

/* ---- starting transactions ---- */

/* The length of X's longest PREPARE line (see begun). */
static size_t
prepare_len(const struct ctx *x)
{
	size_t peers = 0, most = 0, n;
	int i;

	for (i = 0; i < x->n; i++)
		peers += strlen(x->cp[i].p->name) + strlen(x->cp[i].p->sock) + 2;
	for (i = 0; i < x->n; i++) {
		n = strlen(x->cp[i].p->name) + strlen(x->cp[i].payload);
		if (n > most)
			most = n;
	}
	/* "PREPARE CID TXID SEQ NAME CSOCK PEERS PAYLOAD" */
	return 8 + strlen(cid) + 1 + strlen(x->txid) + 21 + most + 1 +
	    strlen(csock_abs) + 1 + peers;
}

/*
 * Parses "TXID<TAB>NAME=PAYLOAD..." (LINE is modified).  Returns a new,
 * unregistered transaction, or NULL with the reason in WHY and the txid
 * (if any) in *TXID.
 */
static struct ctx *
parse_tx(char *line, char **txid, char *why, size_t whylen)
{
	struct ctx *x;
	char *tab, *field, *eq, *check;
	struct part *p;

	*txid = NULL;
	if ((tab = strchr(line, '\t')) == NULL) {
		snprintf(why, whylen, "no participant (fields are separated by "
		    "TABs)");
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
	md5(tab + 1, strlen(tab + 1), x->digest);
	for (field = tab + 1; field != NULL; field = tab) {
		if ((tab = strchr(field, '\t')) != NULL)
			*tab++ = '\0';
		if ((eq = strchr(field, '=')) == NULL) {
			snprintf(why, whylen, "field without '='");
			goto bad;
		}
		*eq = '\0';
		if ((p = operand_part(field)) == NULL) {
			snprintf(why, whylen, "unknown participant %.200s",
			    field);
			goto bad;
		}
		if (find_cpart(x, field) != NULL) {
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
		cpart_add(x, p, eq + 1);
	}
	if (prepare_len(x) > WIRE_MAX_LINE) {
		snprintf(why, whylen, "too large: a PREPARE would be over %d "
		    "bytes", WIRE_MAX_LINE);
		goto bad;
	}
	return x;
bad:
	ctx_discard(x);
	return NULL;
}

/* The BEGIN record is durable: the txid is ours; send PREPARE. */
static void
begun(void *arg)
{
	struct ctx *x = arg;
	char *peers = part_list(x), why[300];
	int i;

	CRASH_POINT("coord.begun");
	for (i = 0; i < x->n; i++) {
		struct part *p = x->cp[i].p;

		if (part_conn(p, NULL) == NULL) {
			free(peers);
			snprintf(why, sizeof(why), "%s unreachable", p->name);
			abort_ctx(x, why);
			return;
		}
		wire_sendf(p->c, "PREPARE %s %s %llu %s %s %s %s", cid, x->txid,
		    x->seq, p->name, csock_abs, peers, x->cp[i].payload);
		if (crash_armed)
			wire_flush(p->c);
		x->cp[i].sent = 1;
	}
	free(peers);
	CRASH_POINT("coord.prepare-sent");
	x->timer = ev_add_timer(ev, timeout_ms, vote_timeout, x);
}

/*
 * Submits transaction X for W.  A new txid is begun; a known one is a
 * resubmission: the same content is a retry and gets the true outcome
 * (now, or when it is decided); other content is refused, and the
 * transaction that owns the txid is left alone.
 */
static void
submit(struct ctx *x, struct waiter *w)
{
	struct ctx *old = strmap_get(known, x->txid);
	char *list, *line;

	if (old != NULL) {
		if (memcmp(old->digest, x->digest, DIGEST_LEN) != 0) {
			n_abort++;
			line = xasprintf("%s\tabort\ttxid already used by "
			    "another transaction", x->txid);
			tell(w, line);
			free(line);
		} else if ((line = outcome_line(old)) != NULL) {
			n_abort += old->st == C_ABORTED;
			tell(w, line);
			free(line);
		} else {
			w->next = old->waiters;
			old->waiters = w;
		}
		ctx_discard(x);
		return;
	}
	strmap_put(known, x->txid, x);
	live_add(x);
	x->st = C_VOTING;
	x->seq = next_seq++;
	x->waiters = w;
	CRASH_POINT("coord.prepare");
	list = part_list(x);
	log_appendf(clog, LOG_FORCED, begun, x, "B\t%s\t%llu\t%s\t%s",
	    x->txid, x->seq, digest_hex(x), list);
	free(list);
}

/* ---- clients on the socket ---- */

static void
client_line(struct wconn *c, char *line, size_t len, void *arg)
{
	struct waiter *w;
	struct ctx *x;
	char why[300], *txid, *f[4];
	int n;

	(void)len;
	(void)arg;
	if (strncmp(line, "TX ", 3) == 0) {
		if ((x = parse_tx(line + 3, &txid, why, sizeof(why))) == NULL) {
			/* A bad transaction is an outcome, not a bad peer. */
			wire_sendf(c, "OUTCOME %s\tabort\tbad input: %s",
			    txid != NULL ? txid : "-", why);
			return;
		}
		w = xcalloc(1, sizeof(*w));
		wire_hold(c);
		w->client = c;
		submit(x, w);
		return;
	}
	n = wire_split(line, f, 4);
	if (on_query(c, f, n) == 0)
		;
	else if (n == 1 && strcmp(f[0], "STATS") == 0) {
		struct ctx *y;
		int pending = 0;

		for (y = live; y != NULL; y = y->next)
			pending++;
		wire_sendf(c, "STATS id=%s syncs=%llu pending=%d "
		    "remembered=%lu log=%zu", cid, log_syncs(clog), pending,
		    nremembered, log_size(clog));
	} else if (n == 3 && strcmp(f[0], "ACK") == 0) {
		/* An ack to a QUERY answer; our own connection gets one too. */
	} else {
		snprintf(why, sizeof(why), "unknown verb or wrong arguments: "
		    "%.20s (verbs: TX, QUERY, STATS)", n > 0 ? f[0] : "");
		wire_fail(c, why);
	}
}

static void
on_accept(struct evloop *e, int fd, int events, void *arg)
{
	static unsigned long n;
	char name[32];
	int cfd;

	(void)e;
	(void)events;
	(void)arg;
	while ((cfd = sock_accept(fd, any_uid)) != -1) {
		/* Each connection its own name, so traces can be merged. */
		snprintf(name, sizeof(name), "client-%lu", ++n);
		wire_new(cfd, name, client_line, NULL, NULL);
	}
}

/* ---- stdin: at most -j transactions at a time, outcomes in order ---- */

static char *inbuf;
static size_t inlen, incap;
static int stdin_eof;
static int skipping;	/* the rest of a line too long is being dropped */

static void
stdin_line(char *line, size_t len)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	struct ctx *x;
	char why[300], *txid = NULL, *text;

	w->out = xcalloc(1, sizeof(*w->out));
	*out_tail = w->out;
	out_tail = &w->out->next;
	out_pending++;
	if (len > WIRE_MAX_LINE)
		snprintf(why, sizeof(why), "line too long");
	else if ((x = parse_tx(line, &txid, why, sizeof(why))) != NULL) {
		submit(x, w);
		return;
	}
	warnx("bad input line: %s", why);
	text = xasprintf("%s\tabort\tbad input: %s", txid != NULL ? txid :
	    "-", why);
	tell(w, text);
	free(text);
	n_malformed++;
}

/* Starts the buffered stdin transactions while fewer than -j run. */
static void
stdin_take(void)
{
	char *start = inbuf, *end = inbuf + inlen, *nl;

	if (inlen == 0) {
		stdin_open = !stdin_eof;
		return;
	}
	while (out_pending < jobs && start < end) {
		nl = memchr(start, '\n', (size_t)(end - start));
		if (skipping) {
			start = nl != NULL ? nl + 1 : end;
			skipping = nl == NULL;
			continue;
		}
		if (nl == NULL) {
			if (!stdin_eof)
				break;
			nl = end;	/* a last line without a newline */
		}
		*nl = '\0';
		stdin_line(start, (size_t)(nl - start));
		start = nl + 1;
	}
	if (start > end)
		start = end;
	inlen = (size_t)(end - start);
	memmove(inbuf, start, inlen);
	if (stdin_eof && inlen == 0)
		stdin_open = 0;
}

static void
stdin_readable(struct evloop *e, int fd, int events, void *arg)
{
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
	if (n == 0)
		stdin_eof = 1;
	inlen += (size_t)n;
	stdin_take();
	if (inlen > WIRE_MAX_LINE && memchr(inbuf, '\n', inlen) == NULL) {
		/* A line over the limit: its outcome now, its rest dropped. */
		inbuf[inlen] = '\0';
		stdin_line(inbuf, inlen);
		inlen = 0;
		skipping = 1;
	}
	if (stdin_eof || out_pending >= jobs)
		ev_del_fd(e, fd, EV_READ);	/* resumed by stdin_resume */
}

/* Takes more stdin transactions once fewer than -j are running. */
static void
stdin_resume(void)
{
	if (!stdin_open || out_pending >= jobs)
		return;
	stdin_take();
	if (!stdin_eof && out_pending < jobs)
		ev_add_fd(ev, STDIN_FILENO, EV_READ, stdin_readable, NULL);
}

/* ---- housekeeping ---- */

/*
 * Returns 1 when a run without -s is over: stdin is done, no transaction
 * is voting, every decision is acknowledged and every reachable
 * participant has been through recovery; -1 while only deliveries are
 * left; 0 otherwise.
 */
static int
finished(void)
{
	struct ctx *x;
	int i;

	if (stdin_open || daemon_mode)
		return 0;
	for (x = live; x != NULL; x = x->next)
		if (x->st != C_COMMITTING)
			return 0;
	if (live != NULL)
		return -1;
	for (i = 0; i < nparts; i++)
		if (parts[i]->c != NULL && !parts[i]->recovered)
			return -1;
	return 1;
}

/*
 * Tells the participants we are connected to the horizon: every
 * transaction with a smaller sequence number is decided and, if it
 * committed, acknowledged by all, so they may forget it.
 */
static void
send_horizon(void)
{
	unsigned long long h = next_seq;
	struct ctx *x;
	int i;

	for (x = live; x != NULL; x = x->next)
		if (x->seq < h)
			h = x->seq;
	for (i = 0; i < nparts; i++)
		if (parts[i]->c != NULL && parts[i]->horizon < h) {
			wire_sendf(parts[i]->c, "HORIZON %s %llu", cid, h);
			parts[i]->horizon = h;
		}
}

/*
 * P owes X's acknowledgement: reconnect if need be, and say so, every
 * WARN_EVERY_MS, if it is reachable but has not answered for that long.
 */
static void
unacked(struct ctx *x, struct part *p)
{
	long long now = ev_now_ms();

	if (part_conn(p, x->txid) != NULL && now - x->decided_at >=
	    WARN_EVERY_MS && now - p->warned >= WARN_EVERY_MS) {
		warnx("%s: has not acknowledged the commit of %s for %lld s",
		    p->name, x->txid, (now - x->decided_at) / 1000);
		p->warned = now;
	}
}

static long
housekeeping(struct evloop *e, long long id, void *arg)
{
	struct ctx *x;
	int i, f;

	(void)id;
	(void)arg;
	send_horizon();
	for (x = live; x != NULL; x = x->next)
		if (x->st == C_COMMITTING)
			for (i = 0; i < x->n; i++)
				if (!x->cp[i].acked)
					unacked(x, x->cp[i].p);
	f = finished();
	if (f == 1 || (f == -1 && drain_deadline != 0 &&
	    ev_now_ms() >= drain_deadline))
		ev_stop(e);
	else if (f == -1 && drain_deadline == 0)
		drain_deadline = ev_now_ms() + timeout_ms;
	return f == 0 ? RETRY_MS : 20;
}

static log_keep_fn keep;

static void
before_sleep(struct evloop *e, void *arg)
{
	(void)arg;
	for (;;) {
		out_flush();
		if (fflush(stdout) == EOF)
			err(EXIT_FAIL, "stdout");
		if (!log_pending(clog))
			break;
		log_flush(clog);
	}
	if (log_checkpoint_due(clog))
		log_checkpoint(clog, keep, NULL);
	stdin_resume();
	if (!daemon_mode && !stdin_open && finished() == 1)
		ev_stop(e);
}

/* ---- recovery ---- */

static void
malformed(void)
{
	errx(EXIT_USAGE, "log: malformed record");
}

/* Parses a sequence number field; exits 2 if it is not one. */
static unsigned long long
parse_seq(const char *f)
{
	unsigned long v;

	if (parse_ulong(f, 1, ULONG_MAX, &v) == -1)
		malformed();
	if (v >= next_seq)
		next_seq = v + 1;
	return v;
}

/*
 * Replays one record: N (our id and, after a checkpoint, the next
 * sequence number; first), B (begun), C (commit decided), A (aborted),
 * E (ended), R (a decided transaction remembered by a checkpoint).
 */
static void
replay(void *arg, const char *rec, size_t len)
{
	char *copy = xmemdup(rec, len), *f[6], *p, *next;
	struct ctx *x;
	int n = 0;

	(void)arg;
	for (p = copy; p != NULL; p = next) {
		if ((next = strchr(p, '\t')) != NULL && n < 5)
			*next++ = '\0';
		else
			next = NULL;
		f[n++] = p;
	}
	if (n < 2 || strlen(f[0]) != 1 || (cid == NULL) != (f[0][0] == 'N'))
		malformed();
	x = strmap_get(known, f[1]);
	switch (f[0][0]) {
	case 'N':
		if (n > 3 || !wire_token_ok(f[1]))
			malformed();
		cid = xstrdup(f[1]);
		if (n == 3)
			next_seq = parse_seq(f[2]);
		break;
	case 'B':
	case 'R':
		if (n != (f[0][0] == 'B' ? 5 : 6) || x != NULL)
			malformed();
		x = ctx_new(f[1]);
		x->seq = parse_seq(f[2]);
		if (digest_parse(x, f[3]) == -1)
			malformed();
		live_add(x);
		if (f[0][0] == 'B') {
			x->st = C_VOTING;
			if (parse_part_list(x, f[4]) == -1)
				malformed();
		} else if (strcmp(f[4], "c") == 0) {
			x->st = C_COMMITTED;
			x->names = xstrdup(f[5]);
			finish(x);
		} else if (strcmp(f[4], "a") == 0) {
			x->st = C_ABORTED;
			x->reason = xstrdup(f[5]);
			finish(x);
		} else
			malformed();
		break;
	case 'C':
		if (n != 3 || x == NULL || x->st != C_VOTING)
			malformed();
		x->st = C_COMMITTING;
		break;
	case 'E':
		if (x == NULL || x->st != C_COMMITTING)
			malformed();
		x->st = C_COMMITTED;
		finish(x);
		break;
	case 'A':
		if (n != 3 || x == NULL || x->st != C_VOTING)
			malformed();
		x->st = C_ABORTED;
		x->reason = xstrdup(f[2]);
		finish(x);
		break;
	default:
		errx(EXIT_USAGE, "log: unknown record type %s", f[0]);
	}
	free(copy);
}

/*
 * Gives a checkpoint what a restart needs: our id and next sequence
 * number, the remembered transactions in the order they were decided,
 * and the live ones as their BEGIN and COMMIT records.
 */
static void
keep(struct hlog *l, void *arg)
{
	struct ctx *x;
	char *list;

	(void)arg;
	log_appendf(l, LOG_KEEP, NULL, NULL, "N\t%s\t%llu", cid, next_seq);
	for (x = remembered; x != NULL; x = x->next)
		log_appendf(l, LOG_KEEP, NULL, NULL, "R\t%s\t%llu\t%s\t%s\t%s",
		    x->txid, x->seq, digest_hex(x),
		    x->st == C_COMMITTED ? "c" : "a",
		    x->st == C_COMMITTED ? x->names : x->reason);
	for (x = live; x != NULL; x = x->next) {
		list = part_list(x);
		log_appendf(l, LOG_KEEP, NULL, NULL, "B\t%s\t%llu\t%s\t%s",
		    x->txid, x->seq, digest_hex(x), list);
		if (x->st == C_COMMITTING)
			log_appendf(l, LOG_KEEP, NULL, NULL, "C\t%s\t%s",
			    x->txid, list);
		free(list);
	}
}

/* Makes our id: 16 random hex digits, the first record of a new log. */
static void
make_id(void)
{
	char hex[17];

	random_hex(hex, 8);
	cid = xstrdup(hex);
	log_appendf(clog, LOG_FORCED, NULL, NULL, "N\t%s", cid);
	log_flush(clog);
}

/*
 * Aborts what was begun but never decided before the crash, and tells
 * the participants we can reach: presumed abort would let them learn it
 * when they ask, but a coordinator without a socket cannot be asked, and
 * one still voting would otherwise vote yes to nobody and wait.
 */
static void
recover(void)
{
	struct ctx *x, *next;
	int i;

	for (x = live; x != NULL; x = next) {
		next = x->next;
		if (x->st != C_VOTING)
			continue;
		for (i = 0; i < x->n; i++)
			x->cp[i].sent = part_conn(x->cp[i].p, NULL) != NULL;
		abort_ctx(x, "coordinator restarted before deciding");
	}
	n_abort = 0;
}

/* ---- client mode ---- */

#define BAD_INPUT	"abort\tbad input: "

/* A transaction the client sent, in input order, and its outcome. */
struct sent {
	char *txid;		/* as the outcome line will name it */
	char *outcome;		/* NULL until it came */
};

/* The txid an outcome line for LINE names: "-" for a line without one. */
static char *
line_txid(const char *line)
{
	const char *tab = strchr(line, '\t');
	char *txid = xmemdup(line, tab != NULL ? (size_t)(tab - line) : 0);

	if (tab == NULL || !wire_token_ok(txid)) {
		free(txid);
		txid = xstrdup("-");
	}
	return txid;
}

/*
 * The client form: sends stdin's lines as transactions, up to -j at a
 * time, and prints their outcome lines in input order.  Returns the exit
 * status the first form would have.
 */
static int
client(const char *sock)
{
	struct sent *q;
	size_t head = 0, inflight = 0, i, cap = 0, rcap = 0;
	char *line = NULL, *reply = NULL, *tab;
	int fd, fl, status = EXIT_OK, aborted = 0, bad = 0, more = 1;
	ssize_t n;
	FILE *in, *out;		/* one stream each way: replies may pile up */

	sock_ignore_sigpipe();
	sock_check_addr(sock, NULL);
	if ((fd = sock_connect_wait(sock, timeout_ms)) == -1) {
		warn("%s", sock);
		return EXIT_UNAVAIL;
	}
	q = xcalloc((size_t)jobs, sizeof(*q));
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if ((in = fdopen(fd, "r")) == NULL || (fd = dup(fd)) == -1 ||
	    (out = fdopen(fd, "w")) == NULL)
		err(EXIT_FAIL, "fdopen");
	for (;;) {
		while (more && inflight < (size_t)jobs) {
			if ((n = getline(&line, &cap, stdin)) <= 0) {
				more = 0;
				break;
			}
			if (line[n - 1] == '\n')
				line[--n] = '\0';
			fprintf(out, "TX %s\n", line);
			q[(head + inflight++) % jobs].txid = line_txid(line);
		}
		if (inflight == 0)
			break;
		if (fflush(out) == EOF || (n = getline(&reply, &rcap, in)) <= 0) {
			/* They may have committed or not. */
			for (i = 0; i < inflight; i++) {
				struct sent *t = &q[(head + i) % jobs];

				printf("%s\t%s\n", t->txid, t->outcome != NULL ?
				    t->outcome : "unknown\tconnection lost: "
				    "resubmit the same line to learn the outcome");
			}
			warnx("%s: connection lost", sock);
			status = EXIT_UNAVAIL;
			break;
		}
		if (reply[n - 1] == '\n')
			reply[--n] = '\0';
		if (strncmp(reply, "OUTCOME ", 8) != 0 ||
		    (tab = strchr(reply + 8, '\t')) == NULL) {
			warnx("%s", reply);
			status = EXIT_USAGE;
			break;
		}
		*tab = '\0';
		for (i = 0; i < inflight; i++) {
			struct sent *t = &q[(head + i) % jobs];

			if (t->outcome == NULL && strcmp(t->txid, reply + 8) == 0) {
				t->outcome = xstrdup(tab + 1);
				break;
			}
		}
		if (i == inflight) {
			warnx("%s: an outcome for %s, which was not sent", sock,
			    reply + 8);
			status = EXIT_USAGE;
			break;
		}
		while (inflight > 0 && q[head].outcome != NULL) {
			struct sent *t = &q[head];

			if (strncmp(t->outcome, BAD_INPUT,
			    sizeof(BAD_INPUT) - 1) == 0)
				bad = 1;
			else if (strcmp(t->outcome, "commit") != 0)
				aborted = 1;
			printf("%s\t%s\n", t->txid, t->outcome);
			free(t->txid);
			free(t->outcome);
			t->txid = t->outcome = NULL;
			head = (head + 1) % jobs;
			inflight--;
		}
		if (fflush(stdout) == EOF)
			err(EXIT_FAIL, "stdout");
	}
	for (i = 0; i < inflight; i++) {
		free(q[(head + i) % jobs].txid);
		free(q[(head + i) % jobs].outcome);
	}
	free(line);
	free(reply);
	free(q);
	fclose(in);
	fclose(out);
	if (fflush(stdout) == EOF)
		err(EXIT_FAIL, "stdout");
	return status != EXIT_OK ? status : bad ? EXIT_USAGE :
	    aborted ? EXIT_FAIL : EXIT_OK;
}

/* Adds the participant operand NAME=SOCK. */
static void
add_operand(const char *arg)
{
	char *name = xstrdup(arg), *eq = strchr(name, '='), *path;

	if (eq == NULL || eq == name || eq[1] == '\0')
		bad_usage("'%s' is not a participant: give NAME=SOCK", arg);
	*eq = '\0';
	path = daemon_abspath(eq + 1);
	if (!wire_token_ok(name) || strchr(name, ',') != NULL ||
	    !wire_token_ok(path) || strchr(path, ',') != NULL)
		errx(EXIT_USAGE, "%s: names and socket paths may not hold "
		    "blanks, commas or control characters", arg);
	if (operand_part(name) != NULL)
		errx(EXIT_USAGE, "participant %s named twice", name);
	part_find(name, path, 1);
	free(path);
	free(name);
}

int
main(int argc, char *argv[])
{
	const char *sock = NULL, *logpath = NULL, *csock = NULL;
	char resolved[PATH_MAX];
	mode_t mode = 0600;
	unsigned long v, growth = 100;
	const char *keyfile = NULL;
	int ch, i, nopt = 0, jobs_given = 0, nosync = 0, readyfd = -1, lfd = -1;
	int status;
	int stdin_flags;

	daemon_stdio();

	while ((ch = getopt(argc, argv, "AC:K:Sg:hj:l:m:r:s:t:Vw:")) != -1) {
		nopt++;
		switch (ch) {
		case 'A':
			any_uid = 1;
			break;
		case 'C':
			csock = optarg;
			break;
		case 'K':
			keyfile = optarg;
			break;
		case 'S':
			nosync = 1;
			break;
		case 'V':
			print_version();
		case 'g':
			if (parse_ulong(optarg, 0, 100000, &v) == -1)
				bad_usage("bad -g '%s': give a percentage of "
				    "log growth, or 0 for no checkpoints", optarg);
			growth = v;
			break;
		case 'h':
			usage(stdout, EXIT_OK);
		case 'j':
			if (parse_ulong(optarg, 1, 100000, &v) == -1)
				bad_usage("bad -j '%s': give a number of "
				    "transactions from 1 to 100000", optarg);
			jobs = (long)v;
			jobs_given = 1;
			break;
		case 'l':
			logpath = optarg;
			break;
		case 'm':
			if (sock_parse_mode(optarg, &mode) == -1)
				bad_usage("bad mode '%s': give octal "
				    "permissions such as 600", optarg);
			break;
		case 'r':
			readyfd = daemon_parse_fd(optarg);
			break;
		case 's':
			sock = optarg;
			break;
		case 't':
			if (parse_ulong(optarg, 1, 86400, &v) == -1)
				bad_usage("bad timeout '%s': give whole seconds "
				    "from 1 to 86400", optarg);
			timeout_ms = (long)v * 1000;
			break;
		case 'w':
			if (parse_ulong(optarg, 1, 100000000, &v) == -1)
				bad_usage("bad -w '%s': give a number of "
				    "transactions from 1 to 100000000", optarg);
			window = v;
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (keyfile != NULL)
		auth_load_key(keyfile);
	sock_set_timeout(timeout_ms);
	if (csock != NULL) {
		if (nopt != 1 + (jobs_given != 0) + (keyfile != NULL) ||
		    argc != 0)
			bad_usage("%s", "-C SOCK takes no other option than -j "
			    "and -K, and no operand");
		return client(csock);
	}
	if (logpath == NULL)
		bad_usage("%s", "no log: give -l LOG");
	known = strmap_new();
	for (i = 0; i < argc; i++)
		add_operand(argv[i]);

	crash_init();
	trace_init(sock != NULL ? sock : "2pc-coord");
	ev = ev_new();
	daemon_signals(ev);
	ev_before_sleep(ev, before_sleep, NULL);
	wire_init(ev);
	if (sock != NULL)
		csock_abs = daemon_abspath(sock);
	clog = log_open(logpath, replay, NULL);
	log_set_nosync(clog, nosync);
	log_set_growth(clog, growth);
	if (cid == NULL)
		make_id();
	if (realpath(logpath, resolved) == NULL)
		err(EXIT_FAIL, "%s", logpath);
	cname = xstrdup(sock != NULL ? csock_abs : resolved);
	if (csock_abs == NULL)
		csock_abs = xstrdup("-");
	if (!wire_token_ok(cname) || !wire_token_ok(csock_abs))
		errx(EXIT_USAGE, "log and socket paths may not hold blanks");
	if (sock != NULL) {
		daemon_mode = 1;
		lfd = sock_listen(sock, mode);
		ev_add_fd(ev, lfd, EV_READ, on_accept, NULL);
	}
	/* Recovery: meet every participant, resending undelivered commits. */
	for (i = 0; i < nparts; i++)
		part_conn(parts[i], NULL);
	recover();
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
		sock_unlink(sock);
	out_flush();
	if (fflush(stdout) == EOF)
		err(EXIT_FAIL, "stdout");
	return daemon_mode ? EXIT_OK : status;
}
