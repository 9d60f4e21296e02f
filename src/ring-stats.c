/*
 * ring-stats: how evenly a ring spreads keys, how much moves between two
 * rings, and a picture of it.
 */
#include <err.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "lineio.h"
#include "place.h"
#include "ring.h"
#include "util.h"

#define MAX_KEY	(1024 * 1024)

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: ring-stats [-hpV] [-a algo] [-c other] [-f ring] "
	    "[-H hash] [-T text|svg]\n");
	if (fp == stderr)
		exit(EXIT_USAGE);
	exit(EXIT_OK);
}

/* What is known about one ring: its placement and each node's share. */
struct stats {
	struct ring	 ring;
	struct place	 place;
	uint64_t	*share;		/* per ring node: hashes owned */
	uint64_t	 sampled;	/* hashes counted (2^32 if exact) */
	uint64_t	*keys;		/* per ring node: keys counted */
	uint64_t	 nkeys;
	unsigned long	 weight;	/* total weight of live nodes */
	size_t		*points;	/* per ring node: points or slots */
};

static void
load(struct stats *s, const char *path, const struct place_spec *spec,
    keyhash_fn *hash)
{
	char errbuf[512];

	memset(s, 0, sizeof(*s));
	if (ring_load(&s->ring, path, errbuf, sizeof(errbuf)) < 0 ||
	    place_build(&s->place, &s->ring, spec, hash, errbuf,
	    sizeof(errbuf)) < 0)
		errx(EXIT_USAGE, "%s", errbuf);
	s->share = xcalloc(s->ring.nnodes, sizeof(*s->share));
	s->keys = xcalloc(s->ring.nnodes, sizeof(*s->keys));
	s->points = xcalloc(s->ring.nnodes, sizeof(*s->points));
	s->sampled = place_share(&s->place, s->share);
	for (size_t i = 0; i < s->place.nlive; i++)
		s->weight += s->ring.node[s->place.live[i]].weight;
	switch (spec->algo) {
	case PLACE_KETAMA:
		for (size_t i = 0; i < s->place.ketama.npoints; i++)
			s->points[s->place.ketama.owner[i]]++;
		break;
	case PLACE_MAGLEV:
		for (uint32_t i = 0; i < s->place.maglev.m; i++)
			s->points[s->place.maglev.entry[i]]++;
		break;
	case PLACE_JUMP:
	case PLACE_RENDEZVOUS:
		for (size_t i = 0; i < s->place.nlive; i++)
			s->points[s->place.live[i]] = 1;
		break;
	}
}

/* Counts the keys on standard input by owner. */
static void
count_keys(struct stats *s)
{
	struct linereader in;
	const char *key;
	size_t len, owner;
	int rc;

	lr_init(&in, STDIN_FILENO, MAX_KEY, NULL);
	while ((rc = lr_next(&in, &key, &len)) > 0) {
		place_lookup(&s->place, key, len, 1, &owner);
		s->keys[owner]++;
		s->nkeys++;
	}
	if (rc < 0) {
		if (errno == EMSGSIZE)
			errx(EXIT_USAGE, "stdin:%lu: key longer than %d bytes",
			    in.lineno + 1, MAX_KEY);
		err(EXIT_FAIL, "stdin");
	}
	lr_free(&in);
}

/* Peak/mean, the node at the peak, and the standard deviation of a load
 * per unit of weight, relative to its mean (1 everywhere on a fair ring). */
struct spread {
	double	 peak;
	size_t	 peaknode;
	double	 stddev;
};

static struct spread
spread_of(const struct stats *s, const uint64_t *count, uint64_t total)
{
	struct spread sp = { 0, 0, 0 };
	double sum2 = 0;

	for (size_t j = 0; j < s->place.nlive; j++) {
		size_t i = s->place.live[j];
		double fair = (double)s->ring.node[i].weight / s->weight;
		double r = (double)count[i] / (double)total / fair;
		if (r > sp.peak) {
			sp.peak = r;
			sp.peaknode = i;
		}
		sum2 += (r - 1) * (r - 1);
	}
	sp.stddev = sqrt(sum2 / (double)s->place.nlive);
	return sp;
}

static const char *const point_names[] = {
	[PLACE_KETAMA] = "points",
	[PLACE_JUMP] = "buckets",
	[PLACE_MAGLEV] = "slots",
	[PLACE_RENDEZVOUS] = "seeds"
};

static void
report_text(struct stats *s, const char *algo, const char *hash,
    struct stats *other)
{
	const struct ring *r = &s->ring;
	struct spread sp = spread_of(s, s->share, s->sampled), kp;
	size_t total_points = 0;

	for (size_t i = 0; i < r->nnodes; i++)
		total_points += s->points[i];
	printf("# ring %s: %zu nodes, total weight %lu; %s, hash %s, "
	    "%zu %s\n", r->path, s->place.nlive, s->weight, algo, hash,
	    total_points, point_names[s->place.algo]);
	if (s->sampled == (uint64_t)1 << 32)
		printf("# shares are exact, over all 2^32 key hashes\n");
	else
		printf("# shares are estimated from %llu evenly spaced key "
		    "hashes\n", (unsigned long long)s->sampled);
	printf("node\tweight\t%s\tshare\tfair\tshare/fair%s\n",
	    point_names[s->place.algo], s->nkeys ? "\tkeys\tkeyshare" : "");
	for (size_t j = 0; j < s->place.nlive; j++) {
		size_t i = s->place.live[j];
		double share = 100.0 * (double)s->share[i] / (double)s->sampled;
		double fair = 100.0 * (double)r->node[i].weight / s->weight;
		printf("%s\t%lu\t%zu\t%.4f%%\t%.4f%%\t%.4f", r->node[i].name,
		    r->node[i].weight, s->points[i], share, fair, share / fair);
		if (s->nkeys)
			printf("\t%llu\t%.4f%%", (unsigned long long)s->keys[i],
			    100.0 * (double)s->keys[i] / (double)s->nkeys);
		putchar('\n');
	}
	printf("peak/mean\t%.4f\t%s\n", sp.peak, r->node[sp.peaknode].name);
	printf("stddev\t%.4f\n", sp.stddev);
	if (s->nkeys) {
		kp = spread_of(s, s->keys, s->nkeys);
		printf("keys\t%llu\n", (unsigned long long)s->nkeys);
		printf("keys peak/mean\t%.4f\t%s\n", kp.peak,
		    r->node[kp.peaknode].name);
		printf("keys stddev\t%.4f\n", kp.stddev);
	}
	printf("memory\t%zu\n", place_memory(&s->place));
	if (other != NULL) {
		int exact;
		double moved = place_moved(&s->place, &other->place, &exact);
		double ideal = 0;
		/* The least that must move: each node's loss of fair share. */
		for (size_t j = 0; j < s->place.nlive; j++) {
			size_t i = s->place.live[j];
			const struct ring_node *o = ring_find(&other->ring,
			    r->node[i].name);
			double before = (double)r->node[i].weight / s->weight;
			double after = o != NULL ?
			    (double)o->weight / other->weight : 0;
			if (before > after)
				ideal += before - after;
		}
		printf("moved\t%.4f%%\tideal\t%.4f%%\tmoved/ideal\t%.4f\t%s\n",
		    100 * moved, 100 * ideal, ideal > 0 ? moved / ideal : 0,
		    exact ? "exact" : "estimated");
	}
}

static int
by_seed(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Prints every point, slot, bucket or seed as "VALUE<TAB>NODE",
 * ascending. */
static void
report_points(struct stats *s)
{
	const struct place *p = &s->place;
	const struct ring_node *nd = s->ring.node;

	switch (p->algo) {
	case PLACE_KETAMA:
		for (size_t i = 0; i < p->ketama.npoints; i++)
			printf("%u\t%s\n", (unsigned)p->ketama.value[i],
			    nd[p->ketama.owner[i]].name);
		break;
	case PLACE_MAGLEV:
		for (uint32_t i = 0; i < p->maglev.m; i++)
			printf("%u\t%s\n", (unsigned)i,
			    nd[p->maglev.entry[i]].name);
		break;
	case PLACE_JUMP:
		for (size_t i = 0; i < p->nlive; i++)
			printf("%zu\t%s\n", i, nd[p->live[i]].name);
		break;
	case PLACE_RENDEZVOUS: {
		size_t n = p->rendezvous.n;
		uint64_t (*pair)[2] = xmalloc((n + 1) * sizeof(*pair));
		for (size_t i = 0; i < n; i++) {
			pair[i][0] = p->rendezvous.seed[i];
			pair[i][1] = p->rendezvous.node[i];
		}
		qsort(pair, n, sizeof(*pair), by_seed);
		for (size_t i = 0; i < n; i++)
			printf("%llu\t%s\n", (unsigned long long)pair[i][0],
			    nd[pair[i][1]].name);
		free(pair);
		break;
	}
	}
}

int
main(int argc, char *argv[])
{
	const char *ringpath = getenv("HAKIT_RING");
	const char *algoname = "ketama", *otherpath = NULL, *format = "text";
	const struct keyhash *hash = keyhash_find("md5");
	struct place_spec spec;
	struct stats s, other;
	char errbuf[512];
	int ch, points = 0;

	while ((ch = getopt(argc, argv, "a:c:f:H:hpT:V")) != -1) {
		switch (ch) {
		case 'a':
			algoname = optarg;
			break;
		case 'c':
			otherpath = optarg;
			break;
		case 'f':
			ringpath = optarg;
			break;
		case 'H':
			if ((hash = keyhash_find(optarg)) == NULL)
				errx(EXIT_USAGE, "unknown hash '%s'", optarg);
			break;
		case 'h':
			usage(stdout);
			break;
		case 'p':
			points = 1;
			break;
		case 'T':
			format = optarg;
			break;
		case 'V':
			print_version();
			break;
		default:
			usage(stderr);
		}
	}
	if (optind != argc)
		usage(stderr);
	if (strcmp(format, "text") != 0 && strcmp(format, "svg") != 0)
		errx(EXIT_USAGE, "unknown format '%s': want text or svg",
		    format);
	if (place_spec_parse(algoname, &spec, errbuf, sizeof(errbuf)) < 0)
		errx(EXIT_USAGE, "%s", errbuf);
	if (ringpath == NULL || *ringpath == '\0')
		errx(EXIT_USAGE, "no ring: give -f RING or set HAKIT_RING");

	load(&s, ringpath, &spec, hash->fn);
	if (points) {
		report_points(&s);
	} else {
		if (otherpath != NULL)
			load(&other, otherpath, &spec, hash->fn);
		if (!isatty(STDIN_FILENO))
			count_keys(&s);
		report_text(&s, algoname, hash->name,
		    otherpath != NULL ? &other : NULL);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EXIT_FAIL, "stdout");
	return EXIT_OK;
}
