#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

struct entry {
	char *key;
	void *val;
	struct entry *next;
};

struct strmap {
	struct entry **b;
	size_t nb, n;
};

static size_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return (size_t)h;
}

struct strmap *
strmap_new(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));

	m->nb = 64;
	m->b = xcalloc(m->nb, sizeof(*m->b));
	return m;
}

void
strmap_free(struct strmap *m)
{
	struct entry *e, *next;
	size_t i;

	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	free(m->b);
	free(m);
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct entry *e;

	for (e = m->b[hash(key) & (m->nb - 1)]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->val;
	return NULL;
}

static void
grow(struct strmap *m)
{
	struct entry **nb = xcalloc(2 * m->nb, sizeof(*nb)), *e, *next;
	size_t i, h;

	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e != NULL; e = next) {
			next = e->next;
			h = hash(e->key) & (2 * m->nb - 1);
			e->next = nb[h];
			nb[h] = e;
		}
	free(m->b);
	m->b = nb;
	m->nb *= 2;
}

void
strmap_put(struct strmap *m, const char *key, void *val)
{
	struct entry *e;
	size_t h = hash(key) & (m->nb - 1);

	for (e = m->b[h]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0) {
			e->val = val;
			return;
		}
	e = xmalloc(sizeof(*e));
	e->key = xstrdup(key);
	e->val = val;
	e->next = m->b[h];
	m->b[h] = e;
	if (++m->n > m->nb)
		grow(m);
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct entry **ep, *e;
	void *val;

	for (ep = &m->b[hash(key) & (m->nb - 1)]; (e = *ep) != NULL;
	    ep = &e->next)
		if (strcmp(e->key, key) == 0) {
			*ep = e->next;
			val = e->val;
			free(e->key);
			free(e);
			m->n--;
			return val;
		}
	return NULL;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->n;
}

void
strmap_each(const struct strmap *m, strmap_fn *fn, void *arg)
{
	struct entry *e;
	size_t i;

	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e != NULL; e = e->next)
			fn(e->key, e->val, arg);
}
