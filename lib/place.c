#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jump.h"
#include "place.h"
#include "util.h"

const char *const place_algo_names[] = {
	[PLACE_KETAMA] = "ketama",
	[PLACE_JUMP] = "jump",
	[PLACE_MAGLEV] = "maglev",
	[PLACE_RENDEZVOUS] = "rendezvous",
	NULL
};

int
place_spec_parse(const char *s, struct place_spec *spec, char *err,
    size_t errsz)
{
	const char *colon = strchr(s, ':');
	size_t len = colon != NULL ? (size_t)(colon - s) : strlen(s);
	unsigned long size;
	int n;

	memset(spec, 0, sizeof(*spec));
	spec->size = MAGLEV_DEFAULT_SIZE;
	for (int i = 0; place_algo_names[i] != NULL; i++)
		if (strlen(place_algo_names[i]) == len &&
		    strncmp(place_algo_names[i], s, len) == 0) {
			spec->algo = (enum place_algo)i;
			if (colon == NULL)
				return 0;
			if (spec->algo != PLACE_MAGLEV) {
				snprintf(err, errsz, "%s takes no parameter",
				    place_algo_names[i]);
				return -1;
			}
			if (parse_ulong(colon + 1, 2, MAGLEV_MAX_SIZE,
			    &size) < 0 || !maglev_prime(size)) {
				snprintf(err, errsz, "bad maglev table size "
				    "'%s': want a prime from 2 to %d",
				    colon + 1, MAGLEV_MAX_SIZE);
				return -1;
			}
			spec->size = (uint32_t)size;
			return 0;
		}
	n = snprintf(err, errsz, "unknown algorithm '%s': use one of", s);
	for (int i = 0; place_algo_names[i] != NULL && n >= 0 &&
	    (size_t)n < errsz; i++)
		n += snprintf(err + n, errsz - (size_t)n, "%s %s%s", i ? "," : "",
		    place_algo_names[i], i == PLACE_MAGLEV ? "[:size]" : "");
	return -1;
}

int
place_build(struct place *p, const struct ring *r,
    const struct place_spec *spec, keyhash_fn *hash, char *err, size_t errsz)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->algo = spec->algo;
	p->ring = r;
	p->hash = hash;
	if (ring_size(r) == 0) {
		snprintf(err, errsz, "%s: the ring has no nodes", r->path);
		return -1;
	}
	p->live = xmalloc(r->nnodes * sizeof(*p->live));
	for (i = 0; i < r->nnodes; i++)
		if (!r->node[i].removed)
			p->live[p->nlive++] = (uint32_t)i;
	if (spec->algo == PLACE_JUMP)
		for (i = 0; i < p->nlive; i++)
			if (r->node[p->live[i]].weight != 1) {
				snprintf(err, errsz, "%s:%lu: jump cannot "
				    "weight nodes, but %s has weight %lu",
				    r->path, r->node[p->live[i]].line,
				    r->node[p->live[i]].name,
				    r->node[p->live[i]].weight);
				free(p->live);
				return -1;
			}
	p->reach = xcalloc(r->nnodes, 1);
	switch (p->algo) {
	case PLACE_KETAMA:
		ketama_build(&p->ketama, r);
		for (i = 0; i < p->ketama.npoints; i++)
			p->reach[p->ketama.owner[i]] = 1;
		break;
	case PLACE_MAGLEV:
		maglev_build(&p->maglev, r, spec->size);
		for (i = 0; i < p->maglev.m; i++)
			p->reach[p->maglev.entry[i]] = 1;
		break;
	case PLACE_JUMP:
		for (i = 0; i < p->nlive; i++)
			p->reach[p->live[i]] = 1;
		break;
	case PLACE_RENDEZVOUS:
		rendezvous_build(&p->rendezvous, r);
		for (i = 0; i < p->nlive; i++)
			p->reach[p->live[i]] = 1;
		break;
	}
	for (i = 0; i < r->nnodes; i++)
		if (p->reach[i]) {
			p->reachable++;
			p->reachweight += r->node[i].weight;
		}
	p->seen = xcalloc(r->nnodes, sizeof(*p->seen));
	return 0;
}

void
place_free(struct place *p)
{
	switch (p->algo) {
	case PLACE_KETAMA:
		ketama_free(&p->ketama);
		break;
	case PLACE_MAGLEV:
		maglev_free(&p->maglev);
		break;
	case PLACE_JUMP:
		break;
	case PLACE_RENDEZVOUS:
		rendezvous_free(&p->rendezvous);
		break;
	}
	free(p->live);
	free(p->reach);
	free(p->seen);
	free(p->load);
	memset(p, 0, sizeof(*p));
}

void
place_bound(struct place *p, unsigned long percent)
{
	p->percent = percent;
	free(p->load);
	p->load = xcalloc(p->ring->nnodes, sizeof(*p->load));
	p->placed = 0;
}

size_t
place_owner(struct place *p, uint32_t h)
{
	switch (p->algo) {
	case PLACE_KETAMA:
		return p->ketama.owner[ketama_find(&p->ketama, h)];
	case PLACE_JUMP:
		return p->live[jump_bucket(h, p->nlive)];
	case PLACE_MAGLEV:
		return p->maglev.entry[h % p->maglev.m];
	case PLACE_RENDEZVOUS:
		return rendezvous_owner(&p->rendezvous, h);
	}
	return 0;
}

/*
 * Returns 1 if node I may take one more key under bounded loads: if its
 * load is below ceil(factor * (keys placed + 1) * weight / total weight),
 * computed exactly in 64 bits for up to 2^46 keys.
 */
static int
has_room(const struct place *p, size_t i)
{
	uint64_t a = (uint64_t)p->percent * (p->placed + 1);
	uint64_t c = 100 * p->reachweight, w = p->ring->node[i].weight;
	uint64_t cap = a / c * w + (a % c * w + c - 1) / c;

	return p->load[i] < cap;
}

/*
 * Walks hash H's candidates, putting the first N distinct ones (that have
 * room, under bounded loads) in OUT.  Every reachable node is a candidate
 * sooner or later, and under bounded loads one always has room, so the
 * walk ends.
 */
static void
walk(struct place *p, uint32_t h, size_t n, size_t *out)
{
	size_t got = 0, pos = 0, o = 0;

	if (++p->stamp == 0) {	/* stamps wrapped: forget old walks */
		memset(p->seen, 0, p->ring->nnodes * sizeof(*p->seen));
		p->stamp = 1;
	}
	switch (p->algo) {
	case PLACE_KETAMA:
		pos = ketama_find(&p->ketama, h);
		break;
	case PLACE_JUMP:
		pos = jump_bucket(h, p->nlive);
		break;
	case PLACE_MAGLEV:
		pos = h % p->maglev.m;
		break;
	case PLACE_RENDEZVOUS:
		rendezvous_rank(&p->rendezvous, h);
		break;
	}
	while (got < n) {
		switch (p->algo) {
		case PLACE_KETAMA:
			o = p->ketama.owner[pos];
			if (++pos == p->ketama.npoints)
				pos = 0;
			break;
		case PLACE_JUMP:
			o = p->live[pos];
			if (++pos == p->nlive)
				pos = 0;
			break;
		case PLACE_MAGLEV:
			o = p->maglev.entry[pos];
			if (++pos == p->maglev.m)
				pos = 0;
			break;
		case PLACE_RENDEZVOUS:
			o = rendezvous_next(&p->rendezvous);
			break;
		}
		if (p->seen[o] == p->stamp)
			continue;
		p->seen[o] = p->stamp;
		if (p->percent == 0 || has_room(p, o))
			out[got++] = o;
	}
	if (p->percent != 0) {
		p->load[out[0]]++;
		p->placed++;
	}
}

void
place_lookup_hash(struct place *p, uint32_t h, size_t n, size_t *out)
{
	if (n == 1 && p->percent == 0)
		out[0] = place_owner(p, h);
	else
		walk(p, h, n, out);
}

void
place_lookup(struct place *p, const void *key, size_t len, size_t n,
    size_t *out)
{
	uint32_t h = p->hash(key, len);

	/* The common case first: ketama's owner, with nothing in between. */
	if (p->algo == PLACE_KETAMA && n == 1 && p->percent == 0)
		out[0] = p->ketama.owner[ketama_find(&p->ketama, h)];
	else
		place_lookup_hash(p, h, n, out);
}

/* The number of samples used to estimate a share without a closed form:
 * about 2^28 node evaluations in all, between 2^16 and 2^22 hashes. */
static uint64_t
sample_count(const struct place *p)
{
	uint64_t s = (uint64_t)1 << 22;

	if (p->algo == PLACE_RENDEZVOUS)
		while (s > ((uint64_t)1 << 16) && s * p->nlive > ((uint64_t)1 << 28))
			s >>= 1;
	return s;
}

/* The I-th of S evenly spaced hashes: the middle of the I-th S-th of the
 * 32-bit space. */
static uint32_t
sample_hash(uint64_t i, uint64_t s)
{
	uint64_t step = ((uint64_t)1 << 32) / s;

	return (uint32_t)(i * step + step / 2);
}

/* The number of 32-bit hashes H with H mod M == SLOT. */
static uint64_t
slot_width(uint32_t slot, uint32_t m)
{
	return (UINT64_C(0xffffffff) - slot) / m + 1;
}

uint64_t
place_share(struct place *p, uint64_t *count)
{
	const struct ketama *k = &p->ketama;
	uint64_t s;

	memset(count, 0, p->ring->nnodes * sizeof(*count));
	switch (p->algo) {
	case PLACE_KETAMA:
		/* Point i owns the hashes after point i-1, up to its own. */
		for (size_t i = 1; i < k->npoints; i++)
			count[k->owner[i]] += (uint64_t)k->value[i] -
			    k->value[i - 1];
		count[k->owner[0]] += (uint64_t)k->value[0] + 1 +
		    (UINT64_C(0xffffffff) - k->value[k->npoints - 1]);
		return (uint64_t)1 << 32;
	case PLACE_MAGLEV:
		for (uint32_t i = 0; i < p->maglev.m; i++)
			count[p->maglev.entry[i]] += slot_width(i, p->maglev.m);
		return (uint64_t)1 << 32;
	case PLACE_JUMP:
	case PLACE_RENDEZVOUS:
		break;
	}
	s = sample_count(p);
	for (uint64_t i = 0; i < s; i++)
		count[place_owner(p, sample_hash(i, s))]++;
	return s;
}

/* Per node of Q: the index of the node of the same name in P, or -1. */
static long *
match_names(const struct place *p, const struct place *q)
{
	long *map = xmalloc((q->ring->nnodes + 1) * sizeof(*map));

	for (size_t i = 0; i < q->ring->nnodes; i++) {
		const struct ring_node *nd = ring_find(p->ring,
		    q->ring->node[i].name);
		map[i] = nd != NULL ? (long)(nd - p->ring->node) : -1;
	}
	return map;
}

double
place_moved(struct place *p, struct place *q, int *exact)
{
	long *map = match_names(p, q);
	uint64_t moved = 0, total = (uint64_t)1 << 32, s;

	*exact = 1;
	if (p->algo == PLACE_KETAMA) {
		/* Merge the two continua: between consecutive points of
		 * either, both owners are constant. */
		const struct ketama *a = &p->ketama, *b = &q->ketama;
		size_t i = 0, j = 0;
		for (uint64_t lo = 0; lo <= UINT64_C(0xffffffff);) {
			uint64_t ea = i < a->npoints ? a->value[i] :
			    UINT64_C(0xffffffff);
			uint64_t eb = j < b->npoints ? b->value[j] :
			    UINT64_C(0xffffffff);
			uint64_t end = ea < eb ? ea : eb;
			long oa = a->owner[i < a->npoints ? i : 0];
			long ob = map[b->owner[j < b->npoints ? j : 0]];
			if (oa != ob)
				moved += end - lo + 1;
			lo = end + 1;
			while (i < a->npoints && a->value[i] < lo)
				i++;
			while (j < b->npoints && b->value[j] < lo)
				j++;
		}
	} else if (p->algo == PLACE_MAGLEV && p->maglev.m == q->maglev.m) {
		for (uint32_t i = 0; i < p->maglev.m; i++)
			if ((long)p->maglev.entry[i] != map[q->maglev.entry[i]])
				moved += slot_width(i, p->maglev.m);
	} else {
		*exact = 0;
		total = s = sample_count(p);
		for (uint64_t i = 0; i < s; i++) {
			uint32_t h = sample_hash(i, s);
			if ((long)place_owner(p, h) != map[place_owner(q, h)])
				moved++;
		}
	}
	free(map);
	return (double)moved / (double)total;
}

size_t
place_memory(const struct place *p)
{
	size_t n = p->nlive * sizeof(*p->live);

	switch (p->algo) {
	case PLACE_KETAMA:
		n += p->ketama.npoints * (sizeof(*p->ketama.value) +
		    sizeof(*p->ketama.owner)) + (((size_t)1 <<
		    (32 - p->ketama.shift)) + 1) * sizeof(*p->ketama.bucket);
		break;
	case PLACE_MAGLEV:
		n += (size_t)p->maglev.m * sizeof(*p->maglev.entry);
		break;
	case PLACE_JUMP:
		break;
	case PLACE_RENDEZVOUS:
		n += p->rendezvous.n * (sizeof(*p->rendezvous.seed) +
		    sizeof(*p->rendezvous.weight) +
		    sizeof(*p->rendezvous.node));
		break;
	}
	return n;
}
