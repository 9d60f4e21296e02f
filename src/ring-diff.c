/*
 * ring-diff: the keys whose node changes between two rings, for planning
 * a migration.
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
	fprintf(fp, "usage: ring-diff [-hV] [-a algo] [-H hash] old new "
	    "[key ...]\n");
	exit(fp == stderr ? EXIT_USAGE : EXIT_OK);
}

/* One ring and its placement. */
struct side {
	struct ring	 ring;
	struct place	 place;
};

/* The two rings, where the new one's node of each old node is, and the
 * output. */
struct diff {
	struct side	 old, new;
	size_t		*new_of;	/* per old node: its index in new, or
					   SIZE_MAX if it is not there */
	struct outbuf	 out;
};

static void
load(struct side *s, const char *path, const struct place_spec *spec,
    keyhash_fn *hash)
{
	char errbuf[512];

	if (ring_load(&s->ring, path, errbuf, sizeof(errbuf)) < 0 ||
	    place_build(&s->place, &s->ring, spec, hash, errbuf,
	    sizeof(errbuf)) < 0)
		errx(EXIT_USAGE, "%s", errbuf);
}

/* Writes "KEY<TAB>OLD_NODE<TAB>NEW_NODE\n" if KEY changes node. */
static void
diff_key(void *arg, const char *key, size_t len)
{
	struct diff *d = arg;
	const struct ring_node *o, *n;
	size_t i, j;

	place_lookup(&d->old.place, key, len, 1, &i);
	place_lookup(&d->new.place, key, len, 1, &j);
	if (d->new_of[i] == j)
		return;
	o = &d->old.ring.node[i];
	n = &d->new.ring.node[j];
	ob_write(&d->out, key, len);
	ob_putc(&d->out, '\t');
	ob_write(&d->out, o->name, o->len);
	ob_putc(&d->out, '\t');
	ob_write(&d->out, n->name, n->len);
	ob_putc(&d->out, '\n');
}

int
main(int argc, char *argv[])
{
	const char *algoname = "ketama";
	const struct keyhash *hash = keyhash_find("md5");
	struct place_spec spec;
	struct diff d;
	char errbuf[512];
	int ch;

	while ((ch = getopt(argc, argv, "a:H:hV")) != -1) {
		switch (ch) {
		case 'a':
			algoname = optarg;
			break;
		case 'H':
			hash = keyhash_option(optarg);
			break;
		case 'h':
			usage(stdout);
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
	if (argc < 2)
		usage(stderr);
	if (place_spec_parse(algoname, &spec, errbuf, sizeof(errbuf)) < 0)
		errx(EXIT_USAGE, "%s", errbuf);

	load(&d.old, argv[0], &spec, hash->fn);
	load(&d.new, argv[1], &spec, hash->fn);
	d.new_of = ring_map(&d.old.ring, &d.new.ring);
	ob_init(&d.out, STDOUT_FILENO);
	if (argc > 2)
		for (int i = 2; i < argc; i++)
			diff_key(&d, argv[i], strlen(argv[i]));
	else
		keys_read(STDIN_FILENO, "stdin", &d.out, diff_key, &d);
	if (ob_flush(&d.out) < 0)
		err(EXIT_FAIL, "stdout");
	free(d.new_of);
	place_free(&d.old.place);
	place_free(&d.new.place);
	ring_free(&d.old.ring);
	ring_free(&d.new.ring);
	return EXIT_OK;
}
