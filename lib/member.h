/*
 * member: which copy of a replication group's data a directory holds, and
 * what that copy knows is committed.
 *
 * DIR/member sits next to DIR/log and DIR/snapshot (kvlog.h):
 *
 *	hakit-member 2
 *	id 0f3c9a...		32 random hex digits, made with the copy
 *	dir-inode 1234		the inode number of the DIR it was made in
 *	commit 42		the commit point this copy has learned
 *
 * A member is in its group's in-sync set by its id (with its socket), so a
 * directory that lost its data is never taken for the copy it replaced:
 * member_open() makes a new id when the history holds no record (a new or
 * emptied directory), when DIR is not the directory the id was made in
 * (a directory copied, or restored from elsewhere), when the history
 * holds fewer records than the copy knew were committed, or when there is
 * no member file.  (The directory, not the log, carries the identity: a
 * snapshot rewrites the log as a new file.)  A new copy joins as a new
 * backup and must catch up before it is in sync.  The file is only ever
 * replaced with durable_replace(), by the process that holds the log's
 * lock (so call member_open() after kv_open()).
 *
 * The commit point is a safety net: a member never cuts its log below a
 * commit point it has learned, whoever asks.  It is rewritten at most once
 * a second (and when the member stops cleanly), so after a crash it may be
 * lower than what the member had learned, never higher than what was
 * committed.  A failure to rewrite it is reported and leaves the last one.
 *
 * Weakness: a directory restored in place with its inode number (a file
 * system snapshot rolled back), or one whose log alone was replaced,
 * keeps its id; remove DIR/member when restoring one.
 */
#ifndef HAKIT_MEMBER_H
#define HAKIT_MEMBER_H

#include <stddef.h>

#define MEMBER_ID_LEN	32

struct member {
	char *path;			/* DIR/member */
	char id[MEMBER_ID_LEN + 1];
	unsigned long long inode;	/* of DIR */
	size_t commit;			/* as last written */
	long long written_ms;		/* when (ev_now_ms), 0 if never */
};

/*
 * Reads or makes the identity of the copy in DIR, whose history holds
 * RECORDS records (kv_count).  Exits 2 on a malformed member file, 1 if it
 * cannot be written.
 */
struct member *member_open(const char *dir, size_t records);

/*
 * Notes that COMMIT is committed; rewrites the file if it moved and a
 * second has passed since the last rewrite, or at once if NOW is set.
 */
void member_note_commit(struct member *, size_t commit, int now);

/* Returns whether ID is a well-formed member id. */
int member_id_ok(const char *id);

#endif
