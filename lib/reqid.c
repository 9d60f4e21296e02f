#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqid.h"
#include "strmap.h"
#include "util.h"

/*
 * One client: the writes numbered (top - REQID_WINDOW, top] that are in
 * the log sit at seq % REQID_WINDOW; a slot holding another number is
 * stale.  Clients are kept in a list by their last write, oldest first.
 */
struct client {
	char *name;
	unsigned long long top;
	unsigned long long seq[REQID_WINDOW];
	size_t pos[REQID_WINDOW];
	struct client *prev, *next;
};

struct reqid_table {
	struct strmap *byname;
	struct client *oldest, *newest;
};

int
reqid_parse(const char *s, size_t len, struct reqid *id)
{
	const char *colon = memchr(s, ':', len);
	size_t clen, i;

	if (colon == NULL || (clen = (size_t)(colon - s)) == 0 ||
	    clen > REQID_CLIENT_MAX ||
	    strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz._-") < clen)
		return -1;
	id->seq = 0;
	for (i = clen + 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || id->seq > (~0ULL >> 1) / 10)
			return -1;
		id->seq = id->seq * 10 + (unsigned long long)(s[i] - '0');
	}
	if (i == clen + 1 || id->seq == 0)
		return -1;
	memcpy(id->client, s, clen);
	id->client[clen] = '\0';
	return 0;
}

struct reqid_table *
reqid_new(void)
{
	struct reqid_table *t = xcalloc(1, sizeof(*t));

	t->byname = strmap_new();
	return t;
}

static void
unlink_client(struct reqid_table *t, struct client *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		t->oldest = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		t->newest = c->prev;
	c->prev = c->next = NULL;
}

void
reqid_clear(struct reqid_table *t)
{
	struct client *c;

	while ((c = t->oldest) != NULL) {
		unlink_client(t, c);
		strmap_del(t->byname, c->name);
		free(c->name);
		free(c);
	}
}

void
reqid_free(struct reqid_table *t)
{
	reqid_clear(t);
	strmap_free(t->byname);
	free(t);
}

void
reqid_note(struct reqid_table *t, const struct reqid *id, size_t pos)
{
	struct client *c = strmap_get(t->byname, id->client);
	size_t slot = id->seq % REQID_WINDOW;

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->name = xstrdup(id->client);
		strmap_put(t->byname, c->name, c);
		if (strmap_count(t->byname) > REQID_CLIENTS) {
			struct client *old = t->oldest;

			unlink_client(t, old);
			strmap_del(t->byname, old->name);
			free(old->name);
			free(old);
		}
	} else
		unlink_client(t, c);
	c->prev = t->newest;
	if (t->newest != NULL)
		t->newest->next = c;
	else
		t->oldest = c;
	t->newest = c;
	if (id->seq > c->top)
		c->top = id->seq;
	c->seq[slot] = id->seq;
	c->pos[slot] = pos;
}

enum reqid_state
reqid_find(const struct reqid_table *t, const struct reqid *id, size_t *pos)
{
	const struct client *c = strmap_get(t->byname, id->client);
	size_t slot = id->seq % REQID_WINDOW;

	if (c == NULL || id->seq > c->top)
		return REQID_NEW;
	if (c->top - id->seq >= REQID_WINDOW)
		return REQID_FORGOTTEN;
	if (c->seq[slot] != id->seq)
		return REQID_NEW;
	*pos = c->pos[slot];
	return REQID_DONE;
}

void
reqid_each(const struct reqid_table *t, reqid_fn *fn, void *arg)
{
	const struct client *c;
	unsigned long long seq;
	struct reqid id;
	size_t slot;

	for (c = t->oldest; c != NULL; c = c->next) {
		snprintf(id.client, sizeof(id.client), "%s", c->name);
		seq = c->top >= REQID_WINDOW ? c->top - REQID_WINDOW + 1 : 1;
		for (; seq <= c->top; seq++) {
			slot = seq % REQID_WINDOW;
			if (c->seq[slot] != seq)
				continue;
			id.seq = seq;
			fn(arg, &id, c->pos[slot]);
		}
	}
}
