#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "crash.h"
#include "crc32c.h"
#include "durable.h"
#include "evloop.h"
#include "kvlog.h"
#include "log.h"
#include "reqid.h"
#include "snapshot.h"
#include "strmap.h"
#include "util.h"
#include "wire.h"

#define LOG_MAGIC_LEN	8
#define LOG_HDR_LEN	8
#define FORK_RETRY_MS	1000	/* after a failed fork, try again then */
#define SNAPSHOT_RETRY_MS 10000	/* after a failed snapshot */
#define RETIRED_MAX	4

/* A record held: LEN bytes at OFF in the kvlog's data. */
struct krec {
	size_t off, len;
	long long end;		/* the log file's size once this record is in */
	long long durable_at;
};

/* Epoch EPOCH's records begin at position START. */
struct epoch_start {
	unsigned long long epoch;
	size_t start;
};

/*
 * What a snapshot holds, and more: the state after the records up to
 * APPLIED, with the epochs of every record held.
 */
struct kvstate {
	size_t applied;
	uint32_t digest;		/* of the records up to applied */
	struct strmap *map;
	struct reqid_table *reqs;	/* ids of the records up to applied */
	struct epoch_start *ep;		/* in order, up to kv_count() */
	size_t nep, epcap;
};

struct kvlog {
	char *path, *snap, *snapnew, *snaprecv;	/* DIR/log, DIR/snapshot... */
	struct hlog *log;
	struct kvstate st;
	struct reqid_table *pending;	/* ids of records not yet applied */
	struct krec *rec;		/* rec[i] is position first + i */
	size_t first, n, cap;
	char *data;			/* the records held, end to end */
	size_t dlen, dcap;
	long long first_off;		/* where rec[0] begins in the file */
	size_t durable;
	long long dropped_at;		/* durable_at of the newest dropped */
	int replayed;			/* records kv_open has read */
	unsigned long long last_epoch;	/* of the last record read */
	size_t snap_pos;		/* DIR/snapshot's, 0 if none */
	size_t snap_size;
	int snap_fd;			/* DIR/snapshot, or -1 */
	int retired[RETIRED_MAX];	/* replaced files, to close in a fork */
	int nretired;
	pid_t child;			/* writing DIR/snapshot.new, or 0 */
	size_t child_pos, child_keys;
	double fork_ms;
	long long retry_at;		/* no fork before then */
	int recv_fd;			/* DIR/snapshot.recv, or -1 */
	size_t recv_pos;
	long long recv_size, recv_got;
};

int
kv_record_epoch(const char *rec, size_t len, unsigned long long *epoch)
{
	unsigned long long e = 0;
	size_t i;

	for (i = 0; i < len && rec[i] >= '0' && rec[i] <= '9'; i++) {
		if (e > (~0ULL - 9) / 10)
			return -1;
		e = e * 10 + (unsigned long long)(rec[i] - '0');
	}
	if (i == 0 || i == len || rec[i] != '\t')
		return -1;
	*epoch = e;
	return 0;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* --- the state --- */

static void
state_init(struct kvstate *st)
{
	memset(st, 0, sizeof(*st));
	st->map = strmap_new();
	st->reqs = reqid_new();
}

static void
free_val(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	free(val);
}

static void
state_free(struct kvstate *st)
{
	strmap_each(st->map, free_val, NULL);
	strmap_free(st->map);
	reqid_free(st->reqs);
	free(st->ep);
}

/* Notes that the record at POS has EPOCH (no older than the last's). */
static void
note_epoch(struct kvstate *st, unsigned long long epoch, size_t pos)
{
	if (st->nep > 0 && st->ep[st->nep - 1].epoch >= epoch)
		return;
	if (st->nep == st->epcap) {
		st->epcap = st->epcap ? 2 * st->epcap : 16;
		st->ep = xrealloc(st->ep, st->epcap * sizeof(*st->ep));
	}
	st->ep[st->nep].epoch = epoch;
	st->ep[st->nep++].start = pos;
}

static unsigned long long
epoch_at(const struct kvstate *st, size_t pos)
{
	size_t i = st->nep;

	while (i > 0 && st->ep[i - 1].start > pos)
		i--;
	return i == 0 ? 0 : st->ep[i - 1].epoch;
}

/* The history's digest after one more record (see kv_digest). */
static uint32_t
digest_next(uint32_t digest, const char *rec, size_t len)
{
	unsigned char n[4];

	n[0] = len & 0xff;
	n[1] = (len >> 8) & 0xff;
	n[2] = (len >> 16) & 0xff;
	n[3] = (len >> 24) & 0xff;
	return crc32c(crc32c(digest, n, 4), rec, len);
}

/*
 * Notes in T the request id of the client write REC at POS, if it has one:
 * a field after the arguments its operation takes (put KEY VALUE, del KEY,
 * append PAYLOAD).
 */
static void
note_request(struct reqid_table *t, const char *rec, size_t len, size_t pos)
{
	const char *p = memchr(rec, '\t', len), *end = rec + len;
	const char *field[5];
	struct reqid id;
	int n = 0, arity;

	while (p != NULL && n < 5) {
		field[n++] = ++p;
		p = memchr(p, '\t', (size_t)(end - p));
	}
	if (n < 2 || n == 5)
		return;
	if (strncmp(field[0], "put\t", 4) == 0)
		arity = 2;
	else if (strncmp(field[0], "del\t", 4) == 0 ||
	    strncmp(field[0], "append\t", 7) == 0)
		arity = 1;
	else
		return;
	if (n == arity + 2 &&
	    reqid_parse(field[n - 1], (size_t)(end - field[n - 1]), &id) == 0)
		reqid_note(t, &id, pos);
}

/* Splits the record's arguments (after EPOCH and OP) in place. */
static int
split_args(char *s, char **arg, size_t *alen, int max)
{
	int n = 0;
	char *tab;

	while (n < max) {
		arg[n] = s;
		tab = strchr(s, '\t');
		if (tab != NULL)
			*tab = '\0';
		long l = wire_unescape(s, strlen(s));
		if (l < 0)
			return -1;
		alen[n++] = (size_t)l;
		if (tab == NULL)
			break;
		s = tab + 1;
	}
	return n;
}

static void
map_put(struct strmap *map, const char *key, const char *val, size_t len)
{
	struct kvval *v = xmalloc(sizeof(*v) + len + 1);

	v->len = len;
	memcpy(v->data, val, len);
	v->data[len] = '\0';
	free(strmap_del(map, key));
	strmap_put(map, key, v);
}

/* Applies one record to the map. */
static void
apply_one(struct strmap *map, const char *rec, size_t len)
{
	char *copy = xmemdup(rec, len), *op, *tab, *arg[2];
	size_t alen[2];

	op = strchr(copy, '\t') + 1;
	if ((tab = strchr(op, '\t')) == NULL)
		goto out;
	*tab = '\0';
	if (strcmp(op, "put") == 0) {
		if (split_args(tab + 1, arg, alen, 2) == 2)
			map_put(map, arg[0], arg[1], alen[1]);
	} else if (strcmp(op, "del") == 0) {
		if (split_args(tab + 1, arg, alen, 1) == 1)
			free(strmap_del(map, arg[0]));
	}
out:
	free(copy);
}

/* --- snapshot files --- */

/* What a snapshot says, as it is read. */
struct reading {
	struct kvstate *st;
	int have;		/* bits: position, digest */
};

/* One line of a snapshot (snapshot_line_fn). */
static int
snapshot_line(void *arg, int nf, char **f, size_t *len)
{
	struct reading *r = arg;
	struct kvstate *st = r->st;
	unsigned long long e;
	struct reqid id;
	size_t pos;
	char *end;

	if (nf == 2 && strcmp(f[0], "position") == 0 && !(r->have & 1) &&
	    parse_pos(f[1], &st->applied) == 0)
		r->have |= 1;
	else if (nf == 2 && strcmp(f[0], "digest") == 0 && len[1] == 8 &&
	    !(r->have & 2)) {
		st->digest = (uint32_t)strtoul(f[1], &end, 16);
		if (*end != '\0')
			return -1;
		r->have |= 2;
	} else if (nf == 3 && strcmp(f[0], "epoch") == 0 && r->have & 1 &&
	    parse_ullong(f[1], &e) == 0 && parse_pos(f[2], &pos) == 0 &&
	    pos > 0 && pos <= st->applied) {
		if (st->nep > 0 && (st->ep[st->nep - 1].epoch >= e ||
		    st->ep[st->nep - 1].start >= pos))
			return -1;
		note_epoch(st, e, pos);
	} else if (nf == 3 && strcmp(f[0], "request") == 0 && r->have & 1 &&
	    reqid_parse(f[1], len[1], &id) == 0 &&
	    parse_pos(f[2], &pos) == 0 && pos > 0 && pos <= st->applied)
		reqid_note(st->reqs, &id, pos);
	else if (nf == 3 && strcmp(f[0], "put") == 0 && len[0] == 3 &&
	    len[1] > 0 && strlen(f[1]) == len[1])
		map_put(st->map, f[1], f[2], len[2]);
	else
		return -1;
	return 0;
}

/*
 * Loads the snapshot at PATH into ST (made here).  Returns 1, 0 if there
 * is none (ST is then empty), or -1 with the reason in *WHY (ST freed).
 */
static int
load_snapshot(const char *path, struct kvstate *st, const char **why)
{
	struct reading r = { st, 0 };
	int rc;

	state_init(st);
	rc = snapshot_read(path, snapshot_line, &r, why);
	if (rc == 1 && r.have != 3) {
		*why = "it lacks its position or digest";
		rc = -1;
	}
	if (rc == -1)
		state_free(st);
	return rc;
}

struct saving {
	struct snapshot_writer *w;
	size_t pos;
};

static void
save_request(void *arg, const struct reqid *id, size_t pos)
{
	struct saving *s = arg;
	char idbuf[REQID_CLIENT_MAX + 24], posbuf[24];

	snprintf(idbuf, sizeof(idbuf), "%s:%llu", id->client, id->seq);
	snprintf(posbuf, sizeof(posbuf), "%zu", pos);
	snapshot_addv(s->w, "request", idbuf, posbuf, NULL);
}

static void
save_value(const char *key, void *val, void *arg)
{
	struct saving *s = arg;
	const struct kvval *v = val;
	const char *f[3] = { "put", key, v->data };
	size_t len[3] = { 3, strlen(key), v->len };

	snapshot_add(s->w, 3, f, len);
}

/* Writes ST as a snapshot on FD and syncs it; see snapshot_end. */
static int
write_snapshot(const struct kvstate *st, int fd, const char **what)
{
	struct saving s = { snapshot_begin(fd), st->applied };
	char a[24], b[24];
	size_t i;

	snprintf(a, sizeof(a), "%zu", st->applied);
	snapshot_addv(s.w, "position", a, NULL);
	snprintf(a, sizeof(a), "%08x", (unsigned)st->digest);
	snapshot_addv(s.w, "digest", a, NULL);
	for (i = 0; i < st->nep && st->ep[i].start <= st->applied; i++) {
		snprintf(a, sizeof(a), "%llu", st->ep[i].epoch);
		snprintf(b, sizeof(b), "%zu", st->ep[i].start);
		snapshot_addv(s.w, "epoch", a, b, NULL);
	}
	reqid_each(st->reqs, save_request, &s);
	strmap_each(st->map, save_value, &s);
	return snapshot_end(s.w, what);
}

/* Removes PATH, left by a crash, if it is there. */
static void
sweep(const char *path)
{
	if (unlink(path) == 0)
		warnx("removed %s, left by a snapshot a crash interrupted",
		    path);
	else if (errno != ENOENT)
		err(EXIT_FAIL, "%s", path);
}

/* --- records --- */

static void
push(struct kvlog *kv, const char *rec, size_t len)
{
	struct krec *r;

	if (kv->n == kv->cap) {
		kv->cap = kv->cap ? 2 * kv->cap : 1024;
		kv->rec = xrealloc(kv->rec, kv->cap * sizeof(*kv->rec));
	}
	if (kv->dcap - kv->dlen < len) {
		kv->dcap = 2 * (kv->dlen + len) + 65536;
		kv->data = xrealloc(kv->data, kv->dcap);
	}
	r = &kv->rec[kv->n];
	r->off = kv->dlen;
	r->len = len;
	memcpy(kv->data + kv->dlen, rec, len);
	kv->dlen += len;
	r->end = (kv->n ? kv->rec[kv->n - 1].end : kv->first_off) +
	    LOG_HDR_LEN + (long long)len;
	r->durable_at = 0;
	kv->n++;
}

/* The payload of the I-th record held. */
static const char *
payload(const struct kvlog *kv, size_t i)
{
	return kv->data + kv->rec[i].off;
}

/*
 * Drops the first N records held (the snapshot has them): only the
 * records kept are moved.
 */
static void
drop(struct kvlog *kv, size_t n)
{
	size_t i, off;

	if (n == 0)
		return;
	kv->dropped_at = kv->rec[n - 1].durable_at;
	kv->first_off = kv->rec[n - 1].end;
	off = n < kv->n ? kv->rec[n].off : kv->dlen;
	memmove(kv->data, kv->data + off, kv->dlen - off);
	kv->dlen -= off;
	memmove(kv->rec, kv->rec + n, (kv->n - n) * sizeof(*kv->rec));
	kv->n -= n;
	kv->first += n;
	for (i = 0; i < kv->n; i++)
		kv->rec[i].off -= off;
}

/*
 * Keeps FD, a replaced file's descriptor, open until the next fork: the
 * child then holds it last, and its exit, not our close, frees the blocks.
 */
static void
retire(struct kvlog *kv, int fd)
{
	if (fd == -1)
		return;
	if (kv->nretired == RETIRED_MAX)
		close(kv->retired[--kv->nretired]);
	kv->retired[kv->nretired++] = fd;
}

/*
 * Holds DIR/snapshot, of the state at POS, open (replacing it then frees
 * nothing here; the one held before is retired) and counts its size as
 * the state kept beside the log.
 */
static void
hold_snapshot(struct kvlog *kv, size_t pos)
{
	struct stat sb;

	retire(kv, kv->snap_fd);
	kv->snap_pos = pos;
	if ((kv->snap_fd = open(kv->snap, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			err(EXIT_FAIL, "%s", kv->snap);
		return;
	}
	if (fstat(kv->snap_fd, &sb) == -1)
		err(EXIT_FAIL, "%s", kv->snap);
	kv->snap_size = (size_t)sb.st_size;
	log_set_outside(kv->log, kv->snap_size);
}

/* What a log rewrite keeps: records after POS (log_keep_fn). */
struct keeping {
	struct kvlog *kv;
	size_t pos;
};

static void
keep_after(struct hlog *l, void *arg)
{
	struct keeping *k = arg;
	size_t i;

	log_appendf(l, LOG_KEEP, NULL, NULL, "base\t%zu", k->pos);
	for (i = k->pos + 1; i <= kv_count(k->kv); i++)
		log_keep(l, payload(k->kv, i - k->kv->first),
		    k->kv->rec[i - k->kv->first].len);
}

/*
 * Rewrites the log to begin after position POS (a base record, then the
 * records held after POS) and drops the records held up to it.
 */
static void
rebase(struct kvlog *kv, size_t pos)
{
	struct keeping k = { kv, pos };
	long long off;
	size_t i;

	retire(kv, log_checkpoint_retire(kv->log, keep_after, &k));
	drop(kv, pos + 1 > kv_count(kv) ? kv->n : pos + 1 - kv->first);
	kv->first = pos + 1;
	off = LOG_MAGIC_LEN + LOG_HDR_LEN + snprintf(NULL, 0, "base\t%zu", pos);
	kv->first_off = off;
	for (i = 0; i < kv->n; i++) {
		off += LOG_HDR_LEN + (long long)kv->rec[i].len;
		kv->rec[i].end = off;
	}
}

/*
 * Stops on a data directory that cannot be used as it is: says what is
 * wrong, and what the operator can do.
 */
static void __attribute__((noreturn, format(printf, 2, 3)))
unusable(const struct kvlog *kv, const char *fmt, ...)
{
	int dirlen = (int)(strlen(kv->path) - strlen("/log"));
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	errx(EXIT_USAGE, "%.*s: restore it from a copy, or start this member "
	    "on an empty directory: it then joins as a new member and gets "
	    "the data from the primary", dirlen, kv->path);
}

/* A record as log_open() replays it: a base record may come first. */
static void
on_replay(void *arg, const char *rec, size_t len)
{
	struct kvlog *kv = arg;
	unsigned long long epoch;
	char *s;

	if (kv->replayed++ == 0 && len > 5 && strncmp(rec, "base\t", 5) == 0) {
		s = xmemdup(rec + 5, len - 5);
		if (parse_pos(s, &kv->first) == -1)
			unusable(kv, "%s: bad base record", kv->path);
		free(s);
		kv->first++;
		kv->first_off = LOG_MAGIC_LEN + LOG_HDR_LEN + (long long)len;
		return;
	}
	if (kv_record_epoch(rec, len, &epoch) == -1 || epoch < kv->last_epoch)
		unusable(kv, "%s: bad record at position %zu", kv->path,
		    kv->first + kv->n);
	kv->last_epoch = epoch;
	push(kv, rec, len);
}

/*
 * Joins the log read to the snapshot loaded: the records the snapshot
 * holds are dropped (a log rewrite a crash interrupted), once checked to
 * be of the epochs it says; the others are the history after it.
 */
static void
follow_snapshot(struct kvlog *kv, const char *dir)
{
	unsigned long long epoch;
	size_t i, pos, held;

	if (kv->first - 1 > kv->snap_pos)
		unusable(kv, "%s: the log begins after position %zu, but "
		    "%s/snapshot %s", kv->path, kv->first - 1, dir,
		    kv->snap_pos ? "is older" : "is missing");
	if (kv_count(kv) < kv->snap_pos) {
		/*
		 * The log ends before the snapshot: one installed from the
		 * primary, and we died before the log was rewritten.  The
		 * snapshot replaces all of it, and the file must say where
		 * it begins before anything is appended to it, or the next
		 * start would number new records from the old ones' end.
		 */
		rebase(kv, kv->snap_pos);
		warnx("%s: rewritten to begin after %s/snapshot's position %zu",
		    kv->path, dir, kv->snap_pos);
		return;
	}
	for (held = 0; held < kv->n && kv->first + held <= kv->snap_pos;
	    held++) {
		pos = kv->first + held;
		(void)kv_record_epoch(payload(kv, held), kv->rec[held].len,
		    &epoch);
		if (epoch != epoch_at(&kv->st, pos))
			unusable(kv, "%s: the record at position %zu is "
			    "not of the epoch %s/snapshot says", kv->path, pos,
			    dir);
	}
	drop(kv, held);
	for (i = 0; i < kv->n; i++) {
		pos = kv->first + i;
		(void)kv_record_epoch(payload(kv, i), kv->rec[i].len, &epoch);
		if (epoch < epoch_at(&kv->st, pos - 1))
			unusable(kv, "%s: bad record at position %zu",
			    kv->path, pos);
		note_epoch(&kv->st, epoch, pos);
		note_request(kv->pending, payload(kv, i), kv->rec[i].len, pos);
	}
}

struct kvlog *
kv_open(const char *dir, int nosync)
{
	struct kvlog *kv = xcalloc(1, sizeof(*kv));
	const char *why;

	kv->path = xasprintf("%s/log", dir);
	kv->snap = xasprintf("%s/snapshot", dir);
	kv->snapnew = xasprintf("%s/snapshot.new", dir);
	kv->snaprecv = xasprintf("%s/snapshot.recv", dir);
	kv->first = 1;
	kv->first_off = LOG_MAGIC_LEN;
	kv->recv_fd = -1;
	kv->snap_fd = -1;
	kv->pending = reqid_new();
	kv->log = log_open(kv->path, on_replay, kv);
	log_set_nosync(kv->log, nosync);
	/* The log is locked: no other process writes these files now. */
	sweep(kv->snapnew);
	sweep(kv->snaprecv);
	if (load_snapshot(kv->snap, &kv->st, &why) == -1)
		unusable(kv, "%s: %s", kv->snap, why);
	hold_snapshot(kv, kv->st.applied);
	follow_snapshot(kv, dir);
	kv->durable = kv_count(kv);
	return kv;
}

void
kv_set_growth(struct kvlog *kv, unsigned long percent, size_t min)
{
	log_set_growth(kv->log, percent);
	log_set_checkpoint_min(kv->log, min);
}

static void
on_durable(void *arg)
{
	struct kvlog *kv = arg;

	kv->rec[kv->durable++ - (kv->first - 1)].durable_at = ev_now_ms();
}

size_t
kv_append(struct kvlog *kv, const char *rec, size_t len)
{
	unsigned long long epoch;
	size_t pos = kv_count(kv) + 1;

	if (kv_record_epoch(rec, len, &epoch) == -1 ||
	    epoch < kv_epoch_at(kv, pos - 1))
		errx(EXIT_FAIL, "%s: refusing a malformed record", kv->path);
	push(kv, rec, len);
	note_epoch(&kv->st, epoch, pos);
	note_request(kv->pending, rec, len, pos);
	log_append(kv->log, rec, len, on_durable, kv);
	return pos;
}

void
kv_flush(struct kvlog *kv)
{
	log_flush(kv->log);
}

size_t
kv_count(const struct kvlog *kv)
{
	return kv->first - 1 + kv->n;
}

size_t
kv_durable(const struct kvlog *kv)
{
	return kv->durable;
}

size_t
kv_applied(const struct kvlog *kv)
{
	return kv->st.applied;
}

size_t
kv_oldest(const struct kvlog *kv)
{
	return kv->first;
}

const char *
kv_record(const struct kvlog *kv, size_t pos, size_t *len)
{
	*len = kv->rec[pos - kv->first].len;
	return payload(kv, pos - kv->first);
}

unsigned long long
kv_epoch_at(const struct kvlog *kv, size_t pos)
{
	return epoch_at(&kv->st, pos);
}

long long
kv_durable_at(const struct kvlog *kv, size_t pos)
{
	return pos < kv->first ? kv->dropped_at :
	    kv->rec[pos - kv->first].durable_at;
}

size_t
kv_end_of_epoch(const struct kvlog *kv, unsigned long long epoch,
    unsigned long long *last)
{
	const struct kvstate *st = &kv->st;
	size_t i = st->nep;

	while (i > 0 && st->ep[i - 1].epoch > epoch)
		i--;
	if (i == 0) {
		*last = 0;
		return 0;
	}
	*last = st->ep[i - 1].epoch;
	return i == st->nep ? kv_count(kv) : st->ep[i].start - 1;
}

/* Kills a snapshot's child, if one is running, and removes its file. */
static void
stop_child(struct kvlog *kv)
{
	if (kv->child == 0)
		return;
	kill(kv->child, SIGKILL);
	while (waitpid(kv->child, NULL, 0) == -1 && errno == EINTR)
		;
	kv->child = 0;
	(void)unlink(kv->snapnew);
}

void
kv_close(struct kvlog *kv)
{
	stop_child(kv);
	kv_receive_abort(kv);
	log_close(kv->log);
	while (kv->nretired > 0)
		close(kv->retired[--kv->nretired]);
	if (kv->snap_fd != -1)
		close(kv->snap_fd);
	free(kv->rec);
	free(kv->data);
	state_free(&kv->st);
	reqid_free(kv->pending);
	free(kv->path);
	free(kv->snap);
	free(kv->snapnew);
	free(kv->snaprecv);
	free(kv);
}

void
kv_truncate(struct kvlog *kv, size_t pos)
{
	struct kvstate *st = &kv->st;
	size_t i;

	if (pos >= kv_count(kv))
		return;
	if (pos < st->applied)
		errx(EXIT_FAIL, "%s: refusing to cut applied records", kv->path);
	log_truncate(kv->log, pos < kv->first ? kv->first_off :
	    kv->rec[pos - kv->first].end);
	kv->n = pos + 1 - kv->first;
	kv->dlen = kv->n > 0 ? kv->rec[kv->n - 1].off + kv->rec[kv->n - 1].len :
	    0;
	if (kv->durable > pos)
		kv->durable = pos;
	while (st->nep > 0 && st->ep[st->nep - 1].start > pos)
		st->nep--;
	reqid_clear(kv->pending);
	for (i = st->applied + 1; i <= pos; i++)
		note_request(kv->pending, payload(kv, i - kv->first),
		    kv->rec[i - kv->first].len, i);
}

void
kv_apply(struct kvlog *kv, size_t pos, kv_apply_fn *fn, void *arg)
{
	struct kvstate *st = &kv->st;
	const char *rec;
	size_t i, len;

	if (pos > kv_count(kv))
		pos = kv_count(kv);
	while (st->applied < pos) {
		i = st->applied + 1 - kv->first;
		rec = payload(kv, i);
		len = kv->rec[i].len;
		st->applied++;
		apply_one(st->map, rec, len);
		note_request(st->reqs, rec, len, st->applied);
		st->digest = digest_next(st->digest, rec, len);
		if (fn != NULL)
			fn(arg, st->applied, rec, len);
	}
	/* Every id of a record appended is now among the applied ones. */
	if (st->applied == kv_count(kv))
		reqid_clear(kv->pending);
}

uint32_t
kv_digest(const struct kvlog *kv)
{
	return kv->st.digest;
}

enum reqid_state
kv_request(const struct kvlog *kv, const struct reqid *id, size_t *pos)
{
	enum reqid_state s = reqid_find(kv->pending, id, pos);

	return s != REQID_NEW ? s : reqid_find(kv->st.reqs, id, pos);
}

const struct kvval *
kv_get(const struct kvlog *kv, const char *key)
{
	return strmap_get(kv->st.map, key);
}

char *
kv_encode(unsigned long long epoch, const char *op, int narg,
    const char *const *arg, const size_t *alen, size_t *len)
{
	size_t cap = 48 + strlen(op), n;
	char *buf;
	int i;

	for (i = 0; i < narg; i++)
		cap += 1 + 2 * alen[i];
	buf = xmalloc(cap);
	n = (size_t)snprintf(buf, cap, "%llu\t%s", epoch, op);
	for (i = 0; i < narg; i++) {
		buf[n++] = '\t';
		n += wire_escape(arg[i], alen[i], buf + n);
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* --- taking snapshots --- */

/*
 * Makes the synced snapshot file TMP, of the state at POS, DIR/snapshot
 * (passing crash point RENAMED once that is durable), then rewrites the
 * log without the records before POS.  Exits 1 on failure.
 */
static void
adopt(struct kvlog *kv, const char *tmp, size_t pos, const char *renamed)
{
	if (rename(tmp, kv->snap) == -1)
		err(EXIT_FAIL, "%s: rename to %s", tmp, kv->snap);
	if (fsync_parent(kv->snap) == -1)
		err(EXIT_FAIL, "%s: fsync the directory", kv->snap);
	hold_snapshot(kv, pos);
	CRASH_POINT(renamed);
	rebase(kv, pos);
}

static int
is_retired(const struct kvlog *kv, int fd)
{
	int i;

	for (i = 0; i < kv->nretired; i++)
		if (kv->retired[i] == fd)
			return 1;
	return 0;
}

/*
 * The snapshot child: writes the state it was forked with to FD, syncs
 * it and exits 0, or says why not and exits 1.  It holds none of the
 * parent's descriptors (sockets, locks, pipes), so that they close when
 * the parent dies, but the retired files', which its exit frees; on Linux
 * it dies with the parent.
 */
static void __attribute__((noreturn))
snapshot_child(const struct kvlog *kv, int fd, pid_t parent)
{
	long max = sysconf(_SC_OPEN_MAX), i;
	const char *what;

#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	if (getppid() != parent)
		_exit(EXIT_FAIL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	for (i = 0; i < (max > 0 && max < 65536 ? max : 65536); i++)
		if (i != fd && i != STDERR_FILENO && !is_retired(kv, (int)i))
			close((int)i);
	if (write_snapshot(&kv->st, fd, &what) == -1) {
		warn("%s: %s", kv->snapnew, what);
		_exit(EXIT_FAIL);
	}
	_exit(EXIT_OK);
}

/* Forks a child to write the state as it is now (see kvlog.h). */
static void
snapshot_start(struct kvlog *kv)
{
	double t0 = now_ms();
	pid_t parent = getpid(), pid;
	int fd;

	/* Made here, so a child outliving us writes only its own file. */
	if (unlink(kv->snapnew) == -1 && errno != ENOENT)
		err(EXIT_FAIL, "%s", kv->snapnew);
	if ((fd = open(kv->snapnew, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1)
		err(EXIT_FAIL, "%s", kv->snapnew);
	if ((pid = fork()) == -1) {
		warn("%s: fork (trying again in a second)", kv->snapnew);
		close(fd);
		(void)unlink(kv->snapnew);
		kv->retry_at = ev_now_ms() + FORK_RETRY_MS;
		return;
	}
	if (pid == 0)
		snapshot_child(kv, fd, parent);
	close(fd);
	while (kv->nretired > 0)
		close(kv->retired[--kv->nretired]);
	kv->child = pid;
	kv->child_pos = kv->st.applied;
	kv->child_keys = strmap_count(kv->st.map);
	kv->fork_ms = now_ms() - t0;
}

/* Finishes the snapshot if its child is done. */
static void
snapshot_reap(struct kvlog *kv)
{
	double t0;
	pid_t r;
	int st;

	if (kv->child == 0 || (r = waitpid(kv->child, &st, WNOHANG)) == 0)
		return;
	if (r == -1) {
		if (errno == EINTR)
			return;
		err(EXIT_FAIL, "%s: waitpid", kv->snapnew);
	}
	kv->child = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		/*
		 * Only the new file failed (a full disk, an I/O error, the
		 * child killed): the log holds everything, so serve on, as
		 * Redis does after a failed rewrite, and try again later.
		 */
		(void)unlink(kv->snapnew);
		warnx("%s: the snapshot at position %zu failed (%s %d); %s "
		    "and the log are as they were; trying again in %d s",
		    kv->snapnew, kv->child_pos,
		    WIFEXITED(st) ? "exit status" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), kv->snap,
		    SNAPSHOT_RETRY_MS / 1000);
		kv->retry_at = ev_now_ms() + SNAPSHOT_RETRY_MS;
		return;
	}
	t0 = now_ms();
	CRASH_POINT("snapshot.written");
	adopt(kv, kv->snapnew, kv->child_pos, "snapshot.renamed");
	warnx("snapshot at position %zu: %zu keys, %zu bytes; the log "
	    "now holds %zu records; paused %.1f ms to fork, %.1f ms to "
	    "rewrite the log", kv->child_pos, kv->child_keys, kv->snap_size,
	    kv->n, kv->fork_ms, now_ms() - t0);
}

void
kv_snapshot_tick(struct kvlog *kv)
{
	const struct kvstate *st = &kv->st;

	snapshot_reap(kv);
	/*
	 * Due by the growth rule, and worth it: it drops at least as many
	 * records as the log keeps after it (not, say, at the start of a
	 * batch most of which is not applied yet).
	 */
	if (kv->child == 0 && kv->recv_fd == -1 &&
	    st->applied > kv->snap_pos &&
	    st->applied - kv->snap_pos >= kv_count(kv) - st->applied &&
	    ev_now_ms() >= kv->retry_at && log_checkpoint_due(kv->log))
		snapshot_start(kv);
}

size_t
kv_snapshot_pos(const struct kvlog *kv)
{
	return kv->snap_pos;
}

int
kv_snapshot_open(const struct kvlog *kv, size_t *pos, long long *size)
{
	struct stat sb;
	int fd;

	if ((fd = open(kv->snap, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		warn("%s", kv->snap);
		if (fd != -1)
			close(fd);
		return -1;
	}
	*pos = kv->snap_pos;
	*size = (long long)sb.st_size;
	return fd;
}

/* --- receiving snapshots --- */

void
kv_receive_begin(struct kvlog *kv, size_t pos, long long size)
{
	kv_receive_abort(kv);
	kv->recv_fd = open(kv->snaprecv, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644);
	if (kv->recv_fd == -1)
		err(EXIT_FAIL, "%s", kv->snaprecv);
	kv->recv_pos = pos;
	kv->recv_size = size;
	kv->recv_got = 0;
}

int
kv_receive_data(struct kvlog *kv, const char *data, size_t len)
{
	ssize_t n;

	if (kv->recv_got + (long long)len > kv->recv_size)
		return -1;
	kv->recv_got += (long long)len;
	while (len > 0) {
		if ((n = write(kv->recv_fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			err(EXIT_FAIL, "%s: write", kv->snaprecv);
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
kv_receive_end(struct kvlog *kv, const char **why)
{
	struct kvstate st;
	size_t pos = kv->recv_pos;

	if (kv->recv_got != kv->recv_size) {
		*why = "it is shorter than announced";
		goto refuse;
	}
	if (fsync(kv->recv_fd) == -1)
		err(EXIT_FAIL, "%s: fsync", kv->snaprecv);
	close(kv->recv_fd);
	kv->recv_fd = -1;
	if (load_snapshot(kv->snaprecv, &st, why) != 1)
		goto refuse;
	if (st.applied != pos || pos <= kv_count(kv)) {
		*why = st.applied != pos ? "it is not at the position announced"
		    : "it is not past the end of the log";
		state_free(&st);
		goto refuse;
	}
	CRASH_POINT("snapshot.received");
	stop_child(kv);
	adopt(kv, kv->snaprecv, pos, "snapshot.installed");
	state_free(&kv->st);
	kv->st = st;
	kv->durable = pos;
	reqid_clear(kv->pending);
	warnx("installed the primary's snapshot at position %zu: %zu keys, "
	    "%zu bytes", pos, strmap_count(st.map), kv->snap_size);
	return 0;
refuse:
	kv_receive_abort(kv);
	return -1;
}

void
kv_receive_abort(struct kvlog *kv)
{
	if (kv->recv_fd != -1)
		close(kv->recv_fd);
	kv->recv_fd = -1;
	(void)unlink(kv->snaprecv);
}
