/*
 * http: the client side of HTTP/1.1 (RFC 9112) as etcd's v3 gateway
 * speaks it: requests with a Content-Length body on a kept-alive
 * connection, and responses read incrementally, with a Content-Length
 * body or a chunked one.  A chunked response may be a stream (a watch,
 * a keepalive): its body is handed over as it comes, and the caller cuts
 * it into messages (the gateway ends each JSON message with a newline).
 *
 * The parser owns no socket: the caller feeds it whatever it read, in
 * pieces of any size, and takes body bytes out as they are decoded.  It
 * refuses, rather than buffers without bound: a status line or header
 * line over HTTP_MAX_LINE bytes, more than HTTP_MAX_HEADERS header lines,
 * a chunk size or Content-Length over HTTP_MAX_BODY, a malformed status
 * line, chunk size or header, and a Transfer-Encoding other than chunked.
 * Informational (1xx) responses are skipped.
 *
 * Being strict costs nothing with the gateway and closes the doors that
 * request smuggling uses: every line must end in CRLF; folded header
 * lines, both Content-Length and Transfer-Encoding, two different
 * Content-Lengths and a 101 are refused; so is a response whose body
 * would end only when the connection closes (neither Content-Length nor
 * chunked, other than a 204 or 304), since the parser never sees the
 * end of the connection.  HTTP/1.0 responses count as "Connection:
 * close".  Trailer lines count towards HTTP_MAX_HEADERS and are
 * otherwise ignored, as are chunk extensions.
 */
#ifndef HAKIT_HTTP_H
#define HAKIT_HTTP_H

#include <stddef.h>

#define HTTP_MAX_LINE		8192
#define HTTP_MAX_HEADERS	100
#define HTTP_MAX_BODY		(16 << 20)

enum http_state {
	HTTP_STATUS, HTTP_HEADERS, HTTP_BODY, HTTP_CHUNK_SIZE, HTTP_CHUNK,
	HTTP_CHUNK_END, HTTP_TRAILERS, HTTP_DONE, HTTP_ERROR
};

struct http_parser {
	enum http_state state;
	int status;		/* the response's status code, once read */
	int chunked;
	int close;		/* "Connection: close": no reuse after it */
	unsigned long long left;	/* of the body or of this chunk */
	char line[HTTP_MAX_LINE + 1];	/* a line being gathered */
	size_t linelen;
	int headers;
	const char *error;	/* HTTP_ERROR: what was wrong */
};

/* Makes P ready for the next response on a connection. */
void http_parser_init(struct http_parser *p);

/*
 * Feeds LEN bytes of BUF to P.  Body bytes decoded from them are appended
 * to BODY (room for BODYCAP bytes; *BODYLEN counts what it holds).
 * Returns the number of bytes of BUF consumed: fewer than LEN only when
 * BODY is full or the response is complete (P->state HTTP_DONE, and the
 * rest of BUF belongs to the next response), or -1 on a malformed
 * response (P->state HTTP_ERROR, P->error says what).  Body bytes are
 * appended as soon as they are decoded, so a stream's messages arrive
 * when their bytes do.  Once HTTP_DONE, P consumes nothing more until
 * http_parser_init() makes it ready for the next response.
 */
long http_parse(struct http_parser *p, const char *buf, size_t len,
    char *body, size_t bodycap, size_t *bodylen);

/*
 * Writes a request for METHOD on PATH to HOST with BODY (LEN bytes, of
 * type application/json) into a new NUL-terminated buffer; returns it
 * and its length in *OUT_LEN.  METHOD, HOST and PATH are the caller's
 * and must hold no CR, LF or blank.
 */
char *http_request(const char *method, const char *host, const char *path,
    const char *body, size_t len, size_t *out_len);

#endif
