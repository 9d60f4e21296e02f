/*
 * log: an append-only durable log of records, with group commit.
 *
 * On disk: an 8-byte magic "HAKITLG1", then records, each a 4-byte
 * little-endian payload length, a 4-byte little-endian CRC-32C of the
 * length bytes followed by the payload, and the payload; then, while the
 * log is open (or after a crash), zeros: space written ahead so that
 * appends do not grow the file, which makes each fdatasync cheaper.  A clean
 * close, or exit(3), cuts the zeros off.  (A real record never starts with a
 * zero header: the CRC-32C of a zero length is not zero.)
 *
 * log_open() locks the file (filelock.h: a second daemon on the same log
 * exits 3 naming the holder), syncs it (so records a killed process left
 * only in the page cache are durable before anyone acts on them) and
 * replays every record to a callback.  Trailing zeros are the clean end.
 * A torn last record (a header or length running past the end, or a
 * record failing its CRC with nothing but zeros after the end it claims)
 * is truncated and reported on stderr; a bad record with valid data after
 * it is corruption: the process exits 2 naming the file and the byte
 * offset.  A new file is created with its magic, synced, and its
 * directory synced.
 *
 * Appends are buffered in memory.  log_flush() writes everything buffered
 * with one write(2) and, if any forced record is among it, one
 * fdatasync(2); then it calls the done callback of every record it made
 * durable, in append order.  An event loop calls log_flush() once before it
 * sleeps, so all the records appended while serving one batch of events
 * share one fdatasync (group commit).  A record appended with
 * log_append_soon() is forced too, but its sync may wait up to the log's
 * delay (log_set_delay) for company: meant for records whose
 * acknowledgement nobody is waiting on, so they share the sync of the next
 * urgent record instead of costing one of their own (like PostgreSQL's
 * commit_delay).  Lazy records (log_append_lazy) are written with the next
 * flush but never cause a sync of their own: they are durable only once a
 * later forced record's sync covers them.
 *
 * Promise: a done callback is called only after its record is on stable
 * storage (unless syncing is disabled with log_set_nosync, for demos and
 * benchmarks).  A failed write or sync is never ignored: the process exits 1
 * with a message naming the file, acknowledging nothing more; after a
 * failed sync the file is first cut back to what the last good sync
 * covered, so a restarted daemon never replays a record that the kernel
 * may have lost.
 *
 * For replication (added later, nothing above changed): log_truncate()
 * cuts the log back to a record boundary the caller knows, durably, so a
 * member can drop a divergent tail; the caller computes the boundary from
 * the format above (8 bytes of magic, then 8 + length bytes per record).
 *
 * Checkpoints (added for bounded growth): log_checkpoint() replaces the
 * whole log by the records a keep function gives it, the state a restart
 * needs written compactly, so the log grows with the live state, not the
 * history.  The new file is written beside the log (LOG.checkpoint), with
 * its preallocated zeros, synced, locked (filelock.h), renamed over the log
 * and its directory synced: a crash at any moment leaves the old log or the
 * new one, both complete; a leftover LOG.checkpoint is removed when the log
 * is next opened.  Crash points: log.checkpoint-synced (the new file is
 * durable, not yet renamed), log.checkpoint-renamed (renamed, the directory
 * not yet synced).
 *
 * Weakness: a corrupted length field pointing past the end of the file is
 * indistinguishable from a torn tail.  A checkpoint stops the daemon for
 * as long as it takes to write and sync the live state.
 */
#ifndef HAKIT_LOG_H
#define HAKIT_LOG_H

#include <stddef.h>
#include <stdint.h>

#define LOG_MAX_RECORD	(64u * 1024 * 1024)

struct hlog;

typedef void log_replay_fn(void *arg, const char *rec, size_t len);
typedef void log_done_fn(void *arg);

/* Opens or creates PATH and replays its records to FN. */
struct hlog *log_open(const char *path, log_replay_fn *fn, void *arg);

/* With NOSYNC set, flushes write but never fdatasync. */
void log_set_nosync(struct hlog *, int nosync);

/* Appends a forced record; DONE(ARG) is called once it is durable. */
void log_append(struct hlog *, const char *rec, size_t len,
    log_done_fn *done, void *arg);

/*
 * Appends a forced record whose sync may wait up to the delay; DONE(ARG),
 * which must not be NULL, is called once it is durable.  The caller must
 * call log_flush() again once log_due_ms() says the delay is over.
 */
void log_append_soon(struct hlog *, const char *rec, size_t len,
    log_done_fn *done, void *arg);

/* Sets the longest wait of log_append_soon records, in ms (default 0). */
void log_set_delay(struct hlog *, long ms);

/* Returns the ms until a waiting soon record is due, or -1 if none is. */
long log_due_ms(const struct hlog *);

/* Appends a record that is written with the next flush, never forced. */
void log_append_lazy(struct hlog *, const char *rec, size_t len);

/*
 * Writes everything appended; syncs if a forced record is waiting or a
 * soon record is due, and then calls the done callbacks.
 */
void log_flush(struct hlog *);

/* How a record given to log_appendf() reaches stable storage. */
enum log_force {
	LOG_LAZY,	/* as log_append_lazy() */
	LOG_FORCED,	/* as log_append() */
	LOG_SOON,	/* as log_append_soon() */
	LOG_KEEP	/* as log_keep(), inside a checkpoint */
};

/* Appends a record formatted as printf(3) does, forced as FORCE says. */
void log_appendf(struct hlog *, enum log_force force, log_done_fn *done,
    void *arg, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Appends a forced record and flushes at once. */
void log_append_sync(struct hlog *, const char *rec, size_t len);

/* Returns whether records wait for a flush (soon records within their
 * delay do not count). */
int log_pending(const struct hlog *);

/* The number of fdatasync calls made so far (for benchmarks). */
unsigned long long log_syncs(const struct hlog *);

/*
 * Cuts the file to SIZE bytes (a record boundary) and syncs the cut.
 * Anything appended but not yet flushed is flushed first.  Exits 1 on
 * failure, like every other write.
 */
void log_truncate(struct hlog *, long long size);

void log_close(struct hlog *);

/* By default, a checkpoint is due from a log of this size on. */
#define LOG_CHECKPOINT_MIN	(1024 * 1024)

/* Bytes in the log, appended records included. */
size_t log_size(const struct hlog *);

/*
 * Returns whether a checkpoint is due: the log holds at least the
 * minimum (LOG_CHECKPOINT_MIN unless set) and has grown by the growth
 * percentage (default 100: to twice what the last checkpoint wrote,
 * counting the state kept outside the log; before the first, anything
 * counts), as Redis rewrites its AOF (auto-aof-rewrite-percentage and
 * auto-aof-rewrite-min-size).
 */
int log_checkpoint_due(const struct hlog *);

/* Sets the growth percentage; 0 turns checkpoints off. */
void log_set_growth(struct hlog *, unsigned long percent);

/* Sets the size below which no checkpoint is due. */
void log_set_checkpoint_min(struct hlog *, size_t bytes);

/*
 * Says how many bytes of state the caller keeps outside the log (a
 * snapshot that the log's records follow): log_checkpoint_due() counts
 * them as written by the last checkpoint.
 */
void log_set_outside(struct hlog *, size_t bytes);

/* Called by log_checkpoint() to give, with log_keep(), what to keep. */
typedef void log_keep_fn(struct hlog *, void *arg);

/*
 * Flushes and syncs what is appended (done callbacks run), then replaces
 * the log by the records KEEP gives, durably (see above).  Exits 1, with
 * the old log left as it was, if the new file cannot be written.
 */
void log_checkpoint(struct hlog *, log_keep_fn *keep, void *arg);

/*
 * As log_checkpoint(), but returns the replaced file's descriptor, still
 * open, instead of closing it.  The last close of a file that has lost
 * its name frees its blocks, which can stop the caller for milliseconds:
 * a caller that must not stop closes it where that costs it nothing (say,
 * after forking a child that holds it too and closes it last).
 */
int log_checkpoint_retire(struct hlog *, log_keep_fn *keep, void *arg);

/* Gives one record to keep; only inside a keep function. */
void log_keep(struct hlog *, const char *rec, size_t len);

#endif
