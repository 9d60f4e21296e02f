/*
 * durable: file changes that survive a power cut.
 *
 * fsync_parent() makes a new or renamed directory entry durable.
 * durable_replace() replaces a whole file atomically and durably: it
 * writes the new contents to a temporary file in the same directory,
 * fsyncs it, renames it over PATH and fsyncs the directory.  A reader sees
 * the old file or the new one, never a mix; once it returns 0 the new one
 * survives a crash.  The file keeps its permission bits.  Never use it on
 * a file that is locked with flock: the lock stays on the old inode.
 */
#ifndef HAKIT_DURABLE_H
#define HAKIT_DURABLE_H

#include <stddef.h>

/* Fsyncs the directory that holds PATH.  Returns 0, or -1 with errno. */
int fsync_parent(const char *path);

/*
 * Replaces PATH with the LEN bytes at DATA.  Returns 0, or -1 with errno
 * set and the step that failed in *WHAT; unless only the final directory
 * sync failed, PATH is then left as it was.
 */
int durable_replace(const char *path, const void *data, size_t len,
    const char **what);

/*
 * Removes the temporaries that durable_replace() calls on PATH left behind
 * when their process died.  Call it only while no other process can be
 * replacing PATH (under the lock that serializes its writers).
 */
void durable_sweep(const char *path);

#endif
