/*
 * 2pc-part: a two-phase commit participant (resource manager).
 *
 * It listens on a UNIX socket for a coordinator's PREPARE, COMMIT and ABORT,
 * runs the prepare, commit and abort hooks, and keeps a durable log so that
 * every vote it gave survives a crash.  Presumed abort: the PREPARED record
 * is forced before a yes vote, the COMMITTED record before the commit is
 * acknowledged (and the commit is acknowledged only once applied, so a
 * coordinator holding every acknowledgement knows every hook has run);
 * everything else is written lazily.  When a prepare hook is given, its
 * intent is forced before the hook starts, so that after a crash the abort
 * hook can undo whatever the prepare hook staged.
 *
 * A transaction is named by (coordinator id, txid): a participant serving
 * several coordinators keeps their transactions apart, and every message
 * about one carries both.  A transaction that is prepared but undecided is
 * in doubt: the participant keeps it, asks its coordinator (after -t
 * seconds of silence, or at once after a restart), and asks the other
 * participants when the coordinator is unreachable or does not answer
 * (cooperative termination).  An operator can list in-doubt transactions
 * and force a heuristic outcome on one.
 *
 * Bounded growth: a decided transaction is forgotten once it is applied
 * and its coordinator's horizon has passed it (no peer can then be in
 * doubt about it, and no PREPARE for it can still come), and the log is
 * checkpointed as it grows (log.h).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "crash.h"
#include "daemon.h"
#include "evloop.h"
#include "log.h"
#include "proc.h"
#include "sock.h"
#include "strmap.h"
#include "trace.h"
#include "util.h"
#include "wire.h"

#define ASK_INTERVAL_MS	1000
#define QUERY_DEADLINE_MS 1000	/* a coordinator silent this long: ask peers */
#define WARN_EVERY_MS	30000	/* how often a stuck transaction is reported */
#define RETRY_HOOK_MS	1000
#define COMMIT_DELAY_MS	2	/* how long a COMMITTED record waits for company */

/* Log records are TAB-separated fields: a one-letter type, the coordinator
 * id, the txid, then more: I intent, P prepared, C committed, A aborted,
 * D hook done, H heuristic outcome, F finished (a checkpoint's record of a
 * decided transaction whose hook is done); see 2pc-part(1), FILES. */

enum state {
	S_INTENT,	/* voting: prepare hook or PREPARED record under way */
	S_PREPARED,	/* voted yes, outcome unknown: in doubt */
	S_COMMITTED,
	S_ABORTED
};

struct ptx {
	char *key;		/* "CID TXID": the transaction's name */
	char *cid, *txid;
	unsigned long long seq;	/* the coordinator's order of it, from 1 */
	enum state st;
	int intent;		/* a prepare hook may have run */
	int prepared;		/* a PREPARED record was written */
	int committing;		/* COMMITTED appended, not yet durable */
	int done;		/* the commit or abort action has succeeded */
	int queued;		/* waiting in a hook pool */
	char heur;		/* 'c' or 'a' if an operator forced it */
	char said;		/* what we last said we wait for (see ask) */
	char *name, *cname, *csock, *peers, *payload;	/* payload escaped */
	struct wconn *voter;	/* who waits for our vote */
	struct wconn *ackto;	/* who waits for our commit ack */
	struct wconn *oper;	/* the operator waiting for a heuristic */
	pid_t hook;
	long long hook_timer;	/* prepare: its time limit; others: slow */
	long long hook_since;
	long long ask_at;	/* when to ask about it next */
	long long query_at;	/* since when a QUERY is unanswered, or 0 */
	long long doubt_since, warned_at;
	struct ptx *dprev, *dnext;	/* in-doubt list */
	struct ptx *qnext;		/* hook pool queue */
};

/* What we know of a connection. */
struct link {
	char *cid;		/* the coordinator it speaks for, if any */
	char *cname;		/* that coordinator's name (RECOVER) */
	char *sock;		/* set for connections we opened */
	struct strmap *asked;	/* links we opened: "CID TXID" -> what we
				 * asked there (&asked_query or &asked_status) */
};

/*
 * Hooks run at most -j at a time in each of two pools: prepare hooks,
 * and commit and abort hooks.  Two pools, so that a decision, which
 * releases what a prepare hook took (a PostgreSQL prepared transaction's
 * row locks), never waits behind prepare hooks blocked on it.
 */
struct pool {
	int running;
	struct ptx *head, **tail;
	pid_t (*start)(struct ptx *);	/* a hook's pid, or 0 if none ran */
};

static pid_t start_prepare_hook(struct ptx *);
static pid_t start_action_hook(struct ptx *);

static struct pool prepares = { 0, NULL, &prepares.head, start_prepare_hook };
static struct pool actions = { 0, NULL, &actions.head, start_action_hook };

static struct evloop *ev;
static struct hlog *plog;
static struct strmap *txs;		/* "CID TXID" -> struct ptx */
static struct strmap *outs;		/* socket path -> struct wconn */
static struct strmap *coords;		/* coordinator id -> its connection */
/*
 * Coordinator id -> the sequence number of its first PREPARE this log
 * received (an unsigned long long *).  A transaction numbered from there
 * on that this log does not know never reached this participant; one
 * numbered below may have reached an earlier copy of it (a lost log), so
 * no one may be told it was never prepared here.
 */
static struct strmap *floors;
static struct ptx *doubt;		/* in-doubt list head */
static const char *prepare_cmd, *commit_cmd, *abort_cmd;
static long timeout_ms = 5000;
static long jobs = 4;
static int any_uid;
static int lfd = -1;
static char asked_query, asked_status;

static void usage(FILE *, int) __attribute__((noreturn));

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: 2pc-part [-AhSV] [-a abort_cmd] [-c commit_cmd] [-g growth] "
	    "[-j jobs]\n"
	    "                [-K keyfile] [-m mode] [-p prepare_cmd] [-r fd] "
	    "[-t secs] -l log\n"
	    "                -s sock\n"
	    "       2pc-part [-K keyfile] -L -s sock\n"
	    "       2pc-part [-K keyfile] -F commit | abort -s sock txid "
	    "[coordinator-id]\n");
	exit(status);
}

static void bad_usage(const char *fmt, const char *arg)
    __attribute__((noreturn));

static void
bad_usage(const char *fmt, const char *arg)
{
	warnx(fmt, arg);
	usage(stderr, EXIT_USAGE);
}

/* The name of (CID, TXID) in the transaction map (a static buffer). */
static const char *
tx_key(const char *cid, const char *txid)
{
	static char key[2 * 256 + 2];

	snprintf(key, sizeof(key), "%s %s", cid, txid);
	return key;
}

static struct ptx *
tx_find(const char *cid, const char *txid)
{
	return strmap_get(txs, tx_key(cid, txid));
}

static struct ptx *
tx_new(const char *cid, const char *txid, unsigned long long seq)
{
	struct ptx *tx = xcalloc(1, sizeof(*tx));

	tx->key = xstrdup(tx_key(cid, txid));
	tx->cid = xstrdup(cid);
	tx->txid = xstrdup(txid);
	tx->seq = seq;
	tx->st = S_ABORTED;
	strmap_put(txs, tx->key, tx);
	return tx;
}

/* Forgets TX, decided and done: its coordinator will never ask again. */
static void
tx_free(struct ptx *tx)
{
	strmap_del(txs, tx->key);
	free(tx->key);
	free(tx->cid);
	free(tx->txid);
	free(tx->name);
	free(tx->cname);
	free(tx->csock);
	free(tx->peers);
	free(tx->payload);
	free(tx);
}

/* Appends TX's abort record (with its sequence number, for a record
 * that may be all we know of it), forced as FORCE says. */
static void
log_abort(struct ptx *tx, enum log_force force, log_done_fn *done, void *arg)
{
	log_appendf(plog, force, done, arg, "A\t%s\t%s\t%llu", tx->cid,
	    tx->txid, tx->seq);
}

static void
tx_set_info(struct ptx *tx, char *const *f)
{
	free(tx->name);
	free(tx->cname);
	free(tx->csock);
	free(tx->peers);
	free(tx->payload);
	tx->name = xstrdup(f[0]);
	tx->cname = xstrdup(f[1]);
	tx->csock = xstrdup(f[2]);
	tx->peers = xstrdup(f[3]);
	tx->payload = xstrdup(f[4]);
}

static void
doubt_add(struct ptx *tx, long long ask_at)
{
	tx->ask_at = ask_at;
	if (tx->dprev != NULL || doubt == tx)
		return;
	tx->doubt_since = ev_now_ms();
	tx->dnext = doubt;
	if (doubt != NULL)
		doubt->dprev = tx;
	doubt = tx;
}

static void
doubt_del(struct ptx *tx)
{
	if (tx->dprev != NULL)
		tx->dprev->dnext = tx->dnext;
	else if (doubt == tx)
		doubt = tx->dnext;
	else
		return;
	if (tx->dnext != NULL)
		tx->dnext->dprev = tx->dprev;
	tx->dprev = tx->dnext = NULL;
	tx->query_at = tx->warned_at = 0;
	tx->said = 0;
}

/*
 * Sends one reply to the connection held in *CP (if it is still there) and
 * lets go of it.  A peer that asked and went away simply gets nothing.
 */
static void
send_to(struct wconn **cp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_to(struct wconn **cp, const char *fmt, ...)
{
	struct wconn *c = *cp;
	char line[1024];
	va_list ap;
	int n;

	if (c == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	wire_send(c, line, n < (int)sizeof(line) ? (size_t)n :
	    sizeof(line) - 1);
	if (crash_armed)
		wire_flush(c);	/* so a crash point after it sees it sent */
	wire_release(c);
	*cp = NULL;
}

/* ---- hook pools ---- */

/* Starts queued hooks while fewer than -j of the pool's run. */
static void
pool_next(struct pool *pl)
{
	struct ptx *tx;
	pid_t pid;

	while (pl->running < jobs && (tx = pl->head) != NULL) {
		if ((pl->head = tx->qnext) == NULL)
			pl->tail = &pl->head;
		tx->qnext = NULL;
		tx->queued = 0;
		if ((pid = pl->start(tx)) > 0) {
			tx->hook = pid;
			pl->running++;
		}
	}
}

/* Queues TX for a hook of pool PL (once). */
static void
pool_run(struct pool *pl, struct ptx *tx)
{
	if (tx->queued || tx->hook != 0)
		return;
	tx->queued = 1;
	*pl->tail = tx;
	pl->tail = &tx->qnext;
	pool_next(pl);
}

/* A hook of pool PL has exited: its slot is free. */
static void
pool_done(struct pool *pl, struct ptx *tx)
{
	tx->hook = 0;
	pl->running--;
	pool_next(pl);
}

/* ---- commit and abort actions (hooks, or stdout without hooks) ---- */

static void run_action(struct ptx *);

static long
retry_action(struct evloop *e, long long id, void *arg)
{
	(void)e;
	(void)id;
	run_action(arg);
	return -1;
}

static int
action_is_commit(const struct ptx *tx)
{
	if (tx->st == S_PREPARED)
		return tx->heur == 'c';
	return tx->st == S_COMMITTED;
}

/*
 * Acknowledges a commit to whoever waits for it, once COMMITTED is durable
 * and the commit is applied (or was forced by an operator), so that a
 * coordinator that has all acknowledgements knows every hook has run.
 */
static void
ack_commit(struct ptx *tx)
{
	if (tx->st != S_COMMITTED || tx->committing || tx->ackto == NULL ||
	    (!tx->done && !tx->heur))
		return;
	send_to(&tx->ackto, "ACK %s %s", tx->cid, tx->txid);
	CRASH_POINT("part.acked");
}

static void
action_finished(struct ptx *tx)
{
	tx->done = 1;
	log_appendf(plog, LOG_LAZY, NULL, NULL, "D\t%s\t%s", tx->cid,
	    tx->txid);
	ack_commit(tx);
}

static void
action_done(void *arg, int status)
{
	struct ptx *tx = arg;
	int commit = action_is_commit(tx);

	pool_done(&actions, tx);
	ev_del_timer(ev, tx->hook_timer);
	tx->hook_timer = 0;
	if (status != 0) {
		warnx("%s: %s hook failed (status %d); retrying", tx->txid,
		    commit ? "commit" : "abort", status);
		ev_add_timer(ev, RETRY_HOOK_MS, retry_action, tx);
		return;
	}
	CRASH_POINT(commit ? "part.commit-hook-done" : "part.abort-hook-done");
	action_finished(tx);
}

static char **
hook_env(const struct ptx *tx)
{
	static char *env[4];
	int i;

	for (i = 0; i < 3; i++)
		free(env[i]);
	env[0] = xasprintf("HAKIT_TXID=%s", tx->txid);
	env[1] = xasprintf("HAKIT_PARTICIPANT=%s", tx->name ? tx->name : "");
	env[2] = xasprintf("HAKIT_COORD=%s", tx->cid);
	env[3] = NULL;
	return env;
}

/* Starts CMD for TX with its decoded payload on stdin; returns the pid. */
static pid_t
spawn_hook(struct ptx *tx, const char *cmd, proc_exit_fn *fn)
{
	char *raw = xstrdup(tx->payload ? tx->payload : "");
	long n = wire_unescape(raw, strlen(raw));
	pid_t pid;

	pid = proc_spawn(cmd, raw, n < 0 ? 0 : (size_t)n, hook_env(tx), fn,
	    tx);
	free(raw);
	return pid;
}

/*
 * Applies TX's outcome locally, once: the commit or abort hook (re-run
 * until it succeeds), or without a commit hook the "TXID<TAB>PAYLOAD"
 * line on stdout.  An abort needs undoing only if a prepare hook may have
 * run or the transaction was prepared.
 */
static void
run_action(struct ptx *tx)
{
	int commit = action_is_commit(tx);

	if (tx->done || tx->hook != 0)
		return;
	if (!commit && !tx->intent && !tx->prepared) {
		tx->done = 1;
		return;
	}
	if ((commit ? commit_cmd : abort_cmd) == NULL) {
		if (commit)
			printf("%s\t%s\n", tx->txid, tx->payload);
		action_finished(tx);
		return;
	}
	pool_run(&actions, tx);
}

/* Says, every WARN_EVERY_MS, that TX's commit or abort hook still runs. */
static long
action_slow(struct evloop *e, long long id, void *arg)
{
	struct ptx *tx = arg;

	(void)e;
	(void)id;
	warnx("%s: the %s hook has run for %lld s and holds one of the %ld "
	    "hook slots", tx->txid, action_is_commit(tx) ? "commit" : "abort",
	    (ev_now_ms() - tx->hook_since) / 1000, jobs);
	return WARN_EVERY_MS;
}

static pid_t
start_action_hook(struct ptx *tx)
{
	int commit = action_is_commit(tx);
	pid_t pid;

	if (tx->done)
		return 0;
	CRASH_POINT(commit ? "part.commit-hook" : "part.abort-hook");
	if ((pid = spawn_hook(tx, commit ? commit_cmd : abort_cmd,
	    action_done)) == -1) {
		ev_add_timer(ev, RETRY_HOOK_MS, retry_action, tx);
		return 0;
	}
	tx->hook_since = ev_now_ms();
	tx->hook_timer = ev_add_timer(ev, WARN_EVERY_MS, action_slow, tx);
	return pid;
}

/* ---- decisions ---- */

static void
abort_tx(struct ptx *tx, const char *why)
{
	if (tx->st == S_COMMITTED) {
		warnx("%s: ignoring ABORT (%s) for a committed transaction",
		    tx->txid, why);
		return;
	}
	if (tx->st == S_ABORTED)
		return;
	if (tx->heur == 'c')
		warnx("HEURISTIC HAZARD: %s (coordinator %s) was committed by "
		    "the operator but the outcome is abort", tx->txid, tx->cid);
	doubt_del(tx);
	tx->st = S_ABORTED;
	log_abort(tx, LOG_LAZY, NULL, NULL);
	if (tx->hook == 0 && tx->voter == NULL && !tx->heur)
		run_action(tx);
}

static void
committed_durable(void *arg)
{
	struct ptx *tx = arg;

	tx->committing = 0;
	CRASH_POINT("part.committed");
	if (tx->heur)
		ack_commit(tx);
	else
		run_action(tx);
}

/* Makes C (if not NULL) the one to acknowledge TX's commit to. */
static void
set_ackto(struct ptx *tx, struct wconn *c)
{
	if (c == NULL)
		return;
	wire_hold(c);
	if (tx->ackto != NULL)
		wire_release(tx->ackto);
	tx->ackto = c;
}

/* Applies a commit decision; C gets ACK once it is durable and applied. */
static void
commit_tx(struct ptx *tx, struct wconn *c)
{
	if (tx->st == S_COMMITTED) {
		set_ackto(tx, c);
		ack_commit(tx);
		return;
	}
	if (tx->st != S_PREPARED) {
		if (tx->st == S_ABORTED && tx->prepared)
			warnx("HAZARD: COMMIT for %s (coordinator %s), which "
			    "this participant aborted after voting yes",
			    tx->txid, tx->cid);
		else
			warnx("%s: COMMIT for a transaction that is %s; "
			    "ignored", tx->txid, tx->st == S_ABORTED ?
			    "aborted" : "not prepared");
		return;
	}
	if (tx->heur == 'a')
		warnx("HEURISTIC HAZARD: %s (coordinator %s) was aborted by "
		    "the operator but the outcome is commit", tx->txid, tx->cid);
	doubt_del(tx);
	tx->st = S_COMMITTED;
	tx->committing = 1;
	set_ackto(tx, c);
	/*
	 * Nobody waits on the acknowledgement (the client was answered once
	 * the decision was durable), so the COMMITTED record may wait a
	 * moment to share the sync of the next PREPARED record.
	 */
	log_appendf(plog, LOG_SOON, committed_durable, tx, "C\t%s\t%s",
	    tx->cid, tx->txid);
}

/* ---- voting ---- */

static void
vote_no(struct ptx *tx, const char *why)
{
	send_to(&tx->voter, "VOTE %s %s no %s", tx->cid, tx->txid, why);
}

/* Votes no on an aborted TX and undoes what its prepare hook did. */
static void
withdraw(struct ptx *tx)
{
	vote_no(tx, "aborted");
	run_action(tx);
}

static void
prepared_durable(void *arg)
{
	struct ptx *tx = arg;

	if (tx->st == S_ABORTED) {
		withdraw(tx);
		return;
	}
	tx->st = S_PREPARED;
	doubt_add(tx, ev_now_ms() + timeout_ms);
	CRASH_POINT("part.prepared");
	send_to(&tx->voter, "VOTE %s %s yes", tx->cid, tx->txid);
	CRASH_POINT("part.voted");
}

/* Appends TX's intent (I) or PREPARED (P) record, forced, then calls DONE. */
static void
log_voting(struct ptx *tx, char type, log_done_fn *done)
{
	log_appendf(plog, LOG_FORCED, done, tx,
	    "%c\t%s\t%s\t%llu\t%s\t%s\t%s\t%s\t%s", type, tx->cid,
	    tx->txid, tx->seq, tx->name, tx->cname, tx->csock, tx->peers,
	    tx->payload);
}

static void
write_prepared(struct ptx *tx)
{
	tx->prepared = 1;
	log_voting(tx, 'P', prepared_durable);
}

/* The prepare hook ended with STATUS (127: it could not start). */
static void
prepare_finished(struct ptx *tx, int status)
{
	char why[64];

	CRASH_POINT("part.prepare-hook-done");
	if (tx->st == S_ABORTED) {
		withdraw(tx);
	} else if (status == 0) {
		write_prepared(tx);
	} else {
		snprintf(why, sizeof(why), "prepare hook failed (status %d)",
		    status);
		tx->st = S_ABORTED;
		log_abort(tx, LOG_LAZY, NULL, NULL);
		vote_no(tx, why);
		run_action(tx);
	}
}

static void
prepare_hook_done(void *arg, int status)
{
	struct ptx *tx = arg;

	pool_done(&prepares, tx);
	if (tx->hook_timer != 0)
		ev_del_timer(ev, tx->hook_timer);
	tx->hook_timer = 0;
	prepare_finished(tx, status);
}

static long
prepare_hook_timeout(struct evloop *e, long long id, void *arg)
{
	struct ptx *tx = arg;

	(void)e;
	(void)id;
	tx->hook_timer = 0;
	if (tx->hook != 0) {
		warnx("%s: prepare hook timed out; killing it", tx->txid);
		proc_kill(tx->hook);
	}
	return -1;
}

static pid_t
start_prepare_hook(struct ptx *tx)
{
	pid_t pid;

	if (tx->st == S_ABORTED) {
		withdraw(tx);
		return 0;
	}
	if ((pid = spawn_hook(tx, prepare_cmd, prepare_hook_done)) == -1) {
		prepare_finished(tx, 127);
		return 0;
	}
	tx->hook_timer = ev_add_timer(ev, timeout_ms, prepare_hook_timeout,
	    tx);
	return pid;
}

static void
intent_durable(void *arg)
{
	struct ptx *tx = arg;

	CRASH_POINT("part.intent-logged");
	pool_run(&prepares, tx);
}

/* Returns whether this log can tell that (CID, SEQ) never reached us. */
static int
vouches(const char *cid, unsigned long long seq)
{
	unsigned long long *floor = strmap_get(floors, cid);

	return floor != NULL && seq >= *floor;
}

/* Notes SEQ as CID's floor if it is the first (or, replayed, lowest). */
static void
note_floor(const char *cid, unsigned long long seq, int log)
{
	unsigned long long *floor = strmap_get(floors, cid);

	if (floor != NULL && *floor <= seq)
		return;
	if (floor == NULL) {
		floor = xmalloc(sizeof(*floor));
		strmap_put(floors, cid, floor);
	}
	*floor = seq;
	if (log)
		log_appendf(plog, LOG_LAZY, NULL, NULL, "L\t%s\t%llu", cid,
		    seq);
}

/* Parses a sequence number into *SEQ; returns 0, or -1 if S is none. */
static int
parse_seq(const char *s, unsigned long long *seq)
{
	unsigned long v;

	if (parse_ulong(s, 1, ULONG_MAX, &v) == -1)
		return -1;
	*seq = v;
	return 0;
}

/* PREPARE CID TXID SEQ NAME CSOCK PEERS PAYLOAD */
static void
on_prepare(struct wconn *c, struct link *lk, char **f)
{
	char *info[5], *check;
	unsigned long long seq;
	struct ptx *tx;
	int i;

	if (lk->cid == NULL || strcmp(lk->cid, f[1]) != 0) {
		wire_fail(c, lk->cid == NULL ? "PREPARE before RECOVER" :
		    "PREPARE with another coordinator's id");
		return;
	}
	for (i = 2; i <= 6; i++)
		if (!wire_token_ok(f[i]))
			break;
	if (i <= 6 || parse_seq(f[3], &seq) == -1) {
		wire_fail(c, "malformed PREPARE");
		return;
	}
	check = xstrdup(f[7]);
	if (wire_unescape(check, strlen(check)) < 0) {
		free(check);
		wire_fail(c, "bad payload escape");
		return;
	}
	free(check);
	if ((tx = tx_find(f[1], f[2])) != NULL) {
		wire_sendf(c, "VOTE %s %s no %s", f[1], f[2],
		    tx->st == S_PREPARED || tx->st == S_INTENT ?
		    "duplicate txid" : "already decided");
		return;
	}
	CRASH_POINT("part.prepare-received");
	/* Lazy, but written with (and so as durable as) the forced record
	 * that follows. */
	note_floor(f[1], seq, 1);
	tx = tx_new(f[1], f[2], seq);
	tx->st = S_INTENT;
	info[0] = f[4];
	info[1] = lk->cname;
	info[2] = f[5];
	info[3] = f[6];
	info[4] = f[7];
	tx_set_info(tx, info);
	wire_hold(c);
	tx->voter = c;
	if (prepare_cmd != NULL) {
		tx->intent = 1;
		log_voting(tx, 'I', intent_durable);
	} else
		write_prepared(tx);
}

/* ---- in-doubt resolution ---- */

static void on_line(struct wconn *, char *, size_t, void *);
static void on_close(struct wconn *, void *);

/* Returns our connection to SOCK, opening it if needed, or NULL. */
static struct wconn *
out_conn(const char *sock)
{
	struct wconn *c = strmap_get(outs, sock);
	struct link *lk;

	if (c != NULL)
		return c;
	lk = xcalloc(1, sizeof(*lk));
	if ((c = wire_dial(sock, sock, on_line, on_close, lk)) == NULL) {
		free(lk);
		return NULL;
	}
	lk->sock = xstrdup(sock);
	strmap_put(outs, sock, c);
	return c;
}

/* Sends LINE about TX on C, a link we opened, remembering we asked WHAT. */
static void
ask_on(struct wconn *c, struct ptx *tx, char *what, const char *line)
{
	struct link *lk = wire_arg(c);

	if (lk->asked == NULL)
		lk->asked = strmap_new();
	strmap_put(lk->asked, tx->key, what);
	wire_send(c, line, strlen(line));
}

/*
 * Returns whether a reply about (CID, TXID) of kind WHAT may be taken on
 * LK: from the coordinator that introduced itself on it (RECOVER CID),
 * or as the answer to what we asked there.
 */
static int
may_answer(struct link *lk, const char *cid, const char *txid, char *what)
{
	const char *key = tx_key(cid, txid);

	if (what == &asked_query && lk->cid != NULL &&
	    strcmp(lk->cid, cid) == 0)
		return 1;
	if (lk->asked == NULL || strmap_get(lk->asked, key) != what)
		return 0;
	strmap_del(lk->asked, key);
	return 1;
}

/* Sends STATUS about TX to every other participant we can reach. */
static void
ask_peers(struct ptx *tx)
{
	struct wconn *c;
	char *peers, *p, *eq, *next, *line;

	line = xasprintf("STATUS %s %s %llu", tx->cid, tx->txid, tx->seq);
	peers = xstrdup(tx->peers);
	for (p = peers; p != NULL; p = next) {
		if ((next = strchr(p, ',')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(p, '=')) == NULL)
			continue;
		*eq = '\0';
		if (strcmp(p, tx->name) != 0 && (c = out_conn(eq + 1)) != NULL)
			ask_on(c, tx, &asked_status, line);
	}
	free(peers);
	free(line);
}

/*
 * Asks about TX: the coordinator, and the other participants too when the
 * coordinator is unreachable or has left a QUERY unanswered past the
 * deadline (a stopped coordinator still accepts connections).  Says
 * what it waits for whenever that changes, and every WARN_EVERY_MS.
 */
static void
ask(struct ptx *tx)
{
	long long now = ev_now_ms();
	struct wconn *c = NULL;
	int answering = 0;
	char *line, what;

	/* The coordinator's socket, or the connection it opened to us. */
	if ((strcmp(tx->csock, "-") != 0 && (c = out_conn(tx->csock)) != NULL) ||
	    (c = strmap_get(coords, tx->cid)) != NULL) {
		if (tx->query_at == 0)
			tx->query_at = now;
		line = xasprintf("QUERY %s %s %s", tx->cid, tx->txid,
		    tx->name);
		ask_on(c, tx, &asked_query, line);
		free(line);
		answering = now - tx->query_at < QUERY_DEADLINE_MS;
	}
	what = c == NULL ? 'u' : answering ? 'a' : 'n';
	if (!tx->heur && (tx->said != what ||
	    now - tx->warned_at >= WARN_EVERY_MS)) {
		warnx("%s: in doubt for %lld s: waiting for the decision of "
		    "coordinator %s (%s)%s", tx->txid,
		    (now - tx->doubt_since) / 1000, tx->cname,
		    c == NULL ? "unreachable" : answering ? "asked" :
		    "not answering", answering ? "" :
		    "; asking the other participants");
		tx->warned_at = now;
		tx->said = what;
	}
	if (!answering && !tx->heur)
		ask_peers(tx);
}

static long
ask_all(struct evloop *e, long long id, void *arg)
{
	long long now = ev_now_ms();
	struct ptx *tx;

	(void)e;
	(void)id;
	(void)arg;
	for (tx = doubt; tx != NULL; tx = tx->dnext)
		if (tx->ask_at <= now) {
			tx->ask_at = now + ASK_INTERVAL_MS;
			ask(tx);
		}
	return ASK_INTERVAL_MS;
}

/* A reply that may leave only once a forced record is durable. */
struct reply {
	struct wconn *c;	/* held */
	char *line;
};

static void
reply_durable(void *arg)
{
	struct reply *r = arg;

	send_to(&r->c, "%s", r->line);
	free(r->line);
	free(r);
}

/*
 * STATUS CID TXID SEQ from a peer: our state.  "aborted" is said only
 * once an abort is durable here, and a transaction we never voted on is
 * aborted first (forced), so that we can never vote yes on it later; but
 * only if this log can vouch that the transaction never reached us (see
 * floors): else it is "unknown", which keeps the asker waiting.
 */
static void
on_status(struct wconn *c, const char *cid, const char *txid,
    unsigned long long seq)
{
	struct ptx *tx = tx_find(cid, txid);
	struct reply *r;

	if (tx != NULL && tx->st == S_PREPARED) {
		wire_sendf(c, "STATE %s %s indoubt", cid, txid);
		return;
	}
	if (tx != NULL && tx->st == S_COMMITTED) {
		wire_sendf(c, "STATE %s %s committed", cid, txid);
		return;
	}
	if (tx == NULL && !vouches(cid, seq)) {
		wire_sendf(c, "STATE %s %s unknown", cid, txid);
		return;
	}
	if (tx == NULL)
		tx = tx_new(cid, txid, seq);
	tx->st = S_ABORTED;
	r = xcalloc(1, sizeof(*r));
	wire_hold(c);
	r->c = c;
	r->line = xasprintf("STATE %s %s aborted", cid, txid);
	log_abort(tx, LOG_FORCED, reply_durable, r);
}

/* STATE CID TXID STATE: accepted only as the answer to our STATUS. */
static void
on_state(struct link *lk, char **f)
{
	struct ptx *tx = tx_find(f[1], f[2]);

	if (!may_answer(lk, f[1], f[2], &asked_status)) {
		warnx("%s: STATE for %s that we did not ask for; ignored",
		    lk->sock != NULL ? lk->sock : "a peer", f[2]);
		return;
	}
	if (tx == NULL || tx->st != S_PREPARED || tx->heur)
		return;
	if (strcmp(f[3], "committed") == 0)
		commit_tx(tx, NULL);
	else if (strcmp(f[3], "aborted") == 0)
		abort_tx(tx, "peer");
}

/* ---- operator ---- */

struct listing {
	struct wconn *c;
	int n;
};

static void
list_one(const char *key, void *val, void *arg)
{
	struct ptx *tx = val;
	struct listing *l = arg;

	(void)key;
	if (tx->st != S_PREPARED || tx->heur)
		return;
	wire_sendf(l->c, "INDOUBT %s %s %s", tx->txid, tx->cname, tx->cid);
	l->n++;
}

static void
heuristic_durable(void *arg)
{
	struct ptx *tx = arg;

	warnx("%s: HEURISTIC %s forced by the operator", tx->txid,
	    tx->heur == 'c' ? "commit" : "abort");
	send_to(&tx->oper, "OK %s heuristic %s", tx->txid,
	    tx->heur == 'c' ? "commit" : "abort");
	run_action(tx);
}

/* HEURISTIC TXID OUTCOME [CID]: the in-doubt TXID (of CID) takes OUTCOME. */
static void
on_heuristic(struct wconn *c, char **f, int n)
{
	struct ptx *tx, *found = NULL;
	int matches = 0;

	if (strcmp(f[2], "commit") != 0 && strcmp(f[2], "abort") != 0) {
		wire_fail(c, "outcome must be commit or abort");
		return;
	}
	for (tx = doubt; tx != NULL; tx = tx->dnext)
		if (strcmp(tx->txid, f[1]) == 0 && !tx->heur &&
		    (n == 3 || strcmp(tx->cid, f[3]) == 0)) {
			found = tx;
			matches++;
		}
	if (matches != 1) {
		wire_sendf(c, "NO %s %s", f[1], matches == 0 ? "not in doubt" :
		    "in doubt for several coordinators: name one");
		return;
	}
	found->heur = f[2][0];
	wire_hold(c);
	found->oper = c;
	log_appendf(plog, LOG_FORCED, heuristic_durable, found, "H\t%s\t%s\t%s",
	    found->cid, found->txid, f[2]);
}

/* ---- connections ---- */

/* RECOVER CID CNAME: a coordinator; we ask about what it left in doubt. */
static void
on_recover(struct wconn *c, struct link *lk, char **f)
{
	struct ptx *tx;
	int k = 0;

	if (!wire_token_ok(f[1]) || !wire_token_ok(f[2])) {
		wire_fail(c, "malformed RECOVER");
		return;
	}
	free(lk->cid);
	free(lk->cname);
	lk->cid = xstrdup(f[1]);
	lk->cname = xstrdup(f[2]);
	strmap_put(coords, lk->cid, c);
	wire_set_peer(c, "coord");
	for (tx = doubt; tx != NULL; tx = tx->dnext)
		if (strcmp(tx->cid, f[1]) == 0) {
			wire_sendf(c, "QUERY %s %s %s", tx->cid, tx->txid,
			    tx->name);
			k++;
		}
	wire_sendf(c, "RECOVERED %d", k);
}

/*
 * A coordinator's word on (F[1], F[2]): COMMIT, ABORT, or an answer to
 * our QUERY (PENDING, UNKNOWN), accepted only from that coordinator.
 */
static void
on_decision(struct wconn *c, struct link *lk, char **f, int n)
{
	struct ptx *tx = tx_find(f[1], f[2]);
	unsigned long long seq = 0;

	if (n == 4 && (f[0][0] != 'A' || parse_seq(f[3], &seq) == -1)) {
		wire_fail(c, "malformed decision");
		return;
	}
	if (!may_answer(lk, f[1], f[2], &asked_query)) {
		warnx("%s: %s for %s from a connection that does not speak for "
		    "its coordinator; ignored", lk->sock != NULL ? lk->sock :
		    "a peer", f[0], f[2]);
		return;
	}
	if (tx != NULL)
		tx->query_at = 0;	/* it answers */
	switch (f[0][0]) {
	case 'C':
		if (tx == NULL)
			warnx("%s: COMMIT for an unknown transaction", f[2]);
		else
			commit_tx(tx, c);
		break;
	case 'A':
		/* One we never prepared: remembered (until the horizon
		 * passes it), so a PREPARE arriving late gets a no. */
		if (tx == NULL && seq != 0)
			log_abort(tx_new(f[1], f[2], seq), LOG_LAZY, NULL, NULL);
		else if (tx != NULL)
			abort_tx(tx, "coordinator");
		break;
	case 'P':
		break;		/* still voting: ask again later */
	case 'U':
		/* Another coordinator listens there now: ask our peers. */
		if (tx != NULL && tx->st == S_PREPARED && !tx->heur)
			ask_peers(tx);
		break;
	}
}

/* Returns whether TX is decided, applied, and owed to nobody. */
static int
finished(const struct ptx *tx)
{
	return (tx->st == S_COMMITTED || tx->st == S_ABORTED) &&
	    (tx->done || (!tx->intent && !tx->prepared)) && tx->hook == 0 &&
	    !tx->queued && !tx->committing && tx->voter == NULL &&
	    tx->ackto == NULL && tx->oper == NULL;
}

struct horizon {
	const char *cid;
	unsigned long long seq;
	struct ptx **gone;
	size_t n, cap;
};

static void
collect_gone(const char *key, void *val, void *arg)
{
	struct ptx *tx = val;
	struct horizon *h = arg;

	(void)key;
	if (tx->seq >= h->seq || !finished(tx) || strcmp(tx->cid, h->cid) != 0)
		return;
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->gone = xrealloc(h->gone, h->cap * sizeof(*h->gone));
	}
	h->gone[h->n++] = tx;
}

/*
 * HORIZON CID SEQ from coordinator CID: every transaction of it numbered
 * below SEQ is decided everywhere (acknowledged by all if it committed),
 * so no peer can be in doubt about it and the coordinator will not ask:
 * those that are finished here are forgotten (a checkpoint then drops
 * their records).
 */
static void
on_horizon(struct link *lk, const char *cid, const char *seq)
{
	struct horizon h = { cid, 0, NULL, 0, 0 };
	size_t i;

	if (lk->cid == NULL || strcmp(lk->cid, cid) != 0 ||
	    parse_seq(seq, &h.seq) == -1)
		return;
	strmap_each(txs, collect_gone, &h);
	for (i = 0; i < h.n; i++)
		tx_free(h.gone[i]);
	free(h.gone);
}

static const char verbs[] = "PREPARE, COMMIT, ABORT, QUERY answers, "
    "RECOVER, STATUS, STATE, LIST, HEURISTIC, STATS, HORIZON";

static void
on_line(struct wconn *c, char *line, size_t len, void *arg)
{
	struct link *lk = arg;
	char *f[8], why[160];
	unsigned long long seq;
	int n, i, ids = 1;

	(void)len;
	n = wire_split(line, f, 8);
	if (n == 0) {
		wire_fail(c, "empty line");
		return;
	}
	if (strcmp(f[0], "ERR") == 0 && lk->sock != NULL) {
		warnx("%s: peer said: %s", lk->sock, line);
		return;
	}
	for (i = 1; i < n && i < 3; i++)
		ids &= wire_token_ok(f[i]);
	if (strcmp(f[0], "PREPARE") == 0 && n == 8)
		on_prepare(c, lk, f);
	else if (strcmp(f[0], "RECOVER") == 0 && n == 3)
		on_recover(c, lk, f);
	else if ((strcmp(f[0], "COMMIT") == 0 || strcmp(f[0], "ABORT") == 0 ||
	    strcmp(f[0], "PENDING") == 0 || strcmp(f[0], "UNKNOWN") == 0) &&
	    (n == 3 || n == 4) && ids)
		on_decision(c, lk, f, n);
	else if (strcmp(f[0], "STATE") == 0 && n == 4 && ids)
		on_state(lk, f);
	else if (strcmp(f[0], "STATUS") == 0 && n == 4 && ids &&
	    parse_seq(f[3], &seq) == 0)
		on_status(c, f[1], f[2], seq);
	else if (strcmp(f[0], "HORIZON") == 0 && n == 3 && ids)
		on_horizon(lk, f[1], f[2]);
	else if (strcmp(f[0], "LIST") == 0 && n == 1) {
		struct listing l = { c, 0 };

		strmap_each(txs, list_one, &l);
		wire_sendf(c, "LISTED %d", l.n);
	} else if (strcmp(f[0], "HEURISTIC") == 0 && (n == 3 || n == 4))
		on_heuristic(c, f, n);
	else if (strcmp(f[0], "STATS") == 0 && n == 1)
		wire_sendf(c, "STATS syncs=%llu transactions=%zu",
		    log_syncs(plog), strmap_count(txs));
	else {
		snprintf(why, sizeof(why), "unknown verb or wrong arguments: "
		    "%.20s (verbs: %s)", f[0], verbs);
		wire_fail(c, why);
	}
}

static void
on_close(struct wconn *c, void *arg)
{
	struct link *lk = arg;

	if (lk->sock != NULL && strmap_get(outs, lk->sock) == c)
		strmap_del(outs, lk->sock);
	if (lk->cid != NULL && strmap_get(coords, lk->cid) == c)
		strmap_del(coords, lk->cid);
	if (lk->asked != NULL)
		strmap_free(lk->asked);
	free(lk->sock);
	free(lk->cid);
	free(lk->cname);
	free(lk);
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
		snprintf(name, sizeof(name), "peer-%lu", ++n);
		wire_new(cfd, name, on_line, on_close,
		    xcalloc(1, sizeof(struct link)));
	}
}

/* ---- recovery ---- */

static void
malformed(void)
{
	errx(EXIT_USAGE, "log: malformed record");
}

static void
replay(void *arg, const char *rec, size_t len)
{
	char *copy = xmemdup(rec, len), *f[9], *p = copy, *tab;
	unsigned long long seq = 0;
	struct ptx *tx;
	int n = 0;

	(void)arg;
	while (n < 9) {
		f[n++] = p;
		if ((tab = strchr(p, '\t')) == NULL || n == 9)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (n < 3 || strlen(f[0]) != 1 || !wire_token_ok(f[1]) ||
	    !wire_token_ok(f[2]))
		malformed();
	if (f[0][0] == 'L') {
		if (n != 3 || parse_seq(f[2], &seq) == -1)
			malformed();
		note_floor(f[1], seq, 0);
		free(copy);
		return;
	}
	if (strchr("IPAF", f[0][0]) != NULL &&
	    (n < 4 || parse_seq(f[3], &seq) == -1))
		malformed();
	if ((tx = tx_find(f[1], f[2])) == NULL)
		tx = tx_new(f[1], f[2], seq);
	switch (f[0][0]) {
	case 'I':
	case 'P':
		if (n != 9)
			malformed();
		tx_set_info(tx, f + 4);
		if (f[0][0] == 'I') {
			tx->intent = 1;
			tx->st = S_INTENT;
		} else {
			tx->prepared = 1;
			tx->st = S_PREPARED;
		}
		break;
	case 'C':
		tx->st = S_COMMITTED;
		break;
	case 'A':
		tx->st = S_ABORTED;
		break;
	case 'D':
		tx->done = 1;
		break;
	case 'H':
		if (n != 4 || (f[3][0] != 'c' && f[3][0] != 'a') || f[3][1])
			malformed();
		tx->heur = f[3][0];
		tx->done = 0;
		break;
	case 'F':
		if (n != 5 || (f[4][0] != 'c' && f[4][0] != 'a') || f[4][1])
			malformed();
		tx->st = f[4][0] == 'c' ? S_COMMITTED : S_ABORTED;
		tx->done = 1;
		break;
	default:
		errx(EXIT_USAGE, "log: unknown record type %s", f[0]);
	}
	free(copy);
}

/*
 * Gives a checkpoint what a restart needs of TX: a finished one as F (to
 * refuse a late PREPARE and answer peers until the horizon passes it),
 * anything else as its intent or PREPARED record and what followed.
 */
static void
keep_one(const char *key, void *val, void *arg)
{
	struct ptx *tx = val;
	struct hlog *l = arg;

	(void)key;
	if (tx->st != S_INTENT && tx->st != S_PREPARED && tx->done) {
		log_appendf(l, LOG_KEEP, NULL, NULL, "F\t%s\t%s\t%llu\t%c",
		    tx->cid, tx->txid, tx->seq,
		    tx->st == S_COMMITTED ? 'c' : 'a');
		return;
	}
	if (tx->intent || tx->prepared)
		log_appendf(l, LOG_KEEP, NULL, NULL,
		    "%c\t%s\t%s\t%llu\t%s\t%s\t%s\t%s\t%s",
		    tx->prepared ? 'P' : 'I', tx->cid, tx->txid, tx->seq,
		    tx->name, tx->cname, tx->csock, tx->peers, tx->payload);
	if (tx->heur)
		log_appendf(l, LOG_KEEP, NULL, NULL, "H\t%s\t%s\t%c",
		    tx->cid, tx->txid, tx->heur);
	if (tx->st == S_COMMITTED)
		log_appendf(l, LOG_KEEP, NULL, NULL, "C\t%s\t%s", tx->cid,
		    tx->txid);
	else if (tx->st == S_ABORTED)
		log_appendf(l, LOG_KEEP, NULL, NULL, "A\t%s\t%s\t%llu",
		    tx->cid, tx->txid, tx->seq);
}

static void
keep_floor(const char *cid, void *val, void *arg)
{
	log_appendf(arg, LOG_KEEP, NULL, NULL, "L\t%s\t%llu", cid,
	    *(unsigned long long *)val);
}

static void
keep(struct hlog *l, void *arg)
{
	(void)arg;
	strmap_each(floors, keep_floor, l);
	strmap_each(txs, keep_one, l);
}

/* Finishes what a crash interrupted; see the file comment. */
static void
recover_one(const char *key, void *val, void *arg)
{
	struct ptx *tx = val;

	(void)key;
	(void)arg;
	switch (tx->st) {
	case S_INTENT:
		tx->st = S_ABORTED;
		log_abort(tx, LOG_LAZY, NULL, NULL);
		run_action(tx);
		break;
	case S_PREPARED:
		doubt_add(tx, 0);
		if (tx->heur)
			run_action(tx);
		break;
	case S_COMMITTED:
	case S_ABORTED:
		run_action(tx);
		break;
	}
}

static long long delay_timer;

static long
flush_due(struct evloop *e, long long id, void *arg)
{
	(void)e;
	(void)id;
	(void)arg;
	delay_timer = 0;
	log_flush(plog);
	return -1;
}

static void
before_sleep(struct evloop *e, void *arg)
{
	long due;

	(void)arg;
	for (;;) {
		if (fflush(stdout) == EOF)
			err(EXIT_FAIL, "stdout");
		if (!log_pending(plog))
			break;
		log_flush(plog);
	}
	if (log_checkpoint_due(plog))
		log_checkpoint(plog, keep, NULL);
	if (delay_timer == 0 && (due = log_due_ms(plog)) >= 0)
		delay_timer = ev_add_timer(e, due, flush_due, NULL);
}

/* ---- operator client mode ---- */

static int
client(const char *sock, const char *outcome, char **operand, int n)
{
	char *line = NULL, *f[3];
	size_t cap = 0;
	ssize_t len;
	FILE *fp;
	int fd, fl, status = EXIT_OK;

	sock_ignore_sigpipe();
	sock_check_addr(sock, NULL);
	if ((fd = sock_connect_wait(sock, timeout_ms)) == -1) {
		warn("%s", sock);
		return EXIT_UNAVAIL;
	}
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if ((fp = fdopen(fd, "r+")) == NULL)
		err(EXIT_FAIL, "fdopen");
	if (outcome == NULL)
		fprintf(fp, "LIST\n");
	else
		fprintf(fp, "HEURISTIC %s %s%s%s\n", operand[0], outcome,
		    n > 1 ? " " : "", n > 1 ? operand[1] : "");
	fflush(fp);
	while ((len = getline(&line, &cap, fp)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (strncmp(line, "INDOUBT ", 8) == 0 &&
		    wire_split(line + 8, f, 3) == 3) {
			printf("%s\t%s\t%s\n", f[0], f[1], f[2]);
		} else if (strncmp(line, "LISTED ", 7) == 0) {
			break;
		} else if (strncmp(line, "OK ", 3) == 0) {
			printf("%s\n", line + 3);
			break;
		} else {
			warnx("%s", line);
			status = EXIT_FAIL;
			break;
		}
	}
	if (len <= 0) {
		warnx("%s: connection closed", sock);
		status = EXIT_UNAVAIL;
	}
	free(line);
	fclose(fp);
	if (fflush(stdout) == EOF)
		err(EXIT_FAIL, "stdout");
	return status;
}

int
main(int argc, char *argv[])
{
	const char *sock = NULL, *logpath = NULL, *force = NULL, *keyfile = NULL;
	mode_t mode = 0600;
	unsigned long v, growth = 100;
	int ch, nosync = 0, readyfd = -1, list = 0;

	daemon_stdio();

	while ((ch = getopt(argc, argv, "AF:K:La:c:g:hj:l:m:p:r:s:St:V")) !=
	    -1) {
		switch (ch) {
		case 'A':
			any_uid = 1;
			break;
		case 'F':
			if (strcmp(optarg, "commit") != 0 &&
			    strcmp(optarg, "abort") != 0)
				bad_usage("bad -F '%s': give commit or abort",
				    optarg);
			force = optarg;
			break;
		case 'K':
			keyfile = optarg;
			break;
		case 'L':
			list = 1;
			break;
		case 'S':
			nosync = 1;
			break;
		case 'V':
			print_version();
		case 'a':
			abort_cmd = optarg;
			break;
		case 'c':
			commit_cmd = optarg;
			break;
		case 'g':
			if (parse_ulong(optarg, 0, 100000, &v) == -1)
				bad_usage("bad -g '%s': give a percentage of "
				    "log growth, or 0 for no checkpoints", optarg);
			growth = v;
			break;
		case 'h':
			usage(stdout, EXIT_OK);
		case 'j':
			if (parse_ulong(optarg, 1, 1000, &v) == -1)
				bad_usage("bad -j '%s': give a number of hooks "
				    "from 1 to 1000", optarg);
			jobs = (long)v;
			break;
		case 'l':
			logpath = optarg;
			break;
		case 'm':
			if (sock_parse_mode(optarg, &mode) == -1)
				bad_usage("bad mode '%s': give octal "
				    "permissions such as 600", optarg);
			break;
		case 'p':
			prepare_cmd = optarg;
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
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (sock == NULL)
		bad_usage("%s", "no socket: give -s SOCK");
	if (keyfile != NULL)
		auth_load_key(keyfile);
	sock_set_timeout(timeout_ms);
	if (list || force != NULL) {
		if (list && force != NULL)
			bad_usage("%s", "-L and -F are separate forms");
		if (list ? argc != 0 : argc < 1 || argc > 2)
			bad_usage("%s", list ? "-L takes no operand" :
			    "-F takes a txid and, optionally, its coordinator "
			    "id");
		return client(sock, force, argv, argc);
	}
	if (logpath == NULL)
		bad_usage("%s", "no log: give -l LOG");
	if (argc != 0)
		bad_usage("unexpected operand '%s'", argv[0]);

	/* Peers reach us by our absolute path: it must fit a socket address. */
	free(daemon_abspath(sock));
	crash_init();
	trace_init(sock);
	ev = ev_new();
	daemon_signals(ev);
	proc_init(ev);
	/* The log is flushed before queued replies are written. */
	ev_before_sleep(ev, before_sleep, NULL);
	wire_init(ev);
	txs = strmap_new();
	outs = strmap_new();
	coords = strmap_new();
	floors = strmap_new();
	plog = log_open(logpath, replay, NULL);
	log_set_nosync(plog, nosync);
	log_set_growth(plog, growth);
	log_set_delay(plog, COMMIT_DELAY_MS);
	strmap_each(txs, recover_one, NULL);
	lfd = sock_listen(sock, mode);
	ev_add_fd(ev, lfd, EV_READ, on_accept, NULL);
	ev_add_timer(ev, 0, ask_all, NULL);
	daemon_ready(readyfd);
	ev_run(ev);

	log_close(plog);
	wire_drain(100);
	sock_unlink(sock);
	if (fflush(stdout) == EOF)
		err(EXIT_FAIL, "stdout");
	return EXIT_OK;
}
