/*
 * ring-lookup: map keys to the nodes of a consistent-hashing ring.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "keys.h"
#include "lineio.h"
#include "place.h"
#include "ring.h"
#include "util.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: ring-lookup [-hVx] [-a algo] [-b factor] [-f ring] "
	    "[-H hash] [-n count]\n"
	    "                   [key ...]\n");
	if (fp == stderr)
		exit(EXIT_USAGE);
	exit(EXIT_OK);
}

/*
 * Parses a bounded-loads factor, a decimal from 1 to 1000 with at most two
 * digits after the point, into hundredths.  Returns 0, or -1 if S is not
 * one.
 */
static int
parse_factor(const char *s, unsigned long *percent)
{
	const char *dot = strchr(s, '.');
	unsigned long whole, frac = 0;
	char buf[16];
	size_t n = dot != NULL ? (size_t)(dot - s) : strlen(s);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (parse_ulong(buf, 1, 1000, &whole) < 0)
		return -1;
	if (dot != NULL) {
		size_t d = strlen(dot + 1);
		if (d < 1 || d > 2 || parse_ulong(dot + 1, 0, 99, &frac) < 0)
			return -1;
		if (d == 1)
			frac *= 10;
	}
	*percent = whole * 100 + frac;
	return *percent <= 100000 ? 0 : -1;
}

/* Each node's output text, "\tNAME", made once. */
struct labels {
	char	**text;
	size_t	 *len;
};

static void
make_labels(struct labels *l, const struct ring *r)
{
	l->text = xcalloc(r->nnodes, sizeof(*l->text));
	l->len = xcalloc(r->nnodes, sizeof(*l->len));
	for (size_t i = 0; i < r->nnodes; i++) {
		l->len[i] = r->node[i].len + 1;
		l->text[i] = xmalloc(l->len[i]);
		l->text[i][0] = '\t';
		memcpy(l->text[i] + 1, r->node[i].name, r->node[i].len);
	}
}

static void
free_labels(struct labels *l, const struct ring *r)
{
	for (size_t i = 0; i < r->nnodes; i++)
		free(l->text[i]);
	free(l->text);
	free(l->len);
}

/* What a lookup needs besides the key. */
struct lookup {
	struct place	 *place;
	struct labels	  labels;
	struct outbuf	  out;
	size_t		  n;
	size_t		 *nodes;
	int		  showhash;
};

/* Writes "KEY[<TAB>HASH]<TAB>NODE1[<TAB>NODE2...]\n" for one key. */
static void
lookup(void *arg, const char *key, size_t len)
{
	struct lookup *l = arg;
	char hash[16];

	place_lookup(l->place, key, len, l->n, l->nodes);
	ob_write(&l->out, key, len);
	if (l->showhash)
		ob_write(&l->out, hash, (size_t)snprintf(hash, sizeof(hash),
		    "\t%u", (unsigned)l->place->hash(key, len)));
	for (size_t i = 0; i < l->n; i++)
		ob_write(&l->out, l->labels.text[l->nodes[i]],
		    l->labels.len[l->nodes[i]]);
	ob_putc(&l->out, '\n');
}

int
main(int argc, char *argv[])
{
	const char *ringpath = getenv("HAKIT_RING");
	const char *algoname = "ketama";
	struct place_spec spec;
	unsigned long percent = 0;
	const struct keyhash *hash = keyhash_find("md5");
	unsigned long n = 1;
	struct ring ring;
	struct place place;
	struct lookup l = { .place = &place };
	char errbuf[512];
	int ch;

	while ((ch = getopt(argc, argv, "a:b:f:H:hn:Vx")) != -1) {
		switch (ch) {
		case 'a':
			algoname = optarg;
			break;
		case 'b':
			if (parse_factor(optarg, &percent) < 0)
				errx(EXIT_USAGE, "bad factor '%s': want a "
				    "number from 1 to 1000, like 1.25", optarg);
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
		case 'n':
			if (parse_ulong(optarg, 1, 1000000, &n) < 0)
				errx(EXIT_USAGE, "bad count '%s'", optarg);
			break;
		case 'V':
			print_version();
			break;
		case 'x':
			l.showhash = 1;
			break;
		default:
			usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (place_spec_parse(algoname, &spec, errbuf, sizeof(errbuf)) < 0)
		errx(EXIT_USAGE, "%s", errbuf);
	if (percent != 0 && n > 1)
		errx(EXIT_USAGE, "bounded loads (-b) place one node per key: "
		    "-n must be 1");
	if (ringpath == NULL || *ringpath == '\0')
		errx(EXIT_USAGE, "no ring: give -f RING or set HAKIT_RING");

	if (ring_load(&ring, ringpath, errbuf, sizeof(errbuf)) < 0 ||
	    place_build(&place, &ring, &spec, hash->fn, errbuf,
	    sizeof(errbuf)) < 0)
		errx(EXIT_USAGE, "%s", errbuf);
	if (n > place.reachable)
		errx(EXIT_USAGE, "asked for %lu nodes but the ring has %zu%s",
		    n, place.reachable, place.reachable < ring_size(&ring) ?
		    " that own points" : "");
	if (percent != 0)
		place_bound(&place, percent);
	make_labels(&l.labels, &ring);
	l.n = n;
	l.nodes = xcalloc(n, sizeof(*l.nodes));
	ob_init(&l.out, STDOUT_FILENO);

	if (argc > 0)
		for (int i = 0; i < argc; i++)
			lookup(&l, argv[i], strlen(argv[i]));
	else
		keys_read(STDIN_FILENO, "stdin", &l.out, lookup, &l);
	if (ob_flush(&l.out) < 0)
		err(EXIT_FAIL, "stdout");
	free_labels(&l.labels, &ring);
	free(l.nodes);
	place_free(&place);
	ring_free(&ring);
	return EXIT_OK;
}
