/*
 * json: a reader for the small JSON documents etcd's v3 gateway answers.
 *
 * json_parse() checks a whole document (RFC 8259: objects, arrays,
 * strings with every escape, numbers, true, false, null; one value with
 * only whitespace around it) and fills an array of tokens in document
 * order, each with its extent, so a caller looks values up by name
 * without copying.  Nesting deeper than JSON_MAX_DEPTH and more tokens
 * than the caller's array are refused, so no input makes it recurse or
 * allocate without bound.  Strings are checked for UTF-8 and control
 * bytes, and a \uXXXX escape of a surrogate must be half of a pair, so
 * json_string() (which decodes escapes into a new buffer) always gives
 * well-formed UTF-8.  Integers are read exactly (etcd sends int64s as strings,
 * and a JSON number read as a double loses the low digits of a lease id).
 *
 * Every accessor takes an index of -1 (what json_member() and
 * json_element() return for "none") and answers as for a value of the
 * wrong type, so lookups chain: json_int(t, json_member(t, 0, "ID"), &id).
 */
#ifndef HAKIT_JSON_H
#define HAKIT_JSON_H

#include <stddef.h>

#define JSON_MAX_DEPTH	32

enum json_type {
	JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_NUMBER, JSON_TRUE,
	JSON_FALSE, JSON_NULL
};

struct json {
	enum json_type type;
	const char *s;		/* STRING: after the quote; others: the text */
	size_t len;		/* STRING: up to the closing quote, escapes raw */
	int size;		/* OBJECT: members; ARRAY: elements */
	int end;		/* index of the first token after this value */
};

/*
 * Parses LEN bytes of S into at most MAX tokens of T.  An object's member
 * is two tokens, its name (a STRING) then its value.  Returns the number
 * of tokens, or -1 if S is not one well-formed JSON value or needs more
 * than MAX tokens or JSON_MAX_DEPTH levels.
 */
int json_parse(const char *s, size_t len, struct json *t, int max);

/*
 * Index of the value of member NAME of object T[OBJ] (the first, if the
 * name is there twice; names are compared decoded), or -1 if none.
 */
int json_member(const struct json *t, int obj, const char *name);

/* Index of element I of array T[ARR], or -1 if none. */
int json_element(const struct json *t, int arr, int i);

/*
 * Returns the string T[I], decoded, as a new NUL-terminated buffer (its
 * length, which may count NUL bytes, in *LEN if LEN is not NULL), or NULL
 * if T[I] is not a string.
 */
char *json_string(const struct json *t, int i, size_t *len);

/*
 * Reads T[I], a number without fraction or exponent or a string holding
 * one (etcd's int64s), into *V.  Returns 0, or -1 if it is neither or
 * does not fit a long long.
 */
int json_int(const struct json *t, int i, long long *v);

/* Returns 1 if T[I] is true, 0 if false, -1 if neither. */
int json_bool(const struct json *t, int i);

/*
 * Appends S (LEN bytes) to BUF as a JSON string, quotes included,
 * escaping what must be (", \ and control bytes); returns the bytes
 * written, with no NUL after them.  BUF must have room for 6 * LEN + 2.
 * Other bytes are copied, so the result is valid JSON if S is UTF-8.
 */
size_t json_quote(const char *s, size_t len, char *buf);

#endif
