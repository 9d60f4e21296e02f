#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "trace.h"
#include "util.h"
#include "wire.h"

struct wconn {
	int fd;
	char *peer;
	wire_line_fn *on_line;
	wire_close_fn *on_close;
	wire_refill_fn *refill;	/* asks for more to send, or NULL */
	void *arg;
	char *in;		/* received, not yet a complete line */
	size_t inlen, incap;
	char *out;		/* queued for sending */
	size_t outlen, outoff, outcap;
	int dirty;		/* on the dirty list */
	int busy;		/* inside a callback */
	int holds;
	int closed;
	int eof;		/* the peer finished sending */
	int overflow;		/* too much unread output: to be closed */
	long long idle_timer;	/* armed while half a line waits */
	long long partial_since;
	struct wconn *next_dirty;
	struct wconn *prev, *next;	/* every open connection */
};

static struct evloop *loop;
static struct wconn *dirty;
static struct wconn *conns;	/* every open connection */

static void wire_flush_all(struct evloop *, void *);

void
wire_init(struct evloop *ev)
{
	loop = ev;
	ev_before_sleep(ev, wire_flush_all, NULL);
}

static void
maybe_free(struct wconn *c)
{
	if (!c->closed || c->busy > 0 || c->holds > 0 || c->dirty)
		return;
	free(c->in);
	free(c->out);
	free(c->peer);
	free(c);
}

/* Writes queued output; returns -1 if the connection failed. */
static int
write_out(struct wconn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

static void on_writable(struct evloop *, int, int, void *);

/* Writes what it can; leaves the rest to a write callback. */
static void
flush_conn(struct wconn *c)
{
	if (c->closed)
		return;
	if (c->overflow || write_out(c) == -1) {
		wire_close(c);
		return;
	}
	if (c->outlen > 0 || c->refill != NULL)
		ev_add_fd(loop, c->fd, EV_WRITE, on_writable, c);
	else {
		ev_del_fd(loop, c->fd, EV_WRITE);
		if (c->eof && c->holds == 0)
			wire_close(c);
	}
}

static void
on_writable(struct evloop *ev, int fd, int events, void *arg)
{
	struct wconn *c = arg;

	(void)ev;
	(void)fd;
	(void)events;
	c->busy++;
	flush_conn(c);
	if (!c->closed && c->refill != NULL &&
	    c->outlen - c->outoff < WIRE_LOW_WATER)
		c->refill(c, c->arg);
	c->busy--;
	maybe_free(c);
}

static void
wire_flush_all(struct evloop *ev, void *arg)
{
	struct wconn *c;

	(void)ev;
	(void)arg;
	while ((c = dirty) != NULL) {
		dirty = c->next_dirty;
		c->dirty = 0;
		/* A failed write closes C: keep it until we are done. */
		c->busy++;
		flush_conn(c);
		c->busy--;
		maybe_free(c);
	}
}

static long
idle_check(struct evloop *ev, long long id, void *arg)
{
	struct wconn *c = arg;
	long long left;

	(void)ev;
	(void)id;
	if (c->inlen == 0) {
		c->idle_timer = 0;
		return -1;
	}
	left = c->partial_since + WIRE_IDLE_MS - ev_now_ms();
	if (left > 0)
		return (long)left;
	c->idle_timer = 0;
	wire_fail(c, "incomplete line");
	return -1;
}

/* Hands every complete line in the input buffer to the callback. */
static void
parse_lines(struct wconn *c)
{
	char *start = c->in, *nl;
	size_t left = c->inlen;

	while (!c->closed && (nl = memchr(start, '\n', left)) != NULL) {
		size_t len = (size_t)(nl - start);

		*nl = '\0';
		TRACE('<', c->peer, start, len);
		if (len > WIRE_MAX_LINE) {
			wire_fail(c, "line too long");
			return;
		}
		c->on_line(c, start, len, c->arg);
		left -= len + 1;
		start = nl + 1;
	}
	if (c->closed)
		return;
	memmove(c->in, start, left);
	c->inlen = left;
	if (left > WIRE_MAX_LINE) {
		wire_fail(c, "line too long");
		return;
	}
	if (left > 0 && c->idle_timer == 0) {
		c->partial_since = ev_now_ms();
		c->idle_timer = ev_add_timer(loop, WIRE_IDLE_MS, idle_check,
		    c);
	}
}

static void
on_readable(struct evloop *ev, int fd, int events, void *arg)
{
	struct wconn *c = arg;
	size_t want;
	ssize_t n;

	(void)ev;
	(void)events;
	c->busy++;
	for (;;) {
		if (c->incap - c->inlen < 16384) {
			c->incap = c->incap ? c->incap * 2 : 16384;
			c->in = xrealloc(c->in, c->incap);
		}
		want = c->incap - c->inlen;
		n = read(fd, c->in + c->inlen, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == 0 && c->inlen == 0) {
			/*
			 * The peer finished sending (maybe only half-closed,
			 * as socat and shells do): answer what it asked for,
			 * then close.
			 */
			c->eof = 1;
			ev_del_fd(loop, fd, EV_READ);
			if (c->holds == 0 && c->outlen == 0)
				wire_close(c);
			break;
		}
		if (n <= 0) {
			if (n == 0)
				wire_fail(c, "incomplete line");
			else
				wire_close(c);
			break;
		}
		c->inlen += (size_t)n;
		parse_lines(c);
		if (c->closed || (size_t)n < want)
			break;
	}
	c->busy--;
	maybe_free(c);
}

struct wconn *
wire_new(int fd, const char *peer, wire_line_fn *on_line,
    wire_close_fn *on_close, void *arg)
{
	struct wconn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->peer = xstrdup(peer);
	c->on_line = on_line;
	c->on_close = on_close;
	c->arg = arg;
	ev_add_fd(loop, fd, EV_READ, on_readable, c);
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
	return c;
}

void
wire_send(struct wconn *c, const char *line, size_t len)
{
	if (c->closed)
		return;
	if (c->overflow)
		return;
	if (c->outlen - c->outoff > WIRE_MAX_QUEUE) {
		/*
		 * A peer that never reads must not exhaust our memory.  It is
		 * closed from the loop, not here: the caller may be walking
		 * structures that the close callback changes.
		 */
		warnx("%s: not reading its replies; closing", c->peer);
		c->overflow = 1;
		if (!c->dirty) {
			c->dirty = 1;
			c->next_dirty = dirty;
			dirty = c;
		}
		return;
	}
	TRACE('>', c->peer, line, len);
	if (c->outcap - c->outlen < len + 1) {
		c->outcap = 2 * (c->outlen + len + 1) + 1024;
		c->out = xrealloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, line, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
	if (!c->dirty) {
		c->dirty = 1;
		c->next_dirty = dirty;
		dirty = c;
	}
}

void
wire_sendf(struct wconn *c, const char *fmt, ...)
{
	va_list ap;
	char small[512], *buf = small;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(small)) {
		buf = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(buf, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	wire_send(c, buf, (size_t)n);
	if (buf != small)
		free(buf);
}

void
wire_flush(struct wconn *c)
{
	flush_conn(c);
}

void
wire_fail(struct wconn *c, const char *reason)
{
	wire_sendf(c, "ERR %s", reason);
	wire_close(c);
}

void
wire_close(struct wconn *c)
{
	if (c->closed)
		return;
	(void)write_out(c);
	c->closed = 1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ev_del_fd(loop, c->fd, EV_READ | EV_WRITE);
	close(c->fd);
	c->fd = -1;
	if (c->idle_timer != 0)
		ev_del_timer(loop, c->idle_timer);
	c->idle_timer = 0;
	c->busy++;
	if (c->on_close != NULL)
		c->on_close(c, c->arg);
	c->busy--;
	maybe_free(c);
}

void
wire_set_refill(struct wconn *c, wire_refill_fn *fn)
{
	c->refill = fn;
	if (!c->closed && fn != NULL)
		ev_add_fd(loop, c->fd, EV_WRITE, on_writable, c);
}

void
wire_set_peer(struct wconn *c, const char *peer)
{
	free(c->peer);
	c->peer = xstrdup(peer);
}

int
wire_closed(const struct wconn *c)
{
	return c->closed;
}

const char *
wire_peer(const struct wconn *c)
{
	return c->peer;
}

void *
wire_arg(const struct wconn *c)
{
	return c->arg;
}

void
wire_hold(struct wconn *c)
{
	c->holds++;
}

void
wire_release(struct wconn *c)
{
	c->holds--;
	/* Closing may free C: keep it until we are done with it. */
	c->busy++;
	if (c->eof && c->holds == 0 && !c->closed && c->outlen == 0)
		wire_close(c);
	c->busy--;
	maybe_free(c);
}

void
wire_drain(int ms)
{
	long long end = ev_now_ms() + ms;
	struct wconn *c;
	struct pollfd pfd;
	int pending;

	do {
		pending = 0;
		for (c = conns; c != NULL; c = c->next) {
			if (c->outlen == 0)
				continue;
			if (write_out(c) == -1) {
				c->outlen = 0;
				continue;
			}
			if (c->outlen > 0) {
				pending = 1;
				pfd.fd = c->fd;
				pfd.events = POLLOUT;
				poll(&pfd, 1, 10);
			}
		}
	} while (pending && ev_now_ms() < end);
}

int
wire_split(char *line, char **field, int max)
{
	int n = 0;
	char *sp;

	if (*line == '\0' || max < 1)
		return 0;
	for (;;) {
		field[n++] = line;
		if (n == max || (sp = strchr(line, ' ')) == NULL)
			return n;
		*sp = '\0';
		line = sp + 1;
	}
}

size_t
wire_escape(const char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		switch (in[i]) {
		case '\t':
			out[o++] = '\\';
			out[o++] = 't';
			break;
		case '\n':
			out[o++] = '\\';
			out[o++] = 'n';
			break;
		case '\\':
			out[o++] = '\\';
			out[o++] = '\\';
			break;
		default:
			out[o++] = in[i];
		}
	}
	return o;
}

long
wire_unescape(char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '\t' || ch == '\n' || ch == '\0')
			return -1;
		if (ch == '\\') {
			if (++i == len)
				return -1;
			switch (s[i]) {
			case 't':
				ch = '\t';
				break;
			case 'n':
				ch = '\n';
				break;
			case '\\':
				ch = '\\';
				break;
			default:
				return -1;
			}
		}
		s[o++] = ch;
	}
	s[o] = '\0';
	return (long)o;
}

int
wire_token_ok(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return n > 0 && n <= 255;
}
