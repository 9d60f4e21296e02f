/*
 * snapshot: a state written whole to one text file, checksummed.
 *
 * A snapshot file is lines of TAB-separated fields, each field escaped
 * with wire_escape (so it holds no TAB or newline, and any bytes but NUL).
 * The first line is "hakit-snapshot<TAB>1"; the last is "end<TAB>CRC",
 * CRC being the CRC-32C of every byte before that line in 8 lowercase hex
 * digits.  What the lines between say is the caller's (kvlog.h lists what
 * a replication member writes).  A snapshot holds no NUL byte, so it
 * travels on the wire as escaped text.
 *
 * A snapshot is written to a new file the caller made (a temporary beside
 * its final name) and synced; the caller renames it into place and syncs
 * the directory, so a reader finds the old snapshot or the new one, whole.
 *
 * Promise: snapshot_read() hands over no line of a file it then refuses
 * without saying so: a torn or damaged file (a missing or wrong last line,
 * a bad escape) is reported after the lines before the damage, and the
 * caller throws away what it built from them.
 */
#ifndef HAKIT_SNAPSHOT_H
#define HAKIT_SNAPSHOT_H

#include <stddef.h>

#define SNAPSHOT_MAX_FIELDS	8

struct snapshot_writer;

/* Starts a snapshot on FD, a new empty file open for writing. */
struct snapshot_writer *snapshot_begin(int fd);

/* Adds a line of NF fields, F[i] being LEN[i] bytes (escaped here). */
void snapshot_add(struct snapshot_writer *, int nf, const char *const *f,
    const size_t *len);

/* Adds a line of fields given as strings, ended by NULL. */
void snapshot_addv(struct snapshot_writer *, const char *first, ...)
    __attribute__((sentinel));

/*
 * Writes the last line, syncs and closes the file, and frees the writer.
 * Returns 0, or -1 with errno set and the step that failed in *WHAT (the
 * first failure of any call since snapshot_begin).
 */
int snapshot_end(struct snapshot_writer *, const char **what);

/*
 * Called for each line between the first and the last: NF fields,
 * unescaped and NUL-terminated (the callee may change them).  Returns 0,
 * or -1 if the line is not one the snapshot may hold.
 */
typedef int snapshot_line_fn(void *arg, int nf, char **f, size_t *len);

/*
 * Reads the snapshot at PATH, calling FN for each line.  Returns 1; 0 if
 * there is no such file; or -1 with the reason in *WHY if the file is not
 * a whole, good snapshot.  Exits 1 if it cannot be read.
 */
int snapshot_read(const char *path, snapshot_line_fn *fn, void *arg,
    const char **why);

#endif
