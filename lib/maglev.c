#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "md5.h"
#include "util.h"

int
maglev_prime(unsigned long m)
{
	if (m < 2)
		return 0;
	for (unsigned long d = 2; d * d <= m; d++)
		if (m % d == 0)
			return 0;
	return 1;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

void
maglev_build(struct maglev *t, const struct ring *r, uint32_t m)
{
	size_t live = 0, filled = 0, i;
	uint32_t *node = xmalloc((r->nnodes + 1) * sizeof(*node));
	uint64_t *offset = xmalloc((r->nnodes + 1) * sizeof(*offset));
	uint64_t *skip = xmalloc((r->nnodes + 1) * sizeof(*skip));
	uint64_t *next = xcalloc(r->nnodes + 1, sizeof(*next));
	unsigned char *owns = xcalloc(r->nnodes + 1, 1);
	unsigned char digest[16];

	memset(t, 0, sizeof(*t));
	t->m = m;
	t->entry = xmalloc((size_t)m * sizeof(*t->entry));
	for (size_t s = 0; s < m; s++)
		t->entry[s] = UINT32_MAX;
	for (i = 0; i < r->nnodes; i++) {
		if (r->node[i].removed)
			continue;
		md5(r->node[i].name, r->node[i].len, digest);
		node[live] = (uint32_t)i;
		offset[live] = le32(digest) % m;
		skip[live] = le32(digest + 4) % (m - 1) + 1;
		live++;
	}
	while (live > 0 && filled < m) {
		for (i = 0; i < live && filled < m; i++) {
			unsigned long w = r->node[node[i]].weight;
			for (; w > 0 && filled < m; w--) {
				uint64_t s;
				do
					s = (offset[i] + next[i]++ * skip[i]) % m;
				while (t->entry[s] != UINT32_MAX);
				t->entry[s] = node[i];
				owns[i] = 1;
				filled++;
			}
		}
	}
	for (i = 0; i < live; i++)
		t->nowners += owns[i];
	free(owns);
	free(next);
	free(skip);
	free(offset);
	free(node);
}

void
maglev_free(struct maglev *t)
{
	free(t->entry);
	memset(t, 0, sizeof(*t));
}
