#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "kvlog.h"
#include "log.h"
#include "reqid.h"
#include "strmap.h"
#include "util.h"
#include "wire.h"

#define LOG_MAGIC_LEN	8
#define LOG_HDR_LEN	8

struct krec {
	unsigned long long epoch;
	char *data;
	size_t len;
	long long end;		/* file size once this record is in */
	long long durable_at;
};

struct kvlog {
	char *path;
	struct hlog *log;
	struct krec *rec;	/* rec[i] is position i + 1 */
	size_t n, cap;
	size_t durable, applied;
	struct strmap *map;
	struct reqid_table *reqs;
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

/*
 * Notes the request id of the client write at POS, if it has one: a field
 * after the arguments its operation takes (put KEY VALUE, del KEY,
 * append PAYLOAD).
 */
static void
note_request(struct kvlog *kv, size_t pos)
{
	const struct krec *r = &kv->rec[pos - 1];
	const char *p = memchr(r->data, '\t', r->len), *end = r->data + r->len;
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
		reqid_note(kv->reqs, &id, pos);
}

static void
push(struct kvlog *kv, const char *rec, size_t len, unsigned long long epoch)
{
	struct krec *r;

	if (kv->n == kv->cap) {
		kv->cap = kv->cap ? 2 * kv->cap : 1024;
		kv->rec = xrealloc(kv->rec, kv->cap * sizeof(*kv->rec));
	}
	r = &kv->rec[kv->n];
	r->epoch = epoch;
	r->data = xmemdup(rec, len);
	r->len = len;
	r->end = (kv->n ? kv->rec[kv->n - 1].end : LOG_MAGIC_LEN) +
	    LOG_HDR_LEN + (long long)len;
	r->durable_at = 0;
	kv->n++;
	note_request(kv, kv->n);
}

static void
on_replay(void *arg, const char *rec, size_t len)
{
	struct kvlog *kv = arg;
	unsigned long long epoch;

	if (kv_record_epoch(rec, len, &epoch) == -1 ||
	    (kv->n > 0 && epoch < kv->rec[kv->n - 1].epoch))
		errx(EXIT_USAGE, "%s: bad record at position %zu", kv->path,
		    kv->n + 1);
	push(kv, rec, len, epoch);
}

struct kvlog *
kv_open(const char *dir, int nosync)
{
	struct kvlog *kv = xcalloc(1, sizeof(*kv));
	size_t n = strlen(dir) + 5;

	kv->path = xmalloc(n);
	snprintf(kv->path, n, "%s/log", dir);
	kv->map = strmap_new();
	kv->reqs = reqid_new();
	kv->log = log_open(kv->path, on_replay, kv);
	log_set_nosync(kv->log, nosync);
	kv->durable = kv->n;
	return kv;
}

static void
on_durable(void *arg)
{
	struct kvlog *kv = arg;

	kv->rec[kv->durable++].durable_at = ev_now_ms();
}

size_t
kv_append(struct kvlog *kv, const char *rec, size_t len)
{
	unsigned long long epoch;

	if (kv_record_epoch(rec, len, &epoch) == -1)
		errx(EXIT_FAIL, "%s: refusing a malformed record", kv->path);
	push(kv, rec, len, epoch);
	log_append(kv->log, rec, len, on_durable, kv);
	return kv->n;
}

void
kv_flush(struct kvlog *kv)
{
	log_flush(kv->log);
}

size_t
kv_count(const struct kvlog *kv)
{
	return kv->n;
}

size_t
kv_durable(const struct kvlog *kv)
{
	return kv->durable;
}

size_t
kv_applied(const struct kvlog *kv)
{
	return kv->applied;
}

const char *
kv_record(const struct kvlog *kv, size_t pos, size_t *len)
{
	*len = kv->rec[pos - 1].len;
	return kv->rec[pos - 1].data;
}

unsigned long long
kv_epoch_at(const struct kvlog *kv, size_t pos)
{
	return pos == 0 ? 0 : kv->rec[pos - 1].epoch;
}

long long
kv_durable_at(const struct kvlog *kv, size_t pos)
{
	return kv->rec[pos - 1].durable_at;
}

size_t
kv_end_of_epoch(const struct kvlog *kv, unsigned long long epoch,
    unsigned long long *last)
{
	size_t pos = kv->n;

	while (pos > 0 && kv->rec[pos - 1].epoch > epoch)
		pos--;
	*last = kv_epoch_at(kv, pos);
	return pos;
}

static void
free_val(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	free(val);
}

void
kv_close(struct kvlog *kv)
{
	size_t i;

	log_close(kv->log);
	for (i = 0; i < kv->n; i++)
		free(kv->rec[i].data);
	free(kv->rec);
	strmap_each(kv->map, free_val, NULL);
	strmap_free(kv->map);
	reqid_free(kv->reqs);
	free(kv->path);
	free(kv);
}

void
kv_truncate(struct kvlog *kv, size_t pos)
{
	size_t i;

	if (pos >= kv->n)
		return;
	if (pos < kv->applied)
		errx(EXIT_FAIL, "%s: refusing to cut applied records", kv->path);
	log_truncate(kv->log, pos ? kv->rec[pos - 1].end : LOG_MAGIC_LEN);
	for (i = pos; i < kv->n; i++)
		free(kv->rec[i].data);
	kv->n = pos;
	if (kv->durable > pos)
		kv->durable = pos;
	reqid_clear(kv->reqs);
	for (i = 1; i <= pos; i++)
		note_request(kv, i);
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
apply_one(struct kvlog *kv, const char *rec, size_t len)
{
	char *copy = xmemdup(rec, len), *op, *tab, *arg[2];
	size_t alen[2];
	struct kvval *v;
	int n;

	op = strchr(copy, '\t') + 1;
	if ((tab = strchr(op, '\t')) == NULL)
		goto out;
	*tab = '\0';
	if (strcmp(op, "put") == 0) {
		if ((n = split_args(tab + 1, arg, alen, 2)) != 2)
			goto out;
		v = xmalloc(sizeof(*v) + alen[1] + 1);
		v->len = alen[1];
		memcpy(v->data, arg[1], alen[1]);
		v->data[alen[1]] = '\0';
		free(strmap_del(kv->map, arg[0]));
		strmap_put(kv->map, arg[0], v);
	} else if (strcmp(op, "del") == 0) {
		if (split_args(tab + 1, arg, alen, 1) != 1)
			goto out;
		free(strmap_del(kv->map, arg[0]));
	}
out:
	free(copy);
}

void
kv_apply(struct kvlog *kv, size_t pos, kv_apply_fn *fn, void *arg)
{
	if (pos > kv->n)
		pos = kv->n;
	while (kv->applied < pos) {
		struct krec *r = &kv->rec[kv->applied++];

		apply_one(kv, r->data, r->len);
		if (fn != NULL)
			fn(arg, kv->applied, r->data, r->len);
	}
}

enum reqid_state
kv_request(const struct kvlog *kv, const struct reqid *id, size_t *pos)
{
	return reqid_find(kv->reqs, id, pos);
}

const struct kvval *
kv_get(const struct kvlog *kv, const char *key)
{
	return strmap_get(kv->map, key);
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
