/*
 * ring-remove: remove nodes from a ring file, all or nothing.
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
	fprintf(fp, "usage: ring-remove [-hV] [-f ring] node ...\n");
	exit(fp == stderr ? EXIT_USAGE : EXIT_OK);
}

int
main(int argc, char *argv[])
{
	const char *ringpath = getenv("HAKIT_RING");
	struct ring ring;
	struct ring_node *node;
	char errbuf[512];
	int ch, fd, status, missing = 0;

	while ((ch = getopt(argc, argv, "f:hV")) != -1) {
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

	if ((fd = ring_begin_update(&ring, ringpath, 0, errbuf, sizeof(errbuf),
	    &status)) < 0)
		errx(status, "%s", errbuf);
	for (int i = 0; i < argc; i++) {
		if (ring_find(&ring, argv[i]) == NULL) {
			warnx("%s: no node '%s'", ringpath, argv[i]);
			missing = 1;
		}
	}
	for (int i = 0; i < argc && !missing; i++)
		if ((node = ring_find(&ring, argv[i])) != NULL)
			node->removed = 1;
	if (ring_end_update(&ring, fd, !missing, errbuf, sizeof(errbuf)) < 0)
		errx(EXIT_FAIL, "%s", errbuf);
	return missing ? EXIT_FAIL : EXIT_OK;
}
