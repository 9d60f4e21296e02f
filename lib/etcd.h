/*
 * etcd: a client of etcd's v3 JSON gateway (HTTP/1.1 on the client port,
 * POST /v3/..., keys and values base64, int64s as strings).
 *
 * An etcd names its cluster's client endpoints, "HOST:PORT[,HOST:PORT...]".
 * A call goes to the endpoint that answered last; when one cannot be
 * reached, or fails mid-call, the next is tried, each within what is left
 * of the call's time limit.  Calls block (with that limit, poll(2) on
 * non-blocking sockets): the lease makes a few per second at most.  What
 * must not stop an event loop (a primary's keepalive, a backup's watch)
 * goes on a stream, a connection of its own, sent and read from the loop.
 *
 * Every answer is read in full and parsed (json.h) before it is believed;
 * one that is not well-formed HTTP and JSON is a failed call, like a lost
 * connection.  etcd's errors ({"error": ..., "code": N}) are failed calls
 * too, with the message kept for etcd_error().
 */
#ifndef HAKIT_ETCD_H
#define HAKIT_ETCD_H

#include <stddef.h>

#include "json.h"

#define ETCD_MAX_TOKENS	1024
#define ETCD_MAX_BODY	(1 << 20)

struct etcd;

/* An answer: its body and the body's tokens. */
struct etcd_reply {
	char *body;
	size_t len;
	struct json t[ETCD_MAX_TOKENS];
	int n;
};

/*
 * Returns a client of the endpoints ENDPOINTS ("HOST:PORT,..."), or NULL
 * with a message in WHY (of WHYLEN bytes) if one is not a TCP address.
 */
struct etcd *etcd_new(const char *endpoints, char *why, size_t whylen);
void etcd_free(struct etcd *);

/*
 * POSTs the JSON BODY to PATH ("/v3/kv/txn"), waiting up to MS ms in all.
 * Returns 0 with the answer in R (freed by etcd_reply_free), or -1 if no
 * endpoint answered in time or the answer was an error or malformed
 * (etcd_error tells which).
 */
int etcd_call(struct etcd *, const char *path, const char *body, long ms,
    struct etcd_reply *r);
void etcd_reply_free(struct etcd_reply *r);

/* What the last failed call met, as a phrase ("etcd at HOST:PORT: ..."). */
const char *etcd_error(const struct etcd *);

/*
 * Streams: connections of their own for what must not stop an event loop,
 * the keepalive (ETCD_KA) and the watch (ETCD_WATCH).  etcd_stream_send()
 * sends a request on stream S (connecting first if needed, to the
 * endpoint calls go to) and returns 0, or -1 if it could not be sent.
 * etcd_stream_fd() is the descriptor to poll for reading (and, while
 * etcd_stream_pending(), for writing), or -1 when none is open.
 * etcd_stream_read() reads what came and calls FN with each complete
 * message of the answer (the gateway ends each with a newline; a watch's
 * answer never ends).  It returns 1 once the answer is complete, 0 while
 * it is not, or -1 if the stream failed or etcd answered an error (the
 * stream is then closed; the next send opens another, to the next
 * endpoint).
 */
enum { ETCD_KA, ETCD_WATCH, ETCD_STREAMS };
typedef void etcd_msg_fn(void *arg, const struct etcd_reply *msg);
int etcd_stream_send(struct etcd *, int s, const char *path,
    const char *body);
int etcd_stream_fd(const struct etcd *, int s);
int etcd_stream_pending(const struct etcd *, int s);
int etcd_stream_read(struct etcd *, int s, etcd_msg_fn *fn, void *arg);
void etcd_stream_close(struct etcd *, int s);

/* Base64 of LEN bytes of S, as a new string (for keys and values). */
char *etcd_b64(const char *s, size_t len);

#endif
