/*
 * keyfile: the small text files of "KEY VALUE" lines that describe a
 * replication group's lease state (lease.h) and a member's copy of the
 * data (member.h).  The first line names the format and its version, as
 * "hakit-lease 2".
 */
#ifndef HAKIT_KEYFILE_H
#define HAKIT_KEYFILE_H

#include <stddef.h>

/*
 * Called for line LINENO (from 1) of a key file, split at its first space
 * into KEY and VAL (which the callee may modify).  Returns 0, or -1 if the
 * line is not one the file may hold.
 */
typedef int keyfile_fn(void *arg, size_t lineno, const char *key, char *val);

/*
 * Reads PATH, calling FN for each line.  Returns 0, or -1 if PATH does not
 * exist.  Exits 1 if it cannot be read, and 2, naming the file as WHAT
 * (say, "lease state") and the line, if a line has no space or FN
 * refuses it.
 */
int keyfile_read(const char *path, const char *what, keyfile_fn *fn,
    void *arg);

/*
 * Returns PATH's bytes (a new buffer, their count in *LEN), or NULL if
 * PATH does not exist; exits 1 if it cannot be read.
 */
char *keyfile_load(const char *path, size_t *len);

/*
 * The same as keyfile_read for LEN bytes of TEXT, which came from NAME (a file, an etcd
 * key): exits 2 as keyfile_read does.  A NUL byte in TEXT ends its line.
 */
void keyfile_parse(const char *text, size_t len, const char *name,
    const char *what, keyfile_fn *fn, void *arg);

#endif
