/*
 * ring-stats: how evenly a ring spreads keys, how much moves between two
 * rings, and a picture of it.
 */
#include <err.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "keys.h"
#include "place.h"
#include "ring.h"
#include "util.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: ring-stats [-hpV] [-a algo] [-c other] [-f ring] "
	    "[-H hash]\n"
	    "                  [-T text | svg] [file ...]\n");
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
	/* With -c, per ring node: keys that move to another node (on the
	 * ring before) or from another node (on the ring after). */
	uint64_t	*left, *arrived;
	uint64_t	 moved;		/* keys that change node */
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
	s->left = xcalloc(s->ring.nnodes, sizeof(*s->left));
	s->arrived = xcalloc(s->ring.nnodes, sizeof(*s->arrived));
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

static void
unload(struct stats *s)
{
	free(s->share);
	free(s->keys);
	free(s->left);
	free(s->arrived);
	free(s->points);
	place_free(&s->place);
	ring_free(&s->ring);
}

/* Where keys are counted: on a ring, and with -c on the ring after it,
 * AFTER_OF[i] being the index there of the ring's node i (or SIZE_MAX). */
struct count {
	struct stats	*before, *after;
	size_t		*after_of;
};

/* Counts one key on its owner, and whether it changes owner. */
static void
count_key(void *arg, const char *key, size_t len)
{
	struct count *c = arg;
	size_t o, n;

	place_lookup(&c->before->place, key, len, 1, &o);
	c->before->keys[o]++;
	c->before->nkeys++;
	if (c->after == NULL)
		return;
	place_lookup(&c->after->place, key, len, 1, &n);
	c->after->keys[n]++;
	c->after->nkeys++;
	if (c->after_of[o] != n) {
		c->before->left[o]++;
		c->after->arrived[n]++;
		c->before->moved++;
	}
}

/* Counts the keys of each file named in FILES ("-" for standard input)
 * on S, and with OTHER what moves from S to OTHER. */
static void
count_keys(struct stats *s, struct stats *other, char **files, int nfiles)
{
	struct count c = { s, other, NULL };

	if (other != NULL)
		c.after_of = ring_map(&s->ring, &other->ring);
	for (int i = 0; i < nfiles; i++) {
		int fd = strcmp(files[i], "-") == 0 ? STDIN_FILENO :
		    open(files[i], O_RDONLY);

		if (fd < 0)
			err(EXIT_USAGE, "%s", files[i]);
		keys_read(fd, fd == STDIN_FILENO ? "stdin" : files[i], NULL,
		    count_key, &c);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	free(c.after_of);
}

/* Prints one line of the moves table: node NAME with its keys before and
 * after and those leaving and arriving. */
static void
print_moves(const char *name, uint64_t before, uint64_t leave,
    uint64_t arrive, uint64_t after)
{
	printf("moves\t%s\t%llu\t%llu\t%llu\t%llu\n", name,
	    (unsigned long long)before, (unsigned long long)leave,
	    (unsigned long long)arrive, (unsigned long long)after);
}

/* Reports how many counted keys move from S to OTHER, and per node (S's
 * nodes in ring order, then OTHER's new ones) how many leave and arrive. */
static void
report_moves(const struct stats *s, const struct stats *other)
{
	const struct ring *r = &s->ring, *o = &other->ring;
	size_t *after_of = ring_map(r, o), *before_of = ring_map(o, r);

	printf("keys moved\t%llu\t%.4f%%\n", (unsigned long long)s->moved,
	    100.0 * (double)s->moved / (double)s->nkeys);
	printf("# moves: node, keys before, leaving, arriving, keys after\n");
	for (size_t j = 0; j < s->place.nlive; j++) {
		size_t i = s->place.live[j], k = after_of[i];

		print_moves(r->node[i].name, s->keys[i], s->left[i],
		    k != SIZE_MAX ? other->arrived[k] : 0,
		    k != SIZE_MAX ? other->keys[k] : 0);
	}
	for (size_t j = 0; j < other->place.nlive; j++) {
		size_t k = other->place.live[j];

		if (before_of[k] == SIZE_MAX)
			print_moves(o->node[k].name, 0, 0, other->arrived[k],
			    other->keys[k]);
	}
	free(after_of);
	free(before_of);
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
		if (s->nkeys)
			report_moves(s, other);
	}
}

/* The 32-bit hash circle drawn as arcs: [from, to] owned by node. */
struct arc {
	uint64_t	 from, to;
	size_t		 node;
};

#define SVG_BINS	720	/* positions drawn when arcs are too many */
#define SVG_EXACT_MAX	4096	/* most ketama points drawn one by one */
#define SVG_LEGEND	16	/* most nodes named in the legend */

/*
 * Returns the arcs to draw, merged where neighbours share an owner, and
 * their number in *N.  A ketama ring of up to SVG_EXACT_MAX points is drawn
 * exactly; a larger one by the owner of the middle hash of each of SVG_BINS
 * equal arcs.  The other algorithms have no positions on a circle (their
 * owners change from one hash to the next), so each node gets one arc,
 * sized by its share, in ring-file order.
 */
static struct arc *
ring_arcs(struct stats *s, size_t *n)
{
	const struct ketama *k = &s->place.ketama;
	struct arc *a;
	size_t na = 0;

	if (s->place.algo == PLACE_KETAMA && k->npoints <= SVG_EXACT_MAX) {
		a = xmalloc((k->npoints + 2) * sizeof(*a));
		for (size_t i = 0; i <= k->npoints; i++) {
			uint64_t from = i == 0 ? 0 : (uint64_t)k->value[i - 1] + 1;
			uint64_t to = i < k->npoints ? k->value[i] :
			    UINT64_C(0xffffffff);
			size_t o = k->owner[i < k->npoints ? i : 0];
			if (from > to)
				continue;
			if (na > 0 && a[na - 1].node == o)
				a[na - 1].to = to;
			else
				a[na++] = (struct arc){ from, to, o };
		}
	} else if (s->place.algo != PLACE_KETAMA) {
		/* Shares are counted out of 2^32 or of at most 2^22. */
		uint64_t sum = 0, scale = s->sampled == (uint64_t)1 << 32 ?
		    1 : ((uint64_t)1 << 32) / s->sampled;
		a = xmalloc((s->place.nlive + 1) * sizeof(*a));
		for (size_t j = 0; j < s->place.nlive; j++) {
			size_t o = s->place.live[j];
			uint64_t from = sum * scale;
			sum += s->share[o];
			if (s->share[o] > 0)
				a[na++] = (struct arc){ from,
				    sum * scale - 1, o };
		}
	} else {
		uint64_t step = ((uint64_t)1 << 32) / SVG_BINS;
		a = xmalloc(SVG_BINS * sizeof(*a));
		for (uint64_t b = 0; b < SVG_BINS; b++) {
			size_t o = place_owner(&s->place,
			    (uint32_t)(b * step + step / 2));
			if (na > 0 && a[na - 1].node == o)
				a[na - 1].to = b * step + step - 1;
			else
				a[na++] = (struct arc){ b * step,
				    b * step + step - 1, o };
		}
	}
	*n = na;
	return a;
}

/* Writes node number I's colour: a qualitative palette for the first ten,
 * then hues spread by the golden angle. */
static void
colour(size_t i, char buf[8])
{
	static const char *const palette[] = {
		"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
		"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"
	};
	double h, c = 0.55, x, m = 0.25, r = 0, g = 0, b = 0;

	if (i < 10) {
		memcpy(buf, palette[i], 8);
		return;
	}
	h = fmod((double)i * 137.508, 360.0) / 60.0;
	x = c * (1 - fabs(fmod(h, 2.0) - 1));
	switch ((int)h) {
	case 0: r = c; g = x; break;
	case 1: r = x; g = c; break;
	case 2: g = c; b = x; break;
	case 3: g = x; b = c; break;
	case 4: r = x; b = c; break;
	default: r = c; b = x; break;
	}
	snprintf(buf, 8, "#%02x%02x%02x", (int)((r + m) * 255 + 0.5),
	    (int)((g + m) * 255 + 0.5), (int)((b + m) * 255 + 0.5));
}

/* Prints S with XML's special characters escaped. */
static void
xml_text(const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&': fputs("&amp;", stdout); break;
		case '<': fputs("&lt;", stdout); break;
		case '>': fputs("&gt;", stdout); break;
		case '"': fputs("&quot;", stdout); break;
		default: putchar(*s);
		}
}

/* The point at hash H on a circle of radius R around (CX, CY), clockwise
 * from the top. */
static void
circle_point(double cx, double cy, double r, uint64_t h, double *x, double *y)
{
	double t = 2 * M_PI * (double)h / 4294967296.0;

	*x = cx + r * sin(t);
	*y = cy - r * cos(t);
}

static void
report_svg(struct stats *s, const char *algo, const char *hash)
{
	const struct ring *r = &s->ring;
	const double cx = 300, cy = 380, outer = 240, inner = 180;
	struct spread sp = spread_of(s, s->share, s->sampled);
	const char *base = strrchr(r->path, '/');
	size_t na, total_points = 0, shown;
	struct arc *a = ring_arcs(s, &na);
	char col[8];
	double x, y, height;

	for (size_t j = 0; j < s->place.nlive; j++)
		total_points += s->points[s->place.live[j]];
	shown = s->place.nlive <= SVG_LEGEND ? s->place.nlive : SVG_LEGEND - 1;
	height = 660;
	if (170 + 28.0 * (double)(shown + 2) > height)
		height = 170 + 28.0 * (double)(shown + 2);
	base = base != NULL ? base + 1 : r->path;
	printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" "
	    "height=\"%.0f\" viewBox=\"0 0 1000 %.0f\" "
	    "font-family=\"Helvetica, Arial, sans-serif\">\n", height, height);
	printf("<rect width=\"1000\" height=\"%.0f\" fill=\"#ffffff\"/>\n",
	    height);
	printf("<text x=\"40\" y=\"52\" font-size=\"30\" font-weight=\"bold\" "
	    "fill=\"#222222\">");
	xml_text(base);
	printf(": %s, %s</text>\n", algo, hash);
	printf("<text x=\"40\" y=\"84\" font-size=\"18\" fill=\"#555555\">"
	    "%zu nodes, %zu %s; peak/mean %.3f, std dev %.1f%%</text>\n",
	    s->place.nlive, total_points, point_names[s->place.algo], sp.peak,
	    100 * sp.stddev);

	/*
	 * The arcs, one path of annular sectors per node, each outlined in
	 * its own colour so that neighbours meet without a hairline gap.
	 */
	printf("<g stroke-width=\"0.5\" stroke-linejoin=\"round\">\n");
	for (size_t j = 0; j < s->place.nlive; j++) {
		size_t node = s->place.live[j];
		int any = 0;
		for (size_t i = 0; i < na; i++) {
			uint64_t from = a[i].from, to = a[i].to + 1, mid;
			if (a[i].node != node)
				continue;
			if (!any) {
				colour(j, col);
				printf("<path fill=\"%s\" stroke=\"%s\" d=\"",
				    col, col);
				any = 1;
			}
			/* Halve arcs of more than half the circle, which
			 * one SVG arc cannot draw whole. */
			mid = to - from > ((uint64_t)1 << 31) ?
			    from + (to - from) / 2 : to;
			for (uint64_t f = from, t = mid; f < to;
			    f = t, t = to) {
				circle_point(cx, cy, outer, f, &x, &y);
				printf("M%.2f %.2f", x, y);
				circle_point(cx, cy, outer, t, &x, &y);
				printf("A%.0f %.0f 0 0 1 %.2f %.2f", outer,
				    outer, x, y);
				circle_point(cx, cy, inner, t, &x, &y);
				printf("L%.2f %.2f", x, y);
				circle_point(cx, cy, inner, f, &x, &y);
				printf("A%.0f %.0f 0 0 0 %.2f %.2fZ", inner,
				    inner, x, y);
			}
		}
		if (any)
			printf("\"/>\n");
	}
	printf("</g>\n");
	/* The zero mark, so the ring reads as a dial. */
	printf("<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
	    "stroke=\"#222222\" stroke-width=\"2\"/>\n", cx, cy - outer - 10,
	    cx, cy - inner);
	printf("<text x=\"%.0f\" y=\"%.0f\" font-size=\"14\" "
	    "text-anchor=\"middle\" fill=\"#222222\">0</text>\n", cx,
	    cy - outer - 14);
	printf("<text x=\"%.0f\" y=\"%.0f\" font-size=\"20\" "
	    "text-anchor=\"middle\" fill=\"#222222\">%s</text>\n", cx, cy - 6,
	    algo);
	printf("<text x=\"%.0f\" y=\"%.0f\" font-size=\"14\" "
	    "text-anchor=\"middle\" fill=\"#555555\">%s</text>\n", cx, cy + 18,
	    s->place.algo == PLACE_KETAMA ? "2^32 key hashes, clockwise" :
	    "share of the key hashes");

	/* The legend: the nodes in ring-file order, with their shares. */
	printf("<text x=\"600\" y=\"140\" font-size=\"16\" font-weight=\"bold\" "
	    "fill=\"#222222\">node</text>\n");
	printf("<text x=\"950\" y=\"140\" font-size=\"16\" font-weight=\"bold\" "
	    "text-anchor=\"end\" fill=\"#222222\">share (fair)</text>\n");
	for (size_t j = 0; j < shown; j++) {
		size_t i = s->place.live[j];
		double yy = 170 + 28.0 * (double)j;
		colour(j, col);
		printf("<rect x=\"600\" y=\"%.0f\" width=\"18\" height=\"18\" "
		    "rx=\"3\" fill=\"%s\"/>\n", yy - 15, col);
		printf("<text x=\"628\" y=\"%.0f\" font-size=\"16\" "
		    "fill=\"#222222\">", yy);
		xml_text(r->node[i].name);
		printf("</text>\n<text x=\"950\" y=\"%.0f\" font-size=\"16\" "
		    "text-anchor=\"end\" fill=\"#222222\">%.2f%% (%.2f%%)"
		    "</text>\n", yy, 100.0 * (double)s->share[i] /
		    (double)s->sampled, 100.0 * (double)r->node[i].weight /
		    s->weight);
	}
	if (shown < s->place.nlive)
		printf("<text x=\"628\" y=\"%.0f\" font-size=\"16\" "
		    "fill=\"#555555\">and %zu more nodes</text>\n",
		    170 + 28.0 * (double)shown, s->place.nlive - shown);
	printf("<text x=\"600\" y=\"%.0f\" font-size=\"14\" fill=\"#555555\">"
	    "%s</text>\n", 170 + 28.0 * (double)(shown + 1),
	    s->sampled == (uint64_t)1 << 32 ? "shares exact" :
	    "shares estimated by sampling");
	printf("</svg>\n");
	free(a);
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
			hash = keyhash_option(optarg);
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
	argc -= optind;
	argv += optind;
	if (points && argc > 0)
		errx(EXIT_USAGE, "-p prints the placement: it takes no keys");
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
		count_keys(&s, otherpath != NULL ? &other : NULL, argv, argc);
		if (strcmp(format, "svg") == 0)
			report_svg(&s, algoname, hash->name);
		else
			report_text(&s, algoname, hash->name,
			    otherpath != NULL ? &other : NULL);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EXIT_FAIL, "stdout");
	if (otherpath != NULL && !points)
		unload(&other);
	unload(&s);
	return EXIT_OK;
}
