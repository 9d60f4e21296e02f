#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "util.h"

/*
 * Lines (the status line, header and trailer lines, chunk sizes) are
 * gathered in p->line, up to HTTP_MAX_LINE bytes and the CR of the CRLF
 * that must end them; body bytes go straight from BUF to BODY.  While the
 * headers are read, p->left is the Content-Length if one was given and
 * NO_LENGTH otherwise.
 */
#define NO_LENGTH	(~0ULL)

void
http_parser_init(struct http_parser *p)
{
	p->state = HTTP_STATUS;
	p->status = 0;
	p->chunked = 0;
	p->close = 0;
	p->left = NO_LENGTH;
	p->line[0] = '\0';
	p->linelen = 0;
	p->headers = 0;
	p->error = NULL;
}

static int
fail(struct http_parser *p, const char *why)
{
	p->state = HTTP_ERROR;
	p->error = why;
	return -1;
}

static int
is_tchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whether C may be in a field value: VCHAR, obs-text, SP or HTAB. */
static int
is_field_char(int c)
{
	return c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f);
}

/* "HTTP/1.1 200 OK": the version, three digits, a reason or nothing. */
static int
status_line(struct http_parser *p)
{
	const char *s = p->line;
	size_t i;

	if (strncmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
	    s[8] != ' ')
		return fail(p, "bad status line");
	for (i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return fail(p, "bad status line");
	if (s[12] != '\0' && s[12] != ' ')
		return fail(p, "bad status line");
	for (i = 12; s[i] != '\0'; i++)
		if (!is_field_char((unsigned char)s[i]))
			return fail(p, "bad status line");
	p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (p->status < 100 || p->status > 599)
		return fail(p, "bad status code");
	if (p->status == 101)
		return fail(p, "unexpected protocol switch");
	/* HTTP/1.0 does not keep connections alive. */
	p->close = s[7] == '0';
	p->state = HTTP_HEADERS;
	return 0;
}

/* Whether the comma-separated list V holds the token WORD. */
static int
has_token(const char *v, const char *word)
{
	size_t n = strlen(word), k;

	for (;;) {
		v += strspn(v, " \t,");
		if (*v == '\0')
			return 0;
		k = strcspn(v, " \t,");
		if (k == n && strncasecmp(v, word, n) == 0)
			return 1;
		v += k;
	}
}

/* A header (or, with TRAILER, a trailer) line: "name: value". */
static int
header_line(struct http_parser *p, int trailer)
{
	char *name = p->line, *v, *end;
	unsigned long long n;

	if (p->headers == HTTP_MAX_HEADERS)
		return fail(p, "too many header lines");
	p->headers++;
	for (v = name; is_tchar((unsigned char)*v); v++)
		continue;
	if (v == name || *v != ':')
		return fail(p, "bad header line");
	*v++ = '\0';
	v += strspn(v, " \t");
	for (end = v; *end != '\0'; end++)
		if (!is_field_char((unsigned char)*end))
			return fail(p, "bad header value");
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	if (trailer)
		return 0;
	if (strcasecmp(name, "Content-Length") == 0) {
		if (*v == '\0' || v[strspn(v, "0123456789")] != '\0')
			return fail(p, "bad Content-Length");
		for (n = 0; *v != '\0' && n <= HTTP_MAX_BODY; v++)
			n = n * 10 + (unsigned long long)(*v - '0');
		if (n > HTTP_MAX_BODY)
			return fail(p, "Content-Length too large");
		if (p->left != NO_LENGTH && p->left != n)
			return fail(p, "two Content-Lengths");
		p->left = n;
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0 || p->chunked)
			return fail(p, "Transfer-Encoding other than chunked");
		p->chunked = 1;
	} else if (strcasecmp(name, "Connection") == 0) {
		if (has_token(v, "close"))
			p->close = 1;
	}
	return 0;
}

/* The empty line after the headers: what the body is. */
static int
headers_end(struct http_parser *p)
{
	if (p->status < 200) {
		/* An interim response: the real one follows. */
		p->state = HTTP_STATUS;
		p->chunked = 0;
		p->close = 0;
		p->left = NO_LENGTH;
		p->headers = 0;
		return 0;
	}
	if (p->chunked && p->left != NO_LENGTH)
		return fail(p, "both Content-Length and Transfer-Encoding");
	if (p->status == 204 || p->status == 304) {
		p->left = 0;
		p->state = HTTP_DONE;
	} else if (p->chunked) {
		p->left = 0;
		p->state = HTTP_CHUNK_SIZE;
	} else if (p->left == NO_LENGTH)
		return fail(p, "neither Content-Length nor chunked");
	else
		p->state = p->left > 0 ? HTTP_BODY : HTTP_DONE;
	return 0;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/*
 * "1a;name=value;other" (RFC 9112 §7.1.1): hex digits, then extensions,
 * each a token with an optional token or quoted-string value, which are
 * checked and ignored.
 */
static int
chunk_size_line(struct http_parser *p)
{
	const char *s = p->line;
	unsigned long long n = 0;
	size_t i = 0;
	int h;

	for (; (h = hex_digit(s[i])) >= 0; i++)
		if (n <= HTTP_MAX_BODY)
			n = n << 4 | (unsigned long long)h;
	if (i == 0)
		return fail(p, "bad chunk size");
	if (n > HTTP_MAX_BODY)
		return fail(p, "chunk too large");
	for (;;) {
		i += strspn(s + i, " \t");
		if (s[i] == '\0')
			break;
		if (s[i++] != ';')
			return fail(p, "bad chunk size");
		i += strspn(s + i, " \t");
		if (!is_tchar((unsigned char)s[i]))
			return fail(p, "bad chunk extension");
		while (is_tchar((unsigned char)s[i]))
			i++;
		i += strspn(s + i, " \t");
		if (s[i] != '=')
			continue;
		i++;
		i += strspn(s + i, " \t");
		if (s[i] == '"') {
			for (i++; s[i] != '"'; i++) {
				if (s[i] == '\\' && s[i + 1] != '\0')
					i++;
				if (!is_field_char((unsigned char)s[i]))
					return fail(p, "bad chunk extension");
			}
			i++;
		} else if (is_tchar((unsigned char)s[i])) {
			while (is_tchar((unsigned char)s[i]))
				i++;
		} else
			return fail(p, "bad chunk extension");
	}
	p->left = n;
	p->state = n > 0 ? HTTP_CHUNK : HTTP_TRAILERS;
	return 0;
}

/* A complete line in p->line, for the state it ends. */
static int
end_line(struct http_parser *p)
{
	int empty = p->line[0] == '\0';

	switch (p->state) {
	case HTTP_STATUS:
		return status_line(p);
	case HTTP_HEADERS:
		return empty ? headers_end(p) : header_line(p, 0);
	case HTTP_CHUNK_SIZE:
		return chunk_size_line(p);
	case HTTP_TRAILERS:
		if (!empty)
			return header_line(p, 1);
		p->state = HTTP_DONE;
		return 0;
	default:
		return fail(p, "internal error");
	}
}

long
http_parse(struct http_parser *p, const char *buf, size_t len,
    char *body, size_t bodycap, size_t *bodylen)
{
	size_t i = 0, n;
	char c;

	while (i < len) {
		switch (p->state) {
		case HTTP_DONE:
			return (long)i;
		case HTTP_ERROR:
			return -1;
		case HTTP_BODY:
		case HTTP_CHUNK:
			n = len - i;
			if (n > p->left)
				n = (size_t)p->left;
			if (n > bodycap - *bodylen)
				n = bodycap - *bodylen;
			if (n == 0)
				return (long)i;
			memcpy(body + *bodylen, buf + i, n);
			*bodylen += n;
			i += n;
			if ((p->left -= n) == 0)
				p->state = p->state == HTTP_BODY ? HTTP_DONE :
				    HTTP_CHUNK_END;
			break;
		case HTTP_CHUNK_END:
			c = buf[i++];
			if (p->linelen == 0 && c == '\r')
				p->linelen = 1;
			else if (p->linelen == 1 && c == '\n') {
				p->linelen = 0;
				p->state = HTTP_CHUNK_SIZE;
			} else
				return fail(p, "chunk not ended by CRLF");
			break;
		default:
			c = buf[i++];
			if (c == '\n') {
				if (p->linelen == 0 ||
				    p->line[p->linelen - 1] != '\r')
					return fail(p, "line not ended by CRLF");
				p->line[p->linelen - 1] = '\0';
				p->linelen = 0;
				if (end_line(p) == -1)
					return -1;
			} else if (c == '\0')
				return fail(p, "NUL byte in a line");
			else if (p->linelen == HTTP_MAX_LINE + 1 ||
			    (p->linelen == HTTP_MAX_LINE && c != '\r'))
				return fail(p, "line too long");
			else
				p->line[p->linelen++] = c;
			break;
		}
	}
	if (p->state == HTTP_ERROR)
		return -1;
	return (long)i;
}

char *
http_request(const char *method, const char *host, const char *path,
    const char *body, size_t len, size_t *out_len)
{
	size_t n;
	char *req;

	req = xasprintf("%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    method, path, host, len);
	n = strlen(req);
	req = xrealloc(req, n + len + 1);
	memcpy(req + n, body, len);
	req[n + len] = '\0';
	*out_len = n + len;
	return req;
}
