/*
 * ring-add: add nodes to a ring file, or set their weight.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ring.h"
#include "util.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: ring-add [-hV] [-f ring] [-w weight] node ...\n");
	exit(fp == stderr ? EXIT_USAGE : EXIT_OK);
}

int
main(int argc, char *argv[])
{
	const char *ringpath = getenv("HAKIT_RING"), *why;
	unsigned long weight = 1;
	int setweight = 0;	/* -w given: also for nodes already there */
	struct ring ring;
	struct ring_node *node;
	char errbuf[512];
	int ch, fd, status, changed = 0;

	while ((ch = getopt(argc, argv, "f:hVw:")) != -1) {
		switch (ch) {
		case 'f':
			ringpath = optarg;
			break;
		case 'h':
			usage(stdout);
			break;
		case 'V':
			print_version();
			break;
		case 'w':
			if (parse_ulong(optarg, 1, RING_MAX_WEIGHT, &weight) < 0)
				errx(EXIT_USAGE, "bad weight '%s' (expected an "
				    "integer from 1 to %d)", optarg,
				    RING_MAX_WEIGHT);
			setweight = 1;
			break;
		default:
			usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(stderr);
	if (ringpath == NULL || *ringpath == '\0')
		errx(EXIT_USAGE, "no ring: give -f RING or set HAKIT_RING");
	for (int i = 0; i < argc; i++)
		if ((why = ring_bad_name(argv[i])) != NULL)
			errx(EXIT_USAGE, "bad node name '%s': %s", argv[i], why);

	if ((fd = ring_begin_update(&ring, ringpath, 1, errbuf, sizeof(errbuf),
	    &status)) < 0)
		errx(status, "%s", errbuf);
	for (int i = 0; i < argc; i++) {
		if ((node = ring_find(&ring, argv[i])) == NULL) {
			ring_append(&ring, argv[i], weight);
			changed = 1;
		} else if (setweight && node->weight != weight) {
			node->weight = weight;
			node->reweighed = 1;
			changed = 1;
		}
	}
	if (ring_end_update(&ring, fd, changed, errbuf, sizeof(errbuf)) < 0)
		errx(EXIT_FAIL, "%s", errbuf);
	return EXIT_OK;
}
