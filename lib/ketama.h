/*
 * ketama: the continuum of twemproxy (distribution: ketama) and
 * libmemcached's weighted ketama, bit for bit.
 *
 * Node i of n, with weight w of total weight W, gets
 *	floorf(w/W * 160 / 4 * n + 1e-10) * 4
 * points, computed in single precision exactly as those programs do (so
 * 100 equal nodes get 156 points each).  Its points are the four
 * little-endian 32-bit words of MD5("NODE-0"), MD5("NODE-1"), ...  A key
 * belongs to the first point at or after its hash, wrapping past the last.
 * Equal points are ordered by node name, bytewise.
 */
#ifndef HAKIT_KETAMA_H
#define HAKIT_KETAMA_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

struct ketama {
	uint32_t	*value;		/* point values, ascending */
	uint32_t	*owner;		/* node index (in the ring) of each */
	size_t		 npoints;
	uint32_t	*bucket;	/* first point >= b << shift, for each b */
	unsigned	 shift;
	size_t		 nowners;	/* nodes that have at least one point */
};

/* The number of points a node of weight WEIGHT gets. */
uint32_t ketama_points(unsigned long weight, unsigned long total,
    size_t nnodes);

/* Builds the continuum of ring R (removed nodes left out). */
void ketama_build(struct ketama *k, const struct ring *r);
void ketama_free(struct ketama *k);

/* Returns the index of the first point at or after HASH, wrapping. */
static inline size_t
ketama_find(const struct ketama *k, uint32_t hash)
{
	size_t b = hash >> k->shift, i = k->bucket[b], end = k->bucket[b + 1];

	while (i < end && k->value[i] < hash)
		i++;
	return i == k->npoints ? 0 : i;
}

#endif
