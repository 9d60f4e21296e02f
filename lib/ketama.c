#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ketama.h"
#include "md5.h"
#include "util.h"

#define POINTS_PER_SERVER	160
#define POINTS_PER_HASH		4

uint32_t
ketama_points(unsigned long weight, unsigned long total, size_t nnodes)
{
	/*
	 * The expression and its types are twemproxy's ketama_update():
	 * float arithmetic, a double addition, truncated back to float.
	 */
	float pct = (float)weight / (float)total;

	return (uint32_t)((floorf((float)(pct * POINTS_PER_SERVER / 4 *
	    (float)nnodes + 0.0000000001))) * 4);
}

static const struct ring *rank_ring;

static int
by_node_name(const void *a, const void *b)
{
	return strcmp(rank_ring->node[*(const uint32_t *)a].name,
	    rank_ring->node[*(const uint32_t *)b].name);
}

/* Stable LSD radix sort of 64-bit items by their high 32 bits. */
static void
sort_by_value(uint64_t *item, size_t n)
{
	uint64_t *tmp = xmalloc(n * sizeof(*tmp)), *src = item, *dst = tmp, *t;
	size_t count[256], i;

	for (int shift = 32; shift < 64; shift += 8) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(src[i] >> shift) & 0xff]++;
		for (size_t sum = 0, c, d = 0; d < 256; d++) {
			c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	free(tmp);	/* four passes: the result is back in ITEM */
}

void
ketama_build(struct ketama *k, const struct ring *r)
{
	unsigned long total = 0;
	size_t live = 0, i, np = 0, nbuckets, p;
	uint32_t *rank = xmalloc(r->nnodes * sizeof(*rank) + 1), bits;
	uint32_t *pts = xcalloc(r->nnodes + 1, sizeof(*pts));
	uint64_t *item;
	char host[RING_MAX_LINE + 32];
	unsigned char digest[16];

	memset(k, 0, sizeof(*k));
	for (i = 0; i < r->nnodes; i++)
		if (!r->node[i].removed) {
			total += r->node[i].weight;
			rank[live++] = (uint32_t)i;
		}
	/* Emit points in node-name order so the stable sort breaks ties so. */
	rank_ring = r;
	qsort(rank, live, sizeof(*rank), by_node_name);
	for (i = 0; i < live; i++) {
		pts[i] = ketama_points(r->node[rank[i]].weight, total, live);
		np += pts[i];
	}
	item = xmalloc(np * sizeof(*item) + 1);
	for (i = 0, p = 0; i < live; i++) {
		const struct ring_node *nd = &r->node[rank[i]];
		for (uint32_t h = 0; h < pts[i] / POINTS_PER_HASH; h++) {
			int len = snprintf(host, sizeof(host), "%s-%u",
			    nd->name, h);
			md5(host, (size_t)len, digest);
			for (int x = 0; x < POINTS_PER_HASH; x++) {
				uint32_t v = (uint32_t)digest[4 * x] |
				    (uint32_t)digest[4 * x + 1] << 8 |
				    (uint32_t)digest[4 * x + 2] << 16 |
				    (uint32_t)digest[4 * x + 3] << 24;
				item[p++] = (uint64_t)v << 32 | rank[i];
			}
		}
		k->nowners += pts[i] > 0;
	}
	sort_by_value(item, np);

	k->npoints = np;
	k->value = xmalloc(np * sizeof(*k->value) + 1);
	k->owner = xmalloc(np * sizeof(*k->owner) + 1);
	for (p = 0; p < np; p++) {
		k->value[p] = (uint32_t)(item[p] >> 32);
		k->owner[p] = (uint32_t)item[p];
	}
	/* About two points per bucket: a lookup scans one or two. */
	for (bits = 1; bits < 16 && (size_t)1 << (bits + 1) < np; bits++)
		;
	k->shift = 32 - bits;
	nbuckets = (size_t)1 << bits;
	k->bucket = xmalloc((nbuckets + 1) * sizeof(*k->bucket));
	for (size_t b = 0, q = 0; b <= nbuckets; b++) {
		uint64_t lo = (uint64_t)b << k->shift;
		while (q < np && k->value[q] < lo)
			q++;
		k->bucket[b] = (uint32_t)q;
	}
	free(item);
	free(pts);
	free(rank);
}

void
ketama_free(struct ketama *k)
{
	free(k->value);
	free(k->owner);
	free(k->bucket);
	memset(k, 0, sizeof(*k));
}
