/*
 * repl-primary: the primary of a primary-backup replication group.
 *
 * It takes the group's lease (refusing to if its data directory may lack
 * acknowledged writes), raises the epoch, and serves puts, gets, deletes
 * and raw appends on its socket, acknowledging a write once it is durable
 * here and on the in-sync backups (-a, -k).  With -p it also takes writes
 * from stdin and prints their acks on stdout.  Everything else lives in
 * lib/repl.c, shared with repl-backup, which becomes a primary in place.
 */
#include <stdio.h>
#include <stdlib.h>

#include "repl.h"
#include "util.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: repl-primary [-AhopSV] [-a none | recv | fsync] [-G min_size] "
	    "[-g growth]\n"
	    "                    [-K keyfile] [-k K] [-m mode] [-r fd] [-T ttl] [-t lag_ms]\n"
	    "                    -d dir -s sock -L lease\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	struct repl_opts o;

	switch (repl_parse_args(argc, argv, 1, &o)) {
	case 'h':
		usage(stdout, EXIT_OK);
		break;
	case -1:
		usage(stderr, EXIT_USAGE);
		break;
	}
	return repl_primary(&o);
}
