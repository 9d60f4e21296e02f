#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "evloop.h"
#include "sock.h"
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
	struct auth *auth;	/* the handshake under way, or NULL */
	char *held;		/* what we send once it is done */
	size_t heldlen, heldcap;
	long long auth_timer;	/* gives up on the handshake */
	int refused;		/* the handshake failed */
	int beat;		/* heartbeats: both ends are hakit loops */
	int beat_asked;		/* without a key: we asked for them */
	int fresh;		/* without a key: no line from the client yet */
	long long beat_timer;
	long long last_in, last_out;	/* when we last heard, or spoke */
	char *where;		/* the peer's address, for warnings */
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
	free(c->held);
	free(c->auth);
	free(c->where);
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

/*
 * Appends N bytes of DATA, and a newline if NL, to the buffer *B of *LEN
 * bytes (*CAP of room).
 */
static void
append(char **b, size_t *len, size_t *cap, const char *data, size_t n,
    int nl)
{
	if (*cap - *len < n + 1) {
		*cap = 2 * (*len + n + 1) + 1024;
		*b = xrealloc(*b, *cap);
	}
	memcpy(*b + *len, data, n);
	*len += n;
	if (nl)
		(*b)[(*len)++] = '\n';
}

/* Puts C on the list of connections to flush before the loop sleeps. */
static void
mark_dirty(struct wconn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		c->next_dirty = dirty;
		dirty = c;
	}
}

/* Queues LINE for the next flush, bypassing a handshake's hold. */
static void
queue_untraced(struct wconn *c, const char *line, size_t len)
{
	append(&c->out, &c->outlen, &c->outcap, line, len, 1);
	c->last_out = ev_now_ms();
	mark_dirty(c);
}

static void
queue(struct wconn *c, const char *line, size_t len)
{
	TRACE('>', c->peer, line, len);
	queue_untraced(c, line, len);
}

/* How long a peer may stay silent, or a handshake take, in ms. */
static long
live_ms(void)
{
	return sock_timeout() > 4 * WIRE_BEAT_MS ? sock_timeout() :
	    4 * WIRE_BEAT_MS;
}

/*
 * Every WIRE_BEAT_MS: gives up a peer silent for longer than live_ms()
 * (stopped, or behind a cut link), and sends a heartbeat if we have sent
 * nothing for WIRE_BEAT_MS, so the peer can tell the same of us.
 */
static long
beat_check(struct evloop *ev, long long id, void *arg)
{
	struct wconn *c = arg;
	long long now = ev_now_ms();

	(void)ev;
	(void)id;
	if (!c->eof && now - c->last_in > live_ms()) {
		warnx("%s: silent for %lld ms: giving the connection up",
		    c->where, now - c->last_in);
		c->beat_timer = 0;
		wire_close(c);
		return -1;
	}
	if (c->beat && now - c->last_out >= WIRE_BEAT_MS)
		queue_untraced(c, "HB", 2);
	return WIRE_BEAT_MS;
}

/*
 * Says why a handshake failed.  A client, which may dial the same peer
 * again and again, says the same thing at most every 10 seconds; a server
 * says at most WIRE_SAY_REFUSED refusals a second, and how many it kept
 * quiet about (a flood of bad connections must not flood its standard
 * error).
 */
static void
warn_refusal(const struct wconn *c, const char *what, const char *why)
{
	static char said[512];
	static long long said_at, refused_at;
	static unsigned long quiet;
	static int said_now;		/* refusals said since refused_at */
	char msg[512];
	long long now = ev_now_ms();

	snprintf(msg, sizeof(msg), "%s: %s: %s", c->where, what, why);
	if (c->auth == NULL || c->auth->role == AUTH_SERVER) {
		if (now - refused_at >= 1000) {
			refused_at = now;
			said_now = 0;
		}
		if (said_now == WIRE_SAY_REFUSED) {
			quiet++;
			return;
		}
		said_now++;
		if (quiet > 0)
			warnx("%s (and %lu more refused, not said)", msg, quiet);
		else
			warnx("%s", msg);
		quiet = 0;
		return;
	}
	if (strcmp(msg, said) == 0 && now - said_at < 10000)
		return;
	snprintf(said, sizeof(said), "%s", msg);
	said_at = now;
	warnx("%s", msg);
}

/*
 * Makes room for a new handshake: past WIRE_MAX_HANDSHAKES under way on
 * our side as server, the oldest is given up, so that connections that
 * never finish theirs cannot keep out the peers that hold the key.
 */
static void
shed_handshakes(void)
{
	struct wconn *c, *oldest = NULL;
	int n = 0;

	for (c = conns; c != NULL; c = c->next)
		if (!c->closed && c->auth != NULL &&
		    c->auth->role == AUTH_SERVER) {
			n++;
			oldest = c;	/* the list is newest first */
		}
	if (n < WIRE_MAX_HANDSHAKES)
		return;
	oldest->refused = 1;
	warn_refusal(oldest, "refused a TCP peer",
	    "too many handshakes under way");
	wire_fail(oldest, "too many handshakes under way");
}

/* Starts heartbeats on C. */
static void
start_beats(struct wconn *c)
{
	c->beat = 1;
	if (c->beat_timer == 0)
		c->beat_timer = ev_add_timer(loop, WIRE_BEAT_MS, beat_check,
		    c);
}

/*
 * Without a key, a dialer asks for heartbeats with a first line "BEAT",
 * and a server that takes them answers "BEAT".  Returns 1 if LINE was
 * that, which is not the protocol's.
 */
static int
beat_line(struct wconn *c, const char *line, size_t len)
{
	int beat = len == 4 && memcmp(line, "BEAT", 4) == 0;

	if (c->fresh) {
		c->fresh = 0;
		if (beat) {
			queue(c, "BEAT", 4);
			start_beats(c);
		}
		return beat;
	}
	c->beat_asked = 0;
	if (beat)
		start_beats(c);
	return beat;
}

static long
auth_late(struct evloop *ev, long long id, void *arg)
{
	struct wconn *c = arg;
	char what[64];

	(void)ev;
	(void)id;
	c->auth_timer = 0;
	c->refused = 1;
	snprintf(what, sizeof(what), "no handshake within %ld ms", live_ms());
	warn_refusal(c, what, "closing");
	wire_fail(c, "authentication timed out");
	return -1;
}

/*
 * Takes LINE as the next step of C's handshake: answers it; once done,
 * releases what was held, and starts heartbeats if the client asked for
 * them; on a failure says why and closes C.
 */
static void
handshake_line(struct wconn *c, const char *line)
{
	char out[AUTH_LINE], *p, *nl;
	const char *why;
	int r = auth_step(c->auth, line, out, &why), beat;

	if (*out != '\0')
		queue(c, out, strlen(out));
	if (r == AUTH_MORE)
		return;
	if (r == AUTH_FAIL) {
		warn_refusal(c, c->auth->role == AUTH_SERVER ?
		    "refused a TCP peer" : "authentication failed", why);
		c->refused = 1;
		wire_close(c);
		return;
	}
	beat = c->auth->beat;
	free(c->auth);
	c->auth = NULL;
	ev_del_timer(loop, c->auth_timer);
	c->auth_timer = 0;
	for (p = c->held; p < c->held + c->heldlen; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(c->held + c->heldlen - p));
		queue(c, p, (size_t)(nl - p));
	}
	c->heldlen = 0;
	if (beat)
		start_beats(c);
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

/* The longest line C may send now: short until its handshake is done. */
static size_t
max_line(const struct wconn *c)
{
	return c->auth != NULL ? AUTH_LINE : WIRE_MAX_LINE;
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
		/* A heartbeat is for last_in only. */
		if (!c->beat || len != 2 || memcmp(start, "HB", 2) != 0) {
			TRACE('<', c->peer, start, len);
			if (len > max_line(c)) {
				wire_fail(c, "line too long");
				return;
			}
			if (c->auth != NULL)
				handshake_line(c, start);
			else if ((!c->fresh && !c->beat_asked) ||
			    !beat_line(c, start, len))
				c->on_line(c, start, len, c->arg);
		}
		left -= len + 1;
		start = nl + 1;
	}
	if (c->closed)
		return;
	memmove(c->in, start, left);
	c->inlen = left;
	if (left > max_line(c)) {
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
		/* Before the handshake, no more than a handshake line. */
		if (c->auth != NULL && want > AUTH_LINE + 1)
			want = AUTH_LINE + 1;
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
		c->last_in = ev_now_ms();
		parse_lines(c);
		if (c->closed || (size_t)n < want)
			break;
	}
	c->busy--;
	maybe_free(c);
}

/*
 * Wraps FD, the connection to WHERE (NULL: the accepted peer's address);
 * over TCP it starts, as ROLE, the handshake if we have a key, or else the
 * asking for heartbeats.
 */
static struct wconn *
new_conn(int fd, int role, const char *where, const char *peer,
    wire_line_fn *on_line, wire_close_fn *on_close, void *arg)
{
	struct wconn *c = xcalloc(1, sizeof(*c));
	char first[AUTH_LINE], name[80];

	c->fd = fd;
	c->peer = xstrdup(peer);
	c->on_line = on_line;
	c->on_close = on_close;
	c->arg = arg;
	c->last_in = c->last_out = ev_now_ms();
	ev_add_fd(loop, fd, EV_READ, on_readable, c);
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
	if (!sock_fd_is_tcp(fd))
		return c;
	if (where == NULL) {
		sock_peer_name(fd, name, sizeof(name));
		where = name;
	}
	c->where = xstrdup(where);
	if (!auth_enabled()) {
		if (role == AUTH_CLIENT) {
			/* Silence counts from now: a stopped peer never answers. */
			queue(c, "BEAT", 4);
			c->beat_asked = 1;
			c->beat_timer = ev_add_timer(loop, WIRE_BEAT_MS,
			    beat_check, c);
		} else
			c->fresh = 1;
		return c;
	}
	if (role == AUTH_SERVER)
		shed_handshakes();
	c->auth = xmalloc(sizeof(*c->auth));
	auth_start(c->auth, role, 1, first);
	if (*first != '\0')
		queue(c, first, strlen(first));
	c->auth_timer = ev_add_timer(loop, live_ms(), auth_late, c);
	return c;
}

struct wconn *
wire_new(int fd, const char *peer, wire_line_fn *on_line,
    wire_close_fn *on_close, void *arg)
{
	return new_conn(fd, AUTH_SERVER, NULL, peer, on_line, on_close, arg);
}

struct wconn *
wire_dial(const char *addr, const char *peer, wire_line_fn *on_line,
    wire_close_fn *on_close, void *arg)
{
	int fd;

	if ((fd = sock_connect(addr)) == -1)
		return NULL;
	return new_conn(fd, AUTH_CLIENT, addr, peer, on_line, on_close, arg);
}

void
wire_send(struct wconn *c, const char *line, size_t len)
{
	if (c->closed)
		return;
	if (c->overflow)
		return;
	if (c->outlen - c->outoff + c->heldlen > WIRE_MAX_QUEUE) {
		/*
		 * A peer that never reads must not exhaust our memory.  It is
		 * closed from the loop, not here: the caller may be walking
		 * structures that the close callback changes.
		 */
		warnx("%s: not reading its replies; closing", c->peer);
		c->overflow = 1;
		mark_dirty(c);
		return;
	}
	if (c->auth != NULL)
		append(&c->held, &c->heldlen, &c->heldcap, line, len, 1);
	else
		queue(c, line, len);
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
	if (c->auth != NULL) {
		/* The handshake ends here: ERR goes, what it held does not. */
		free(c->auth);
		c->auth = NULL;
		c->heldlen = 0;
	}
	wire_sendf(c, "ERR %s", reason);
	wire_close(c);
}

void
wire_close(struct wconn *c)
{
	if (c->closed)
		return;
	/* A client that leaves once it has our proof found it wrong. */
	if (c->auth != NULL && c->auth->state == AUTH_WAIT_PROOF &&
	    !c->refused) {
		warn_refusal(c, "refused a TCP peer", "it left during the "
		    "handshake, after our proof: does it have another key?");
		c->refused = 1;
	}
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
	if (c->auth_timer != 0)
		ev_del_timer(loop, c->auth_timer);
	c->auth_timer = 0;
	if (c->beat_timer != 0)
		ev_del_timer(loop, c->beat_timer);
	c->beat_timer = 0;
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

int
wire_refused(const struct wconn *c)
{
	return c->refused;
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
wire_fields(char *s, char **f, size_t *flen, int max)
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

int
wire_token_ok(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return n > 0 && n <= 255;
}
