#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/*
 * The parser is a loop, not a recursion: STACK holds the index of each
 * object or array still open, so JSON_MAX_DEPTH bounds both the nesting
 * accepted and the memory used.  Every value, when it starts, counts in
 * the size of the container around it; a container's extent and end are
 * filled in when it closes.
 */

struct parser {
	const char *s;
	size_t len, pos;
	struct json *t;
	int max, n;
};

static void
skip_space(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' ||
	    p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	    p->s[p->pos] == '\r'))
		p->pos++;
}

/* The next byte, or -1 at the end. */
static int
peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

/* A new token of TYPE starting at S; returns its index, or -1 if full. */
static int
new_token(struct parser *p, enum json_type type, const char *s)
{
	struct json *t;

	if (p->n >= p->max)
		return -1;
	t = &p->t[p->n];
	t->type = type;
	t->s = s;
	t->len = 0;
	t->size = 0;
	t->end = p->n + 1;
	return p->n++;
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of the 4 hex digits at S, or -1. */
static long
hex4(const char *s)
{
	long v = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		if ((h = hex_value((unsigned char)s[i])) < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/*
 * Length of the well-formed UTF-8 sequence at S (at most LEN bytes), or 0
 * if there is none: overlong forms, surrogates and code points past
 * U+10FFFF are refused (RFC 3629).
 */
static size_t
utf8_len(const unsigned char *s, size_t len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * Checks the string whose opening quote is at p->pos and adds its token.
 * A \u escape of a high surrogate must be followed by one of a low
 * surrogate, and a low one must not come alone, so that every string
 * decodes to well-formed UTF-8.
 */
static int
parse_string(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->s;
	size_t i = p->pos + 1, n;
	long u, lo;
	int k;

	while (i < p->len && s[i] != '"') {
		if (s[i] < 0x20)
			return -1;
		if (s[i] != '\\') {
			if ((n = utf8_len(s + i, p->len - i)) == 0)
				return -1;
			i += n;
			continue;
		}
		if (++i == p->len)
			return -1;
		if (strchr("\"\\/bfnrt", s[i]) != NULL && s[i] != '\0') {
			i++;
			continue;
		}
		if (s[i] != 'u' || p->len - i < 5 ||
		    (u = hex4(p->s + i + 1)) < 0)
			return -1;
		i += 5;
		if (u >= 0xdc00 && u <= 0xdfff)
			return -1;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (p->len - i < 6 || s[i] != '\\' || s[i + 1] != 'u' ||
			    (lo = hex4(p->s + i + 2)) < 0xdc00 || lo > 0xdfff)
				return -1;
			i += 6;
		}
	}
	if (i == p->len)
		return -1;
	if ((k = new_token(p, JSON_STRING, p->s + p->pos + 1)) < 0)
		return -1;
	p->t[k].len = i - p->pos - 1;
	p->pos = i + 1;
	return 0;
}

static size_t
digits(const struct parser *p, size_t i)
{
	while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
		i++;
	return i;
}

/* Checks the number at p->pos (RFC 8259 §6) and adds its token. */
static int
parse_number(struct parser *p)
{
	size_t i = p->pos, j;
	int k;

	if (i < p->len && p->s[i] == '-')
		i++;
	if (i < p->len && p->s[i] == '0')
		i++;
	else if ((j = digits(p, i)) > i)
		i = j;
	else
		return -1;
	if (i < p->len && p->s[i] == '.') {
		if ((j = digits(p, i + 1)) == i + 1)
			return -1;
		i = j;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if ((j = digits(p, i)) == i)
			return -1;
		i = j;
	}
	if ((k = new_token(p, JSON_NUMBER, p->s + p->pos)) < 0)
		return -1;
	p->t[k].len = i - p->pos;
	p->pos = i;
	return 0;
}

static int
parse_literal(struct parser *p, const char *word, enum json_type type)
{
	size_t n = strlen(word);
	int k;

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return -1;
	if ((k = new_token(p, type, p->s + p->pos)) < 0)
		return -1;
	p->t[k].len = n;
	p->pos += n;
	return 0;
}

/* A member's name and the colon after it, from p->pos. */
static int
parse_name(struct parser *p)
{
	skip_space(p);
	if (peek(p) != '"' || parse_string(p) == -1)
		return -1;
	skip_space(p);
	if (peek(p) != ':')
		return -1;
	p->pos++;
	return 0;
}

int
json_parse(const char *s, size_t len, struct json *t, int max)
{
	struct parser p = { s, len, 0, t, max, 0 };
	int stack[JSON_MAX_DEPTH];
	int depth = 0, top, c, k;

	for (;;) {
		/* A value is expected. */
		skip_space(&p);
		if (depth > 0)
			t[stack[depth - 1]].size++;
		switch (c = peek(&p)) {
		case '{':
		case '[':
			if (depth == JSON_MAX_DEPTH || (k = new_token(&p,
			    c == '{' ? JSON_OBJECT : JSON_ARRAY, s + p.pos)) < 0)
				return -1;
			stack[depth++] = k;
			p.pos++;
			skip_space(&p);
			if (peek(&p) == (c == '{' ? '}' : ']'))
				break;
			if (c == '{' && parse_name(&p) == -1)
				return -1;
			continue;
		case '"':
			if (parse_string(&p) == -1)
				return -1;
			break;
		case 't':
			if (parse_literal(&p, "true", JSON_TRUE) == -1)
				return -1;
			break;
		case 'f':
			if (parse_literal(&p, "false", JSON_FALSE) == -1)
				return -1;
			break;
		case 'n':
			if (parse_literal(&p, "null", JSON_NULL) == -1)
				return -1;
			break;
		default:
			if (c != '-' && (c < '0' || c > '9'))
				return -1;
			if (parse_number(&p) == -1)
				return -1;
			break;
		}
		/* A value is complete: close what it completes. */
		for (;;) {
			skip_space(&p);
			if (depth == 0) {
				if (p.pos != len)
					return -1;
				return p.n;
			}
			top = stack[depth - 1];
			c = peek(&p);
			if (c == (t[top].type == JSON_OBJECT ? '}' : ']')) {
				p.pos++;
				t[top].len = (size_t)(s + p.pos - t[top].s);
				t[top].end = p.n;
				depth--;
				continue;
			}
			if (c != ',')
				return -1;
			p.pos++;
			if (t[top].type == JSON_OBJECT && parse_name(&p) == -1)
				return -1;
			break;
		}
	}
}

/* Whether the string token T equals NAME once decoded. */
static int
name_is(const struct json *t, const char *name)
{
	size_t n = strlen(name), dlen;
	char *d;
	int same;

	if (memchr(t->s, '\\', t->len) == NULL)
		return t->len == n && memcmp(t->s, name, n) == 0;
	d = json_string(t, 0, &dlen);
	same = dlen == n && memcmp(d, name, n) == 0;
	free(d);
	return same;
}

int
json_member(const struct json *t, int obj, const char *name)
{
	int i, k;

	if (obj < 0 || t[obj].type != JSON_OBJECT)
		return -1;
	for (i = 0, k = obj + 1; i < t[obj].size; i++, k = t[k + 1].end)
		if (name_is(&t[k], name))
			return k + 1;
	return -1;
}

int
json_element(const struct json *t, int arr, int i)
{
	int k;

	if (arr < 0 || t[arr].type != JSON_ARRAY || i < 0 || i >= t[arr].size)
		return -1;
	for (k = arr + 1; i > 0; i--)
		k = t[k].end;
	return k;
}

/* Writes the UTF-8 form of code point U at D; returns its length. */
static size_t
put_utf8(char *d, unsigned long u)
{
	if (u < 0x80) {
		d[0] = (char)u;
		return 1;
	}
	if (u < 0x800) {
		d[0] = (char)(0xc0 | u >> 6);
		d[1] = (char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		d[0] = (char)(0xe0 | u >> 12);
		d[1] = (char)(0x80 | (u >> 6 & 0x3f));
		d[2] = (char)(0x80 | (u & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | u >> 18);
	d[1] = (char)(0x80 | (u >> 12 & 0x3f));
	d[2] = (char)(0x80 | (u >> 6 & 0x3f));
	d[3] = (char)(0x80 | (u & 0x3f));
	return 4;
}

/*
 * The token was checked by json_parse(), so every escape is complete and
 * surrogates come in pairs; the decoded form is never longer than the
 * escaped one (six bytes of \uXXXX give at most three, twelve of a pair
 * give four).
 */
char *
json_string(const struct json *t, int i, size_t *len)
{
	const char *s, *end;
	char *buf, *d;
	unsigned long u;

	if (i < 0 || t[i].type != JSON_STRING)
		return NULL;
	s = t[i].s;
	end = s + t[i].len;
	d = buf = xmalloc(t[i].len + 1);
	while (s < end) {
		if (*s != '\\') {
			*d++ = *s++;
			continue;
		}
		switch (s[1]) {
		case 'b':
			*d++ = '\b';
			break;
		case 'f':
			*d++ = '\f';
			break;
		case 'n':
			*d++ = '\n';
			break;
		case 'r':
			*d++ = '\r';
			break;
		case 't':
			*d++ = '\t';
			break;
		case 'u':
			u = (unsigned long)hex4(s + 2);
			if (u >= 0xd800 && u <= 0xdbff) {
				u = 0x10000 + ((u - 0xd800) << 10) +
				    ((unsigned long)hex4(s + 8) - 0xdc00);
				s += 6;
			}
			d += put_utf8(d, u);
			s += 6;
			continue;
		default:
			*d++ = s[1];
			break;
		}
		s += 2;
	}
	*d = '\0';
	if (len != NULL)
		*len = (size_t)(d - buf);
	return buf;
}

/*
 * The text is an integer as JSON writes one: an optional minus, then 0 or
 * digits not starting with 0.  LLONG_MIN is read too (its magnitude is
 * one more than LLONG_MAX).
 */
int
json_int(const struct json *t, int i, long long *v)
{
	const char *s, *end;
	unsigned long long n = 0, limit = LLONG_MAX;
	int neg = 0, d;

	if (i < 0 || (t[i].type != JSON_NUMBER && t[i].type != JSON_STRING))
		return -1;
	s = t[i].s;
	end = s + t[i].len;
	if (s < end && *s == '-') {
		neg = 1;
		limit = (unsigned long long)LLONG_MAX + 1;
		s++;
	}
	if (s == end || (*s == '0' && end - s > 1))
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = *s - '0';
		if (n > (limit - (unsigned long long)d) / 10)
			return -1;
		n = n * 10 + (unsigned long long)d;
	}
	if (neg)
		*v = n == 0 ? 0 : -(long long)(n - 1) - 1;
	else
		*v = (long long)n;
	return 0;
}

int
json_bool(const struct json *t, int i)
{
	if (i < 0)
		return -1;
	if (t[i].type == JSON_TRUE)
		return 1;
	return t[i].type == JSON_FALSE ? 0 : -1;
}

size_t
json_quote(const char *s, size_t len, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	char *d = buf;
	size_t i;

	*d++ = '"';
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*d++ = '\\';
			*d++ = (char)c;
		} else if (c == '\n') {
			*d++ = '\\';
			*d++ = 'n';
		} else if (c == '\r') {
			*d++ = '\\';
			*d++ = 'r';
		} else if (c == '\t') {
			*d++ = '\\';
			*d++ = 't';
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(d, "\\u00", 4);
			d[4] = hex[c >> 4];
			d[5] = hex[c & 0xf];
			d += 6;
		} else
			*d++ = (char)c;
	}
	*d++ = '"';
	return (size_t)(d - buf);
}
