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
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
#include "lease.h"
#include "repl.h"
#include "sock.h"
#include "util.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: repl-backup [-nou] [-a none|recv|fsync] [-k K] "
	    "[-m MODE] [-r FD] [-t LAG_MS]\n"
	    "                   -d DIR -s SOCK -L LEASE\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	struct repl_opts o = { .ack = -1, .k = -1, .lag_ms = -1,
	    .mode = 0600, .readyfd = -1 };
	unsigned long v;
	int ch;

	while ((ch = getopt(argc, argv, "a:d:hk:L:m:nor:s:t:uV")) != -1) {
		switch (ch) {
		case 'a':
			if ((o.ack = lease_ack_parse(optarg)) == -1)
				usage(stderr, EXIT_USAGE);
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 'h':
			usage(stdout, EXIT_OK);
			break;
		case 'k':
			if (parse_ulong(optarg, 0, 1000, &v) == -1)
				usage(stderr, EXIT_USAGE);
			o.k = (long)v;
			break;
		case 'L':
			o.lease = optarg;
			break;
		case 'm':
			if (sock_parse_mode(optarg, &o.mode) == -1)
				usage(stderr, EXIT_USAGE);
			break;
		case 'n':
			o.nosync = 1;
			break;
		case 'o':
			o.print = 1;
			break;
		case 'r':
			o.readyfd = daemon_parse_fd(optarg);
			break;
		case 's':
			o.sock = optarg;
			break;
		case 't':
			if (parse_ulong(optarg, 1, 86400000, &v) == -1)
				usage(stderr, EXIT_USAGE);
			o.lag_ms = (long)v;
			break;
		case 'u':
			o.any_uid = 1;
			break;
		case 'V':
			print_version();
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc || o.dir == NULL || o.sock == NULL ||
	    o.lease == NULL)
		usage(stderr, EXIT_USAGE);
	return repl_backup(&o);
}
