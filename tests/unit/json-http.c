/*
 * json-http [CASE EXPECTED]: runs a table of cases through lib/json.c,
 * lib/base64.c and lib/http.c, prints a line for each case whose result
 * is not the one expected, and exits 1 if there was one (2 on a usage
 * error).  With CASE and EXPECTED, that case must give EXPECTED instead:
 * tests/18-parsers.bats uses it to show that a wrong expectation fails.
 *
 * Every HTTP case is fed whole, one byte at a time, cut in two at every
 * offset, and into a body buffer of one byte; all must read the same.
 */
#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "http.h"
#include "json.h"
#include "util.h"

#define MAXTOK	256

enum kind {
	JSON,		/* the document rewritten from its tokens */
	JSON_COUNT,	/* the number of tokens */
	JSON_INT,	/* json_int() of the document's first token */
	MEMBER,		/* the value of member "key" of the object */
	ETCD,		/* what a range answer says */
	QUOTE,		/* json_quote() of the input */
	B64_ENC,
	B64_DEC,
	HTTP,		/* the responses read, " | " between them */
	REQUEST		/* http_request() with the input as body */
};

enum gen {
	GIVEN,		/* the input is IN */
	NEST,		/* N nested arrays */
	ARRAY,		/* an array of N zeros */
	LONG_LINE,	/* a response with a header line of N bytes */
	HEADERS		/* a response with N header lines */
};

struct tcase {
	enum kind kind;
	const char *name;
	const char *in;
	const char *want;
	size_t len;		/* of IN, if it holds a NUL */
	enum gen gen;
	int n;
};

#define OPEN8	"[[[[[[[["
#define CLOSE8	"]]]]]]]]"
#define ETCD_RANGE "{\"header\":{\"cluster_id\":\"14841639068965178418\"," \
	"\"revision\":\"2\"},\"succeeded\":true,\"responses\":[{" \
	"\"response_range\":{\"kvs\":[{\"key\":\"Zm9v\"," \
	"\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\"," \
	"\"value\":\"YmFy\"}],\"count\":\"1\"}}]}"
/* A case with its input as a string, one holding LEN bytes, one made. */
#define C(kind, name, in, want)	{ kind, name, in, want, 0, GIVEN, 0 }
#define CN(kind, name, in, want, len)	{ kind, name, in, want, len, GIVEN, 0 }
#define CG(kind, name, want, gen, n)	{ kind, name, NULL, want, 0, gen, n }
#define OK200	"HTTP/1.1 200 OK\r\n"
#define TE	"Transfer-Encoding: chunked\r\n"

static const struct tcase cases[] = {
	C(JSON, "json: an object of every kind of value",
	    "{\"a\":[1,-2.5e+3,0.25E-1,true,false,null],\"b\":{},\"c\":\"\"}",
	    "{\"a\":[1,-2.5e+3,0.25E-1,true,false,null],\"b\":{},\"c\":\"\"}"),
	C(JSON, "json: whitespace around and inside",
	    " \t\n{ \"a\" :\r [ ] , \"b\":[ 1 , 2 ] }\r\n",
	    "{\"a\":[],\"b\":[1,2]}"),
	C(JSON, "json: a number alone", "-0", "-0"),
	C(JSON, "json: a string alone", "\"x\"", "\"x\""),
	C(JSON, "json: every escape, a surrogate pair among them",
	    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"",
	    "\"\\\"\\\\/\\u0008\\u000c\\n\\r\\tA\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x98\x80\""),
	C(JSON, "json: \\u0000 decodes to a NUL byte", "[\"a\\u0000b\"]",
	    "[\"a\\u0000b\"]"),
	C(JSON, "json: UTF-8 up to U+10FFFF",
	    "\"\xc2\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\"",
	    "\"\xc2\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\""),
	CG(JSON, "json: 32 levels of nesting",
	    OPEN8 OPEN8 OPEN8 OPEN8 CLOSE8 CLOSE8 CLOSE8 CLOSE8, NEST, 32),
	CG(JSON, "json: 33 levels of nesting refused", "invalid", NEST, 33),
	C(JSON, "json: empty input refused", "", "invalid"),
	C(JSON, "json: only blanks refused", " \n", "invalid"),
	C(JSON, "json: unclosed object refused", "{\"a\":1", "invalid"),
	C(JSON, "json: trailing comma in an array refused", "[1,]", "invalid"),
	C(JSON, "json: trailing comma in an object refused", "{\"a\":1,}",
	    "invalid"),
	C(JSON, "json: member without value refused", "{\"a\"}", "invalid"),
	C(JSON, "json: name that is not a string refused", "{1:2}", "invalid"),
	C(JSON, "json: leading zero refused", "[01]", "invalid"),
	C(JSON, "json: fraction without digits refused", "[1.]", "invalid"),
	C(JSON, "json: number starting with a dot refused", "[.5]", "invalid"),
	C(JSON, "json: exponent without digits refused", "[1e+]", "invalid"),
	C(JSON, "json: plus sign refused", "[+1]", "invalid"),
	C(JSON, "json: minus alone refused", "-", "invalid"),
	C(JSON, "json: NaN refused", "[NaN]", "invalid"),
	C(JSON, "json: truncated literal refused", "[tru]", "invalid"),
	C(JSON, "json: capital literal refused", "True", "invalid"),
	C(JSON, "json: single quotes refused", "'a'", "invalid"),
	C(JSON, "json: two values refused", "[1][2]", "invalid"),
	C(JSON, "json: garbage after the value refused", "{} x", "invalid"),
	C(JSON, "json: unterminated string refused", "\"abc", "invalid"),
	C(JSON, "json: control byte in a string refused", "\"a\x01\"",
	    "invalid"),
	C(JSON, "json: raw newline in a string refused", "\"a\nb\"",
	    "invalid"),
	CN(JSON, "json: NUL byte in the document refused", "[1,\0]", "invalid",
	    5),
	C(JSON, "json: unknown escape refused", "\"\\x41\"", "invalid"),
	C(JSON, "json: short \\u escape refused", "\"\\u12\"", "invalid"),
	C(JSON, "json: bad hex in \\u refused", "\"\\u12g4\"", "invalid"),
	C(JSON, "json: lone high surrogate refused", "\"\\ud800\"", "invalid"),
	C(JSON, "json: high surrogate then a letter refused",
	    "\"\\ud800\\u0041\"", "invalid"),
	C(JSON, "json: lone low surrogate refused", "\"\\udc00\\ud800\"",
	    "invalid"),
	C(JSON, "json: byte 0xff refused", "\"\xff\"", "invalid"),
	C(JSON, "json: overlong UTF-8 refused", "\"\xc0\xaf\"", "invalid"),
	C(JSON, "json: overlong 3-byte UTF-8 refused", "\"\xe0\x80\xaf\"",
	    "invalid"),
	C(JSON, "json: UTF-8 surrogate refused", "\"\xed\xa0\x80\"", "invalid"),
	C(JSON, "json: UTF-8 past U+10FFFF refused", "\"\xf4\x90\x80\x80\"",
	    "invalid"),
	C(JSON, "json: truncated UTF-8 refused", "\"\xe2\x82\"", "invalid"),
	C(JSON, "json: lone continuation byte refused", "\"\x80\"", "invalid"),
	C(JSON_COUNT, "json: tokens of an object", "{\"a\":[1,2],\"b\":null}",
	    "7"),
	CG(JSON_COUNT, "json: 256 tokens fit", "256", ARRAY, 255),
	CG(JSON_COUNT, "json: 257 tokens do not", "invalid", ARRAY, 256),
	C(JSON_INT, "int: int64 max", "9223372036854775807",
	    "9223372036854775807"),
	C(JSON_INT, "int: int64 min", "-9223372036854775808",
	    "-9223372036854775808"),
	C(JSON_INT, "int: int64 max + 1 refused", "9223372036854775808",
	    "not int"),
	C(JSON_INT, "int: int64 min - 1 refused", "-9223372036854775809",
	    "not int"),
	C(JSON_INT, "int: 2^64 as a string refused", "\"18446744073709551616\"",
	    "not int"),
	C(JSON_INT, "int: a lease id as a string, every digit kept",
	    "\"7587899285589627141\"", "7587899285589627141"),
	C(JSON_INT, "int: int64 min as a string", "\"-9223372036854775808\"",
	    "-9223372036854775808"),
	C(JSON_INT, "int: negative string", "\"-1\"", "-1"),
	C(JSON_INT, "int: zero", "0", "0"),
	C(JSON_INT, "int: minus zero", "\"-0\"", "0"),
	C(JSON_INT, "int: fraction refused", "1.0", "not int"),
	C(JSON_INT, "int: exponent refused", "1e3", "not int"),
	C(JSON_INT, "int: leading zero in a string refused", "\"01\"",
	    "not int"),
	C(JSON_INT, "int: plus in a string refused", "\"+1\"", "not int"),
	C(JSON_INT, "int: blank in a string refused", "\" 1\"", "not int"),
	C(JSON_INT, "int: empty string refused", "\"\"", "not int"),
	C(JSON_INT, "int: trailing letter refused", "\"12a\"", "not int"),
	C(JSON_INT, "int: true is no integer", "true", "not int"),
	C(MEMBER, "member: found", "{\"a\":0,\"key\":[1]}", "[1]"),
	C(MEMBER, "member: name with an escape", "{\"k\\u0065y\":\"v\"}",
	    "\"v\""),
	C(MEMBER, "member: the first of two", "{\"key\":1,\"key\":2}", "1"),
	C(MEMBER, "member: not searched in nested objects",
	    "{\"a\":{\"key\":1},\"b\":[{\"key\":2}]}", "none"),
	C(MEMBER, "member: a prefix is not the name", "{\"ke\":1,\"keys\":2}",
	    "none"),
	C(MEMBER, "member: an array has none", "[\"key\",1]", "none"),
	C(ETCD, "etcd: a range answer", ETCD_RANGE,
	    "succeeded=1 revision=2 count=1 key=foo value=bar mod=2"),
	C(QUOTE, "quote: what must be escaped", "a\"b\\c\n\r\t\x01\x1f\x7f/\xc3\xa9",
	    "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u007f/\xc3\xa9\""),
	CN(QUOTE, "quote: a NUL byte", "a\0b", "\"a\\u0000b\"", 3),
	C(QUOTE, "quote: empty", "", "\"\""),
	C(B64_ENC, "base64: RFC 4648 \"\"", "", ""),
	C(B64_ENC, "base64: RFC 4648 f", "f", "Zg=="),
	C(B64_ENC, "base64: RFC 4648 fo", "fo", "Zm8="),
	C(B64_ENC, "base64: RFC 4648 foo", "foo", "Zm9v"),
	C(B64_ENC, "base64: RFC 4648 foob", "foob", "Zm9vYg=="),
	C(B64_ENC, "base64: RFC 4648 fooba", "fooba", "Zm9vYmE="),
	C(B64_ENC, "base64: RFC 4648 foobar", "foobar", "Zm9vYmFy"),
	CN(B64_ENC, "base64: every byte value of the alphabet's ends",
	    "\0\xff\xfe\xfb\xef\xbf", "AP/++++/", 6),
	C(B64_DEC, "base64 -d: RFC 4648 \"\"", "", ""),
	C(B64_DEC, "base64 -d: RFC 4648 f", "Zg==", "f"),
	C(B64_DEC, "base64 -d: RFC 4648 fo", "Zm8=", "fo"),
	C(B64_DEC, "base64 -d: RFC 4648 foo", "Zm9v", "foo"),
	C(B64_DEC, "base64 -d: RFC 4648 foob", "Zm9vYg==", "foob"),
	C(B64_DEC, "base64 -d: RFC 4648 fooba", "Zm9vYmE=", "fooba"),
	C(B64_DEC, "base64 -d: RFC 4648 foobar", "Zm9vYmFy", "foobar"),
	C(B64_DEC, "base64 -d: binary", "AP/++++/", "\\x00\\xff\\xfe\\xfb"
	    "\\xef\\xbf"),
	C(B64_DEC, "base64 -d: missing padding refused", "Zg", "invalid"),
	C(B64_DEC, "base64 -d: short padding refused", "Zg=", "invalid"),
	C(B64_DEC, "base64 -d: padding alone refused", "====", "invalid"),
	C(B64_DEC, "base64 -d: three pads refused", "Z===", "invalid"),
	C(B64_DEC, "base64 -d: padding in the middle refused", "Zg==Zg==",
	    "invalid"),
	C(B64_DEC, "base64 -d: pad then digit refused", "Zm=v", "invalid"),
	C(B64_DEC, "base64 -d: bits after == refused", "Zh==", "invalid"),
	C(B64_DEC, "base64 -d: bits after = refused", "Zm9=", "invalid"),
	C(B64_DEC, "base64 -d: URL alphabet refused", "Zm-_", "invalid"),
	C(B64_DEC, "base64 -d: blank refused", "Zm 9", "invalid"),
	C(B64_DEC, "base64 -d: newline refused", "Zm9v\n", "invalid"),
	C(HTTP, "http: Content-Length body",
	    OK200 "Content-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
	    "200 hello"),
	C(HTTP, "http: names in any case, Connection: close",
	    "HTTP/1.1 404 Not Found\r\ncontent-LENGTH: 2\r\n"
	    "CONNECTION:  Close \r\n\r\nno", "404 close no"),
	C(HTTP, "http: close among other Connection options",
	    OK200 "Connection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
	    "200 close "),
	C(HTTP, "http: HTTP/1.0 closes", "HTTP/1.0 200 OK\r\n"
	    "Content-Length: 1\r\n\r\nx", "200 close x"),
	C(HTTP, "http: no reason phrase", "HTTP/1.1 200\r\n"
	    "Content-Length: 1\r\n\r\nx", "200 x"),
	C(HTTP, "http: chunked, with extensions and trailers",
	    OK200 TE "\r\n5;foo=bar\r\nhello\r\n6 ; a ; b = \"q\\\"x\" \r\n"
	    " world\r\n000\r\nX-Trailer: yes\r\n\r\n", "200 hello world"),
	C(HTTP, "http: chunk sizes in hex, any case",
	    OK200 TE "\r\na\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n",
	    "200 0123456789abcdefghijk"),
	C(HTTP, "http: 100 Continue, then 200",
	    "HTTP/1.1 100 Continue\r\nX: y\r\n\r\n"
	    OK200 "Content-Length: 2\r\n\r\nok", "200 ok"),
	C(HTTP, "http: two responses back to back",
	    OK200 "Content-Length: 2\r\n\r\nab"
	    OK200 TE "\r\n2\r\ncd\r\n0\r\n\r\n", "200 ab | 200 cd"),
	C(HTTP, "http: 204 has no body, whatever it says",
	    "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n"
	    OK200 "Content-Length: 1\r\n\r\nz", "204  | 200 z"),
	C(HTTP, "http: a stream hands over what has come",
	    OK200 TE "\r\nd\r\n{\"result\":1}\n\r\n"
	    "d\r\n{\"result\":2}\n\r\nd\r\n{\"resu",
	    "partial chunk 200 {\"result\":1}\n{\"result\":2}\n{\"resu"),
	C(HTTP, "http: the same Content-Length twice",
	    OK200 "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", "200 x"),
	C(HTTP, "http: largest Content-Length accepted",
	    OK200 "Content-Length: 16777216\r\n\r\nabc", "partial body 200 abc"),
	CG(HTTP, "http: header line of HTTP_MAX_LINE bytes", "200 ",
	    LONG_LINE, HTTP_MAX_LINE),
	CG(HTTP, "http: header line too long", "error: line too long",
	    LONG_LINE, HTTP_MAX_LINE + 1),
	CG(HTTP, "http: HTTP_MAX_HEADERS header lines", "200 ",
	    HEADERS, HTTP_MAX_HEADERS),
	CG(HTTP, "http: too many header lines",
	    "error: too many header lines", HEADERS, HTTP_MAX_HEADERS + 1),
	C(HTTP, "http: bad chunk size", OK200 TE "\r\nzz\r\n",
	    "error: bad chunk size"),
	C(HTTP, "http: negative chunk size", OK200 TE "\r\n-1\r\n",
	    "error: bad chunk size"),
	C(HTTP, "http: empty chunk size", OK200 TE "\r\n\r\n",
	    "error: bad chunk size"),
	C(HTTP, "http: chunk size then garbage", OK200 TE "\r\n5 x\r\n",
	    "error: bad chunk size"),
	C(HTTP, "http: bad chunk extension", OK200 TE "\r\n5;=x\r\n",
	    "error: bad chunk extension"),
	C(HTTP, "http: chunk too large", OK200 TE "\r\n1000001\r\n",
	    "error: chunk too large"),
	C(HTTP, "http: chunk size with many leading zeros",
	    OK200 TE "\r\n00000000000000000000001\r\nx\r\n0\r\n\r\n", "200 x"),
	C(HTTP, "http: chunk data longer than its size",
	    OK200 TE "\r\n1\r\nxy\r\n", "error: chunk not ended by CRLF"),
	C(HTTP, "http: Transfer-Encoding gzip refused",
	    OK200 "Transfer-Encoding: gzip\r\n\r\n",
	    "error: Transfer-Encoding other than chunked"),
	C(HTTP, "http: gzip then chunked refused",
	    OK200 "Transfer-Encoding: gzip, chunked\r\n\r\n",
	    "error: Transfer-Encoding other than chunked"),
	C(HTTP, "http: chunked twice refused", OK200 TE TE "\r\n",
	    "error: Transfer-Encoding other than chunked"),
	C(HTTP, "http: Content-Length and chunked refused",
	    OK200 TE "Content-Length: 5\r\n\r\n",
	    "error: both Content-Length and Transfer-Encoding"),
	C(HTTP, "http: Content-Length too large",
	    OK200 "Content-Length: 16777217\r\n\r\n",
	    "error: Content-Length too large"),
	C(HTTP, "http: huge Content-Length",
	    OK200 "Content-Length: 99999999999999999999999\r\n\r\n",
	    "error: Content-Length too large"),
	C(HTTP, "http: two different Content-Lengths",
	    OK200 "Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
	    "error: two Content-Lengths"),
	C(HTTP, "http: Content-Length not a number",
	    OK200 "Content-Length: -1\r\n\r\n", "error: bad Content-Length"),
	C(HTTP, "http: no length of any kind", OK200 "\r\n",
	    "error: neither Content-Length nor chunked"),
	C(HTTP, "http: bare LF refused", "HTTP/1.1 200 OK\n",
	    "error: line not ended by CRLF"),
	C(HTTP, "http: HTTP/2 refused", "HTTP/2 200 OK\r\n",
	    "error: bad status line"),
	C(HTTP, "http: two-digit status refused", "HTTP/1.1 20 OK\r\n",
	    "error: bad status line"),
	C(HTTP, "http: status 600 refused", "HTTP/1.1 600 What\r\n",
	    "error: bad status code"),
	C(HTTP, "http: 101 refused", "HTTP/1.1 101 Switching\r\n",
	    "error: unexpected protocol switch"),
	C(HTTP, "http: space before the colon refused",
	    OK200 "Content-Length : 1\r\n", "error: bad header line"),
	C(HTTP, "http: folded header refused",
	    OK200 "X: a\r\n b\r\n", "error: bad header line"),
	C(HTTP, "http: control byte in a value refused",
	    OK200 "X: a\rb\r\n", "error: bad header value"),
	CN(HTTP, "http: NUL byte in a header refused",
	    OK200 "Content-Length: 1\0x\r\n\r\nx", "error: NUL byte in a line",
	    41),
	C(HTTP, "http: bad trailer refused",
	    OK200 TE "\r\n0\r\nbad trailer\r\n", "error: bad header line"),
	C(REQUEST, "request: the range request",
	    "{\"key\":\"Zm9v\"}",
	    "POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1:2379\r\n"
	    "Content-Type: application/json\r\nContent-Length: 14\r\n\r\n"
	    "{\"key\":\"Zm9v\"}"),
};

/* A growing string. */
struct out {
	char *s;
	size_t len, cap;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = 2 * (o->len + n + 1);
		o->s = xrealloc(o->s, o->cap);
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
putf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(&n, fmt, ap);
	va_end(ap);
	put(o, s, n);
	free(s);
}

static char *
generate(const struct tcase *c, size_t *len)
{
	struct out o = { NULL, 0, 0 };
	int i;

	put(&o, "", 0);
	switch (c->gen) {
	case NEST:
		for (i = 0; i < c->n; i++)
			put(&o, "[", 1);
		for (i = 0; i < c->n; i++)
			put(&o, "]", 1);
		break;
	case ARRAY:
		put(&o, "[", 1);
		for (i = 0; i < c->n; i++)
			put(&o, i > 0 ? ",0" : "0", i > 0 ? 2 : 1);
		put(&o, "]", 1);
		break;
	case LONG_LINE:
		put(&o, OK200 "X-Long: ", strlen(OK200 "X-Long: "));
		for (i = 8; i < c->n; i++)
			put(&o, "a", 1);
		put(&o, "\r\nContent-Length: 0\r\n\r\n", 23);
		break;
	case HEADERS:
		put(&o, OK200, strlen(OK200));
		for (i = 1; i < c->n; i++)
			put(&o, "X: 1\r\n", 6);
		put(&o, "Content-Length: 0\r\n\r\n", 21);
		break;
	case GIVEN:
		break;
	}
	*len = o.len;
	return o.s;
}

/* Rewrites the value T[I] into O; returns the index after it. */
static int
rewrite(const struct json *t, int i, struct out *o)
{
	int k, m;
	size_t n;
	char *s, *q;

	switch (t[i].type) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		put(o, t[i].type == JSON_OBJECT ? "{" : "[", 1);
		for (m = 0, k = i + 1; m < t[i].size; m++) {
			if (m > 0)
				put(o, ",", 1);
			if (t[i].type == JSON_OBJECT) {
				k = rewrite(t, k, o);
				put(o, ":", 1);
			}
			k = rewrite(t, k, o);
		}
		put(o, t[i].type == JSON_OBJECT ? "}" : "]", 1);
		if (k != t[i].end)
			put(o, "(bad end)", 9);
		return k;
	case JSON_STRING:
		s = json_string(t, i, &n);
		q = xmalloc(6 * n + 2);
		put(o, q, json_quote(s, n, q));
		free(q);
		free(s);
		return i + 1;
	default:
		put(o, t[i].s, t[i].len);
		return i + 1;
	}
}

/* The etcd range answer's fields, looked up as a client would. */
static void
etcd_range(const struct json *t, struct out *o)
{
	long long rev, count, mod;
	int kv, k, v;
	char *s, key[64], value[64];

	kv = json_element(t, json_member(t, json_member(t, json_element(t,
	    json_member(t, 0, "responses"), 0), "response_range"), "kvs"), 0);
	if (json_int(t, json_member(t, json_member(t, 0, "header"),
	    "revision"), &rev) == -1 ||
	    json_int(t, json_member(t, json_member(t, json_element(t,
	    json_member(t, 0, "responses"), 0), "response_range"), "count"),
	    &count) == -1 ||
	    json_int(t, json_member(t, kv, "mod_revision"), &mod) == -1 ||
	    (k = json_member(t, kv, "key")) == -1 ||
	    (v = json_member(t, kv, "value")) == -1 ||
	    t[k].type != JSON_STRING || t[k].len >= sizeof(key) ||
	    t[v].type != JSON_STRING || t[v].len >= sizeof(value)) {
		put(o, "missing", 7);
		return;
	}
	s = json_string(t, k, NULL);
	if (base64_decode(s, strlen(s), key) < 0)
		strcpy(key, "?");
	free(s);
	s = json_string(t, v, NULL);
	if (base64_decode(s, strlen(s), value) < 0)
		strcpy(value, "?");
	free(s);
	putf(o, "succeeded=%d revision=%lld count=%lld key=%s value=%s "
	    "mod=%lld", json_bool(t, json_member(t, 0, "succeeded")), rev,
	    count, key, value, mod);
}

static void
run_json(const struct tcase *c, const char *in, size_t len, struct out *o)
{
	struct json t[MAXTOK];
	long long v;
	int n, k;

	if ((n = json_parse(in, len, t, MAXTOK)) < 0) {
		put(o, "invalid", 7);
		return;
	}
	switch (c->kind) {
	case JSON:
		if (rewrite(t, 0, o) != n)
			put(o, "(bad count)", 11);
		break;
	case JSON_COUNT:
		putf(o, "%d", n);
		break;
	case JSON_INT:
		if (json_int(t, 0, &v) == 0)
			putf(o, "%lld", v);
		else
			put(o, "not int", 7);
		break;
	case MEMBER:
		if ((k = json_member(t, 0, "key")) < 0)
			put(o, "none", 4);
		else
			rewrite(t, k, o);
		break;
	default:
		etcd_range(t, o);
		break;
	}
}

static const char *const state_names[] = {
	"status", "headers", "body", "chunk-size", "chunk", "chunk-end",
	"trailers", "done", "error"
};

/*
 * Feeds IN to a parser, FIRST bytes then pieces of EACH bytes (0: all
 * that is left), into a body buffer of CAP bytes, and writes into O what
 * was read.  Checks what every call promises on the way.
 */
static void
http_feed(const char *in, size_t len, size_t first, size_t each, size_t cap,
    struct out *o)
{
	struct http_parser p;
	struct out acc = { NULL, 0, 0 };
	char *body = xmalloc(cap);
	size_t off = 0, n, pos, blen = 0, before;
	enum http_state was;
	long r;
	int nresp = 0;

	http_parser_init(&p);
	put(&acc, "", 0);
	while (off < len) {
		n = first > 0 ? first : each > 0 ? each : len - off;
		first = 0;
		if (n > len - off)
			n = len - off;
		for (pos = 0; pos < n;) {
			was = p.state;
			before = blen;
			r = http_parse(&p, in + off + pos, n - pos, body, cap,
			    &blen);
			if (r < 0) {
				putf(o, "%serror: %s", nresp > 0 ? " | " : "",
				    p.state == HTTP_ERROR ? p.error : "no state");
				goto done;
			}
			if ((size_t)r > n - pos || blen > cap)
				putf(o, "(overrun)");
			if (n - pos == 1 && (was == HTTP_BODY ||
			    was == HTTP_CHUNK) && before < cap &&
			    blen != before + 1)
				putf(o, "(body held back)");
			pos += (size_t)r;
			if (p.state == HTTP_DONE) {
				put(&acc, body, blen);
				putf(o, "%s%d%s %s", nresp++ > 0 ? " | " : "",
				    p.status, p.close ? " close" : "", acc.s);
				acc.len = 0;
				blen = 0;
				http_parser_init(&p);
			} else if (pos < n) {
				if (blen != cap) {
					putf(o, "(stopped early)");
					goto done;
				}
				put(&acc, body, blen);
				blen = 0;
			}
		}
		off += n;
	}
	if (p.state != HTTP_STATUS || p.linelen > 0) {
		put(&acc, body, blen);
		putf(o, "%spartial %s %d %s", nresp > 0 ? " | " : "",
		    state_names[p.state], p.status, acc.s);
	}
done:
	free(acc.s);
	free(body);
}

/* Reads IN every way http_feed() can; all must agree with the first. */
static void
run_http(const char *in, size_t len, struct out *o)
{
	struct out again = { NULL, 0, 0 };
	size_t k;

	http_feed(in, len, 0, 0, len + 1, o);
	for (k = 0; k <= len + 2; k++) {
		again.len = 0;
		put(&again, "", 0);
		if (k < len)
			http_feed(in, len, k, 0, len + 1, &again);
		else if (k == len)
			http_feed(in, len, 0, 1, len + 1, &again);
		else if (k == len + 1)
			http_feed(in, len, 0, 0, 1, &again);
		else
			http_feed(in, len, 0, 1, 1, &again);
		if (strcmp(again.s, o->s) != 0) {
			putf(o, " (but fed %s: %s)", k < len ? "in two" :
			    "otherwise", again.s);
			break;
		}
	}
	free(again.s);
}

static void
run_case(const struct tcase *c, const char *in, size_t len, struct out *o)
{
	char *buf;
	size_t n;
	long r;

	switch (c->kind) {
	case QUOTE:
		buf = xmalloc(6 * len + 2);
		put(o, buf, json_quote(in, len, buf));
		free(buf);
		break;
	case B64_ENC:
		buf = xmalloc(BASE64_LEN(len) + 1);
		put(o, buf, base64_encode(in, len, buf));
		free(buf);
		break;
	case B64_DEC:
		buf = xmalloc(len / 4 * 3 + 3);
		if ((r = base64_decode(in, len, buf)) < 0)
			put(o, "invalid", 7);
		else
			for (n = 0; n < (size_t)r; n++)
				if (buf[n] >= 0x20 && buf[n] < 0x7f)
					put(o, buf + n, 1);
				else
					putf(o, "\\x%02x",
					    (unsigned char)buf[n]);
		free(buf);
		break;
	case HTTP:
		run_http(in, len, o);
		break;
	case REQUEST:
		buf = http_request("POST", "127.0.0.1:2379", "/v3/kv/range",
		    in, len, &n);
		put(o, buf, n);
		free(buf);
		break;
	default:
		run_json(c, in, len, o);
		break;
	}
}

int
main(int argc, char *argv[])
{
	const struct tcase *c;
	struct out got = { NULL, 0, 0 };
	const char *want;
	char *in;
	size_t len, i, failed = 0, found = 0;

	if (argc != 1 && argc != 3)
		errx(2, "usage: json-http [case expected]");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		want = c->want;
		if (argc == 3 && strcmp(argv[1], c->name) == 0) {
			want = argv[2];
			found = 1;
		}
		if (c->gen != GIVEN)
			in = generate(c, &len);
		else {
			len = c->len > 0 ? c->len : strlen(c->in);
			in = xmalloc(len);
			memcpy(in, c->in, len);
		}
		got.len = 0;
		put(&got, "", 0);
		run_case(c, in, len, &got);
		if (strcmp(got.s, want) != 0) {
			printf("FAIL %s\n  got:  %s\n  want: %s\n", c->name,
			    got.s, want);
			failed++;
		}
		free(in);
	}
	free(got.s);
	if (argc == 3 && !found)
		errx(2, "no case named '%s'", argv[1]);
	printf("%zu of %zu cases passed\n", i - failed, i);
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	return failed > 0;
}
