#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "md5.h"
#include "rendezvous.h"
#include "util.h"

void
rendezvous_build(struct rendezvous *r, const struct ring *ring)
{
	unsigned char digest[16];

	memset(r, 0, sizeof(*r));
	r->seed = xmalloc((ring->nnodes + 1) * sizeof(*r->seed));
	r->weight = xmalloc((ring->nnodes + 1) * sizeof(*r->weight));
	r->node = xmalloc((ring->nnodes + 1) * sizeof(*r->node));
	r->rank = xmalloc((ring->nnodes + 1) * sizeof(*r->rank));
	r->taken = xmalloc(ring->nnodes + 1);
	for (size_t i = 0; i < ring->nnodes; i++) {
		const struct ring_node *nd = &ring->node[i];
		uint64_t s = 0;
		if (nd->removed)
			continue;
		md5(nd->name, nd->len, digest);
		for (int b = 7; b >= 0; b--)
			s = s << 8 | digest[b];
		r->seed[r->n] = s;
		r->weight[r->n] = (double)nd->weight;
		r->node[r->n] = (uint32_t)i;
		if (r->n > 0 && r->weight[r->n] != r->weight[0])
			r->weighted = 1;
		r->n++;
	}
}

void
rendezvous_free(struct rendezvous *r)
{
	free(r->seed);
	free(r->weight);
	free(r->node);
	free(r->rank);
	free(r->taken);
	memset(r, 0, sizeof(*r));
}

/* -ln(u) / weight for draw Z: the smaller, the better. */
static double
weighted_cost(uint64_t z, double weight)
{
	double u = ((double)(z >> 11) + 0.5) / 9007199254740992.0;

	return -log(u) / weight;
}

uint32_t
rendezvous_owner(const struct rendezvous *r, uint32_t h)
{
	uint64_t x = RENDEZVOUS_KEYMIX(h);
	size_t best = 0;

	if (!r->weighted) {
		uint64_t top = rendezvous_draw(r->seed[0], x);
		for (size_t i = 1; i < r->n; i++) {
			uint64_t z = rendezvous_draw(r->seed[i], x);
			if (z > top) {
				top = z;
				best = i;
			}
		}
	} else {
		double low = weighted_cost(rendezvous_draw(r->seed[0], x),
		    r->weight[0]);
		for (size_t i = 1; i < r->n; i++) {
			double c = weighted_cost(rendezvous_draw(r->seed[i], x),
			    r->weight[i]);
			if (c < low) {
				low = c;
				best = i;
			}
		}
	}
	return r->node[best];
}

void
rendezvous_rank(struct rendezvous *r, uint32_t h)
{
	uint64_t x = RENDEZVOUS_KEYMIX(h), bits;

	for (size_t i = 0; i < r->n; i++) {
		uint64_t z = rendezvous_draw(r->seed[i], x);
		if (r->weighted) {
			/* A positive double's bits order as the double does. */
			double c = weighted_cost(z, r->weight[i]);
			memcpy(&bits, &c, sizeof(bits));
			z = ~bits;
		}
		r->rank[i] = z;
		r->taken[i] = 0;
	}
}

uint32_t
rendezvous_next(struct rendezvous *r)
{
	size_t best = r->n;

	for (size_t i = 0; i < r->n; i++)
		if (!r->taken[i] && (best == r->n || r->rank[i] > r->rank[best]))
			best = i;
	r->taken[best] = 1;
	return r->node[best];
}
