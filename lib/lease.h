/*
 * lease: the single-host lease of a replication group.
 *
 * A lease is two files.  LEASE itself is a lock file: the primary holds an
 * exclusive flock(2) on it for as long as it serves, so the kernel frees
 * the lease the moment the primary dies.  The lock file is created once
 * and never renamed or rewritten (a lock lives on an inode).  Next to it,
 * LEASE.state is a small text file that only the lock holder rewrites,
 * with durable_replace() (a temporary file, synced, renamed over
 * LEASE.state, then the directory synced).  Its lines:
 *
 *	hakit-lease 2
 *	epoch N
 *	primary ID SOCK
 *	ack none|recv|fsync
 *	min-insync K
 *	lag MS
 *	insync ID SOCK		(one line per member of the in-sync set)
 *
 * A member is named by the id of its copy of the data (member.h) and the
 * absolute path of its socket, and is in the in-sync set only as both: a
 * member whose directory was emptied or replaced has a new id, and is not.
 * The primary is in its own in-sync set.  A version 1 file (members named
 * by socket alone) is refused.
 *
 * Promise: lease_write() returns only once the new state is durable, and a
 * reader sees either the old or the new state, never a mix.
 */
#ifndef HAKIT_LEASE_H
#define HAKIT_LEASE_H

#include <stddef.h>

enum { ACK_NONE, ACK_RECV, ACK_FSYNC };

/* A member: the id of its copy of the data and its socket. */
struct lease_member {
	char *id;
	char *sock;
};

struct lease_state {
	unsigned long long epoch;	/* 0: no primary ever served */
	struct lease_member primary;	/* both NULL if none */
	int ack;
	unsigned long k;		/* in-sync backups needed to write */
	unsigned long lag_ms;		/* how long a backup may lag */
	struct lease_member *insync;
	size_t ninsync;
};

/* Opens (creating it if needed) the lock file; returns its descriptor. */
int lease_open(const char *path);

/* Tries to take the lock without waiting; returns 1 if taken, else 0. */
int lease_trylock(int fd);

/* Gives the lock back. */
void lease_unlock(int fd);

/*
 * Reads LEASE.state into ST.  Returns 0, or -1 if there is none yet (ST is
 * then zeroed).  Exits 2 on a malformed file.
 */
int lease_read(const char *path, struct lease_state *st);

/* Rewrites LEASE.state durably; exits 1 on any failure. */
void lease_write(const char *path, const struct lease_state *st);

void lease_free(struct lease_state *st);

/* Returns whether the member ID on SOCK is in the in-sync set. */
int lease_insync(const struct lease_state *st, const char *id,
    const char *sock);

/* Adds or removes a member (in memory only; write it with lease_write). */
void lease_add(struct lease_state *st, const char *id, const char *sock);
void lease_remove(struct lease_state *st, const char *id, const char *sock);

/* Makes the member ID on SOCK the primary (in memory only). */
void lease_set_primary(struct lease_state *st, const char *id,
    const char *sock);

/* Returns "none", "recv" or "fsync"; parses one, returning -1 if bad. */
const char *lease_ack_name(int ack);
int lease_ack_parse(const char *s);

#endif
