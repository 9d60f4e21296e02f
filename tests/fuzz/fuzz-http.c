/*
 * libFuzzer target: what a peer can send the HTTP response parser.  The
 * first byte of the input chooses the body buffer's size and the next
 * eight the sizes of the pieces the rest is fed in (cycled), as reads
 * from a socket would cut it.  Every call must keep its promises (no more
 * consumed than given, no more body than room, a short count only when
 * the body is full or the response done, -1 exactly with HTTP_ERROR, the
 * state within its limits), and what is read (each response's status,
 * body and Connection: close, then the error or the state at the end)
 * must be what feeding it all at once into a large buffer reads.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define NSIZES	8

struct out {
	char *s;
	size_t len, cap;
};

static void
put(struct out *o, const void *s, size_t n)
{
	if (n == 0)
		return;
	if (o->len + n > o->cap) {
		o->cap = 2 * (o->len + n) + 64;
		if ((o->s = realloc(o->s, o->cap)) == NULL)
			abort();
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
}

static void
put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
check_state(const struct http_parser *p)
{
	if (p->state < HTTP_STATUS || p->state > HTTP_ERROR ||
	    p->linelen > HTTP_MAX_LINE + 1 ||
	    p->headers > HTTP_MAX_HEADERS)
		abort();
	if ((p->state == HTTP_BODY || p->state == HTTP_CHUNK) &&
	    (p->left == 0 || p->left > HTTP_MAX_BODY))
		abort();
	if (p->state > HTTP_HEADERS && p->state != HTTP_ERROR &&
	    (p->status < 200 || p->status > 599))
		abort();
	if ((p->state >= HTTP_CHUNK_SIZE && p->state <= HTTP_TRAILERS) &&
	    !p->chunked)
		abort();
	if ((p->state == HTTP_ERROR) != (p->error != NULL))
		abort();
}

/*
 * Feeds IN in pieces of SIZES (NSIZES of them, cycled; NULL: all at once)
 * into a body buffer of CAP bytes; writes what was read into O.
 */
static void
feed(const char *in, size_t len, const size_t *sizes, size_t cap,
    struct out *o)
{
	struct http_parser *p = malloc(sizeof(*p));
	char *body = malloc(cap), buf[64];
	size_t off = 0, n, pos, blen = 0, before;
	int k = 0;
	long r;

	if (p == NULL || body == NULL)
		abort();
	http_parser_init(p);
	while (off < len) {
		n = sizes == NULL ? len - off : sizes[k++ % NSIZES];
		if (n > len - off)
			n = len - off;
		for (pos = 0; pos < n;) {
			before = blen;
			r = http_parse(p, in + off + pos, n - pos, body, cap,
			    &blen);
			check_state(p);
			if ((r == -1) != (p->state == HTTP_ERROR))
				abort();
			if (r == -1) {
				put(o, body, blen);
				put_str(o, "\nerror: ");
				put_str(o, p->error);
				goto done;
			}
			if (r < 0 || (size_t)r > n - pos || blen > cap ||
			    blen - before > (size_t)r)
				abort();
			pos += (size_t)r;
			if (p->state == HTTP_DONE) {
				put(o, body, blen);
				snprintf(buf, sizeof(buf), "\n= %d%s\n",
				    p->status, p->close ? " close" : "");
				put_str(o, buf);
				blen = 0;
				http_parser_init(p);
				continue;
			}
			if (pos < n) {
				if (blen != cap)
					abort();
				put(o, body, blen);
				blen = 0;
			}
		}
		off += n;
	}
	put(o, body, blen);
	snprintf(buf, sizeof(buf), "\n~ %d %d %zu", (int)p->state, p->status,
	    p->linelen);
	put_str(o, buf);
done:
	free(body);
	free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out whole = { NULL, 0, 0 }, cut = { NULL, 0, 0 };
	size_t sizes[NSIZES], cap, i;
	char *in;

	if (size < 1 + NSIZES)
		return 0;
	cap = data[0] < 128 ? 1 + data[0] % 16 : 1 + (size_t)data[0] * 4;
	for (i = 0; i < NSIZES; i++)
		sizes[i] = data[1 + i] < 192 ? 1 + data[1 + i] % 8 :
		    1 + (size_t)data[1 + i] * 16;
	size -= 1 + NSIZES;
	/* A copy of its own, so that a read past the end is seen. */
	if ((in = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(in, data + 1 + NSIZES, size);
	feed(in, size, NULL, size + 1, &whole);
	feed(in, size, sizes, cap, &cut);
	if (whole.len != cut.len || memcmp(whole.s, cut.s, whole.len) != 0)
		abort();
	free(whole.s);
	free(cut.s);
	free(in);
	return 0;
}
