/* The lease in etcd: PREFIX/leader on an etcd lease, PREFIX/state (lease.h). */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "etcd.h"
#include "evloop.h"
#include "lease-backend.h"
#include "util.h"

#define WATCH_RETRY_MS	1000	/* after a watch failed, before another */

struct elease {
	struct etcd *etcd;
	char *leader, *state;	/* the keys, base64 */
	char *state_name;	/* "etcd://.../PREFIX/state", for messages */
	long long id;		/* our etcd lease, or 0 */
	long ttl_ms;		/* as granted */
	long long token;	/* our leader key's create_revision, or 0 */
	long long held_until;	/* holding ends then (ev_now_ms) */
	long long ka_sent;	/* the keepalive awaiting its answer, or 0 */
	long long ka_ttl;	/* the TTL its answer gave, so far (0: gone) */
	long long next_ka;
	struct evloop *ev;
	int fd[ETCD_STREAMS];	/* each stream's, as the loop knows it */
	int events[ETCD_STREAMS];
	int watching;		/* the watch on the leader key: 1 on, 0 not
				   (yet), -1 canceled by etcd */
	int changed;		/* it has seen a change not yet told */
	long long watch_at;	/* no new watch before then */
	void (*on_change)(void *);	/* told of changes */
	void *change_arg;
	/* What the last read saw: */
	long long leader_rev;	/* the leader key's create_revision, or 0 */
	char *leader_val;	/* its value, or NULL */
	long long state_rev;	/* the state key's mod_revision, or 0 */
};

/* The time a call may take: a fraction of the TTL. */
static long
call_ms(const struct lease *l)
{
	return l->ttl_ms / 4 < 2000 ? l->ttl_ms / 4 : 2000;
}

static int
failed(struct lease *l, const char *what)
{
	struct elease *e = l->b;

	snprintf(l->err, sizeof(l->err), "%s: %s: %s", l->name, what,
	    etcd_error(e->etcd));
	return -2;
}

/* Index of T[I]'s member "response_range".kvs[0] of responses[N], or -1. */
static int
range_kv(const struct json *t, int n)
{
	int r = json_member(t, 0, "responses");

	if ((r = json_element(t, r, n)) == -1 ||
	    (r = json_member(t, r, "response_range")) == -1 ||
	    (r = json_member(t, r, "kvs")) == -1)
		return -1;
	return json_element(t, r, 0);
}

/* Decodes the base64 string T[I] into a new buffer; NULL if bad. */
static char *
b64_value(const struct json *t, int i, size_t *len)
{
	char *s, *out;
	size_t slen;
	long n;

	if (i == -1 || (s = json_string(t, i, &slen)) == NULL)
		return NULL;
	out = xmalloc(slen / 4 * 3 + 3);
	n = base64_decode(s, slen, out);
	free(s);
	if (n < 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)n;
	return out;
}

/* The state as etcd stores it: its text, base64. */
static char *
state_b64(const struct lease_state *st)
{
	size_t len;
	char *text = lease_format(st, &len), *b = etcd_b64(text, len);

	free(text);
	return b;
}

/*
 * Runs the transaction BODY (freed) within MS ms.  Returns 1 if it
 * succeeded (its revision in *REV if REV is not NULL), 0 if a comparison
 * failed, -1 if etcd could not be asked (the error is set).
 */
static int
txn(struct lease *l, char *body, long ms, long long *rev)
{
	struct elease *e = l->b;
	struct etcd_reply r;
	int rc = etcd_call(e->etcd, "/v3/kv/txn", body, ms, &r);

	free(body);
	if (rc == -1)
		return -1;
	rc = json_bool(r.t, json_member(r.t, 0, "succeeded")) == 1;
	if (rc && rev != NULL && json_int(r.t, json_member(r.t,
	    json_member(r.t, 0, "header"), "revision"), rev) == -1)
		rc = 0;
	etcd_reply_free(&r);
	return rc;
}

static int
etcd_read(struct lease *l, struct lease_state *st)
{
	struct elease *e = l->b;
	struct etcd_reply r;
	char *body, *state = NULL;
	size_t len = 0, vlen;
	int kv, rc = -1;

	body = xasprintf("{\"success\":[{\"request_range\":{\"key\":\"%s\"}},"
	    "{\"request_range\":{\"key\":\"%s\"}}]}", e->leader, e->state);
	if (etcd_call(e->etcd, "/v3/kv/txn", body, call_ms(l), &r) == -1) {
		free(body);
		lease_parse("", 0, l->name, st);
		return failed(l, "cannot read the lease");
	}
	free(body);
	free(e->leader_val);
	e->leader_val = NULL;
	e->leader_rev = e->state_rev = 0;
	if ((kv = range_kv(r.t, 0)) != -1) {
		if (json_int(r.t, json_member(r.t, kv, "create_revision"),
		    &e->leader_rev) == -1 ||
		    (e->leader_val = b64_value(r.t,
		    json_member(r.t, kv, "value"), &vlen)) == NULL)
			errx(EXIT_USAGE, "%s: a malformed leader key in etcd's "
			    "answer", l->name);
	}
	if ((kv = range_kv(r.t, 1)) != -1) {
		if (json_int(r.t, json_member(r.t, kv, "mod_revision"),
		    &e->state_rev) == -1 ||
		    (state = b64_value(r.t, json_member(r.t, kv, "value"),
		    &len)) == NULL)
			errx(EXIT_USAGE, "%s: a malformed state key in etcd's "
			    "answer", l->name);
		rc = 0;
	}
	etcd_reply_free(&r);
	lease_parse(state != NULL ? state : "", len, e->state_name, st);
	free(state);
	return rc;
}

/* Grants us a new etcd lease; 0, or -2. */
static int
grant(struct lease *l)
{
	struct elease *e = l->b;
	struct etcd_reply r;
	long long ttl;
	char body[64];

	snprintf(body, sizeof(body), "{\"TTL\":\"%ld\"}",
	    (l->ttl_ms + 999) / 1000);
	if (etcd_call(e->etcd, "/v3/lease/grant", body, call_ms(l), &r) == -1)
		return failed(l, "cannot get an etcd lease");
	if (json_int(r.t, json_member(r.t, 0, "ID"), &e->id) == -1 ||
	    json_int(r.t, json_member(r.t, 0, "TTL"), &ttl) == -1 || ttl < 1) {
		etcd_reply_free(&r);
		e->id = 0;
		snprintf(l->err, sizeof(l->err), "%s: etcd granted no lease",
		    l->name);
		return -2;
	}
	e->ttl_ms = (long)ttl * 1000;
	etcd_reply_free(&r);
	return 0;
}

static int
etcd_take(struct lease *l, struct lease_state *st, lease_decide_fn *decide,
    void *arg)
{
	struct elease *e = l->b;
	char *body, *val, *sv, *self;
	long long sent, rev;
	int rc;

	lease_free(st);
	if ((rc = etcd_read(l, st)) == -2)
		return -2;
	/* Held, unless by an earlier run of this member that died. */
	if (e->leader_val != NULL &&
	    (l->self == NULL || strcmp(e->leader_val, l->self) != 0))
		return 0;
	if (!decide(st, arg))
		return 0;
	/* A fresh etcd lease each time: the count starts before its grant. */
	sent = ev_now_ms();
	e->id = 0;
	if (grant(l) == -2)
		return -2;
	self = l->self != NULL ? l->self : "";
	val = etcd_b64(self, strlen(self));
	sv = state_b64(st);
	body = xasprintf("{\"compare\":["
	    "{\"key\":\"%s\",\"target\":\"CREATE\",\"create_revision\":\"%lld\"},"
	    "{\"key\":\"%s\",\"target\":\"MOD\",\"mod_revision\":\"%lld\"}],"
	    "\"success\":["
	    "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%lld\"}},"
	    "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}}]}",
	    e->leader, e->leader_rev, e->state, e->state_rev,
	    e->leader, val, e->id, e->state, sv);
	free(val);
	free(sv);
	if ((rc = txn(l, body, call_ms(l), &rev)) == -1)
		return failed(l, "cannot take the lease");
	if (rc == 1) {
		/* A key put anew is created at the txn's revision. */
		e->token = e->leader_rev != 0 ? e->leader_rev : rev;
		e->held_until = sent + e->ttl_ms - e->ttl_ms / 10;
		e->next_ka = sent + e->ttl_ms / 3;
	}
	return rc;
}

static int
etcd_held(struct lease *l)
{
	struct elease *e = l->b;
	long long now = ev_now_ms();

	if (e->token == 0)
		return 0;
	if (now < e->held_until)
		return 1;
	snprintf(l->err, sizeof(l->err), "%s: no keepalive answered in time "
	    "(the lease is counted from the last answered one's sending, "
	    "TTL %ld ms, less a tenth)%s%s", l->name, e->ttl_ms,
	    *etcd_error(e->etcd) != '\0' ? "; " : "",
	    etcd_error(e->etcd));
	e->token = 0;
	return 0;
}

static int
etcd_write(struct lease *l, const struct lease_state *st)
{
	struct elease *e = l->b;
	char *body, *sv;
	long long left = e->held_until - ev_now_ms();
	int rc;

	if (!etcd_held(l)) {
		snprintf(l->err, sizeof(l->err), "%s: the lease ran out",
		    l->name);
		return -1;
	}
	sv = state_b64(st);
	body = xasprintf("{\"compare\":[{\"key\":\"%s\",\"target\":\"CREATE\","
	    "\"create_revision\":\"%lld\"}],\"success\":[{\"request_put\":"
	    "{\"key\":\"%s\",\"value\":\"%s\"}}]}", e->leader, e->token,
	    e->state, sv);
	free(sv);
	rc = txn(l, body, left < call_ms(l) ? (long)left : call_ms(l), NULL);
	if (rc == -1) {
		failed(l, "cannot write the state");
		return -1;
	}
	if (rc == 0) {
		snprintf(l->err, sizeof(l->err), "%s: the leader key is no "
		    "longer ours (token %lld): another member took over",
		    l->name, e->token);
		e->token = 0;
		return -1;
	}
	return 0;
}

static void on_stream(struct evloop *, int, int, void *);

/* Tells the loop which descriptor stream S needs, and for what. */
static void
loop_sync(struct lease *l, int s)
{
	struct elease *e = l->b;
	int fd = etcd_stream_fd(e->etcd, s);
	int events = fd == -1 ? 0 :
	    EV_READ | (etcd_stream_pending(e->etcd, s) ? EV_WRITE : 0);

	if (fd == e->fd[s] && events == e->events[s])
		return;
	if (e->fd[s] != -1)
		ev_del_fd(e->ev, e->fd[s], e->events[s]);
	if (fd != -1)
		ev_add_fd(e->ev, fd, events, on_stream, l);
	e->fd[s] = fd;
	e->events[s] = events;
}

/* A keepalive's answer: {"result":{...,"TTL":"5"}}; no TTL: gone. */
static void
on_ka_msg(void *arg, const struct etcd_reply *r)
{
	struct elease *e = arg;

	if (json_int(r->t, json_member(r->t, json_member(r->t, 0, "result"),
	    "TTL"), &e->ka_ttl) == -1)
		e->ka_ttl = 0;
}

static void
ka_read(struct lease *l)
{
	struct elease *e = l->b;
	long long ttl;
	int rc = etcd_stream_read(e->etcd, ETCD_KA, on_ka_msg, e);

	if (rc == 1 && e->ka_sent != 0) {
		ttl = e->ka_ttl;	/* (the answer may have come in pieces) */
		if (ttl > 0 && e->token != 0) {
			e->ttl_ms = (long)ttl * 1000;
			e->held_until = e->ka_sent + e->ttl_ms - e->ttl_ms / 10;
		} else if (ttl <= 0) {
			snprintf(l->err, sizeof(l->err), "%s: etcd says our "
			    "lease %lld has expired", l->name, e->id);
			e->token = 0;
			e->id = 0;
		}
		e->next_ka = e->ka_sent + e->ttl_ms / 3;
		e->ka_sent = 0;
	} else if (rc == -1) {
		failed(l, "keepalive");
		e->ka_sent = 0;
	}
}

/* A watch message: created, canceled, or events on the leader key. */
static void
on_watch_msg(void *arg, const struct etcd_reply *r)
{
	struct elease *e = arg;
	int res = json_member(r->t, 0, "result");

	if (json_bool(r->t, json_member(r->t, res, "canceled")) == 1)
		e->watching = -1;
	else if (json_bool(r->t, json_member(r->t, res, "created")) == 1)
		e->watching = 1;
	if (json_member(r->t, res, "events") != -1)
		e->changed = 1;
}

static void
watch_read(struct lease *l)
{
	struct elease *e = l->b;

	if (etcd_stream_read(e->etcd, ETCD_WATCH, on_watch_msg, e) != 0 ||
	    e->watching == -1) {
		/*
		 * Failed, ended or canceled: lease_watch says 0 now, so a
		 * member without a primary looks for itself at every tick,
		 * and one that follows learns from its primary, as without
		 * a watch.  Another is asked for a little later, not at once
		 * (an endpoint that fails at once must not make us spin).
		 */
		etcd_stream_close(e->etcd, ETCD_WATCH);
		e->watching = 0;
		e->watch_at = ev_now_ms() + WATCH_RETRY_MS;
	}
	if (e->changed && e->on_change != NULL) {
		e->changed = 0;
		e->on_change(e->change_arg);
	}
}

static void
on_stream(struct evloop *ev, int fd, int events, void *arg)
{
	struct lease *l = arg;
	struct elease *e = l->b;

	(void)ev;
	(void)events;
	if (fd == e->fd[ETCD_KA])
		ka_read(l);
	else
		watch_read(l);
	loop_sync(l, ETCD_KA);
	loop_sync(l, ETCD_WATCH);
}

static void
etcd_renew(struct lease *l, struct evloop *ev)
{
	struct elease *e = l->b;
	char body[64];
	long long now = ev_now_ms();

	e->ev = ev;
	if (e->token == 0)
		return;
	if (e->ka_sent != 0 && now - e->ka_sent > e->ttl_ms / 3) {
		/* Unanswered: the next one goes on a new connection. */
		etcd_stream_close(e->etcd, ETCD_KA);
		e->ka_sent = 0;
		e->next_ka = now;
	}
	if (e->ka_sent == 0 && now >= e->next_ka) {
		snprintf(body, sizeof(body), "{\"ID\":\"%lld\"}", e->id);
		e->ka_ttl = 0;
		if (etcd_stream_send(e->etcd, ETCD_KA, "/v3/lease/keepalive",
		    body) == 0)
			e->ka_sent = now;
		else {
			failed(l, "keepalive");
			e->next_ka = now + 100;
		}
	}
	loop_sync(l, ETCD_KA);
}

static int
etcd_watch(struct lease *l, struct evloop *ev, void (*fn)(void *), void *arg)
{
	struct elease *e = l->b;
	char *body;

	e->ev = ev;
	e->on_change = fn;
	e->change_arg = arg;
	if (etcd_stream_fd(e->etcd, ETCD_WATCH) == -1 &&
	    ev_now_ms() >= e->watch_at) {
		e->watching = 0;
		body = xasprintf("{\"create_request\":{\"key\":\"%s\"}}",
		    e->leader);
		if (etcd_stream_send(e->etcd, ETCD_WATCH, "/v3/watch",
		    body) == -1) {
			failed(l, "watch");
			e->watch_at = ev_now_ms() + WATCH_RETRY_MS;
		}
		free(body);
		loop_sync(l, ETCD_WATCH);
	}
	return e->watching == 1;
}

static void
etcd_release(struct lease *l)
{
	struct elease *e = l->b;
	struct etcd_reply r;
	char body[64];

	if (e->id == 0)
		return;
	snprintf(body, sizeof(body), "{\"ID\":\"%lld\"}", e->id);
	if (etcd_call(e->etcd, "/v3/lease/revoke", body, 1000, &r) == 0)
		etcd_reply_free(&r);
	e->id = e->token = 0;
}

static void
etcd_close(struct lease *l)
{
	struct elease *e = l->b;
	int i;

	for (i = 0; i < ETCD_STREAMS; i++)
		if (e->fd[i] != -1 && e->ev != NULL)
			ev_del_fd(e->ev, e->fd[i], e->events[i]);
	etcd_free(e->etcd);
	free(e->leader);
	free(e->state);
	free(e->state_name);
	free(e->leader_val);
	free(e);
}

const struct lease_ops lease_etcd_ops = {
	etcd_read, etcd_take, etcd_write, etcd_renew, etcd_watch, etcd_held,
	etcd_release, etcd_close
};

int
lease_etcd_open(struct lease *l, const char *spec, char *why, size_t whylen)
{
	struct elease *e;
	const char *slash = strchr(spec, '/');
	char *eps, *key;

	if (slash == NULL || slash == spec || slash[1] == '\0') {
		snprintf(why, whylen, "no /PREFIX after the endpoints");
		return -1;
	}
	if (strstr(slash, "//") != NULL || slash[strlen(slash) - 1] == '/' ||
	    strpbrk(slash, "?# \t") != NULL) {
		snprintf(why, whylen, "PREFIX \"%s\" has an empty part, a "
		    "trailing '/', or one of ?# and blanks", slash + 1);
		return -1;
	}
	e = xcalloc(1, sizeof(*e));
	e->fd[ETCD_KA] = e->fd[ETCD_WATCH] = -1;
	eps = xmemdup(spec, (size_t)(slash - spec));
	e->etcd = etcd_new(eps, why, whylen);
	free(eps);
	if (e->etcd == NULL) {
		free(e);
		return -1;
	}
	key = xasprintf("%s/leader", slash + 1);
	e->leader = etcd_b64(key, strlen(key));
	free(key);
	key = xasprintf("%s/state", slash + 1);
	e->state = etcd_b64(key, strlen(key));
	free(key);
	e->state_name = xasprintf("%s/state", l->name);
	l->ops = &lease_etcd_ops;
	l->b = e;
	return 0;
}
