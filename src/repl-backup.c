/*
 * repl-backup: a backup of a primary-backup replication group.
 *
 * It follows the primary named in the group's lease state: sends its
 * (epoch, position), truncates a divergent tail if the primary says so,
 * receives the records it lacks, makes them durable and acknowledges
 * them.  With -o it prints every committed record it applies on stdout.
 * When the primary dies (the lease's lock becomes free) and this member is
 * in the in-sync set, it takes over in place: raises the epoch, records it
 * and serves writes.  Everything else lives in lib/repl.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "repl.h"
#include "util.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: repl-backup [-AhoSV] [-a none | recv | fsync] [-G min_size] "
	    "[-g growth]\n"
	    "                   [-K keyfile] [-k K] [-m mode] [-r fd] [-T ttl] [-t lag_ms]\n"
	    "                   -d dir -s sock -L lease\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	struct repl_opts o;

	switch (repl_parse_args(argc, argv, 0, &o)) {
	case 'h':
		usage(stdout, EXIT_OK);
		break;
	case -1:
		usage(stderr, EXIT_USAGE);
		break;
	}
	return repl_backup(&o);
}
