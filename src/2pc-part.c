/*
 * 2pc-part: a two-phase commit participant (resource manager).
 *
 * It listens on a UNIX socket for a coordinator's PREPARE, COMMIT and ABORT,
 * runs the prepare, commit and abort hooks, and keeps a durable log so that
 * every vote it gave survives a crash.  Presumed abort: the PREPARED record
 * is forced before a yes vote, the COMMITTED record before the commit is
 * acknowledged (and the commit is acknowledged only once applied, so a
 * coordinator holding every acknowledgement knows every hook has run);
 * everything else is written lazily.  When a prepare hook is
 * given, its intent is forced before the hook starts, so that after a crash
 * the abort hook can undo whatever the prepare hook staged.
 *
 * A transaction that is prepared but undecided is in doubt: the participant
 * keeps it, asks its coordinator (after -t seconds of silence, or at once
 * after a restart), and asks the other participants when the coordinator is
 * unreachable (cooperative termination).  An operator can list in-doubt
 * transactions and force a heuristic outcome on one.
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
#define RETRY_HOOK_MS	1000
#define COMMIT_DELAY_MS	2	/* how long a COMMITTED record waits for company */

/* Log records are TAB-separated fields, the first a one-letter type:
 * I intent, P prepared, C committed, A aborted, D hook done, H heuristic
 * outcome (see 2pc-part(1), FILES). */

enum state {
	S_INTENT,	/* voting: prepare hook or PREPARED record under way */
	S_PREPARED,	/* voted yes, outcome unknown: in doubt */
	S_COMMITTED,
	S_ABORTED
};

struct ptx {
	char *txid;
	enum state st;
	int intent;		/* a prepare hook may have run */
	int prepared;		/* a PREPARED record was written */
	int committing;		/* COMMITTED appended, not yet durable */
	int done;		/* the commit or abort action has succeeded */
	char heur;		/* 'c' or 'a' if an operator forced it */
	char *name, *cid, *csock, *peers, *payload;	/* payload escaped */
	struct wconn *voter;	/* who waits for our vote */
	struct wconn *ackto;	/* who waits for our commit ack */
	pid_t hook;
	long long hook_timer;
	long long ask_at;
	struct ptx *dprev, *dnext;	/* in-doubt list */
};

/* What we know of a connection: which coordinator it speaks for. */
struct link {
	char *cid;
	char *sock;		/* set for connections we opened */
};

static struct evloop *ev;
static struct hlog *plog;
static struct strmap *txs;		/* txid -> struct ptx */
static struct strmap *outs;		/* socket path -> struct wconn */
static struct ptx *doubt;		/* in-doubt list head */
static const char *prepare_cmd, *commit_cmd, *abort_cmd;
static long timeout_ms = 5000;
static int any_uid;
static int lfd = -1;

static void usage(FILE *, int) __attribute__((noreturn));

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: 2pc-part [-AhSV] [-a abort_cmd] [-c commit_cmd] "
	    "[-m mode] [-p prepare_cmd]\n"
	    "                [-r fd] [-t secs] -l log -s sock\n"
	    "       2pc-part -s sock -L\n"
	    "       2pc-part -s sock -F commit|abort txid\n");
	exit(status);
}

static struct ptx *
tx_new(const char *txid)
{
	struct ptx *tx = xcalloc(1, sizeof(*tx));

	tx->txid = xstrdup(txid);
	tx->st = S_ABORTED;
	strmap_put(txs, txid, tx);
	return tx;
}

static void
tx_set_info(struct ptx *tx, const char *name, const char *cid,
    const char *csock, const char *peers, const char *payload)
{
	free(tx->name);
	free(tx->cid);
	free(tx->csock);
	free(tx->peers);
	free(tx->payload);
	tx->name = xstrdup(name);
	tx->cid = xstrdup(cid);
	tx->csock = xstrdup(csock);
	tx->peers = xstrdup(peers);
	tx->payload = xstrdup(payload);
}

static void
doubt_add(struct ptx *tx, long long ask_at)
{
	tx->ask_at = ask_at;
	if (tx->dprev != NULL || doubt == tx)
		return;
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
	send_to(&tx->ackto, "ACK %s", tx->txid);
	CRASH_POINT("part.acked");
}

static void
action_done(void *arg, int status)
{
	struct ptx *tx = arg;
	int commit = action_is_commit(tx);

	tx->hook = 0;
	if (status != 0) {
		warnx("%s: %s hook failed (status %d); retrying", tx->txid,
		    commit ? "commit" : "abort", status);
		ev_add_timer(ev, RETRY_HOOK_MS, retry_action, tx);
		return;
	}
	CRASH_POINT(commit ? "part.commit-hook-done" : "part.abort-hook-done");
	tx->done = 1;
	log_appendf(plog, LOG_LAZY, NULL, NULL, "D\t%s", tx->txid);
	ack_commit(tx);
}

static char **
hook_env(const struct ptx *tx)
{
	static char *env[3];
	static char *t, *p;

	free(t);
	free(p);
	t = xmalloc(strlen(tx->txid) + 12);
	sprintf(t, "HAKIT_TXID=%s", tx->txid);
	p = xmalloc(strlen(tx->name ? tx->name : "") + 20);
	sprintf(p, "HAKIT_PARTICIPANT=%s", tx->name ? tx->name : "");
	env[0] = t;
	env[1] = p;
	env[2] = NULL;
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
	const char *cmd = commit ? commit_cmd : abort_cmd;

	if (tx->done || tx->hook != 0)
		return;
	if (!commit && !tx->intent && !tx->prepared) {
		tx->done = 1;
		return;
	}
	if (cmd == NULL) {
		if (commit)
			printf("%s\t%s\n", tx->txid, tx->payload);
		tx->done = 1;
		log_appendf(plog, LOG_LAZY, NULL, NULL, "D\t%s", tx->txid);
		ack_commit(tx);
		return;
	}
	CRASH_POINT(commit ? "part.commit-hook" : "part.abort-hook");
	if ((tx->hook = spawn_hook(tx, cmd, action_done)) == -1) {
		tx->hook = 0;
		ev_add_timer(ev, RETRY_HOOK_MS, retry_action, tx);
	}
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
		warnx("HEURISTIC HAZARD: %s was committed by the operator "
		    "but the outcome is abort", tx->txid);
	doubt_del(tx);
	tx->st = S_ABORTED;
	log_appendf(plog, LOG_LAZY, NULL, NULL, "A\t%s", tx->txid);
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
		if (tx->heur == 'a') {
			warnx("HEURISTIC HAZARD: %s was aborted by the operator "
			    "but the outcome is commit", tx->txid);
		} else {
			warnx("%s: COMMIT for a transaction that is %s; ignored",
			    tx->txid, tx->st == S_ABORTED ? "aborted" :
			    "not prepared");
			return;
		}
	} else if (tx->heur == 'a')
		warnx("HEURISTIC HAZARD: %s was aborted by the operator "
		    "but the outcome is commit", tx->txid);
	doubt_del(tx);
	tx->st = S_COMMITTED;
	tx->committing = 1;
	set_ackto(tx, c);
	/*
	 * Nobody waits on the acknowledgement (the client was answered once
	 * the decision was durable), so the COMMITTED record may wait a
	 * moment to share the sync of the next PREPARED record.
	 */
	log_appendf(plog, LOG_SOON, committed_durable, tx, "C\t%s", tx->txid);
}

/* ---- voting ---- */

static void
vote_no(struct ptx *tx, const char *why)
{
	send_to(&tx->voter, "VOTE %s no %s", tx->txid, why);
}

static void
prepared_durable(void *arg)
{
	struct ptx *tx = arg;

	if (tx->st == S_ABORTED) {
		vote_no(tx, "aborted");
		run_action(tx);
		return;
	}
	tx->st = S_PREPARED;
	doubt_add(tx, ev_now_ms() + timeout_ms);
	CRASH_POINT("part.prepared");
	send_to(&tx->voter, "VOTE %s yes", tx->txid);
	CRASH_POINT("part.voted");
}

static void
write_prepared(struct ptx *tx)
{
	tx->prepared = 1;
	log_appendf(plog, LOG_FORCED, prepared_durable, tx,
	    "P\t%s\t%s\t%s\t%s\t%s\t%s", tx->txid, tx->name, tx->cid, tx->csock, tx->peers, tx->payload);
}

static void
prepare_hook_done(void *arg, int status)
{
	struct ptx *tx = arg;
	char why[64];

	tx->hook = 0;
	if (tx->hook_timer != 0)
		ev_del_timer(ev, tx->hook_timer);
	tx->hook_timer = 0;
	CRASH_POINT("part.prepare-hook-done");
	if (tx->st == S_ABORTED) {
		vote_no(tx, "aborted");
		run_action(tx);
	} else if (status == 0) {
		write_prepared(tx);
	} else {
		snprintf(why, sizeof(why), "prepare hook failed (status %d)",
		    status);
		tx->st = S_ABORTED;
		log_appendf(plog, LOG_LAZY, NULL, NULL, "A\t%s", tx->txid);
		vote_no(tx, why);
		run_action(tx);
	}
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

static void
intent_durable(void *arg)
{
	struct ptx *tx = arg;

	CRASH_POINT("part.intent-logged");
	if (tx->st == S_ABORTED) {
		vote_no(tx, "aborted");
		run_action(tx);
		return;
	}
	if ((tx->hook = spawn_hook(tx, prepare_cmd, prepare_hook_done)) ==
	    -1) {
		tx->hook = 0;
		prepare_hook_done(tx, 127);
		return;
	}
	tx->hook_timer = ev_add_timer(ev, timeout_ms, prepare_hook_timeout,
	    tx);
}

/* PREPARE TXID NAME CSOCK PEERS PAYLOAD */
static void
on_prepare(struct wconn *c, struct link *lk, char **f)
{
	struct ptx *tx;
	char *check;

	if (lk->cid == NULL) {
		wire_fail(c, "PREPARE before RECOVER");
		return;
	}
	if (!wire_token_ok(f[1]) || !wire_token_ok(f[2]) ||
	    !wire_token_ok(f[3]) || !wire_token_ok(f[4])) {
		wire_fail(c, "malformed PREPARE");
		return;
	}
	check = xstrdup(f[5]);
	if (wire_unescape(check, strlen(check)) < 0) {
		free(check);
		wire_fail(c, "bad payload escape");
		return;
	}
	free(check);
	if ((tx = strmap_get(txs, f[1])) != NULL) {
		wire_sendf(c, "VOTE %s no %s", f[1], tx->st == S_PREPARED ||
		    tx->st == S_INTENT ? "duplicate txid" : "already decided");
		return;
	}
	CRASH_POINT("part.prepare-received");
	tx = tx_new(f[1]);
	tx->st = S_INTENT;
	tx_set_info(tx, f[2], lk->cid, f[3], f[4], f[5]);
	wire_hold(c);
	tx->voter = c;
	if (prepare_cmd != NULL) {
		tx->intent = 1;
		log_appendf(plog, LOG_FORCED, intent_durable, tx,
		    "I\t%s\t%s\t%s\t%s\t%s\t%s", tx->txid, tx->name, tx->cid, tx->csock, tx->peers,
		    tx->payload);
	} else
		write_prepared(tx);
}

/* ---- in-doubt resolution ---- */

static void on_line(struct wconn *, char *, size_t, void *);
static void on_close(struct wconn *, void *);

/* Returns our connection to SOCK, opening it if needed, or NULL. */
static struct wconn *
out_conn(const char *sock, const char *cid)
{
	struct wconn *c = strmap_get(outs, sock);
	struct link *lk;
	int fd;

	if (c != NULL)
		return c;
	if ((fd = sock_connect(sock)) == -1)
		return NULL;
	lk = xcalloc(1, sizeof(*lk));
	lk->sock = xstrdup(sock);
	lk->cid = cid != NULL ? xstrdup(cid) : NULL;
	c = wire_new(fd, sock, on_line, on_close, lk);
	strmap_put(outs, sock, c);
	return c;
}

/* Asks about TX: the coordinator, or the other participants if it is down. */
static void
ask(struct ptx *tx)
{
	struct wconn *c;
	char *peers, *p, *eq, *next;

	if (strcmp(tx->csock, "-") != 0 &&
	    (c = out_conn(tx->csock, tx->cid)) != NULL) {
		wire_sendf(c, "QUERY %s", tx->txid);
		return;
	}
	if (tx->heur)
		return;
	peers = xstrdup(tx->peers);
	for (p = peers; p != NULL; p = next) {
		if ((next = strchr(p, ',')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(p, '=')) == NULL)
			continue;
		*eq = '\0';
		if (strcmp(p, tx->name) == 0)
			continue;
		if ((c = out_conn(eq + 1, NULL)) != NULL)
			wire_sendf(c, "STATUS %s", tx->txid);
	}
	free(peers);
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

/* STATUS TXID from a peer: our state, recording an abort if we never voted. */
static void
on_status(struct wconn *c, const char *txid)
{
	struct ptx *tx = strmap_get(txs, txid);
	const char *state;

	if (tx == NULL || tx->st == S_INTENT) {
		if (tx == NULL)
			tx = tx_new(txid);
		tx->st = S_ABORTED;
		log_appendf(plog, LOG_FORCED, NULL, NULL, "A\t%s", txid);
		state = "aborted";
	} else if (tx->st == S_PREPARED)
		state = "indoubt";
	else
		state = tx->st == S_COMMITTED ? "committed" : "aborted";
	/*
	 * The reply is queued now but written only after the loop's log
	 * flush, so a forced abort above is durable before it is sent.
	 */
	wire_sendf(c, "STATE %s %s", txid, state);
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
	wire_sendf(l->c, "INDOUBT %s %s", tx->txid, tx->csock);
	l->n++;
}

static void
heuristic_durable(void *arg)
{
	struct ptx *tx = arg;

	warnx("%s: HEURISTIC %s forced by the operator", tx->txid,
	    tx->heur == 'c' ? "commit" : "abort");
	send_to(&tx->ackto, "OK %s heuristic %s", tx->txid,
	    tx->heur == 'c' ? "commit" : "abort");
	run_action(tx);
}

static void
on_heuristic(struct wconn *c, const char *txid, const char *outcome)
{
	struct ptx *tx = strmap_get(txs, txid);

	if (strcmp(outcome, "commit") != 0 && strcmp(outcome, "abort") != 0) {
		wire_fail(c, "outcome must be commit or abort");
		return;
	}
	if (tx == NULL || tx->st != S_PREPARED || tx->heur) {
		wire_sendf(c, "NO %s not in doubt", txid);
		return;
	}
	tx->heur = outcome[0];
	wire_hold(c);
	tx->ackto = c;
	log_appendf(plog, LOG_FORCED, heuristic_durable, tx, "H\t%s\t%s", txid,
	    outcome);
}

/* ---- connections ---- */

static void
on_line(struct wconn *c, char *line, size_t len, void *arg)
{
	struct link *lk = arg;
	struct ptx *tx;
	char *f[6];
	int n;

	(void)len;
	n = wire_split(line, f, 6);
	if (n == 0) {
		wire_fail(c, "empty line");
		return;
	}
	if (strcmp(f[0], "PREPARE") == 0 && n == 6) {
		on_prepare(c, lk, f);
		return;
	}
	if (n == 1 && strcmp(f[0], "LIST") != 0 && strcmp(f[0], "STATS") != 0
	    && strcmp(f[0], "RECOVERED") != 0) {
		wire_fail(c, "missing argument");
		return;
	}
	tx = n > 1 ? strmap_get(txs, f[1]) : NULL;
	if (strcmp(f[0], "RECOVER") == 0 && n == 2) {
		int k = 0;

		if (!wire_token_ok(f[1])) {
			wire_fail(c, "malformed RECOVER");
			return;
		}
		free(lk->cid);
		lk->cid = xstrdup(f[1]);
		wire_set_peer(c, "coord");
		for (tx = doubt; tx != NULL; tx = tx->dnext)
			if (strcmp(tx->cid, f[1]) == 0) {
				wire_sendf(c, "QUERY %s", tx->txid);
				k++;
			}
		wire_sendf(c, "RECOVERED %d", k);
	} else if ((strcmp(f[0], "COMMIT") == 0 ||
	    strcmp(f[0], "ABORT") == 0) && n == 2) {
		if (lk->cid == NULL) {
			wire_fail(c, "decision from an unknown coordinator");
			return;
		}
		if (tx != NULL && tx->cid != NULL &&
		    strcmp(tx->cid, lk->cid) != 0) {
			warnx("%s: %s from another coordinator ignored",
			    f[1], f[0]);
			return;
		}
		if (f[0][0] == 'C') {
			if (tx == NULL)
				warnx("%s: COMMIT for an unknown transaction",
				    f[1]);
			else
				commit_tx(tx, c);
		} else {
			if (tx == NULL) {
				tx = tx_new(f[1]);
				log_appendf(plog, LOG_LAZY, NULL, NULL, "A\t%s", f[1]);
			} else
				abort_tx(tx, "coordinator");
		}
	} else if (strcmp(f[0], "PENDING") == 0 && n == 2) {
		/* The coordinator is still collecting votes: ask later. */
	} else if (strcmp(f[0], "STATE") == 0 && n == 3) {
		if (tx == NULL || tx->st != S_PREPARED || tx->heur)
			return;
		if (strcmp(f[2], "committed") == 0)
			commit_tx(tx, NULL);
		else if (strcmp(f[2], "aborted") == 0)
			abort_tx(tx, "peer");
	} else if (strcmp(f[0], "STATUS") == 0 && n == 2) {
		on_status(c, f[1]);
	} else if (strcmp(f[0], "LIST") == 0 && n == 1) {
		struct listing l = { c, 0 };

		strmap_each(txs, list_one, &l);
		wire_sendf(c, "LISTED %d", l.n);
	} else if (strcmp(f[0], "HEURISTIC") == 0 && n == 3) {
		on_heuristic(c, f[1], f[2]);
	} else if (strcmp(f[0], "STATS") == 0 && n == 1) {
		wire_sendf(c, "STATS syncs=%llu transactions=%zu",
		    log_syncs(plog), strmap_count(txs));
	} else if (strcmp(f[0], "ERR") == 0 && lk->sock != NULL) {
		warnx("%s: peer said: %s", lk->sock, line);
	} else
		wire_fail(c, "unknown verb or wrong arguments");
}

static void
on_close(struct wconn *c, void *arg)
{
	struct link *lk = arg;

	if (lk->sock != NULL && strmap_get(outs, lk->sock) == c)
		strmap_del(outs, lk->sock);
	free(lk->sock);
	free(lk->cid);
	free(lk);
}

static void
on_accept(struct evloop *e, int fd, int events, void *arg)
{
	int cfd;

	(void)e;
	(void)events;
	(void)arg;
	while ((cfd = sock_accept(fd, any_uid)) != -1)
		wire_new(cfd, "peer", on_line, on_close,
		    xcalloc(1, sizeof(struct link)));
}

/* ---- recovery ---- */

static void
replay(void *arg, const char *rec, size_t len)
{
	char *copy = xmemdup(rec, len), *f[7];
	struct ptx *tx;
	int n = 0;
	char *p = copy, *tab;

	(void)arg;
	while (n < 7) {
		f[n++] = p;
		if ((tab = strchr(p, '\t')) == NULL)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (n < 2 || strlen(f[0]) != 1)
		errx(EXIT_USAGE, "log: malformed record");
	if ((tx = strmap_get(txs, f[1])) == NULL)
		tx = tx_new(f[1]);
	switch (f[0][0]) {
	case 'I':
	case 'P':
		if (n != 7)
			errx(EXIT_USAGE, "log: malformed record");
		tx_set_info(tx, f[2], f[3], f[4], f[5], f[6]);
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
		if (n != 3)
			errx(EXIT_USAGE, "log: malformed record");
		tx->heur = f[2][0];
		tx->done = 0;
		break;
	default:
		errx(EXIT_USAGE, "log: unknown record type %s", f[0]);
	}
	free(copy);
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
		log_appendf(plog, LOG_LAZY, NULL, NULL, "A\t%s", tx->txid);
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
	if (delay_timer == 0 && (due = log_due_ms(plog)) >= 0)
		delay_timer = ev_add_timer(e, due, flush_due, NULL);
}

/* ---- operator client mode ---- */

static int
client(const char *sock, const char *outcome, const char *txid)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int fd, fl, status = EXIT_OK;

	sock_ignore_sigpipe();
	if ((fd = sock_connect(sock)) == -1) {
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
		fprintf(fp, "HEURISTIC %s %s\n", txid, outcome);
	fflush(fp);
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (strncmp(line, "INDOUBT ", 8) == 0) {
			char *sp = strchr(line + 8, ' ');

			if (sp != NULL)
				*sp = '\t';
			printf("%s\n", line + 8);
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
	if (n <= 0) {
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
	const char *sock = NULL, *logpath = NULL, *force = NULL;
	mode_t mode = 0600;
	unsigned long secs;
	int ch, nosync = 0, readyfd = -1, list = 0;

	while ((ch = getopt(argc, argv, "AF:La:c:hl:m:p:r:s:St:V")) != -1) {
		switch (ch) {
		case 'A':
			any_uid = 1;
			break;
		case 'F':
			if (strcmp(optarg, "commit") != 0 &&
			    strcmp(optarg, "abort") != 0)
				usage(stderr, EXIT_USAGE);
			force = optarg;
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
		case 'h':
			usage(stdout, EXIT_OK);
		case 'l':
			logpath = optarg;
			break;
		case 'm':
			if (sock_parse_mode(optarg, &mode) == -1)
				usage(stderr, EXIT_USAGE);
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
	if (sock == NULL)
		usage(stderr, EXIT_USAGE);
	if (list || force != NULL) {
		if (list == (force != NULL) || argc != (force != NULL))
			usage(stderr, EXIT_USAGE);
		return client(sock, force, force != NULL ? argv[0] : NULL);
	}
	if (logpath == NULL || argc != 0)
		usage(stderr, EXIT_USAGE);

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
	plog = log_open(logpath, replay, NULL);
	log_set_nosync(plog, nosync);
	log_set_delay(plog, COMMIT_DELAY_MS);
	strmap_each(txs, recover_one, NULL);
	lfd = sock_listen(sock, mode);
	ev_add_fd(ev, lfd, EV_READ, on_accept, NULL);
	ev_add_timer(ev, 0, ask_all, NULL);
	daemon_ready(readyfd);
	ev_run(ev);

	log_close(plog);
	wire_drain(100);
	unlink(sock);
	if (fflush(stdout) == EOF)
		err(EXIT_FAIL, "stdout");
	return EXIT_OK;
}
