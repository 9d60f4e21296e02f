/*
 * wire: the text-line wire protocol spoken on every hakit socket.
 *
 * A message is one line "VERB arg..." ended by a newline; arguments are
 * separated by single spaces, and a verb that carries a payload takes it
 * as the rest of the line.  Payload bytes TAB, newline and backslash travel
 * escaped as \t, \n and \\ (wire_escape/wire_unescape), so any bytes but
 * NUL can be carried.  A line is at most WIRE_MAX_LINE bytes.
 *
 * A wconn is one connection driven by the event loop: complete lines are
 * handed to a callback; output is queued and written, without blocking,
 * once per loop iteration for all connections together.  Bad input gets
 * "ERR reason" and the connection is closed (wire_fail); so does a line
 * over the limit, and half a line followed by WIRE_IDLE_MS of silence.
 * A peer that stops sending (EOF, or a half-close as socat does) still
 * gets the replies it is owed: the connection closes once nothing holds it
 * and its output is written.  A peer that lets more than WIRE_MAX_QUEUE
 * bytes of replies pile up unread is disconnected.  Every line sent or
 * received is traced (trace.h).
 *
 * Over TCP with a key (auth.h), a connection begins with the handshake:
 * wire_new takes the server's side, wire_dial the client's; lines are
 * handed to the callback, and what the caller sends leaves, only once it
 * is done, and a failed handshake closes the connection with a warning.
 * Without a key, wire_dial asks for heartbeats with a first line "BEAT",
 * and wire_new's side answers "BEAT" if a connection begins so.  Once
 * asked for (either way), both ends send a heartbeat line, "HB", whenever
 * they have sent nothing for WIRE_BEAT_MS, and give up a peer they have
 * heard nothing from for the socket timeout (sock_set_timeout, at least 4
 * heartbeats): a peer that is stopped, or cut off, is noticed within that
 * time even on a connection that carries nothing else.  Heartbeats are
 * not traced.
 *
 * Promise: callbacks are never called on a closed connection; the close
 * callback is called exactly once; the struct stays valid while held
 * (wire_hold) even after the connection is closed, so callers keeping a
 * pointer can test wire_closed() instead of dangling.
 */
#ifndef HAKIT_WIRE_H
#define HAKIT_WIRE_H

#include <stddef.h>

#define WIRE_MAX_LINE	65536
#define WIRE_IDLE_MS	10000
#define WIRE_MAX_QUEUE	(16 * 1024 * 1024)	/* unsent bytes per peer */
#define WIRE_LOW_WATER	(256 * 1024)	/* a refill is asked for below it */
#define WIRE_BEAT_MS	250	/* heartbeat interval (auth.h: "beat") */
#define WIRE_MAX_HANDSHAKES 64	/* under way at once, as server */
#define WIRE_SAY_REFUSED 5	/* refused peers said a second, at most */

struct evloop;
struct wconn;

/* LINE is NUL-terminated, without its newline; it may be modified. */
typedef void wire_line_fn(struct wconn *, char *line, size_t len, void *arg);
typedef void wire_close_fn(struct wconn *, void *arg);
typedef void wire_refill_fn(struct wconn *, void *arg);

/* Registers the loop hook that writes queued output; call once. */
void wire_init(struct evloop *);

/*
 * Wraps the accepted (or piped), non-blocking FD; PEER names it in
 * traces.
 */
struct wconn *wire_new(int fd, const char *peer, wire_line_fn *on_line,
    wire_close_fn *on_close, void *arg);

/*
 * Connects to ADDR (sock.h) and wraps the connection as wire_new does;
 * returns NULL with errno set if it fails at once.  A TCP connection is
 * made without blocking: what is sent waits until it is up, and a failure
 * closes it (the close callback runs) as a lost connection would.
 */
struct wconn *wire_dial(const char *addr, const char *peer,
    wire_line_fn *on_line, wire_close_fn *on_close, void *arg);

/* Queues LINE (without newline); ignored on a closed connection. */
void wire_send(struct wconn *, const char *line, size_t len);
void wire_sendf(struct wconn *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes what is queued now, as far as the socket takes it. */
void wire_flush(struct wconn *);

/* Sends "ERR REASON" (best effort) and closes. */
void wire_fail(struct wconn *, const char *reason);

/* Closes now, after trying once to write what is queued. */
void wire_close(struct wconn *);

/*
 * Bulk sending with back-pressure: while FN is set, the loop calls
 * FN(W, ARG) (ARG as given to wire_new) whenever the socket can take
 * more and fewer than WIRE_LOW_WATER bytes wait to be sent; FN queues a
 * bounded amount and clears itself (NULL) when it has sent everything.
 * A slow peer so holds back only its own transfer, and the queue stays
 * small; each call is one turn of the loop, so other peers are served
 * between chunks.
 */
void wire_set_refill(struct wconn *, wire_refill_fn *fn);

/* Renames the peer, as shown in traces, once it has said who it is. */
void wire_set_peer(struct wconn *, const char *peer);

int wire_closed(const struct wconn *);
/* Returns 1 if the connection ended in a failed handshake (auth.h). */
int wire_refused(const struct wconn *);
const char *wire_peer(const struct wconn *);
void *wire_arg(const struct wconn *);

/* Keeps the struct allocated until a matching wire_release. */
void wire_hold(struct wconn *);
void wire_release(struct wconn *);

/* Writes everything queued, waiting up to MS ms (used before exiting). */
void wire_drain(int ms);

/*
 * Splits LINE at single spaces into at most MAX fields, the last taking
 * the rest of the line.  Returns the number of fields.
 */
int wire_split(char *line, char **field, int max);

/* Escapes LEN bytes of IN into OUT (room for 2 * LEN); returns its length. */
size_t wire_escape(const char *in, size_t len, char *out);

/*
 * Decodes \t, \n and \\ in S in place (NUL-terminating it); returns the
 * decoded length, or -1 for a bad escape or a raw TAB, newline or NUL.
 */
long wire_unescape(char *s, size_t len);

/*
 * Splits S at TABs into at most MAX fields, each unescaped in place (its
 * decoded length in FLEN).  Returns the number of fields, or -1 if there
 * are more than MAX or one has a bad escape.
 */
int wire_fields(char *s, char **f, size_t *flen, int max);

/* Returns 1 if S is a valid token: 1 to 255 bytes, no blank or control. */
int wire_token_ok(const char *s);

#endif
