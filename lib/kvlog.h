/*
 * kvlog: the replicated key-value map, kept as a log of operations.
 *
 * A data directory holds one file, "log", a hakit log (log.h) whose
 * records are text: "EPOCH<TAB>OP[<TAB>ARG...]", each argument escaped
 * with wire_escape (so it holds no TAB or newline):
 *
 *	EPOCH	epoch	MEMBER		a primary began epoch EPOCH here
 *	EPOCH	put	KEY	VALUE	[REQID]
 *	EPOCH	del	KEY	[REQID]
 *	EPOCH	append	PAYLOAD	[REQID]	a raw record; the map ignores it
 *
 * EPOCH is the epoch of the primary that appended the record; REQID, when
 * the client gave one, the write's request id (reqid.h), which the log
 * indexes so that a retried write is recognised (kv_request).  A record's
 * position is its index in the log, counted from 1; position 0 is the
 * empty log.  The whole log is also kept in memory (positions, epochs and
 * payloads), to stream it to backups and to find where two logs diverge.
 *
 * The map holds the records applied so far (kv_apply): a member applies a
 * record only once it is committed, so reads never see a write that may
 * still be lost.
 *
 * Promise: kv_durable() counts only records on stable storage (flushed
 * and, unless syncing is off, fdatasync'ed); kv_truncate() returns only
 * once the cut is durable, and never cuts an applied record.  Weakness:
 * memory grows with the log, which is never compacted.
 */
#ifndef HAKIT_KVLOG_H
#define HAKIT_KVLOG_H

#include <stddef.h>

#include "reqid.h"

struct kvlog;

struct kvval {
	size_t len;
	char data[];
};

/* Called for each record applied: its position and payload. */
typedef void kv_apply_fn(void *arg, size_t pos, const char *rec, size_t len);

/* Parses the epoch a record starts with; returns -1 if it has none. */
int kv_record_epoch(const char *rec, size_t len, unsigned long long *epoch);

/* Opens or creates DIR/log; exits 2 on a corrupt log or bad record. */
struct kvlog *kv_open(const char *dir, int nosync);

/* Closes the log (as log_close) and frees everything. */
void kv_close(struct kvlog *);

/* Appends a forced record; returns its position.  Durable after kv_flush. */
size_t kv_append(struct kvlog *, const char *rec, size_t len);

/* Writes and syncs what is appended; kv_durable() then covers it. */
void kv_flush(struct kvlog *);

size_t kv_count(const struct kvlog *);
size_t kv_durable(const struct kvlog *);
size_t kv_applied(const struct kvlog *);

/* The record at POS (1 <= POS <= count). */
const char *kv_record(const struct kvlog *, size_t pos, size_t *len);

/* The epoch of the record at POS; 0 for position 0. */
unsigned long long kv_epoch_at(const struct kvlog *, size_t pos);

/*
 * Milliseconds (ev_now_ms) when the record at POS became durable; 0 for a
 * record replayed by kv_open(), durable since before the process started.
 */
long long kv_durable_at(const struct kvlog *, size_t pos);

/*
 * Returns the last position whose record's epoch is at most EPOCH, and
 * stores in *LAST the epoch of that record (0 if there is none).
 */
size_t kv_end_of_epoch(const struct kvlog *, unsigned long long epoch,
    unsigned long long *last);

/*
 * Cuts the log back to POS records, durably.  POS must not be below the
 * applied position (the process exits 1 if it is: a committed record is
 * never cut).
 */
void kv_truncate(struct kvlog *, size_t pos);

/* Applies records up to POS to the map, calling FN for each (may be NULL). */
void kv_apply(struct kvlog *, size_t pos, kv_apply_fn *fn, void *arg);

/*
 * Says whether the write with request id ID is in the log (any record,
 * committed or not), and where: see reqid_find().
 */
enum reqid_state kv_request(const struct kvlog *, const struct reqid *id,
    size_t *pos);

/* The value of KEY in the map, or NULL. */
const struct kvval *kv_get(const struct kvlog *, const char *key);

/*
 * Builds a record: "EPOCH<TAB>OP" and then each of the NARG arguments
 * escaped after a TAB.  Returns a new string and stores its length.
 */
char *kv_encode(unsigned long long epoch, const char *op, int narg,
    const char *const *arg, const size_t *alen, size_t *len);

#endif
