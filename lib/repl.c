#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash.h"
#include "daemon.h"
#include "evloop.h"
#include "kvlog.h"
#include "lease.h"
#include "repl.h"
#include "sock.h"
#include "trace.h"
#include "util.h"
#include "wire.h"

#define TICK_MS		25	/* lease, lag and deadline checks */
#define WINDOW		4096	/* records in flight to one backup */
#define WAIT_MS		10000	/* default WAIT timeout */
#define READY_MS	10000	/* a backup is ready by then at the latest */

enum role { BACKUP, PRIMARY };
enum kind { CLIENT, MEMBER, UPSTREAM, PIPE };

/* What we know of a connection (the wconn's argument). */
struct conn {
	struct wconn *w;
	enum kind kind;
	char *id;		/* MEMBER: the backup's socket path */
	int streaming;		/* MEMBER/UPSTREAM: past SYNC */
	size_t sent;		/* MEMBER: records sent */
	size_t recv, synced;	/* MEMBER: acknowledged; UPSTREAM: acks sent */
	struct conn *next;	/* MEMBER: list of backups */
};

/* A line of pipe-mode output, printed in input order once done. */
struct pipeout {
	char *text;
	struct pipeout *next;
};

/* A request waiting for a commit: a write, a read or a WAIT. */
enum wtype { W_WRITE, W_READ, W_WAIT };
struct waiter {
	enum wtype type;
	struct wconn *w;	/* held; NULL for pipe mode */
	struct pipeout *po;
	size_t pos;
	char *key;
	long long deadline;
	struct waiter *next;
};

static const struct repl_opts *opt;
static struct evloop *ev;
static struct kvlog *kv;
static enum role role;
static char *self;			/* our socket, absolute: our name */
static int lockfd, listenfd = -1, readyfd = -1;
static struct lease_state st;		/* primary: ours; backup: last read */
static unsigned long long epoch;	/* the newest epoch we know */
static size_t commit;			/* committed (and applied) records */
static size_t epoch_pos;		/* primary: our epoch record */
static long long primary_since;
static long long started;
static struct conn *members;		/* primary: connected backups */
static struct conn *upstream;		/* backup: link to the primary */
static long long tick_timer;
static struct waiter *writes, **writes_tail = &writes;
static struct waiter *waits;
static struct pipeout *pipe_head, **pipe_tail = &pipe_head;

static void advance_commit(void);
static void become_primary(void);

/* Signals readiness once. */
static void
ready(void)
{
	if (readyfd >= 0)
		daemon_ready(readyfd);
	readyfd = -1;
}

static size_t
min(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Parses a decimal number field; returns -1 if it is not one. */
static int
parse_num(const char *s, unsigned long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

/* Parses the epoch a record starts with; returns -1 if it has none. */
static int
record_epoch(const char *rec, size_t len, unsigned long long *epoch)
{
	size_t i;

	*epoch = 0;
	for (i = 0; i < len && rec[i] >= '0' && rec[i] <= '9'; i++) {
		if (*epoch > (~0ULL - 9) / 10)
			return -1;
		*epoch = *epoch * 10 + (unsigned long long)(rec[i] - '0');
	}
	return i == 0 || i == len || rec[i] != '\t' ? -1 : 0;
}

static int
parse_pos(const char *s, size_t *pos)
{
	unsigned long long v;

	if (parse_num(s, &v) == -1 || v > SIZE_MAX / 2)
		return -1;
	*pos = (size_t)v;
	return 0;
}

/* Sends LEN bytes of S escaped, after PREFIX, as one line. */
static void
send_escaped(struct wconn *w, const char *prefix, const char *s, size_t len)
{
	size_t plen = strlen(prefix);
	char *buf = xmalloc(plen + 2 * len + 1);
	size_t n;

	memcpy(buf, prefix, plen);
	n = plen + wire_escape(s, len, buf + plen);
	wire_send(w, buf, n);
	free(buf);
}

/* --- output: pipe-mode acks and the applied stream --- */

static void
out_flush(void)
{
	struct pipeout *po;

	while ((po = pipe_head) != NULL && po->text != NULL) {
		fputs(po->text, stdout);
		pipe_head = po->next;
		if (pipe_head == NULL)
			pipe_tail = &pipe_head;
		free(po->text);
		free(po);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EXIT_FAIL, "stdout");
}

static struct pipeout *
pipe_add(void)
{
	struct pipeout *po = xcalloc(1, sizeof(*po));

	*pipe_tail = po;
	pipe_tail = &po->next;
	return po;
}

static void
pipe_done(struct pipeout *po, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pipe_done(struct pipeout *po, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	po->text = xstrdup(buf);
}

static void
print_applied(void *arg, size_t pos, const char *rec, size_t len)
{
	(void)arg;
	printf("%zu\t%.*s\n", pos, (int)len, rec);
}

static void
apply(size_t pos)
{
	kv_apply(kv, pos, opt->print ? print_applied : NULL, NULL);
}

/* --- the lease --- */

static size_t
insync_backups(void)
{
	return st.ninsync - (lease_insync(&st, self) ? 1 : 0);
}

static struct conn *
find_member(const char *id)
{
	struct conn *c;

	for (c = members; c != NULL; c = c->next)
		if (c->streaming && strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

/* What a backup has acknowledged, at the level writes wait for. */
static size_t
acked(const struct conn *c)
{
	if (st.ack == ACK_RECV)
		return c->recv > c->synced ? c->recv : c->synced;
	return c->synced;
}

/* Removes ID from the in-sync set, durably, before any ack without it. */
static void
shrink(const char *id, const char *why)
{
	warnx("removing %s from the in-sync set: %s", id, why);
	CRASH_POINT("primary.shrink");
	lease_remove(&st, id);
	lease_write(opt->lease, &st);
	CRASH_POINT("primary.shrunk");
}

/* --- waiters --- */

static struct waiter *
waiter_new(enum wtype type, struct wconn *w, struct pipeout *po)
{
	struct waiter *wt = xcalloc(1, sizeof(*wt));

	wt->type = type;
	wt->w = w;
	wt->po = po;
	if (w != NULL)
		wire_hold(w);
	return wt;
}

static void
waiter_free(struct waiter *wt)
{
	if (wt->w != NULL)
		wire_release(wt->w);
	free(wt->key);
	free(wt);
}

static void
reply_get(struct wconn *w, const char *key)
{
	const struct kvval *v = kv_get(kv, key);
	char prefix[64];

	if (v == NULL) {
		wire_sendf(w, "NONE %llu %zu", epoch, kv_applied(kv));
		return;
	}
	snprintf(prefix, sizeof(prefix), "VALUE %llu %zu ", epoch,
	    kv_applied(kv));
	send_escaped(w, prefix, v->data, v->len);
}

/*
 * Answers reads and WAITs that can be answered: a read at the primary
 * waits until a record of its own epoch is committed (so it has seen every
 * write an earlier primary acknowledged); a WAIT until its position is
 * applied or its deadline passes.
 */
static void
serve_waits(void)
{
	struct waiter **p = &waits, *wt;
	long long now = ev_now_ms();

	while ((wt = *p) != NULL) {
		int done = 1;

		if (wire_closed(wt->w))
			;
		else if (wt->type == W_READ) {
			if (role == PRIMARY && commit < epoch_pos)
				done = 0;
			else
				reply_get(wt->w, wt->key);
		} else if (kv_applied(kv) >= wt->pos &&
		    (role == BACKUP || commit >= epoch_pos))
			wire_sendf(wt->w, "OK %llu %zu", epoch, kv_applied(kv));
		else if (now >= wt->deadline)
			wire_sendf(wt->w, "FAIL timeout at position %zu",
			    kv_applied(kv));
		else
			done = 0;
		if (done) {
			*p = wt->next;
			waiter_free(wt);
		} else
			p = &wt->next;
	}
}

/* Answers every write the commit covers, in log order. */
static void
reply_writes(void)
{
	struct waiter *wt;
	int any = 0;

	while ((wt = writes) != NULL && wt->pos <= commit) {
		int ok = insync_backups() >= st.k;

		CRASH_POINT("primary.replicated");
		if (wt->po != NULL) {
			if (ok)
				pipe_done(wt->po, "%llu\t%zu\n",
				    kv_epoch_at(kv, wt->pos), wt->pos);
			else
				pipe_done(wt->po, "fail\tin doubt: too few "
				    "in-sync backups\n");
		} else if (ok)
			wire_sendf(wt->w, "OK %llu %zu",
			    kv_epoch_at(kv, wt->pos), wt->pos);
		else
			wire_sendf(wt->w, "FAIL in doubt: too few in-sync "
			    "backups");
		if (wt->w != NULL)
			wire_flush(wt->w);
		writes = wt->next;
		if (writes == NULL)
			writes_tail = &writes;
		waiter_free(wt);
		any = 1;
	}
	if (any) {
		out_flush();
		CRASH_POINT("primary.acked");
	}
}

/* --- primary --- */

/* Sends a backup the durable records it lacks, within the window. */
static int
stream_to(struct conn *c)
{
	size_t durable = kv_durable(kv), len;
	char prefix[64];
	const char *rec;
	int any = 0;

	while (c->sent < durable && c->sent - acked(c) < WINDOW) {
		c->sent++;
		rec = kv_record(kv, c->sent, &len);
		snprintf(prefix, sizeof(prefix), "REC %llu %zu ", epoch,
		    c->sent);
		send_escaped(c->w, prefix, rec, len);
		any = 1;
	}
	return any;
}

static void
advance_commit(void)
{
	size_t c = kv_durable(kv), i;
	struct conn *m;

	if (role != PRIMARY)
		return;
	if (st.ack != ACK_NONE) {
		for (i = 0; i < st.ninsync; i++) {
			if (strcmp(st.insync[i], self) == 0)
				continue;
			m = find_member(st.insync[i]);
			c = min(c, m != NULL ? acked(m) : commit);
		}
	}
	if (c <= commit)
		return;
	commit = c;
	apply(commit);
	for (m = members; m != NULL; m = m->next)
		if (m->streaming)
			wire_sendf(m->w, "COMMIT %llu %zu", epoch, commit);
	reply_writes();
	serve_waits();
}

/* Removes in-sync backups that hold back a write for longer than the lag. */
static void
check_lag(void)
{
	long long now = ev_now_ms(), since;
	size_t durable = kv_durable(kv), i, pos;
	struct conn *m;
	int removed = 0;

	for (i = 0; i < st.ninsync; i++) {
		const char *id = st.insync[i];

		if (strcmp(id, self) == 0)
			continue;
		m = find_member(id);
		pos = (m != NULL ? acked(m) : commit) + 1;
		if (pos > durable)
			continue;
		since = kv_durable_at(kv, pos);
		if (m == NULL && since < primary_since)
			since = primary_since;
		if (now - since <= (long long)st.lag_ms)
			continue;
		shrink(id, m != NULL ? "lagging" : "not connected");
		removed = 1;
		i = (size_t)-1;		/* the set was reordered: rescan */
	}
	if (removed)
		advance_commit();
}

/* Accepts a write from a client or the pipe; replies come on commit. */
static void
do_write(struct wconn *w, struct pipeout *po, const char *op,
    const char *const *arg, const size_t *alen, int narg)
{
	struct waiter *wt;
	size_t len;
	char *rec;

	if (insync_backups() < st.k) {
		if (po != NULL)
			pipe_done(po, "fail\ttoo few in-sync backups (%zu < "
			    "%lu)\n", insync_backups(), st.k);
		else
			wire_sendf(w, "FAIL too few in-sync backups (%zu < "
			    "%lu)", insync_backups(), st.k);
		return;
	}
	CRASH_POINT("primary.append");
	rec = kv_encode(epoch, op, narg, arg, alen, &len);
	wt = waiter_new(W_WRITE, w, po);
	wt->pos = kv_append(kv, rec, len);
	free(rec);
	*writes_tail = wt;
	writes_tail = &wt->next;
}

/* SYNC EPOCH LASTEPOCH POS ID: a backup asks to follow us. */
static void
on_sync(struct conn *c, char *args)
{
	unsigned long long e, last, found;
	size_t pos, end;
	char *f[4];
	struct conn *m;

	if (role != PRIMARY) {
		wire_fail(c->w, "not primary");
		return;
	}
	if (wire_split(args, f, 4) != 4 || parse_num(f[0], &e) == -1 ||
	    parse_num(f[1], &last) == -1 || parse_pos(f[2], &pos) == -1 ||
	    *f[3] != '/') {
		wire_fail(c->w, "bad SYNC");
		return;
	}
	if (e < epoch) {
		char why[96];

		snprintf(why, sizeof(why), "stale epoch %llu < %llu", e,
		    epoch);
		wire_fail(c->w, why);
		return;
	}
	if (e > epoch) {
		warnx("a backup knows epoch %llu, newer than mine (%llu)", e,
		    epoch);
		wire_fail(c->w, "epoch newer than the primary's");
		return;
	}
	if (c->kind != CLIENT && c->kind != MEMBER) {
		wire_fail(c->w, "unexpected SYNC");
		return;
	}
	c->kind = MEMBER;
	free(c->id);
	c->id = xstrdup(f[3]);
	if (pos > kv_count(kv) || kv_epoch_at(kv, pos) != last) {
		/* Diverged: tell it where our history of its epoch ends. */
		end = kv_end_of_epoch(kv, last, &found);
		wire_sendf(c->w, "TRUNC %llu %llu %zu", epoch, found, end);
		return;
	}
	if (lease_insync(&st, c->id) && pos < commit)
		shrink(c->id, "rejoined behind the commit point");
	c->streaming = 1;
	c->sent = c->recv = c->synced = pos;
	c->next = members;
	members = c;
	/* An older link of the same backup is dead: drop it, keep this. */
	for (m = members; m != NULL; m = m->next) {
		if (m != c && strcmp(m->id, c->id) == 0) {
			wire_close(m->w);
			break;
		}
	}
	wire_sendf(c->w, "START %llu %zu %s %zu", epoch, pos,
	    lease_ack_name(st.ack), commit);
	stream_to(c);
}

/* ACK EPOCH RECV SYNCED: a backup received and made durable records. */
static void
on_ack(struct conn *c, char *args)
{
	unsigned long long e;
	size_t recv, synced;
	char *f[3];

	if (c->kind != MEMBER || !c->streaming || role != PRIMARY) {
		wire_fail(c->w, "ACK before SYNC");
		return;
	}
	if (wire_split(args, f, 3) != 3 || parse_num(f[0], &e) == -1 ||
	    parse_pos(f[1], &recv) == -1 || parse_pos(f[2], &synced) == -1 ||
	    recv > c->sent || synced > c->sent) {
		wire_fail(c->w, "bad ACK");
		return;
	}
	if (e != epoch) {
		wire_fail(c->w, "stale epoch");
		return;
	}
	if (recv > c->recv)
		c->recv = recv;
	if (synced > c->synced)
		c->synced = synced;
	if (!lease_insync(&st, c->id) && c->synced >= commit &&
	    acked(c) >= commit) {
		CRASH_POINT("primary.grow");
		lease_add(&st, c->id);
		lease_write(opt->lease, &st);
		CRASH_POINT("primary.grown");
		wire_sendf(c->w, "INSYNC %llu", epoch);
	}
	stream_to(c);
	advance_commit();
}

/* Called before every poll: group commit, streaming, acks. */
static void
primary_before_sleep(void)
{
	size_t before = kv_durable(kv), pos;
	struct conn *m;
	int sent = 0;

	kv_flush(kv);
	if (kv_durable(kv) > before) {
		for (pos = before + 1; pos <= kv_durable(kv); pos++)
			CRASH_POINT("primary.appended");
		for (m = members; m != NULL; m = m->next) {
			if (m->streaming && stream_to(m)) {
				wire_flush(m->w);
				sent = 1;
			}
		}
		if (sent)
			CRASH_POINT("primary.sent");
	}
	advance_commit();
}

/*
 * Takes over (or starts) as primary; the caller holds the lock and has
 * read the state into ST.  Raises the epoch and records it in the lease
 * state and in the log before serving.
 */
static void
become_primary(void)
{
	size_t len;
	char *rec;
	const char *arg[1];
	size_t alen[1];

	if (upstream != NULL) {
		struct conn *u = upstream;

		upstream = NULL;
		wire_close(u->w);
	}
	kv_flush(kv);
	if (st.primary != NULL && strcmp(st.primary, self) != 0)
		lease_remove(&st, st.primary);
	free(st.primary);
	st.primary = xstrdup(self);
	lease_add(&st, self);
	if (opt->ack >= 0)
		st.ack = opt->ack;
	if (opt->k >= 0)
		st.k = (unsigned long)opt->k;
	if (opt->lag_ms > 0)
		st.lag_ms = (unsigned long)opt->lag_ms;
	st.epoch++;
	epoch = st.epoch;
	lease_write(opt->lease, &st);
	CRASH_POINT("takeover.recorded");
	arg[0] = self;
	alen[0] = strlen(self);
	rec = kv_encode(epoch, "epoch", 1, arg, alen, &len);
	epoch_pos = kv_append(kv, rec, len);
	free(rec);
	kv_flush(kv);
	CRASH_POINT("takeover.appended");
	role = PRIMARY;
	primary_since = ev_now_ms();
	commit = kv_applied(kv);
	warnx("primary in epoch %llu at position %zu", epoch, epoch_pos);
	advance_commit();
	ready();
}

/* --- backup --- */

static void upstream_line(struct conn *, char *, size_t);
static void on_line(struct wconn *, char *, size_t, void *);
static void on_close(struct wconn *, void *);

static void
send_sync(struct conn *u)
{
	size_t n;

	kv_flush(kv);
	n = kv_count(kv);
	u->recv = u->synced = n;
	wire_sendf(u->w, "SYNC %llu %llu %zu %s", epoch, kv_epoch_at(kv, n),
	    n, self);
}

/*
 * Tries to take the lease.  Returns 1 if we took over, 0 if someone holds
 * it or we may not (not in the in-sync set: then it is given back).
 */
static int
try_takeover(void)
{
	if (!lease_trylock(lockfd))
		return 0;
	CRASH_POINT("takeover.locked");
	lease_free(&st);
	if (lease_read(opt->lease, &st) == -1 || !lease_insync(&st, self)) {
		lease_unlock(lockfd);
		ready();	/* nothing to follow; we may not lead */
		return 0;
	}
	become_primary();
	return 1;
}

/* Connects to the primary named in the lease state, if there is one. */
static void
follow(void)
{
	struct conn *u;
	int fd;

	lease_free(&st);
	if (lease_read(opt->lease, &st) == -1 || st.primary == NULL ||
	    strcmp(st.primary, self) == 0)
		return;
	if (st.epoch > epoch)
		epoch = st.epoch;
	if ((fd = sock_connect(st.primary)) == -1)
		return;
	u = xcalloc(1, sizeof(*u));
	u->kind = UPSTREAM;
	u->w = wire_new(fd, "primary", on_line, on_close, u);
	upstream = u;
	send_sync(u);
}

static void
backup_tick(void)
{
	if (upstream == NULL && !try_takeover() && role == BACKUP)
		follow();
	if (role == BACKUP && readyfd >= 0 &&
	    ev_now_ms() - started > READY_MS) {
		warnx("not in sync with a primary yet");
		ready();
	}
}

static void
upstream_fail(struct conn *u, const char *why)
{
	warnx("primary: %s", why);
	wire_fail(u->w, why);
}

/* Handles a line from the primary we follow. */
static void
upstream_line(struct conn *u, char *line, size_t len)
{
	unsigned long long e, last;
	size_t pos, end, mine;
	char *f[5];
	int n;

	if (strncmp(line, "ERR ", 4) == 0) {
		warnx("primary refused us: %s", line + 4);
		wire_close(u->w);
		return;
	}
	/* A record's payload is the rest of the line; it may hold spaces. */
	n = wire_split(line, f, strncmp(line, "REC ", 4) == 0 ? 4 : 5);
	if (n < 2 || parse_num(f[1], &e) == -1) {
		upstream_fail(u, "bad message");
		return;
	}
	if (e < epoch || (u->streaming && e != epoch)) {
		upstream_fail(u, "stale epoch");
		return;
	}
	if (strcmp(f[0], "REC") == 0 && u->streaming) {
		long l;

		if (n != 4 || parse_pos(f[2], &pos) == -1 ||
		    pos != kv_count(kv) + 1) {
			upstream_fail(u, "bad REC");
			return;
		}
		l = wire_unescape(f[3], len - (size_t)(f[3] - line));
		if (l <= 0 || record_epoch(f[3], (size_t)l, &last) == -1 ||
		    last > epoch) {
			upstream_fail(u, "bad record");
			return;
		}
		CRASH_POINT("backup.received");
		kv_append(kv, f[3], (size_t)l);
	} else if (strcmp(f[0], "COMMIT") == 0 && n == 3 && u->streaming &&
	    parse_pos(f[2], &pos) == 0) {
		if (pos > commit)
			commit = pos;
		apply(min(commit, kv_count(kv)));
		serve_waits();
	} else if (strcmp(f[0], "INSYNC") == 0 && n == 2 && u->streaming) {
		ready();
	} else if (strcmp(f[0], "START") == 0 && n == 5 && !u->streaming &&
	    parse_pos(f[2], &pos) == 0 && pos == kv_count(kv) &&
	    lease_ack_parse(f[3]) != -1 && parse_pos(f[4], &end) == 0) {
		epoch = e;
		u->streaming = 1;
		st.ack = lease_ack_parse(f[3]);
		if (end > commit)
			commit = end;
		apply(min(commit, kv_count(kv)));
		serve_waits();
		/*
		 * Say where we stand at once: a backup that is already
		 * caught up gets nothing streamed, so without this ACK it
		 * would never rejoin the in-sync set.
		 */
		wire_sendf(u->w, "ACK %llu %zu %zu", epoch, u->recv,
		    u->synced);
	} else if (strcmp(f[0], "TRUNC") == 0 && n == 4 && !u->streaming &&
	    parse_num(f[2], &last) == 0 && parse_pos(f[3], &end) == 0) {
		unsigned long long found;

		epoch = e;
		mine = kv_end_of_epoch(kv, last, &found);
		pos = min(end, mine);
		if (pos < kv_count(kv)) {
			warnx("truncating a divergent tail: positions %zu to "
			    "%zu", pos + 1, kv_count(kv));
			CRASH_POINT("backup.truncate");
			kv_truncate(kv, pos);
			CRASH_POINT("backup.truncated");
		}
		if (commit > pos)
			commit = pos;
		send_sync(u);
	} else
		upstream_fail(u, "unexpected message");
}

/* Called before every poll: acks for what we received and made durable. */
static void
backup_before_sleep(void)
{
	struct conn *u = upstream;
	size_t n = kv_count(kv);

	if (u != NULL && u->streaming && st.ack == ACK_RECV && n > u->recv) {
		u->recv = n;
		wire_sendf(u->w, "ACK %llu %zu %zu", epoch, n, u->synced);
		wire_flush(u->w);
	}
	kv_flush(kv);
	u = upstream;		/* a failed flush above may close it */
	if (u != NULL && u->streaming && kv_durable(kv) > u->synced) {
		u->synced = kv_durable(kv);
		if (u->recv < u->synced)
			u->recv = u->synced;
		CRASH_POINT("backup.synced");
		wire_sendf(u->w, "ACK %llu %zu %zu", epoch, u->recv,
		    u->synced);
		wire_flush(u->w);
		CRASH_POINT("backup.acked");
	}
}

/* --- both roles --- */

static void
before_sleep(struct evloop *e, void *arg)
{
	(void)e;
	(void)arg;
	if (role == PRIMARY)
		primary_before_sleep();
	else
		backup_before_sleep();
	out_flush();
}

static long
tick(struct evloop *e, long long id, void *arg)
{
	(void)e;
	(void)id;
	(void)arg;
	if (role == PRIMARY)
		check_lag();
	else
		backup_tick();
	serve_waits();
	return TICK_MS;
}

static long
retry_now(struct evloop *e, long long id, void *arg)
{
	(void)e;
	(void)id;
	(void)arg;
	if (role == BACKUP && upstream == NULL)
		backup_tick();
	return -1;
}

/* Unescapes the TAB-separated escaped fields of S; returns their count. */
static int
unescape_fields(char *s, char **f, size_t *flen, int max)
{
	int n = 0;
	char *tab;
	long l;

	for (;;) {
		if (n == max)
			return -1;
		f[n] = s;
		if ((tab = strchr(s, '\t')) != NULL)
			*tab = '\0';
		if ((l = wire_unescape(s, strlen(s))) < 0)
			return -1;
		flen[n++] = (size_t)l;
		if (tab == NULL)
			return n;
		s = tab + 1;
	}
}

static void
on_client(struct conn *c, char *line)
{
	char *verb = line, *args, *sp, *f[2];
	size_t flen[2];
	int n;

	if ((sp = strchr(line, ' ')) != NULL) {
		*sp = '\0';
		args = sp + 1;
	} else
		args = line + strlen(line);	/* "", but writable */
	if (strcmp(verb, "SYNC") == 0) {
		on_sync(c, args);
		return;
	}
	if (strcmp(verb, "ACK") == 0) {
		on_ack(c, args);
		return;
	}
	if (c->kind != CLIENT) {
		wire_fail(c->w, "unexpected message from a backup");
		return;
	}
	if (strcmp(verb, "PUT") == 0 || strcmp(verb, "DEL") == 0 ||
	    strcmp(verb, "APPEND") == 0) {
		int want = verb[0] == 'P' ? 2 : 1;

		n = unescape_fields(args, f, flen, 2);
		if (n != want || (verb[0] != 'A' && flen[0] == 0) ||
		    sp == NULL) {
			wire_fail(c->w, "bad arguments");
			return;
		}
		if (role != PRIMARY) {
			if (st.primary != NULL && strcmp(st.primary, self))
				wire_sendf(c->w, "REDIRECT %llu %s", st.epoch,
				    st.primary);
			else
				wire_sendf(c->w, "RETRY no primary known");
			return;
		}
		do_write(c->w, NULL, verb[0] == 'P' ? "put" :
		    verb[0] == 'D' ? "del" : "append",
		    (const char *const *)f, flen, n);
	} else if (strcmp(verb, "GET") == 0) {
		struct waiter *wt;

		if (sp == NULL || unescape_fields(args, f, flen, 1) != 1 ||
		    flen[0] == 0) {
			wire_fail(c->w, "bad arguments");
			return;
		}
		wt = waiter_new(W_READ, c->w, NULL);
		wt->key = xstrdup(f[0]);
		wt->next = waits;
		waits = wt;
		serve_waits();
	} else if (strcmp(verb, "WAIT") == 0) {
		unsigned long long ms = WAIT_MS;
		struct waiter *wt;
		size_t pos;

		n = wire_split(args, f, 2);
		if (sp == NULL || n < 1 || parse_pos(f[0], &pos) == -1 ||
		    (n == 2 && (parse_num(f[1], &ms) == -1 ||
		    ms > 86400000))) {
			wire_fail(c->w, "bad arguments");
			return;
		}
		wt = waiter_new(W_WAIT, c->w, NULL);
		wt->pos = pos;
		wt->deadline = ev_now_ms() + (long long)ms;
		wt->next = waits;
		waits = wt;
		serve_waits();
	} else if (strcmp(verb, "STATUS") == 0 && sp == NULL) {
		wire_sendf(c->w, "STATUS %s %llu %zu %zu %zu",
		    role == PRIMARY ? "primary" : "backup", epoch,
		    kv_count(kv), kv_applied(kv),
		    role == PRIMARY ? insync_backups() : 0);
	} else
		wire_fail(c->w, "unknown verb");
}

/* A line of pipe-mode input: put, del or append, fields as in a shell. */
static void
on_pipe(char *line)
{
	struct pipeout *po = pipe_add();
	char *f[3];
	size_t alen[2];
	int n;

	if (strncmp(line, "append", 6) == 0 &&
	    (line[6] == '\t' || line[6] == ' ')) {
		f[0] = line + 7;
		alen[0] = strlen(f[0]);
		do_write(NULL, po, "append", (const char *const *)f, alen, 1);
		return;
	}
	n = repl_split_cmd(line, f, 3);
	if (n == 3 && strcmp(f[0], "put") == 0 && *f[1] != '\0') {
		alen[0] = strlen(f[1]);
		alen[1] = strlen(f[2]);
		do_write(NULL, po, "put", (const char *const *)f + 1, alen, 2);
	} else if (n == 2 && strcmp(f[0], "del") == 0 && *f[1] != '\0') {
		alen[0] = strlen(f[1]);
		do_write(NULL, po, "del", (const char *const *)f + 1, alen, 1);
	} else
		pipe_done(po, "fail\tbad command\n");
}

static void
on_line(struct wconn *w, char *line, size_t len, void *arg)
{
	struct conn *c = arg;

	(void)w;
	if (c->kind == UPSTREAM)
		upstream_line(c, line, len);
	else if (c->kind == PIPE)
		on_pipe(line);
	else
		on_client(c, line);
}

static void
on_close(struct wconn *w, void *arg)
{
	struct conn *c = arg, **p;

	(void)w;
	if (c == upstream) {
		upstream = NULL;
		/* A primary that served us may have died: look at once. */
		if (c->streaming)
			ev_add_timer(ev, 0, retry_now, NULL);
	}
	for (p = &members; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	if (role == PRIMARY && c->kind == MEMBER && c->streaming &&
	    lease_insync(&st, c->id) && find_member(c->id) == NULL) {
		shrink(c->id, "disconnected");
		advance_commit();
	}
	free(c->id);
	free(c);
}

static void
on_accept(struct evloop *e, int fd, int events, void *arg)
{
	struct conn *c;
	int cfd;

	(void)e;
	(void)fd;
	(void)events;
	(void)arg;
	while ((cfd = sock_accept(listenfd, opt->any_uid)) != -1) {
		c = xcalloc(1, sizeof(*c));
		c->kind = CLIENT;
		c->w = wire_new(cfd, "client", on_line, on_close, c);
	}
}

/* Opens everything a member needs; returns with the socket listening. */
static void
setup(const struct repl_opts *o)
{
	opt = o;
	readyfd = o->readyfd;
	self = daemon_abspath(o->sock);
	trace_init(o->sock);
	crash_init();
	ev = ev_new();
	daemon_signals(ev);
	ev_before_sleep(ev, before_sleep, NULL);
	wire_init(ev);
	if (mkdir(o->dir, 0700) == -1 && errno != EEXIST)
		err(EXIT_FAIL, "%s", o->dir);
	kv = kv_open(o->dir, o->nosync);
	lockfd = lease_open(o->lease);
	listenfd = sock_listen(o->sock, o->mode);
	ev_add_fd(ev, listenfd, EV_READ, on_accept, NULL);
	started = ev_now_ms();
	if (o->pipe) {
		struct conn *c = xcalloc(1, sizeof(*c));

		c->kind = PIPE;
		sock_nonblock(0);
		c->w = wire_new(0, "stdin", on_line, NULL, c);
	}
}

/* Runs until SIGTERM or SIGINT; closes cleanly and returns 0. */
static int
run(void)
{
	tick_timer = ev_add_timer(ev, TICK_MS, tick, NULL);
	ev_run(ev);
	kv_flush(kv);
	out_flush();
	wire_drain(200);
	close(listenfd);
	if (unlink(opt->sock) == -1)
		warn("%s", opt->sock);
	return EXIT_OK;
}

int
repl_primary(const struct repl_opts *o)
{
	int i;

	setup(o);
	/* A backup checking the lease holds the lock for a moment. */
	for (i = 0; !lease_trylock(lockfd); i++) {
		if (i == 40) {
			unlink(o->sock);
			errx(EXIT_UNAVAIL, "%s: the lease is held by another "
			    "primary", o->lease);
		}
		usleep(25000);
	}
	CRASH_POINT("takeover.locked");
	if (lease_read(o->lease, &st) == 0 && st.epoch > 0 &&
	    !lease_insync(&st, self)) {
		unlink(o->sock);
		errx(EXIT_FAIL, "%s is not in the in-sync set of %s: it may "
		    "lack acknowledged writes; start it as repl-backup",
		    o->sock, o->lease);
	}
	become_primary();
	return run();
}

int
repl_backup(const struct repl_opts *o)
{
	setup(o);
	backup_tick();
	return run();
}

int
repl_split_cmd(char *line, char **field, int max)
{
	char sep = strchr(line, '\t') != NULL ? '\t' : ' ';
	int n = 0;
	char *p;

	if (max < 1)
		return 0;
	field[n++] = line;
	while (n < max && (p = strchr(line, sep)) != NULL) {
		*p = '\0';
		line = p + 1;
		field[n++] = line;
	}
	return n;
}

int
repl_parse_args(int argc, char *argv[], int pipe_ok, struct repl_opts *o)
{
	unsigned long v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->ack = -1;
	o->k = -1;
	o->lag_ms = -1;
	o->mode = 0600;
	o->readyfd = -1;
	while ((ch = getopt(argc, argv, "a:d:hk:L:m:nopr:s:t:uV")) != -1) {
		switch (ch) {
		case 'a':
			if ((o->ack = lease_ack_parse(optarg)) == -1)
				return -1;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'h':
			return 'h';
		case 'k':
			if (parse_ulong(optarg, 0, 1000, &v) == -1)
				return -1;
			o->k = (long)v;
			break;
		case 'L':
			o->lease = optarg;
			break;
		case 'm':
			if (sock_parse_mode(optarg, &o->mode) == -1)
				return -1;
			break;
		case 'n':
			o->nosync = 1;
			break;
		case 'o':
			o->print = 1;
			break;
		case 'p':
			if (!pipe_ok)
				return -1;
			o->pipe = 1;
			break;
		case 'r':
			o->readyfd = daemon_parse_fd(optarg);
			break;
		case 's':
			o->sock = optarg;
			break;
		case 't':
			if (parse_ulong(optarg, 1, 86400000, &v) == -1)
				return -1;
			o->lag_ms = (long)v;
			break;
		case 'u':
			o->any_uid = 1;
			break;
		case 'V':
			print_version();
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || o->dir == NULL || o->sock == NULL ||
	    o->lease == NULL)
		return -1;
	return 0;
}
