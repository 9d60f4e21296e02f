/*
 * place: where a key lives on a ring, by a chosen algorithm.
 *
 * A placement is built once from a ring, an algorithm and a key hash, and
 * then answers lookups.  Every algorithm defines, for each key, a sequence
 * of candidate nodes: ketama's points clockwise from the key's hash,
 * maglev's table slots from the key's slot on, jump's buckets from the
 * key's bucket on (wrapping), rendezvous's nodes from the best ranked
 * down.  The replica set of a key is the first N distinct candidates,
 * owner first.  With bounded loads, a candidate that already holds its
 * share of the keys placed so far is passed over.
 *
 * Lookups are pure functions of the ring and the key, except under bounded
 * loads, where the answer also depends on the keys placed before.
 */
#ifndef HAKIT_PLACE_H
#define HAKIT_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "ketama.h"
#include "maglev.h"
#include "rendezvous.h"
#include "ring.h"

enum place_algo {
	PLACE_KETAMA,
	PLACE_JUMP,
	PLACE_MAGLEV,
	PLACE_RENDEZVOUS
};

/* An algorithm and its parameter, as written "NAME[:SIZE]". */
struct place_spec {
	enum place_algo	 algo;
	uint32_t	 size;		/* maglev's table size */
};

struct place {
	enum place_algo	 algo;
	const struct ring *ring;
	keyhash_fn	*hash;
	size_t		 reachable;	/* distinct nodes a lookup can name */
	uint32_t	*live;		/* ring indices of live nodes, in order */
	size_t		 nlive;
	unsigned char	*reach;		/* per ring node: can be named */
	struct ketama	 ketama;
	struct maglev	 maglev;
	struct rendezvous rendezvous;
	uint32_t	*seen;		/* per ring node: stamp of last walk */
	uint32_t	 stamp;
	/* Bounded loads, when percent != 0. */
	unsigned long	 percent;	/* the factor, times 100 */
	uint64_t	*load;		/* per ring node: keys placed on it */
	uint64_t	 placed;	/* keys placed so far */
	uint64_t	 reachweight;	/* total weight of reachable nodes */
};

/* The algorithms' names, in enum order. */
extern const char *const place_algo_names[];

/* Parses "ketama", "jump", "maglev[:SIZE]" or "rendezvous" into SPEC.
 * Returns 0, or -1 with the reason in ERR. */
int place_spec_parse(const char *s, struct place_spec *spec, char *err,
    size_t errsz);

/*
 * Builds a placement of ring R's nodes.  Returns 0, or -1 with the reason
 * in ERR (an empty ring; a weighted ring for jump, which has no weights).
 */
int place_build(struct place *p, const struct ring *r,
    const struct place_spec *spec, keyhash_fn *hash, char *err, size_t errsz);
void place_free(struct place *p);

/* Turns on bounded loads with factor PERCENT / 100 (PERCENT >= 100). */
void place_bound(struct place *p, unsigned long percent);

/* Puts the indices (in the ring) of KEY's first N nodes in OUT; N must be
 * between 1 and p->reachable (and 1 under bounded loads). */
void place_lookup(struct place *p, const void *key, size_t len, size_t n,
    size_t *out);

/* The same for a key whose hash is H. */
void place_lookup_hash(struct place *p, uint32_t h, size_t n, size_t *out);

/* Returns the ring index of the owner of hash H (bounded loads ignored). */
size_t place_owner(struct place *p, uint32_t h);

/*
 * Counts in COUNT[i], for each ring node i, the 32-bit hash values it owns.
 * Returns how many values were counted: 2^32 when the count is exact
 * (ketama, maglev), else a sample of that many evenly spaced hashes.
 */
uint64_t place_share(struct place *p, uint64_t *count);

/*
 * Returns the share of the 32-bit hash space whose owner differs between
 * P and Q (two placements by the same algorithm), owners being compared
 * by name.  Sets *EXACT to 1 if it counted every hash value, to 0 if it
 * sampled them.
 */
double place_moved(struct place *p, struct place *q, int *exact);

/* Returns the bytes the placement's lookup structures take. */
size_t place_memory(const struct place *p);

#endif
