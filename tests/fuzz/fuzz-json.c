/*
 * libFuzzer target: what etcd's gateway (or anyone in its place) can hand
 * the JSON reader.  A document that parses must fit its tokens exactly
 * (one token fewer is refused), every token's extent and end must nest,
 * and every accessor is called on every token: a string decoded by
 * json_string() and quoted again by json_quote() parses back to the same
 * bytes, json_member() finds the first member of each name, json_int()
 * agrees with the digits, json_element() with the walk.  The input, read
 * as base64, must decode only if it is the encoding of what it decodes to.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json.h"

#define MAXTOK	512

static struct json t[MAXTOK], u[2];

/* The quoted form of the decoded string T[I] reads back the same. */
static void
requote(int i)
{
	size_t n, m;
	char *s, *q, *back;

	if ((s = json_string(t, i, &n)) == NULL || s[n] != '\0')
		abort();
	q = malloc(6 * n + 2);
	if (q == NULL)
		abort();
	m = json_quote(s, n, q);
	if (m < n + 2 || m > 6 * n + 2)
		abort();
	if (json_parse(q, m, u, 2) != 1 || u[0].type != JSON_STRING)
		abort();
	back = json_string(u, 0, &m);
	if (m != n || memcmp(back, s, n) != 0)
		abort();
	free(back);
	free(q);
	free(s);
}

/* json_int() of T[I] agrees with its text. */
static void
check_int(int i)
{
	char buf[32];
	long long v;
	int n;

	if (json_int(t, i, &v) == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%lld", v);
	if (t[i].len == 2 && memcmp(t[i].s, "-0", 2) == 0)
		return;
	if ((size_t)n != t[i].len || memcmp(buf, t[i].s, t[i].len) != 0)
		abort();
}

/* Each member of T[OBJ] is found by its name, as the first of that name. */
static void
check_members(int obj)
{
	int m, k, f;
	size_t n;
	char *name;

	for (m = 0, k = obj + 1; m < t[obj].size; m++, k = t[k + 1].end) {
		if (t[k].type != JSON_STRING)
			abort();
		name = json_string(t, k, &n);
		if (strlen(name) == n) {
			f = json_member(t, obj, name);
			if (f < 0 || f > k + 1)
				abort();
			free(name);
			name = json_string(t, f - 1, NULL);
			if (strlen(name) != n)
				abort();
		}
		free(name);
	}
	if (k != t[obj].end)
		abort();
}

static void
check_elements(int arr)
{
	int e, k;

	for (e = 0, k = arr + 1; e < t[arr].size; e++, k = t[k].end)
		if (json_element(t, arr, e) != k)
			abort();
	if (k != t[arr].end || json_element(t, arr, e) != -1 ||
	    json_element(t, arr, -1) != -1)
		abort();
}

static void
check_base64(const char *s, size_t len)
{
	char *out, *again;
	long n;

	if ((out = malloc(len / 4 * 3 + 3)) == NULL ||
	    (again = malloc(BASE64_LEN(len) + 1)) == NULL)
		abort();
	if ((n = base64_decode(s, len, out)) >= 0) {
		if (out[n] != '\0' || base64_encode(out, (size_t)n, again) !=
		    len || memcmp(again, s, len) != 0)
			abort();
	}
	free(out);
	free(again);
	if ((out = malloc(BASE64_LEN(len) + 1)) == NULL ||
	    (again = malloc(len + 3)) == NULL)
		abort();
	n = (long)base64_encode(s, len, out);
	if ((size_t)n != BASE64_LEN(len) || out[n] != '\0' ||
	    base64_decode(out, (size_t)n, again) != (long)len ||
	    memcmp(again, s, len) != 0)
		abort();
	free(out);
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int n, i;

	check_base64(s, size);
	if ((n = json_parse(s, size, t, MAXTOK)) < 0)
		return 0;
	if (n == 0 || t[0].end != n || json_parse(s, size, t, n - 1) != -1 ||
	    json_parse(s, size, t, n) != n)
		abort();
	for (i = 0; i < n; i++) {
		if (t[i].end <= i || t[i].end > n ||
		    t[i].s < s || t[i].s + t[i].len > s + size)
			abort();
		if (t[i].type != JSON_OBJECT && t[i].type != JSON_ARRAY &&
		    (t[i].end != i + 1 || t[i].size != 0))
			abort();
		if (json_bool(t, i) != (t[i].type == JSON_TRUE ? 1 :
		    t[i].type == JSON_FALSE ? 0 : -1))
			abort();
		check_int(i);
		switch (t[i].type) {
		case JSON_OBJECT:
			check_members(i);
			break;
		case JSON_ARRAY:
			check_elements(i);
			break;
		case JSON_STRING:
			requote(i);
			break;
		default:
			if (json_string(t, i, NULL) != NULL ||
			    json_member(t, i, "") != -1)
				abort();
			break;
		}
	}
	return 0;
}
