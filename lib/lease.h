/*
 * lease: where a replication group keeps who its primary is and which
 * members are in sync, and the lock that makes one member the primary.
 *
 * Two backends, chosen by the name the group was given (-L):
 *
 * A path is the single-host lease, two files.  The path itself is a lock
 * file: the primary holds an exclusive flock(2) on it for as long as it
 * serves, so the kernel frees the lease the moment the primary dies.  The
 * lock file is created once and never renamed or rewritten (a lock lives
 * on an inode).  Next to it, PATH.state holds the state, and only the lock
 * holder rewrites it, with durable_replace() (a temporary file, synced,
 * renamed over PATH.state, then the directory synced).
 *
 * "etcd://HOST:PORT[,HOST:PORT...]/PREFIX" keeps the lease in an etcd
 * cluster, for a group across hosts.  PREFIX/leader names the primary and
 * is bound to an etcd lease with a TTL (lease_set_ttl, default 5 s) that
 * the primary keeps alive every TTL/3; when it dies or is cut off, etcd
 * deletes the key once the TTL has run out.  PREFIX/state holds the state.
 * The leader key's create_revision, which rises with every takeover, is
 * the primary's fencing token: every change of the state is one etcd
 * transaction that compares it, so a primary that has been replaced
 * cannot change the state (in particular, shrink the in-sync set) again.
 * A takeover is one transaction too: the leader key is absent (or still
 * the one a dead earlier run of this same member left) and the state is
 * unchanged since it was read.  The holder counts its lease from when it
 * sent the last keepalive etcd answered (never from when the answer came)
 * and, TTL/10 before that count runs out, stops acting as holder:
 * lease_held() turns 0.  That bound assumes only that the clocks of the
 * primary's host and of etcd's leader run at rates within 10% of each
 * other, not that they agree.  See hakit(7) MULTI-HOST.
 *
 * The state, in both, is text (`etcdctl get PREFIX/state` shows it):
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
 * name of its socket (absolute path or TCP address), and is in the
 * in-sync set only as both: a member whose directory was emptied or
 * replaced has a new id, and is not.  The primary is in its own in-sync
 * set.  A version 1 state (members named by socket alone) is refused.
 *
 * Promise: a state written is durable (file) or committed in etcd before
 * lease_write() or lease_take() returns success, and a reader sees either
 * the old or the new state, never a mix.
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

struct lease;
struct evloop;

/* Returns whether NAME names an etcd lease ("etcd://..."). */
int lease_is_etcd(const char *name);

/*
 * Opens the lease NAME (a path is created if needed).  Exits 2, saying
 * why, if NAME is a malformed etcd:// name.
 */
struct lease *lease_open(const char *name);
void lease_close(struct lease *);

/* etcd: the TTL of the holder's lease, in ms (etcd grants 2 s at least). */
void lease_set_ttl(struct lease *, long ms);

/*
 * Names the member that will take the lease (ID and SOCK, as in the
 * state): a leader key of this same member, left by an earlier run of it
 * that died, does not stand in its way.
 */
void lease_set_self(struct lease *, const char *id, const char *sock);

/*
 * Reads the state into ST.  Returns 0, -1 if there is none yet (ST is
 * then zeroed), or -2 if it cannot be read now (etcd unreachable:
 * lease_error says why).  Exits 2 on a malformed state.
 */
int lease_read(struct lease *, struct lease_state *st);

/*
 * Takes the lease if it is free.  The state is read into ST and
 * DECIDE(ST, ARG) is called: it returns 0 to leave the lease alone (ST
 * stays as read), or 1 once it has changed ST into the state to write,
 * which names the caller as primary; the lease is then taken and ST
 * written in one step.  Returns 1 if the lease is now ours, 0 if it is
 * held, DECIDE said no or another member got there first, -2 if etcd
 * cannot be reached.
 */
typedef int lease_decide_fn(struct lease_state *st, void *arg);
int lease_take(struct lease *, struct lease_state *st, lease_decide_fn *decide,
    void *arg);

/*
 * The holder rewrites the state.  Returns 0 once it is durable, or -1 if
 * the lease is no longer ours (etcd: the comparison of our token failed,
 * or etcd could not be reached in time): the caller must stop serving.
 * Exits 1 if a file cannot be written.
 */
int lease_write(struct lease *, const struct lease_state *st);

/*
 * The holder: keeps the lease alive (etcd: a keepalive every TTL/3, its
 * answers read in EV's loop; nothing to do for a file).
 */
void lease_renew(struct lease *, struct evloop *ev);

/*
 * A backup: asks to be told, by FN(ARG) from EV's loop, when the lease
 * may have changed hands (etcd: a watch on the leader key, asked for again
 * a second after it fails).  Returns 1 while such a watch is on; 0 if
 * changes are not told (a file: the caller polls the lock) or not now
 * (the watch is being made, or failed: the caller looks for itself).
 */
int lease_watch(struct lease *, struct evloop *ev, void (*fn)(void *),
    void *arg);

/* Returns 1 while the lease is surely still ours, 0 from then on. */
int lease_held(struct lease *);

/* Gives the lease back at once (file: unlock; etcd: revoke). */
void lease_release(struct lease *);

/* Why the last call that failed did: a phrase naming the lease. */
const char *lease_error(const struct lease *);

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
