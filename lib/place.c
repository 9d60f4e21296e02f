#include <stdio.h>
#include <string.h>

#include "place.h"

static const char *const algo_names[] = {
	[PLACE_KETAMA] = "ketama"
};

int
place_algo_find(const char *name)
{
	for (size_t i = 0; i < sizeof(algo_names) / sizeof(*algo_names); i++)
		if (strcmp(algo_names[i], name) == 0)
			return (int)i;
	return -1;
}

int
place_build(struct place *p, const struct ring *r, enum place_algo algo,
    keyhash_fn *hash, char *err, size_t errsz)
{
	memset(p, 0, sizeof(*p));
	p->algo = algo;
	p->ring = r;
	p->hash = hash;
	if (ring_size(r) == 0) {
		snprintf(err, errsz, "%s: the ring has no nodes", r->path);
		return -1;
	}
	switch (algo) {
	case PLACE_KETAMA:
		ketama_build(&p->ketama, r);
		p->reachable = p->ketama.nowners;
		break;
	}
	return 0;
}

void
place_free(struct place *p)
{
	switch (p->algo) {
	case PLACE_KETAMA:
		ketama_free(&p->ketama);
		break;
	}
}

void
place_lookup(struct place *p, const void *key, size_t len, size_t n,
    size_t *out)
{
	uint32_t h = p->hash(key, len);

	switch (p->algo) {
	case PLACE_KETAMA:
		if (n == 1)
			out[0] = p->ketama.owner[ketama_find(&p->ketama, h)];
		else
			ketama_walk(&p->ketama, h, n, out);
		break;
	}
}
