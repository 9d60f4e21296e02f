/*
 * jump: Lamping and Veach's jump consistent hash ("A Fast, Minimal Memory,
 * Consistent Hash Algorithm", 2014), exactly as published.
 *
 * Buckets are numbered 0 to n-1; growing n to n+1 moves a 1/(n+1) share
 * of keys, all of them to the new bucket n, and shrinking it moves only
 * bucket n-1's keys.  Buckets cannot be weighted, and only the last one can
 * be removed without reshuffling the others.
 */
#ifndef HAKIT_JUMP_H
#define HAKIT_JUMP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Returns KEY's bucket among N (N >= 1).  The arithmetic is the paper's:
 * a 64-bit linear congruential step, then a jump computed in IEEE-754
 * double precision and truncated, which every conforming machine does
 * alike.
 */
static inline size_t
jump_bucket(uint64_t key, size_t n)
{
	int64_t b = -1, j = 0;

	while (j < (int64_t)n) {
		b = j;
		key = key * UINT64_C(2862933555777941757) + 1;
		j = (int64_t)((double)(b + 1) *
		    ((double)(INT64_C(1) << 31) / (double)((key >> 33) + 1)));
	}
	return (size_t)b;
}

#endif
