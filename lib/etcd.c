#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "etcd.h"
#include "evloop.h"
#include "http.h"
#include "sock.h"
#include "util.h"

#define BODY_START	65536

/* One HTTP connection to an endpoint, and the answer being read on it. */
struct econn {
	int fd;			/* -1: none */
	int ep;			/* the endpoint it goes to */
	struct http_parser p;
	char in[16384];		/* read, not yet parsed */
	size_t inlen;
	char *body;		/* the answer's body so far */
	size_t bodylen, bodycap;
	char *out;		/* keepalive: a request not yet written */
	size_t outlen;
};

struct etcd {
	char **ep;		/* "HOST:PORT" */
	int nep;
	int cur;		/* the endpoint calls go to first */
	struct econn call, stream[ETCD_STREAMS];
	char err[512];
};

static void
set_err(struct etcd *e, int ep, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(struct etcd *e, int ep, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(e->err, sizeof(e->err), "etcd at %s: ", e->ep[ep]);
	va_start(ap, fmt);
	vsnprintf(e->err + n, sizeof(e->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

struct etcd *
etcd_new(const char *endpoints, char *why, size_t whylen)
{
	struct etcd *e = xcalloc(1, sizeof(*e));
	char *copy = xstrdup(endpoints), *s, *next;

	e->call.fd = e->stream[0].fd = e->stream[1].fd = -1;
	for (s = copy; s != NULL; s = next) {
		if ((next = strchr(s, ',')) != NULL)
			*next++ = '\0';
		if (!sock_is_tcp(s)) {
			snprintf(why, whylen, "\"%s\" is not HOST:PORT", s);
			free(copy);
			etcd_free(e);
			return NULL;
		}
		sock_check_addr(s, NULL);	/* a bad port or name: exit 2 */
		e->ep = xrealloc(e->ep, (size_t)(e->nep + 1) * sizeof(*e->ep));
		e->ep[e->nep++] = xstrdup(s);
	}
	free(copy);
	return e;
}

static void
conn_close(struct econn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->inlen = 0;
	free(c->out);
	c->out = NULL;
	c->outlen = 0;
}

void
etcd_free(struct etcd *e)
{
	int i;

	if (e == NULL)
		return;
	conn_close(&e->call);
	for (i = 0; i < ETCD_STREAMS; i++) {
		conn_close(&e->stream[i]);
		free(e->stream[i].body);
	}
	free(e->call.body);
	for (i = 0; i < e->nep; i++)
		free(e->ep[i]);
	free(e->ep);
	free(e);
}

const char *
etcd_error(const struct etcd *e)
{
	return e->err;
}

static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	long long left;
	int n;

	do {
		left = deadline - ev_now_ms();
		n = poll(&pfd, 1, left > 0 ? (int)left : 0);
	} while (n == -1 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;
	return n == 1 ? 0 : -1;
}

/* Connects C to endpoint EP by DEADLINE; 0, or -1 with errno set. */
static int
conn_open(struct econn *c, int ep, const char *addr, long long deadline)
{
	socklen_t len = sizeof(int);
	int e = 0;

	conn_close(c);
	if ((c->fd = sock_connect(addr)) == -1)
		return -1;
	c->ep = ep;
	if (wait_fd(c->fd, POLLOUT, deadline) == -1 ||
	    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e != 0) {
		conn_close(c);
		errno = e;
		return -1;
	}
	return 0;
}

/* Starts reading an answer on C. */
static void
answer_start(struct econn *c)
{
	http_parser_init(&c->p);
	c->bodylen = 0;
	if (c->body == NULL)
		c->body = xmalloc(c->bodycap = BODY_START);
}

/*
 * Parses what C has read.  Returns 1 once the answer is complete, 0 if
 * more is needed, -1 if it is malformed or too big (WHY says which).
 */
static int
answer_parse(struct econn *c, const char **why)
{
	long n;

	for (;;) {
		n = http_parse(&c->p, c->in, c->inlen, c->body, c->bodycap,
		    &c->bodylen);
		if (n < 0) {
			*why = c->p.error;
			return -1;
		}
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
		if (c->p.state == HTTP_DONE)
			return 1;
		if (c->inlen == 0)
			return 0;
		if (c->bodycap >= ETCD_MAX_BODY) {
			*why = "answer too big";
			return -1;
		}
		c->body = xrealloc(c->body, c->bodycap *= 2);
	}
}

/* Reads from C into its buffer: >0 bytes, 0 at EOF, -1 with errno set. */
static ssize_t
conn_read(struct econn *c)
{
	ssize_t n;

	do
		n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		c->inlen += (size_t)n;
	return n;
}

/*
 * Checks an answer's status and parses its body into R.  Returns 0, or -1
 * with the error set.
 */
static int
answer_take(struct etcd *e, struct econn *c, struct etcd_reply *r)
{
	int i;

	r->body = xmemdup(c->body, c->bodylen);
	r->len = c->bodylen;
	r->n = json_parse(r->body, r->len, r->t, ETCD_MAX_TOKENS);
	if (r->n < 1 || r->t[0].type != JSON_OBJECT) {
		set_err(e, c->ep, "HTTP %d with a body that is not a JSON "
		    "object", c->p.status);
		goto bad;
	}
	if (c->p.status != 200 || json_member(r->t, 0, "error") != -1) {
		char *msg = NULL;

		if ((i = json_member(r->t, 0, "error")) != -1 ||
		    (i = json_member(r->t, 0, "message")) != -1)
			msg = json_string(r->t, i, NULL);
		set_err(e, c->ep, "HTTP %d: %.200s", c->p.status,
		    msg != NULL ? msg : "error");
		free(msg);
		goto bad;
	}
	return 0;
bad:
	etcd_reply_free(r);
	return -1;
}

/* One call on endpoint EP; 0, or -1 with the error set. */
static int
call_one(struct etcd *e, int ep, const char *path, const char *body,
    long long deadline, struct etcd_reply *r)
{
	struct econn *c = &e->call;
	const char *why = NULL;
	char *req;
	size_t len, off = 0;
	ssize_t n = 0;
	int rc, reused = c->fd != -1 && c->ep == ep;

	if (!reused) {
		if (conn_open(c, ep, e->ep[ep], deadline) == -1) {
			set_err(e, ep, "%s", strerror(errno));
			return -1;
		}
	}
	req = http_request("POST", e->ep[ep], path, body, strlen(body), &len);
	while (off < len) {
		if ((n = write(c->fd, req + off, len - off)) > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR) &&
		    wait_fd(c->fd, POLLOUT, deadline) == 0)
			continue;
		set_err(e, ep, "sending: %s", strerror(errno));
		free(req);
		conn_close(c);
		if (reused)
			return call_one(e, ep, path, body, deadline, r);
		return -1;
	}
	free(req);
	answer_start(c);
	while ((rc = answer_parse(c, &why)) == 0) {
		if (wait_fd(c->fd, POLLIN, deadline) == -1 ||
		    (n = conn_read(c)) <= 0) {
			set_err(e, ep, "%s", n == 0 ? "connection closed" :
			    strerror(errno));
			conn_close(c);
			/* etcd may close a kept-alive connection when idle. */
			if (reused && n == 0 && c->p.state == HTTP_STATUS)
				return call_one(e, ep, path, body, deadline, r);
			return -1;
		}
	}
	if (rc == -1) {
		set_err(e, ep, "bad answer: %s", why);
		conn_close(c);
		return -1;
	}
	if (c->p.close)
		conn_close(c);
	return answer_take(e, c, r);
}

int
etcd_call(struct etcd *e, const char *path, const char *body, long ms,
    struct etcd_reply *r)
{
	long long deadline = ev_now_ms() + ms;
	int i, ep;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < e->nep && ev_now_ms() < deadline; i++) {
		long long left = deadline - ev_now_ms();

		ep = (e->cur + i) % e->nep;
		if (call_one(e, ep, path, body, i + 1 < e->nep ? ev_now_ms() +
		    left / (e->nep - i) : deadline, r) == 0) {
			e->cur = ep;
			return 0;
		}
	}
	if (i == 0)
		set_err(e, e->cur, "no time left for a call");
	e->cur = (e->cur + 1) % e->nep;
	return -1;
}

void
etcd_reply_free(struct etcd_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* ---- streams: the keepalive and the watch ---- */

/* Writes what is pending on stream C; 0, or -1. */
static int
stream_flush(struct etcd *e, struct econn *c)
{
	ssize_t n;

	while (c->outlen > 0) {
		n = write(c->fd, c->out, c->outlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR ||
		    errno == ENOTCONN))
			return 0;	/* the connection is still being made */
		if (n <= 0) {
			set_err(e, c->ep, "%s", strerror(errno));
			return -1;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	return 0;
}

int
etcd_stream_send(struct etcd *e, int s, const char *path, const char *body)
{
	struct econn *c = &e->stream[s];
	size_t len;

	if (c->fd == -1) {
		c->ep = e->cur;
		if ((c->fd = sock_connect(e->ep[c->ep])) == -1) {
			set_err(e, c->ep, "%s", strerror(errno));
			e->cur = (e->cur + 1) % e->nep;
			return -1;
		}
	}
	free(c->out);
	c->out = http_request("POST", e->ep[c->ep], path, body, strlen(body),
	    &len);
	c->outlen = len;
	answer_start(c);
	if (stream_flush(e, c) == -1) {
		etcd_stream_close(e, s);
		return -1;
	}
	return 0;
}

int
etcd_stream_fd(const struct etcd *e, int s)
{
	return e->stream[s].fd;
}

int
etcd_stream_pending(const struct etcd *e, int s)
{
	return e->stream[s].fd != -1 && e->stream[s].outlen > 0;
}

/* Hands FN the message of LEN bytes at M, parsed; 0, or -1 if malformed. */
static int
deliver(struct etcd *e, struct econn *c, const char *m, size_t len,
    etcd_msg_fn *fn, void *arg)
{
	struct etcd_reply *r = xcalloc(1, sizeof(*r));
	int rc = 0;

	r->body = xmemdup(m, len);
	r->len = len;
	r->n = json_parse(r->body, r->len, r->t, ETCD_MAX_TOKENS);
	if (r->n < 1 || r->t[0].type != JSON_OBJECT) {
		set_err(e, c->ep, "a message that is not a JSON object");
		rc = -1;
	} else
		fn(arg, r);
	etcd_reply_free(r);
	free(r);
	return rc;
}

int
etcd_stream_read(struct etcd *e, int s, etcd_msg_fn *fn, void *arg)
{
	struct econn *c = &e->stream[s];
	const char *why = NULL;
	char *nl;
	size_t done;
	ssize_t n;
	int rc;

	if (c->fd == -1)
		return -1;
	if (stream_flush(e, c) == -1)
		goto fail;
	n = conn_read(c);
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		set_err(e, c->ep, "%s", n == 0 ? "connection closed" :
		    strerror(errno));
		goto fail;
	}
	if ((rc = answer_parse(c, &why)) == -1) {
		set_err(e, c->ep, "bad answer: %s", why);
		goto fail;
	}
	if (c->p.status != 200) {
		struct etcd_reply r;

		if (rc == 0)
			return 0;	/* the error's body is still coming */
		if (answer_take(e, c, &r) == 0)
			etcd_reply_free(&r);
		goto fail;
	}
	/* The gateway ends each message with a newline. */
	for (done = 0; (nl = memchr(c->body + done, '\n',
	    c->bodylen - done)) != NULL; done = (size_t)(nl - c->body) + 1)
		if (deliver(e, c, c->body + done,
		    (size_t)(nl - c->body) - done, fn, arg) == -1)
			goto fail;
	if (rc == 1 && done < c->bodylen &&
	    deliver(e, c, c->body + done, c->bodylen - done, fn, arg) == -1)
		goto fail;
	memmove(c->body, c->body + done, c->bodylen - done);
	c->bodylen -= done;
	if (rc == 1 && c->p.close)
		conn_close(c);
	return rc;
fail:
	etcd_stream_close(e, s);
	return -1;
}

void
etcd_stream_close(struct etcd *e, int s)
{
	struct econn *c = &e->stream[s];

	if (c->fd != -1)
		e->cur = (c->ep + 1) % e->nep;
	conn_close(c);
}

char *
etcd_b64(const char *s, size_t len)
{
	char *out = xmalloc(BASE64_LEN(len) + 1);

	base64_encode(s, len, out);
	return out;
}
