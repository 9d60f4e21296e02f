/*
 * place: where a key lives on a ring, by a chosen algorithm.
 *
 * A placement is built once from a ring, an algorithm and a key hash, and
 * then answers lookups: the replica set of a key is the first N distinct
 * nodes the algorithm names for it, owner first.  Lookups are pure
 * functions of the ring and the key.
 */
#ifndef HAKIT_PLACE_H
#define HAKIT_PLACE_H

#include <stddef.h>

#include "hash.h"
#include "ketama.h"
#include "ring.h"

enum place_algo {
	PLACE_KETAMA
};

struct place {
	enum place_algo	 algo;
	const struct ring *ring;
	keyhash_fn	*hash;
	size_t		 reachable;	/* distinct nodes a lookup can name */
	struct ketama	 ketama;
};

/* Returns the algorithm called NAME, or -1. */
int place_algo_find(const char *name);

/*
 * Builds a placement of ring R's nodes.  Returns 0, or -1 with the reason
 * in ERR (an empty ring; a weighted ring for an algorithm without weights).
 */
int place_build(struct place *p, const struct ring *r, enum place_algo algo,
    keyhash_fn *hash, char *err, size_t errsz);
void place_free(struct place *p);

/* Puts the indices (in the ring) of KEY's first N nodes in OUT; N must be
 * between 1 and p->reachable. */
void place_lookup(struct place *p, const void *key, size_t len, size_t n,
    size_t *out);

#endif
