/*
 * maglev: the lookup table of Google's Maglev load balancer (Eisenbud et
 * al., NSDI 2016), with weights.
 *
 * The table has M slots, M prime.  Each node has a preference list, a
 * permutation of the slots: slot (offset + j * skip) mod M for j = 0, 1,
 * ..., where offset = A mod M and skip = B mod (M - 1) + 1, A and B being
 * the first and second little-endian 32-bit words of MD5(NODE).  The table
 * is filled in rounds: in each round every node, in ring-file order, takes
 * as many turns as its weight; a turn claims the node's most preferred
 * slot still empty.  Filling stops as soon as every slot is claimed, so
 * with equal weights slot counts differ by at most one.  A key with hash H
 * belongs to slot H mod M.
 */
#ifndef HAKIT_MAGLEV_H
#define HAKIT_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define MAGLEV_DEFAULT_SIZE	65537
#define MAGLEV_MAX_SIZE		16777216

struct maglev {
	uint32_t	*entry;		/* per slot: node index in the ring */
	uint32_t	 m;		/* slots */
	size_t		 nowners;	/* nodes that own at least one slot */
};

/* Returns 1 if M is prime. */
int maglev_prime(unsigned long m);

/* Builds the M-slot table of ring R's nodes (removed ones left out). */
void maglev_build(struct maglev *t, const struct ring *r, uint32_t m);
void maglev_free(struct maglev *t);

#endif
