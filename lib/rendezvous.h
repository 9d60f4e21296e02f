/*
 * rendezvous: highest random weight hashing (Thaler and Ravishankar,
 * 1998), weighted by the logarithmic method (Schindler's "weighted
 * distributed hash tables", as in Resch's implementation).
 *
 * Node i has a seed S_i, the first 8 bytes of MD5(NODE) read as a
 * little-endian 64-bit integer.  For a key with 32-bit hash H let
 * X = H * 0x9e3779b97f4a7c15 and, for each node,
 *	z = S_i ^ X;  z ^= z >> 32;  z *= 0xd6e8feb86659fd93;  z ^= z >> 32
 * (all mod 2^64): z is node i's draw for the key.  With equal weights the
 * node with the largest draw owns the key.  With weights, u = ((z >> 11)
 * + 0.5) / 2^53 and the node with the smallest -ln(u) / weight owns it.
 * The full ranking (for replicas) orders nodes the same way; ties go to
 * the node earlier in the ring file.
 *
 * A lookup costs one draw per node: O(n), with no table to build, and
 * adding or removing a node moves only the keys it gains or loses.
 */
#ifndef HAKIT_RENDEZVOUS_H
#define HAKIT_RENDEZVOUS_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

struct rendezvous {
	uint64_t	*seed;		/* per live node, in ring-file order */
	double		*weight;
	uint32_t	*node;		/* its index in the ring */
	size_t		 n;
	int		 weighted;	/* weights are not all equal */
	uint64_t	*rank;		/* scratch: a key's ranks, one per node */
	unsigned char	*taken;		/* scratch: nodes already named */
};

void rendezvous_build(struct rendezvous *r, const struct ring *ring);
void rendezvous_free(struct rendezvous *r);

/* Node i's draw for key hash KEYMIX (= H * 0x9e3779b97f4a7c15). */
static inline uint64_t
rendezvous_draw(uint64_t seed, uint64_t keymix)
{
	uint64_t z = seed ^ keymix;

	z ^= z >> 32;
	z *= UINT64_C(0xd6e8feb86659fd93);
	z ^= z >> 32;
	return z;
}

#define RENDEZVOUS_KEYMIX(h)	((uint64_t)(h) * UINT64_C(0x9e3779b97f4a7c15))

/* Returns the ring index of the owner of key hash H. */
uint32_t rendezvous_owner(const struct rendezvous *r, uint32_t h);

/*
 * rendezvous_rank() ranks every node for key hash H; rendezvous_next()
 * then returns the ring index of the best node not yet named, and names
 * it.  The first node named is rendezvous_owner()'s.
 */
void rendezvous_rank(struct rendezvous *r, uint32_t h);
uint32_t rendezvous_next(struct rendezvous *r);

#endif
