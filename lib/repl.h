/*
 * repl: one member of a primary-backup replication group (SPEC §4).
 *
 * A member keeps the replicated map in a data directory (kvlog.h), listens
 * on a socket (UNIX or TCP, sock.h) for clients and backups, and shares a
 * lease (lease.h) with the other members of its group.  It is either the primary, which
 * holds the lease's lock, orders writes, appends them to its log and
 * acknowledges them once its in-sync backups have them, or a backup, which
 * follows the primary named in the lease state and takes over, in place,
 * when the lock becomes free and it is in the in-sync set.
 *
 * The wire protocol (text lines, arguments escaped with wire_escape) is
 * documented in repl-primary(1) and hakit(7).
 *
 * A member is known by the id of its copy of the data (member.h) and its
 * socket; only a member of the in-sync set, as both, may take over, and a
 * member never cuts a record it knows is committed, whoever asks.
 *
 * Promise: a write is acknowledged only once it is durable locally and,
 * with ack level recv or fsync, received or durable on every backup in the
 * in-sync set; a backup leaves the in-sync set (durably, in the lease
 * state) before any write is acknowledged without it.  A write that
 * carries a request id is appended at most once (reqid.h): a retry is
 * answered with the first one's outcome.  A member applies to its map
 * only committed records, so reads never see a write that may yet be lost
 * (with ack level fsync); only the primary answers GET, after a record of
 * its own epoch is committed.  Replies on a connection come in request
 * order.
 */
#ifndef HAKIT_REPL_H
#define HAKIT_REPL_H

#include <stddef.h>
#include <sys/types.h>

struct repl_opts {
	const char *dir;	/* data directory */
	const char *sock;	/* our socket */
	const char *lease;	/* -L: a lock file, or etcd://... (lease.h) */
	long ttl_ms;		/* -T: an etcd lease's TTL, or 0 */
	const char *keyfile;	/* -K: the key TCP peers must prove, or NULL */
	int ack;		/* ACK_*, or -1 to keep the lease's */
	long k;			/* in-sync backups needed, or -1 */
	long lag_ms;		/* lag allowed before removal, or -1 */
	mode_t mode;		/* socket mode */
	int readyfd;		/* -r FD, or -1 */
	int any_uid;		/* -A: accept peers of any uid */
	int nosync;		/* -S: never fdatasync (demos, benchmarks) */
	unsigned long growth;	/* -g: log growth for a snapshot, %; 0: none */
	size_t snap_min;	/* -G: no snapshot of a smaller log */
	int pipe;		/* primary: writes from stdin, acks to stdout */
	int print;		/* print applied records to stdout */
};

/*
 * Parses a member's command line into O.  PIPE_OK allows -p (the primary's
 * pipe mode).  Returns 0, 'h' for -h, or -1 for a usage error (a bad or
 * missing option or a stray operand, said on stderr); -V prints the
 * version and exits.
 */
int repl_parse_args(int argc, char *argv[], int pipe_ok,
    struct repl_opts *o);

/* Runs a member that starts as primary; returns its exit status. */
int repl_primary(const struct repl_opts *);

/* Runs a member that starts as backup; returns its exit status. */
int repl_backup(const struct repl_opts *);

/*
 * Splits a command line from a shell or pipe: TAB-separated fields if LINE
 * has a TAB, else the verb, the key and the rest of the line split at the
 * first two spaces.  Fields point into LINE.  Returns the number of fields
 * (at most MAX).
 */
int repl_split_cmd(char *line, char **field, int max);

#endif
