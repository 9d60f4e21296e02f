#include <err.h>
#include <errno.h>
#include <inttypes.h>
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
#include "kvlog.h"
#include "lease.h"
#include "log.h"
#include "member.h"
#include "repl.h"
#include "reqid.h"
#include "sock.h"
#include "trace.h"
#include "util.h"
#include "wire.h"

#define TICK_MS		25	/* lease, lag and deadline checks */
#define WINDOW		4096	/* records in flight to one backup */
#define WAIT_MS		10000	/* default WAIT timeout */
#define WAITING_MS	30000	/* how often a stuck backup says so */
#define READY_MS	10000	/* a backup is ready by then at the latest */
#define REFUSED_MS	1000	/* after refusing a primary, wait this long */
#define LOOK_MS		500	/* without a primary, while a watch tells us of
				   changes: look at the lease this often too */
#define CHUNK		16384	/* snapshot bytes in one CHUNK message */
#define CHUNKS_PER_TURN	4	/* sent to one backup per turn of the loop */

enum role { BACKUP, PRIMARY };
enum kind { CLIENT, MEMBER, UPSTREAM, PIPE };

/*
 * A reply owed to a client or to the pipe, in request order: LINE is NULL
 * until the request is answered, and replies leave only from the head of
 * the queue, so requests on one connection are answered in order.  FAIL
 * marks an ERR reply: the connection is closed once it is sent.
 */
struct reply {
	char *line;
	size_t len;
	int fail;
	struct reply *next;
};

/* What we know of a connection (the wconn's argument). */
struct conn {
	struct wconn *w;
	enum kind kind;
	char *id, *sock;	/* MEMBER: the backup's member id and socket */
	int streaming;		/* MEMBER/UPSTREAM: past SYNC */
	int snap_fd;		/* MEMBER: the snapshot being sent, or -1 */
	long long snap_off, snap_size;	/* MEMBER: its bytes sent, and all */
	int behind;		/* MEMBER: needs records the log dropped */
	int receiving;		/* UPSTREAM: a snapshot is coming */
	size_t sent;		/* MEMBER: records sent */
	size_t recv, synced;	/* MEMBER: acknowledged; UPSTREAM: acks sent */
	struct reply *replies, **replies_tail;	/* CLIENT/PIPE */
	size_t last_write;	/* CLIENT: position of its latest write */
	int failed;		/* CLIENT: sent a bad request; ignored now */
	struct conn *next;	/* MEMBER: list of backups */
};

/* A request waiting for a commit: a write, a read or a WAIT. */
enum wtype { W_WRITE, W_READ, W_WAIT };
struct waiter {
	enum wtype type;
	struct conn *c;		/* NULL once its connection closed */
	struct reply *r;
	size_t pos;
	char *key;
	long long deadline;
	struct waiter *next;
};

static const struct repl_opts *opt;
static struct evloop *ev;
static struct kvlog *kv;
static struct member *mem;		/* our copy of the data */
static enum role role;
static char *self;			/* our socket, absolute */
static struct lease *lease;
static int listenfd = -1, readyfd = -1;
static struct lease_state st;		/* primary: ours; backup: last read */
static unsigned long long epoch;	/* the newest epoch we know */
static size_t commit;			/* the commit point we know */
static size_t epoch_pos;		/* primary: our epoch record */
static long long primary_since;
static long long started;
static long long follow_after;		/* backup: no primary before then */
static long long next_look;		/* backup: when to look at the lease */
static struct conn *members;		/* primary: connected backups */
static struct conn *upstream;		/* backup: link to the primary */
static size_t streamed;			/* primary: durable records streamed */
static struct waiter *writes, *writes_last;	/* by position */
static struct waiter *waits;

static void advance_commit(void);
static void step_down(const char *why);

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

/* Returns "PREFIX" followed by LEN bytes of S escaped, and its length. */
static char *
escaped_line(const char *prefix, const char *s, size_t len, size_t *n)
{
	size_t plen = strlen(prefix);
	char *buf = xmalloc(plen + 2 * len + 1);

	memcpy(buf, prefix, plen);
	*n = plen + wire_escape(s, len, buf + plen);
	buf[*n] = '\0';
	return buf;
}

/* --- replies, in request order --- */

/* Owes C a reply; the connection stays open until it is sent. */
static struct reply *
reply_expect(struct conn *c)
{
	struct reply *r = xcalloc(1, sizeof(*r));

	*c->replies_tail = r;
	c->replies_tail = &r->next;
	if (c->kind != PIPE)
		wire_hold(c->w);
	return r;
}

/*
 * Sends every reply at the head of C's queue that is answered.  Sending an
 * ERR closes the connection, which frees C; the replies sent still hold
 * the wconn until they are released, last of all.
 */
static void
reply_flush(struct conn *c)
{
	struct wconn *w = c->w;
	struct reply *r;
	int sent = 0, closed = 0;

	while (!closed && (r = c->replies) != NULL && r->line != NULL) {
		c->replies = r->next;
		if (c->replies == NULL)
			c->replies_tail = &c->replies;
		if (c->kind == PIPE) {
			fwrite(r->line, 1, r->len, stdout);
			putchar('\n');
		} else {
			if (r->fail) {
				wire_fail(w, r->line);
				closed = 1;
			} else
				wire_send(w, r->line, r->len);
			sent++;
		}
		free(r->line);
		free(r);
	}
	while (sent-- > 0)
		wire_release(w);
}

/* Answers R with LINE (taken over), of LEN bytes. */
static void
reply_set(struct conn *c, struct reply *r, char *line, size_t len)
{
	r->line = line;
	r->len = len;
	reply_flush(c);
}

static void
reply_fmt(struct conn *c, struct reply *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_fmt(struct conn *c, struct reply *r, const char *fmt, ...)
{
	va_list ap;
	char *line;
	size_t n;

	va_start(ap, fmt);
	line = xvasprintf(&n, fmt, ap);
	va_end(ap);
	reply_set(c, r, line, n);
}

/*
 * Answers a bad request with "ERR REASON" once the replies owed before it
 * are sent, then closes the connection; what follows it is ignored.
 */
static void
reply_fail(struct conn *c, const char *reason)
{
	struct reply *r = reply_expect(c);

	c->failed = 1;
	r->fail = 1;
	reply_set(c, r, xstrdup(reason), strlen(reason));
}

/* Refuses a bad message: in request order from a client, else at once. */
static void
refuse(struct conn *c, const char *reason)
{
	if (c->kind == CLIENT)
		reply_fail(c, reason);
	else
		wire_fail(c->w, reason);
}

/* Frees the replies still owed on a closed connection. */
static void
replies_drop(struct conn *c)
{
	struct reply *r;

	while ((r = c->replies) != NULL) {
		c->replies = r->next;
		if (c->kind != PIPE)
			wire_release(c->w);
		free(r->line);
		free(r);
	}
	c->replies_tail = &c->replies;
}

/* --- the applied stream --- */

static void
out_flush(void)
{
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EXIT_FAIL, "stdout");
}

static void
print_applied(void *arg, size_t pos, const char *rec, size_t len)
{
	(void)arg;
	printf("%zu\t%.*s\n", pos, (int)len, rec);
}

/* Applies what we hold of the records up to the commit point. */
static void
apply(void)
{
	kv_apply(kv, min(commit, kv_count(kv)),
	    opt->print ? print_applied : NULL, NULL);
}

/* --- the lease --- */

static int
is_self(const char *id, const char *sock)
{
	return strcmp(id, mem->id) == 0 && strcmp(sock, self) == 0;
}

static size_t
insync_backups(void)
{
	return st.ninsync - (lease_insync(&st, mem->id, self) ? 1 : 0);
}

static struct conn *
find_member(const char *id, const char *sock)
{
	struct conn *c;

	for (c = members; c != NULL; c = c->next)
		if (c->streaming && strcmp(c->id, id) == 0 &&
		    strcmp(c->sock, sock) == 0)
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

/* Removes a member from the in-sync set, durably, before any ack without it. */
static void
shrink(const char *id, const char *sock, const char *why)
{
	warnx("removing %s (member %.8s) from the in-sync set: %s", sock, id,
	    why);
	CRASH_POINT("primary.shrink");
	lease_remove(&st, id, sock);
	if (lease_write(lease, &st) == -1) {
		step_down(lease_error(lease));
		return;
	}
	CRASH_POINT("primary.shrunk");
}

/* Tells a client where the primary is, if we know. */
static void
redirect(struct conn *c, struct reply *r)
{
	if (st.primary.sock != NULL && strcmp(st.primary.sock, self) != 0)
		reply_fmt(c, r, "REDIRECT %llu %s", st.epoch, st.primary.sock);
	else
		reply_fmt(c, r, "RETRY no primary known");
}

/* --- waiters --- */

static struct waiter *
waiter_new(enum wtype type, struct conn *c)
{
	struct waiter *wt = xcalloc(1, sizeof(*wt));

	wt->type = type;
	wt->c = c;
	wt->r = reply_expect(c);
	return wt;
}

/* Forgets the connection C in every waiter: it closed. */
static void
waiters_forget(struct conn *c)
{
	struct waiter *wt;

	for (wt = writes; wt != NULL; wt = wt->next)
		if (wt->c == c)
			wt->c = NULL;
	for (wt = waits; wt != NULL; wt = wt->next)
		if (wt->c == c)
			wt->c = NULL;
}

/* Queues a write waiter in position order (a retry may be older). */
static void
writes_add(struct waiter *wt)
{
	struct waiter **p;

	if (writes == NULL || writes_last->pos <= wt->pos) {
		if (writes == NULL)
			writes = wt;
		else
			writes_last->next = wt;
		writes_last = wt;
		return;
	}
	for (p = &writes; (*p)->pos <= wt->pos; p = &(*p)->next)
		;
	wt->next = *p;
	*p = wt;
}

static void
reply_value(struct conn *c, struct reply *r, const char *key)
{
	const struct kvval *v = kv_get(kv, key);
	const char *name = role == PRIMARY ? "primary" : "backup";
	char prefix[96];
	size_t n;
	char *line;

	if (v == NULL) {
		reply_fmt(c, r, "NONE %s %llu %zu", name, epoch,
		    kv_applied(kv));
		return;
	}
	snprintf(prefix, sizeof(prefix), "VALUE %s %llu %zu ", name, epoch,
	    kv_applied(kv));
	line = escaped_line(prefix, v->data, v->len, &n);
	reply_set(c, r, line, n);
}

/*
 * Answers reads and WAITs that can be answered: a read at the primary
 * waits until a record of its own epoch is committed (so it has seen every
 * write an earlier primary acknowledged) and so are the writes sent before
 * it on its connection (its position); a WAIT until its position is
 * applied or its deadline passes.
 */
static void
serve_waits(void)
{
	struct waiter **p = &waits, *wt;
	long long now = ev_now_ms();

	while ((wt = *p) != NULL) {
		int done = 1;

		if (wt->c == NULL)
			;
		else if (wt->type == W_READ) {
			if (role == PRIMARY && (commit < epoch_pos ||
			    commit < wt->pos || !lease_held(lease)))
				done = 0;
			else
				reply_value(wt->c, wt->r, wt->key);
		} else if (kv_applied(kv) >= wt->pos &&
		    (role == BACKUP || commit >= epoch_pos))
			reply_fmt(wt->c, wt->r, "OK %llu %zu", epoch,
			    kv_applied(kv));
		else if (now >= wt->deadline)
			reply_fmt(wt->c, wt->r, "FAIL timeout at position %zu",
			    kv_applied(kv));
		else
			done = 0;
		if (done) {
			*p = wt->next;
			free(wt->key);
			free(wt);
		} else
			p = &wt->next;
	}
}

/*
 * Answers the write at POS, which is committed: acknowledged if the
 * in-sync set is big enough, else in doubt (it is applied, but on fewer
 * backups than -k asks).
 */
static void
reply_write(struct conn *c, struct reply *r, size_t pos)
{
	int ok = insync_backups() >= st.k;

	if (c->kind == PIPE && ok)
		reply_fmt(c, r, "%llu\t%zu", kv_epoch_at(kv, pos), pos);
	else if (c->kind == PIPE)
		reply_fmt(c, r, "unknown\tin doubt: too few in-sync backups");
	else if (ok)
		reply_fmt(c, r, "OK %llu %zu", kv_epoch_at(kv, pos), pos);
	else
		reply_fmt(c, r, "UNKNOWN in doubt: too few in-sync backups");
}

/* Answers every write the commit covers, in log order. */
static void
reply_writes(void)
{
	struct waiter *wt;
	int any = 0;

	while ((wt = writes) != NULL && wt->pos <= commit) {
		CRASH_POINT("primary.replicated");
		writes = wt->next;
		if (writes == NULL)
			writes_last = NULL;
		if (wt->c != NULL) {
			struct wconn *w = wt->c->w;
			int pipe = wt->c->kind == PIPE;

			reply_write(wt->c, wt->r, wt->pos);
			/* (An ERR queued behind it may have closed it.) */
			if (!pipe && wt->c != NULL)
				wire_flush(w);
		}
		free(wt);
		any = 1;
	}
	if (any) {
		out_flush();
		CRASH_POINT("primary.acked");
	}
}

/* --- primary --- */

/*
 * Sends a backup the durable records it lacks, within the window.  One
 * whose next record a snapshot has dropped from the log since is marked
 * behind: it is closed from the loop, and syncs again (getting the
 * snapshot).
 */
static int
stream_to(struct conn *c)
{
	size_t durable = kv_durable(kv), len, n;
	char prefix[64], *line;
	const char *rec;
	int any = 0;

	if (c->sent + 1 < kv_oldest(kv)) {
		c->behind = 1;
		return 0;
	}
	while (c->sent < durable && c->sent - acked(c) < WINDOW) {
		c->sent++;
		rec = kv_record(kv, c->sent, &len);
		snprintf(prefix, sizeof(prefix), "REC %llu %zu ", epoch,
		    c->sent);
		line = escaped_line(prefix, rec, len, &n);
		wire_send(c->w, line, n);
		free(line);
		any = 1;
	}
	return any;
}

static void
advance_commit(void)
{
	size_t c = kv_durable(kv), i;
	struct conn *m;

	if (role != PRIMARY || !lease_held(lease))
		return;		/* (the tick steps down) */
	if (st.ack != ACK_NONE) {
		for (i = 0; i < st.ninsync; i++) {
			const struct lease_member *lm = &st.insync[i];

			if (is_self(lm->id, lm->sock))
				continue;
			m = find_member(lm->id, lm->sock);
			c = min(c, m != NULL ? acked(m) : commit);
		}
	}
	if (c <= commit)
		return;
	commit = c;
	apply();
	for (m = members; m != NULL; m = m->next)
		if (m->streaming)
			wire_sendf(m->w, "COMMIT %llu %zu", epoch, commit);
	reply_writes();
	serve_waits();
}

/*
 * Removes in-sync backups that hold back a write for longer than the lag,
 * counted from when the write became durable here, or from when we began
 * to serve if that is later (records we held before, replayed from our
 * log or received as a backup, were not anyone's to acknowledge until
 * then).
 */
static void
check_lag(void)
{
	long long now = ev_now_ms(), since;
	size_t durable = kv_durable(kv), i, pos;
	struct conn *m;
	int removed = 0;

	for (i = 0; i < st.ninsync; i++) {
		const struct lease_member *lm = &st.insync[i];

		if (is_self(lm->id, lm->sock))
			continue;
		m = find_member(lm->id, lm->sock);
		pos = (m != NULL ? acked(m) : commit) + 1;
		if (pos > durable)
			continue;
		since = kv_durable_at(kv, pos);
		if (since < primary_since)
			since = primary_since;
		if (now - since <= (long long)st.lag_ms)
			continue;
		shrink(lm->id, lm->sock, m != NULL ? "lagging" :
		    "not connected");
		removed = 1;
		i = (size_t)-1;		/* the set was reordered: rescan */
	}
	if (removed)
		advance_commit();
}

/* Answers R, for the write at POS, once POS is committed. */
static void
wait_commit(struct conn *c, struct reply *r, size_t pos)
{
	struct waiter *wt = xcalloc(1, sizeof(*wt));

	wt->type = W_WRITE;
	wt->c = c;
	wt->r = r;
	wt->pos = pos;
	if (pos > c->last_write)
		c->last_write = pos;
	writes_add(wt);
}

/*
 * Appends a write from a client or the pipe (ARG holds NARG arguments, a
 * request id among them if the client gave one); the reply R comes once
 * it is committed.  Refused at once, before anything is appended, if the
 * in-sync set is too small.
 */
static void
do_write(struct conn *c, struct reply *r, const char *op,
    const char *const *arg, const size_t *alen, int narg)
{
	size_t len, pos;
	char *rec;

	if (insync_backups() < st.k) {
		if (c->kind == PIPE)
			reply_fmt(c, r, "fail\ttoo few in-sync backups "
			    "(%zu < %lu)", insync_backups(), st.k);
		else
			reply_fmt(c, r, "FAIL too few in-sync backups "
			    "(%zu < %lu)", insync_backups(), st.k);
		return;
	}
	CRASH_POINT("primary.append");
	rec = kv_encode(epoch, op, narg, arg, alen, &len);
	pos = kv_append(kv, rec, len);
	free(rec);
	wait_commit(c, r, pos);
}

/*
 * A write that carries request id ID: one already in the log (a retry) is
 * answered with its outcome, never appended again.
 */
static void
do_request(struct conn *c, struct reply *r, const char *op,
    const struct reqid *id, const char *const *arg, const size_t *alen,
    int narg)
{
	size_t pos;

	switch (kv_request(kv, id, &pos)) {
	case REQID_NEW:
		do_write(c, r, op, arg, alen, narg);
		break;
	case REQID_DONE:
		CRASH_POINT("primary.duplicate");
		if (pos <= commit)
			reply_write(c, r, pos);
		else
			wait_commit(c, r, pos);
		break;
	case REQID_FORGOTTEN:
		reply_fmt(c, r, "UNKNOWN request %s:%llu is %d or more "
		    "writes behind its client's last: its outcome is not "
		    "known", id->client, id->seq, REQID_WINDOW);
		break;
	}
}

/*
 * Sends our snapshot to a backup, a few chunks each time its socket
 * drains (wire_set_refill), and then SNAPEND: it installs the snapshot
 * and syncs again from there.  A snapshot taken meanwhile does not
 * disturb the transfer: the file stays open.
 */
static void
send_chunks(struct wconn *w, void *arg)
{
	static char buf[CHUNK], line[2 * CHUNK + 64];
	struct conn *c = arg;
	size_t len;
	ssize_t n;
	int i;

	for (i = 0; i < CHUNKS_PER_TURN && c->snap_off < c->snap_size; i++) {
		n = pread(c->snap_fd, buf, sizeof(buf), (off_t)c->snap_off);
		if (n <= 0) {
			warn("reading the snapshot for %s", c->sock);
			wire_fail(w, "cannot read the snapshot");
			return;
		}
		len = (size_t)snprintf(line, 64, "CHUNK %llu ", epoch);
		len += wire_escape(buf, (size_t)n, line + len);
		wire_send(w, line, len);
		c->snap_off += n;
	}
	if (c->snap_off < c->snap_size)
		return;
	wire_set_refill(w, NULL);
	close(c->snap_fd);
	c->snap_fd = -1;
	wire_sendf(w, "SNAPEND %llu", epoch);
	warnx("%s (member %.8s): snapshot sent, %lld bytes", c->sock, c->id,
	    c->snap_size);
	CRASH_POINT("snapshot.sent");
}

/* SNAP EPOCH POS SIZE: starts sending our snapshot to backup C. */
static void
send_snapshot(struct conn *c)
{
	size_t pos;

	if ((c->snap_fd = kv_snapshot_open(kv, &pos, &c->snap_size)) == -1) {
		wire_fail(c->w, "cannot read the snapshot");
		return;
	}
	c->snap_off = 0;
	wire_sendf(c->w, "SNAP %llu %zu %lld", epoch, pos, c->snap_size);
	wire_set_refill(c->w, send_chunks);
}

/* SYNC EPOCH LASTEPOCH POS ID SOCK: a backup asks to follow us. */
static void
on_sync(struct conn *c, char *args)
{
	unsigned long long e, last, found;
	size_t pos, end;
	char *f[5];
	struct conn *m;

	if (role != PRIMARY) {
		refuse(c, "not primary");
		return;
	}
	if (wire_split(args, f, 5) != 5 || parse_ullong(f[0], &e) == -1 ||
	    parse_ullong(f[1], &last) == -1 || parse_pos(f[2], &pos) == -1 ||
	    !member_id_ok(f[3]) || !sock_name_ok(f[4])) {
		refuse(c, "bad SYNC");
		return;
	}
	if (e < epoch) {
		char why[96];

		snprintf(why, sizeof(why), "stale epoch %llu < %llu", e,
		    epoch);
		refuse(c, why);
		return;
	}
	if (e > epoch) {
		warnx("a backup knows epoch %llu, newer than mine (%llu)", e,
		    epoch);
		refuse(c, "epoch newer than the primary's");
		return;
	}
	if ((c->kind != CLIENT && c->kind != MEMBER) || c->replies != NULL ||
	    c->streaming || c->snap_fd != -1) {
		refuse(c, "unexpected SYNC");
		return;
	}
	if (c->kind == CLIENT) {
		c->kind = MEMBER;
		c->next = members;
		members = c;
	}
	free(c->id);
	free(c->sock);
	c->id = xstrdup(f[3]);
	c->sock = xstrdup(f[4]);
	/* An older link of the same backup is dead: drop it, keep this. */
	for (m = members; m != NULL; m = m->next) {
		if (m != c && strcmp(m->id, c->id) == 0 &&
		    strcmp(m->sock, c->sock) == 0) {
			wire_close(m->w);
			break;
		}
	}
	if (pos > kv_count(kv) || kv_epoch_at(kv, pos) != last) {
		/* Diverged: tell it where our history of its epoch ends. */
		end = kv_end_of_epoch(kv, last, &found);
		wire_sendf(c->w, "TRUNC %llu %llu %zu", epoch, found, end);
		return;
	}
	if (lease_insync(&st, c->id, c->sock) && pos < commit)
		shrink(c->id, c->sock, "rejoined behind the commit point");
	if (pos + 1 < kv_oldest(kv)) {
		warnx("%s (member %.8s) is at position %zu and the log begins "
		    "at %zu: sending it the snapshot", c->sock, c->id, pos,
		    kv_oldest(kv));
		send_snapshot(c);
		return;
	}
	c->streaming = 1;
	c->sent = c->recv = c->synced = pos;
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
		refuse(c, "ACK before SYNC");
		return;
	}
	if (wire_split(args, f, 3) != 3 || parse_ullong(f[0], &e) == -1 ||
	    parse_pos(f[1], &recv) == -1 || parse_pos(f[2], &synced) == -1 ||
	    recv > c->sent || synced > c->sent) {
		refuse(c, "bad ACK");
		return;
	}
	if (e != epoch) {
		refuse(c, "stale epoch");
		return;
	}
	if (recv > c->recv)
		c->recv = recv;
	if (synced > c->synced)
		c->synced = synced;
	/* A backup joins once it has every committed record (Kafka's ISR). */
	if (!lease_insync(&st, c->id, c->sock) && c->synced >= commit &&
	    acked(c) >= commit) {
		CRASH_POINT("primary.grow");
		lease_add(&st, c->id, c->sock);
		if (lease_write(lease, &st) == -1) {
			step_down(lease_error(lease));
			return;
		}
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
	struct conn *m, *next;
	size_t pos;
	int sent = 0;

	/*
	 * Records may also have become durable elsewhere (a snapshot's log
	 * rewrite syncs what was appended): whatever is new since we last
	 * streamed goes out now.
	 */
	kv_flush(kv);
	if (kv_durable(kv) > streamed) {
		for (pos = streamed + 1; pos <= kv_durable(kv); pos++)
			CRASH_POINT("primary.appended");
		streamed = kv_durable(kv);
		/* A failed flush closes M, and on_close frees it. */
		for (m = members; m != NULL; m = next) {
			next = m->next;
			if (m->streaming && stream_to(m)) {
				wire_flush(m->w);
				sent = 1;
			}
		}
		if (sent)
			CRASH_POINT("primary.sent");
	}
	for (m = members; m != NULL; m = next) {
		next = m->next;
		if (m->behind)
			wire_fail(m->w, "behind the primary's log: sync again");
	}
	advance_commit();
}

/*
 * The state a takeover (or a start) as primary writes, made from ST as
 * read (lease_decide_fn): ours as primary and in the in-sync set, our
 * options, and an epoch above every epoch we know (the lease's and our
 * log's).  What we hold is made durable first.
 */
static int
primary_state(struct lease_state *s, void *arg)
{
	(void)arg;
	kv_flush(kv);
	if (s->primary.sock != NULL && !is_self(s->primary.id, s->primary.sock))
		lease_remove(s, s->primary.id, s->primary.sock);
	lease_set_primary(s, mem->id, self);
	lease_add(s, mem->id, self);
	if (opt->ack >= 0)
		s->ack = opt->ack;
	if (opt->k >= 0)
		s->k = (unsigned long)opt->k;
	if (opt->lag_ms > 0)
		s->lag_ms = (unsigned long)opt->lag_ms;
	if (s->epoch < epoch)
		s->epoch = epoch;
	s->epoch++;
	return 1;
}

/*
 * Serves as primary: the lease is ours, with the state primary_state
 * made.  Records the epoch in the log before serving.
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
	epoch = st.epoch;
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
	streamed = kv_durable(kv);
	warnx("primary in epoch %llu at position %zu", epoch, epoch_pos);
	advance_commit();
	ready();
}

/* Lets the backups go (from the loop: never inside one's callback). */
static long
let_backups_go(struct evloop *e, long long id, void *arg)
{
	(void)e;
	(void)id;
	(void)arg;
	while (role == BACKUP && members != NULL)
		wire_close(members->w);
	return -1;
}

/* Tells every request still waiting to go again, to the next primary. */
static void
waiters_retry(struct waiter **list, const char *why)
{
	struct waiter *wt;

	while ((wt = *list) != NULL) {
		*list = wt->next;
		if (wt->c != NULL && wt->c->kind == PIPE)
			reply_fmt(wt->c, wt->r, "unknown\t%s", why);
		else if (wt->c != NULL)
			reply_fmt(wt->c, wt->r, "RETRY %s", why);
		free(wt->key);
		free(wt);
	}
}

/*
 * The lease is no longer surely ours (it ran out before a keepalive was
 * answered, or the state could not be written): stop acting as primary at
 * once.  Nothing more is acknowledged.  What waits is told to retry (a
 * write's request id tells the next primary whether it already has it),
 * the lease is given back so that a backup need not wait out the TTL, the
 * backups are let go, and we carry on as a backup of whoever takes over,
 * truncating what we appended that it lacks.
 */
static void
step_down(const char *why)
{
	if (role != PRIMARY)
		return;
	warnx("no longer the primary of epoch %llu: %s; carrying on as a "
	    "backup", epoch, why);
	trace_event("step-down");
	role = BACKUP;
	waiters_retry(&writes, "the primary lost its lease: try again");
	writes_last = NULL;
	waiters_retry(&waits, "the primary lost its lease: try again");
	out_flush();
	lease_release(lease);
	lease_free(&st);
	ev_add_timer(ev, 0, let_backups_go, NULL);
}

/* --- backup --- */

static void on_line(struct wconn *, char *, size_t, void *);
static void on_close(struct wconn *, void *);

/* A connection of KIND, not yet wrapped. */
static struct conn *
conn_alloc(enum kind kind)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->kind = kind;
	c->snap_fd = -1;
	c->replies_tail = &c->replies;
	return c;
}

/* Wraps a connection of KIND (the pipe's has no close callback). */
static struct conn *
conn_new(enum kind kind, int fd, const char *peer)
{
	struct conn *c = conn_alloc(kind);

	c->w = wire_new(fd, peer, on_line, kind == PIPE ? NULL : on_close, c);
	return c;
}

/* Connects to the primary at ADDR; returns NULL with errno set. */
static struct conn *
conn_dial(const char *addr)
{
	struct conn *c = conn_alloc(UPSTREAM);

	if ((c->w = wire_dial(addr, "primary", on_line, on_close, c)) ==
	    NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static void
send_sync(struct conn *u)
{
	size_t n;

	kv_flush(kv);
	n = kv_count(kv);
	u->recv = u->synced = n;
	wire_sendf(u->w, "SYNC %llu %llu %zu %s %s", epoch, kv_epoch_at(kv, n),
	    n, mem->id, self);
}

/*
 * Says what a backup waits for: each message once, and again every
 * WAITING_MS while it holds, so a stuck member is never silent nor noisy;
 * NULL: it waits no more.
 */
static void
say_waiting(const char *fmt, ...)
{
	/* The messages said lately: a wait may alternate between two. */
	static char said[4][512];
	static long long at[4];
	char now[512];
	va_list ap;
	int i, oldest = 0;

	if (fmt == NULL) {
		for (i = 0; i < 4; i++)
			said[i][0] = '\0';
		return;
	}
	va_start(ap, fmt);
	vsnprintf(now, sizeof(now), fmt, ap);
	va_end(ap);
	for (i = 0; i < 4; i++) {
		if (strcmp(now, said[i]) == 0) {
			if (ev_now_ms() - at[i] < WAITING_MS)
				return;
			break;
		}
		if (at[i] < at[oldest])
			oldest = i;
	}
	if (i == 4)
		i = oldest;
	warnx("%s", now);
	strcpy(said[i], now);
	at[i] = ev_now_ms();
}

/* May we take over (lease_decide_fn)?  Only as a member of the in-sync set. */
static int
may_take_over(struct lease_state *s, void *arg)
{
	(void)arg;
	if (!lease_insync(s, mem->id, self)) {
		if (s->epoch > 0)
			say_waiting("no primary holds %s, and this member "
			    "(%.8s) may not take over: it is not in the in-sync "
			    "set of epoch %llu; waiting for a member that is",
			    opt->lease, mem->id, s->epoch);
		ready();	/* nothing to follow; we may not lead */
		return 0;
	}
	CRASH_POINT("takeover.locked");
	return primary_state(s, NULL);
}

/* Tries to take the lease.  Returns 1 if we took over, else 0. */
static int
try_takeover(void)
{
	switch (lease_take(lease, &st, may_take_over, NULL)) {
	case 1:
		become_primary();
		return 1;
	case -2:
		say_waiting("%s; trying again", lease_error(lease));
		ready();
		return 0;
	default:
		return 0;
	}
}

/* Connects to the primary named in the lease state, if there is one. */
static void
follow(void)
{
	lease_free(&st);
	if (ev_now_ms() < follow_after || lease_read(lease, &st) < 0 ||
	    st.primary.sock == NULL || strcmp(st.primary.sock, self) == 0)
		return;
	if (st.epoch > epoch)
		epoch = st.epoch;
	if ((upstream = conn_dial(st.primary.sock)) == NULL) {
		say_waiting("cannot reach the primary of epoch %llu, %s: %s; "
		    "trying again", st.epoch, st.primary.sock, strerror(errno));
		return;
	}
	upstream->sock = xstrdup(st.primary.sock);	/* whom we follow */
	say_waiting(NULL);
	send_sync(upstream);
}

static long retry_now(struct evloop *, long long, void *);

/*
 * The lease may have changed hands (lease_watch): look at once, and leave
 * a primary the lease no longer names (one that is stopped or cut off
 * would otherwise keep us until its silence is noticed).
 */
static long
lease_moved(struct evloop *e, long long id, void *arg)
{
	struct conn *u = upstream;
	struct lease_state now;

	if (role == BACKUP && u != NULL) {
		if (lease_read(lease, &now) == 0 && now.primary.sock != NULL &&
		    strcmp(now.primary.sock, u->sock) != 0) {
			upstream = NULL;
			wire_close(u->w);
		}
		lease_free(&now);
	}
	return retry_now(e, id, arg);
}

static void
lease_changed(void *arg)
{
	(void)arg;
	ev_add_timer(ev, 0, lease_moved, NULL);
}

/*
 * Without a primary to follow, looks at the lease: at every tick, or, while
 * the lease tells us of changes (etcd's watch, kept on while we follow
 * too), at each change and every LOOK_MS.
 */
static void
backup_tick(void)
{
	long long now = ev_now_ms();
	int watched = lease_watch(lease, ev, lease_changed, NULL);

	if (upstream == NULL && (!watched || now >= next_look)) {
		next_look = now + LOOK_MS;
		if (!try_takeover() && role == BACKUP)
			follow();
	}
	if (role == BACKUP && readyfd >= 0 &&
	    ev_now_ms() - started > READY_MS) {
		warnx("not in sync with a primary yet");
		ready();
	}
}

/* Refuses the primary we follow, and waits a while before trying again. */
static void
upstream_fail(struct conn *u, const char *why)
{
	warnx("primary: %s", why);
	follow_after = ev_now_ms() + REFUSED_MS;
	wire_fail(u->w, why);
}

/* Learns that POS is committed: applies what we hold up to there. */
static void
learn_commit(size_t pos)
{
	if (pos > commit)
		commit = pos;
	apply();
	serve_waits();
}

/*
 * TRUNC: our log diverges from the primary's after END, or after our last
 * record of an epoch up to LAST.  Never cuts a record we know is
 * committed: a primary that asks that lacks acknowledged writes (it should
 * never have become primary), and we refuse it.
 */
static void
on_trunc(struct conn *u, unsigned long long e, unsigned long long last,
    size_t end)
{
	unsigned long long found;
	size_t pos = min(end, kv_end_of_epoch(kv, last, &found));
	size_t known = min(commit, kv_count(kv));
	char why[160];

	if (pos < known) {
		snprintf(why, sizeof(why), "refusing to cut positions %zu to "
		    "%zu, known to be committed, for the primary of epoch %llu",
		    pos + 1, known, e);
		upstream_fail(u, why);
		return;
	}
	epoch = e;
	if (pos < kv_count(kv)) {
		warnx("truncating a divergent tail: positions %zu to %zu",
		    pos + 1, kv_count(kv));
		CRASH_POINT("backup.truncate");
		kv_truncate(kv, pos);
		CRASH_POINT("backup.truncated");
	}
	send_sync(u);
}

/*
 * SNAPEND: the primary's snapshot is all here.  Installed, it replaces our
 * log (which it is past the end of) and is committed; we sync again from
 * its position.
 */
static void
on_snapend(struct conn *u)
{
	const char *why;
	char msg[96];

	u->receiving = 0;
	if (kv_receive_end(kv, &why) == -1) {
		snprintf(msg, sizeof(msg), "bad snapshot: %s", why);
		upstream_fail(u, msg);
		return;
	}
	learn_commit(kv_applied(kv));
	send_sync(u);
}

/* Handles a line from the primary we follow. */
static void
upstream_line(struct conn *u, char *line, size_t len)
{
	unsigned long long e, last;
	size_t pos, end;
	char *f[5];
	int n;

	if (strncmp(line, "ERR ", 4) == 0) {
		warnx("primary refused us: %s", line + 4);
		wire_close(u->w);
		return;
	}
	/* A payload is the rest of the line; it may hold spaces. */
	n = wire_split(line, f, strncmp(line, "REC ", 4) == 0 ? 4 :
	    strncmp(line, "CHUNK ", 6) == 0 ? 3 : 5);
	if (n < 2 || parse_ullong(f[1], &e) == -1) {
		upstream_fail(u, "bad message");
		return;
	}
	if (e < epoch || ((u->streaming || u->receiving) && e != epoch)) {
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
		if (l <= 0 || kv_record_epoch(f[3], (size_t)l, &last) == -1 ||
		    last > epoch || last < kv_epoch_at(kv, kv_count(kv))) {
			upstream_fail(u, "bad record");
			return;
		}
		CRASH_POINT("backup.received");
		kv_append(kv, f[3], (size_t)l);
		if (pos <= commit)
			learn_commit(pos);
	} else if (strcmp(f[0], "COMMIT") == 0 && n == 3 && u->streaming &&
	    parse_pos(f[2], &pos) == 0) {
		learn_commit(pos);
	} else if (strcmp(f[0], "INSYNC") == 0 && n == 2 && u->streaming) {
		/* We have applied every record committed: START and COMMIT
		 * told us so, and we apply what we have as it comes. */
		ready();
	} else if (strcmp(f[0], "CHUNK") == 0 && n == 3 && u->receiving) {
		long l = wire_unescape(f[2], len - (size_t)(f[2] - line));

		if (l < 0 || kv_receive_data(kv, f[2], (size_t)l) == -1)
			upstream_fail(u, "bad CHUNK");
	} else if (strcmp(f[0], "SNAPEND") == 0 && n == 2 && u->receiving) {
		on_snapend(u);
	} else if (strcmp(f[0], "SNAP") == 0 && n == 4 && !u->streaming &&
	    !u->receiving && parse_pos(f[2], &pos) == 0 &&
	    pos > kv_count(kv) && parse_ullong(f[3], &last) == 0) {
		epoch = e;
		u->receiving = 1;
		kv_receive_begin(kv, pos, (long long)last);
	} else if (strcmp(f[0], "START") == 0 && n == 5 && !u->streaming &&
	    !u->receiving &&
	    parse_pos(f[2], &pos) == 0 && pos == kv_count(kv) &&
	    lease_ack_parse(f[3]) != -1 && parse_pos(f[4], &end) == 0) {
		epoch = e;
		u->streaming = 1;
		st.ack = lease_ack_parse(f[3]);
		learn_commit(end);
		/*
		 * Say where we stand at once: a backup that is already
		 * caught up gets nothing streamed, so without this ACK it
		 * would never rejoin the in-sync set.
		 */
		wire_sendf(u->w, "ACK %llu %zu %zu", epoch, u->recv,
		    u->synced);
	} else if (strcmp(f[0], "TRUNC") == 0 && n == 4 && !u->streaming &&
	    !u->receiving &&
	    parse_ullong(f[2], &last) == 0 && parse_pos(f[3], &end) == 0)
		on_trunc(u, e, last, end);
	else
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

/* The commit point we can prove after a crash: what we applied and hold. */
static size_t
proven_commit(void)
{
	return min(kv_applied(kv), kv_durable(kv));
}

static long
tick(struct evloop *e, long long id, void *arg)
{
	(void)e;
	(void)id;
	(void)arg;
	if (role == PRIMARY) {
		lease_renew(lease, ev);
		if (lease_held(lease))
			check_lag();
		else
			step_down(lease_error(lease));
	} else
		backup_tick();
	serve_waits();
	member_note_commit(mem, proven_commit(), 0);
	kv_snapshot_tick(kv);
	return TICK_MS;
}

static long
retry_now(struct evloop *e, long long id, void *arg)
{
	(void)e;
	(void)id;
	(void)arg;
	next_look = 0;
	if (role == BACKUP && upstream == NULL)
		backup_tick();
	return -1;
}

/*
 * PUT KEY<TAB>VALUE, DEL KEY or APPEND PAYLOAD, each optionally followed
 * by <TAB>REQID.
 */
static void
on_client_write(struct conn *c, const char *verb, char *args)
{
	int want = verb[0] == 'P' ? 2 : 1, n;
	const char *op = verb[0] == 'P' ? "put" : verb[0] == 'D' ? "del" :
	    "append";
	struct reqid id;
	struct reply *r;
	size_t flen[3];
	char *f[3];

	n = wire_fields(args, f, flen, want + 1);
	if ((n != want && n != want + 1) || (verb[0] != 'A' && flen[0] == 0) ||
	    (n == want + 1 && reqid_parse(f[want], flen[want], &id) == -1)) {
		reply_fail(c, "bad arguments");
		return;
	}
	r = reply_expect(c);
	if (role != PRIMARY)
		redirect(c, r);
	else if (n == want + 1)
		do_request(c, r, op, &id, (const char *const *)f, flen, n);
	else
		do_write(c, r, op, (const char *const *)f, flen, n);
}

/* GET KEY (only the primary answers) or GETLOCAL KEY (any member). */
static void
on_client_read(struct conn *c, int local, char *args)
{
	struct waiter *wt;
	size_t flen[1];
	char *f[1];

	if (wire_fields(args, f, flen, 1) != 1 || flen[0] == 0) {
		reply_fail(c, "bad arguments");
		return;
	}
	if (role != PRIMARY && !local) {
		redirect(c, reply_expect(c));
		return;
	}
	wt = waiter_new(W_READ, c);
	wt->pos = c->last_write;
	wt->key = xstrdup(f[0]);
	wt->next = waits;
	waits = wt;
	serve_waits();
}

/* WAIT POS [MS]: answered once POS is applied here, or after MS. */
static void
on_client_wait(struct conn *c, char *args)
{
	unsigned long long ms = WAIT_MS;
	struct waiter *wt;
	size_t pos;
	char *f[2];
	int n;

	n = wire_split(args, f, 2);
	if (n < 1 || parse_pos(f[0], &pos) == -1 ||
	    (n == 2 && (parse_ullong(f[1], &ms) == -1 || ms > 86400000))) {
		reply_fail(c, "bad arguments");
		return;
	}
	wt = waiter_new(W_WAIT, c);
	wt->pos = pos;
	wt->deadline = ev_now_ms() + (long long)ms;
	wt->next = waits;
	waits = wt;
	serve_waits();
}

static void
on_client_status(struct conn *c)
{
	struct reply *r = reply_expect(c);

	if (role == PRIMARY)
		reply_fmt(c, r, "STATUS role=primary epoch=%llu id=%s "
		    "records=%zu applied=%zu snapshot=%zu digest=%08x "
		    "insync-backups=%zu", epoch, mem->id, kv_count(kv),
		    kv_applied(kv), kv_snapshot_pos(kv),
		    (unsigned)kv_digest(kv), insync_backups());
	else
		reply_fmt(c, r, "STATUS role=backup epoch=%llu id=%s "
		    "records=%zu applied=%zu snapshot=%zu digest=%08x "
		    "primary=%s", epoch, mem->id, kv_count(kv),
		    kv_applied(kv), kv_snapshot_pos(kv),
		    (unsigned)kv_digest(kv),
		    upstream != NULL && upstream->streaming ?
		    st.primary.sock : "-");
}

static void
on_client(struct conn *c, char *line)
{
	char *verb = line, *args, *sp;

	if (c->failed)
		return;
	if ((sp = strchr(line, ' ')) != NULL) {
		*sp = '\0';
		args = sp + 1;
	} else
		args = line + strlen(line);	/* "", but writable */
	if (strcmp(verb, "SYNC") == 0)
		on_sync(c, args);
	else if (strcmp(verb, "ACK") == 0)
		on_ack(c, args);
	else if (c->kind != CLIENT)
		wire_fail(c->w, "unexpected message from a backup");
	else if (strcmp(verb, "STATUS") == 0 && sp == NULL)
		on_client_status(c);
	else if (sp == NULL)
		reply_fail(c, strcmp(verb, "PUT") == 0 ||
		    strcmp(verb, "DEL") == 0 || strcmp(verb, "APPEND") == 0 ||
		    strcmp(verb, "GET") == 0 || strcmp(verb, "GETLOCAL") == 0 ||
		    strcmp(verb, "WAIT") == 0 ? "bad arguments" :
		    "unknown verb");
	else if (strcmp(verb, "PUT") == 0 || strcmp(verb, "DEL") == 0 ||
	    strcmp(verb, "APPEND") == 0)
		on_client_write(c, verb, args);
	else if (strcmp(verb, "GET") == 0 || strcmp(verb, "GETLOCAL") == 0)
		on_client_read(c, verb[3] == 'L', args);
	else if (strcmp(verb, "WAIT") == 0)
		on_client_wait(c, args);
	else
		reply_fail(c, "unknown verb");
}

/* A line of pipe-mode input: put, del or append, fields as in a shell. */
static void
on_pipe(struct conn *c, char *line)
{
	struct reply *r = reply_expect(c);
	char *f[3];
	size_t alen[2];
	int n;

	if (strncmp(line, "append", 6) == 0 &&
	    (line[6] == '\t' || line[6] == ' ')) {
		f[0] = line + 7;
		alen[0] = strlen(f[0]);
		do_write(c, r, "append", (const char *const *)f, alen, 1);
		return;
	}
	n = repl_split_cmd(line, f, 3);
	if (n == 3 && strcmp(f[0], "put") == 0 && *f[1] != '\0') {
		alen[0] = strlen(f[1]);
		alen[1] = strlen(f[2]);
		do_write(c, r, "put", (const char *const *)f + 1, alen, 2);
	} else if (n == 2 && strcmp(f[0], "del") == 0 && *f[1] != '\0') {
		alen[0] = strlen(f[1]);
		do_write(c, r, "del", (const char *const *)f + 1, alen, 1);
	} else
		reply_fmt(c, r, "fail\tbad command");
}

static void
on_line(struct wconn *w, char *line, size_t len, void *arg)
{
	struct conn *c = arg;

	(void)w;
	if (c->kind == UPSTREAM)
		upstream_line(c, line, len);
	else if (c->kind == PIPE)
		on_pipe(c, line);
	else
		on_client(c, line);
}

static void
on_close(struct wconn *w, void *arg)
{
	struct conn *c = arg, **p;

	if (c->snap_fd != -1)
		close(c->snap_fd);
	if (c->receiving)
		kv_receive_abort(kv);
	if (c == upstream) {
		upstream = NULL;
		/* A primary that served us may have died: look at once. */
		if (c->streaming)
			ev_add_timer(ev, 0, retry_now, NULL);
		/* One that refused our key will again: not at every tick. */
		if (wire_refused(w))
			follow_after = ev_now_ms() + REFUSED_MS;
	}
	for (p = &members; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	if (role == PRIMARY && c->kind == MEMBER && c->streaming &&
	    lease_insync(&st, c->id, c->sock) &&
	    find_member(c->id, c->sock) == NULL) {
		shrink(c->id, c->sock, "disconnected");
		advance_commit();
	}
	waiters_forget(c);
	replies_drop(c);
	free(c->id);
	free(c->sock);
	free(c);
}

static void
on_accept(struct evloop *e, int fd, int events, void *arg)
{
	int cfd;

	(void)e;
	(void)fd;
	(void)events;
	(void)arg;
	while ((cfd = sock_accept(listenfd, opt->any_uid)) != -1)
		conn_new(CLIENT, cfd, "client");
}

/*
 * Opens everything a member needs; returns with the socket listening.  A
 * member starts knowing the commit point its copy recorded, applied, and
 * the newest epoch its log shows, so it never follows an older primary.
 */
static void
setup(const struct repl_opts *o)
{
	daemon_stdio();
	opt = o;
	readyfd = o->readyfd;
	if (o->keyfile != NULL)
		auth_load_key(o->keyfile);
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
	kv_set_growth(kv, o->growth, o->snap_min);
	mem = member_open(o->dir, kv_count(kv));
	kv_apply(kv, mem->commit, NULL, NULL);
	/* What the snapshot holds was committed, whatever the file says. */
	commit = kv_applied(kv) > mem->commit ? kv_applied(kv) : mem->commit;
	epoch = kv_epoch_at(kv, kv_count(kv));
	lease = lease_open(o->lease);
	if (o->ttl_ms > 0)
		lease_set_ttl(lease, o->ttl_ms);
	lease_set_self(lease, mem->id, self);
	lease_read(lease, &st);		/* a malformed one stops us here */
	sock_set_timeout(o->lag_ms > 0 ? o->lag_ms : (long)st.lag_ms);
	listenfd = sock_listen(o->sock, o->mode);
	ev_add_fd(ev, listenfd, EV_READ, on_accept, NULL);
	started = ev_now_ms();
	if (o->pipe) {
		sock_nonblock(0);
		conn_new(PIPE, 0, "stdin");
	}
}

/* Runs until SIGTERM or SIGINT; closes cleanly and returns 0. */
static int
run(void)
{
	ev_add_timer(ev, TICK_MS, tick, NULL);
	ev_run(ev);
	kv_flush(kv);
	out_flush();
	member_note_commit(mem, proven_commit(), 1);
	wire_drain(200);
	if (role == PRIMARY)
		lease_release(lease);	/* handover now, not after the TTL */
	kv_close(kv);		/* and a snapshot being written with it */
	close(listenfd);
	if (sock_unlink(opt->sock) == -1)
		warn("%s", opt->sock);
	return EXIT_OK;
}

/* May we start as primary (lease_decide_fn)?  Not if we may lack writes. */
static int
may_start(struct lease_state *s, void *arg)
{
	if (s->epoch > 0 && !lease_insync(s, mem->id, self)) {
		*(int *)arg = 1;
		return 0;
	}
	CRASH_POINT("takeover.locked");
	return primary_state(s, NULL);
}

int
repl_primary(const struct repl_opts *o)
{
	long long until;
	int rc, refused = 0;

	setup(o);
	/* A backup checking the lease holds it for a moment. */
	until = ev_now_ms() + 1000;
	while ((rc = lease_take(lease, &st, may_start, &refused)) != 1) {
		if (refused) {
			sock_unlink(o->sock);
			errx(EXIT_FAIL, "%s (member %.8s) is not in the in-sync "
			    "set of %s: it may lack acknowledged writes; start "
			    "it as repl-backup", o->sock, mem->id, o->lease);
		}
		if (ev_now_ms() >= until) {
			sock_unlink(o->sock);
			if (rc == -2)
				errx(EXIT_UNAVAIL, "%s", lease_error(lease));
			errx(EXIT_UNAVAIL, "%s: the lease is held by another "
			    "primary", o->lease);
		}
		usleep(25000);
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

/* Prints why an option's argument is bad; returns -1 (a usage error). */
static int
bad_arg(int ch, const char *arg, const char *what)
{
	warnx("-%c %s: %s", ch, arg, what);
	return -1;
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
	o->growth = 100;
	o->snap_min = LOG_CHECKPOINT_MIN;
	while ((ch = getopt(argc, argv, "Aa:d:G:g:hK:k:L:m:nopr:Ss:T:t:uV")) !=
	    -1) {
		switch (ch) {
		case 'A':
		case 'u':
			o->any_uid = 1;
			break;
		case 'a':
			if ((o->ack = lease_ack_parse(optarg)) == -1)
				return bad_arg(ch, optarg, "not an ack level "
				    "(none, recv or fsync)");
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'G':
			if (parse_ulong(optarg, 0, LOG_MAX_RECORD, &v) == -1)
				return bad_arg(ch, optarg, "not a log size in "
				    "bytes from 0 to 67108864");
			o->snap_min = v;
			break;
		case 'g':
			if (parse_ulong(optarg, 0, 100000, &v) == -1)
				return bad_arg(ch, optarg, "not a percentage of "
				    "log growth from 0 to 100000 (0: no "
				    "snapshots)");
			o->growth = v;
			break;
		case 'h':
			return 'h';
		case 'K':
			o->keyfile = optarg;
			break;
		case 'k':
			if (parse_ulong(optarg, 0, 1000, &v) == -1)
				return bad_arg(ch, optarg, "not a number of "
				    "backups from 0 to 1000");
			o->k = (long)v;
			break;
		case 'L':
			o->lease = optarg;
			break;
		case 'm':
			if (sock_parse_mode(optarg, &o->mode) == -1)
				return bad_arg(ch, optarg, "not an octal mode");
			break;
		case 'n':
		case 'S':
			o->nosync = 1;
			break;
		case 'o':
			o->print = 1;
			break;
		case 'p':
			if (!pipe_ok) {
				warnx("-p: pipe mode is repl-primary's");
				return -1;
			}
			o->pipe = 1;
			break;
		case 'r':
			o->readyfd = daemon_parse_fd(optarg);
			break;
		case 's':
			o->sock = optarg;
			break;
		case 'T':
			if (parse_ulong(optarg, 2, 3600, &v) == -1)
				return bad_arg(ch, optarg, "not a lease TTL in "
				    "seconds from 2 to 3600");
			o->ttl_ms = (long)v * 1000;
			break;
		case 't':
			if (parse_ulong(optarg, 1, 86400000, &v) == -1)
				return bad_arg(ch, optarg, "not a lag in ms "
				    "from 1 to 86400000");
			o->lag_ms = (long)v;
			break;
		case 'V':
			print_version();
			break;
		default:
			return -1;
		}
	}
	if (optind != argc) {
		warnx("unexpected operand: %s", argv[optind]);
		return -1;
	}
	if (o->dir == NULL || o->sock == NULL || o->lease == NULL) {
		warnx("-d, -s and -L are required");
		return -1;
	}
	return 0;
}
