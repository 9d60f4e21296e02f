/*
 * kvlog: the replicated key-value map, kept as a snapshot and a log of
 * the operations after it.
 *
 * A data directory holds "log", a hakit log (log.h) whose records are
 * text: "EPOCH<TAB>OP[<TAB>ARG...]", each argument escaped with
 * wire_escape (so it holds no TAB or newline):
 *
 *	EPOCH	epoch	MEMBER		a primary began epoch EPOCH here
 *	EPOCH	put	KEY	VALUE	[REQID]
 *	EPOCH	del	KEY	[REQID]
 *	EPOCH	append	PAYLOAD	[REQID]	a raw record; the map ignores it
 *
 * EPOCH is the epoch of the primary that appended the record; REQID, when
 * the client gave one, the write's request id (reqid.h), which is kept
 * so that a retried write is recognised (kv_request).  A record's
 * position counts the records since the first, from 1; position 0 is the
 * empty history.  The log's first record may be "base<TAB>POS": its
 * records are then positions POS + 1 on.
 *
 * Once one is taken, the directory also holds "snapshot" (snapshot.h):
 * the state after the records up to a position, in lines
 *
 *	position	POS		the records it holds: 1 to POS
 *	digest	HEX		the history's digest at POS (kv_digest)
 *	epoch	EPOCH	START	epoch EPOCH's records begin at START (one
 *				line for each epoch up to POS, in order)
 *	request	CLIENT:SEQ	POS	a request id of a record up to POS,
 *				in the order reqid_each gives
 *	put	KEY	VALUE	the map
 *
 * so a snapshot keeps what a member needs of the history it replaces:
 * where each epoch began (to find where two logs diverge), which writes
 * it holds (request ids), and the digest.
 *
 * The map holds the records applied so far (kv_apply): a member applies a
 * record only once it is committed, so reads never see a write that may
 * still be lost, and a snapshot holds only committed records.
 *
 * Bounded growth: a snapshot is taken when the log's growth rule says so
 * (log_checkpoint_due: the log holds at least the minimum size and has
 * grown by the growth percentage of what the last snapshot and log
 * rewrite wrote; kv_set_growth).  kv_snapshot_tick() then forks: the
 * child writes the state at the applied position to "snapshot.new" and
 * syncs it, from its copy-on-write view of memory, while the parent goes
 * on serving; once the child is done the parent renames it over
 * "snapshot", syncs the directory and rewrites the log without the
 * records the snapshot holds (log_checkpoint).  The parent stops only
 * for the fork and for the log rewrite, which holds the records appended
 * meanwhile.  Memory holds the map, the request ids and epochs it needs,
 * and the records in the log: not the history before the snapshot.  A
 * backup far behind receives the primary's snapshot (kv_receive_*) and
 * installs it the same way, its log then empty after it.
 *
 * Recovery loads the snapshot, then the log's records after it.  A crash
 * between the rename and the log rewrite leaves a log that begins before
 * the snapshot: the records it repeats are skipped, once their epochs are
 * checked against it.  Leftover temporaries are removed.  Crash points:
 * snapshot.written (synced as snapshot.new, not renamed), snapshot.renamed
 * (renamed and the directory synced, the log not rewritten: then
 * log.checkpoint-synced and log.checkpoint-renamed), snapshot.received (a
 * snapshot from the primary is whole and synced, not installed),
 * snapshot.installed (installed, the log not rewritten).
 *
 * Promise: kv_durable() counts only records on stable storage (flushed
 * and, unless syncing is off, fdatasync'ed); kv_truncate() returns only
 * once the cut is durable, and never cuts an applied record.  A failure
 * to write, sync or rename a snapshot stops the process (exit 1) with the
 * previous snapshot and the log as they were.  Weakness: the fork copies
 * the page tables (a stop of about a millisecond per hundred megabytes of
 * map) and pages the parent changes while the child writes are copied,
 * up to twice the map's memory.
 */
#ifndef HAKIT_KVLOG_H
#define HAKIT_KVLOG_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * Opens or creates DIR/log and loads DIR/snapshot; exits 2 on a corrupt
 * log or snapshot, a bad record, or a log that does not follow the
 * snapshot.  The snapshot's records are applied.
 */
struct kvlog *kv_open(const char *dir, int nosync);

/* Closes the log (as log_close), stops a snapshot, frees everything. */
void kv_close(struct kvlog *);

/* Sets the growth rule (log_set_growth, log_set_checkpoint_min). */
void kv_set_growth(struct kvlog *, unsigned long percent, size_t min);

/*
 * Appends a forced record; returns its position.  Durable after kv_flush.
 * Exits 1 on a malformed record or one of an older epoch than the last.
 */
size_t kv_append(struct kvlog *, const char *rec, size_t len);

/* Writes and syncs what is appended; kv_durable() then covers it. */
void kv_flush(struct kvlog *);

size_t kv_count(const struct kvlog *);
size_t kv_durable(const struct kvlog *);
size_t kv_applied(const struct kvlog *);

/*
 * The oldest position whose record is held (kv_record); the records
 * before it are only in the snapshot.  kv_count() + 1 if none is.
 */
size_t kv_oldest(const struct kvlog *);

/* The record at POS (kv_oldest() <= POS <= kv_count()). */
const char *kv_record(const struct kvlog *, size_t pos, size_t *len);

/* The epoch of the record at POS (POS <= kv_count()); 0 for position 0. */
unsigned long long kv_epoch_at(const struct kvlog *, size_t pos);

/*
 * Milliseconds (ev_now_ms) when the record at POS became durable; 0 for a
 * record replayed by kv_open(), durable since before the process started
 * (and for a record no longer held, when the newest of those did).
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
 * The digest of the history applied: a CRC-32C chained over each record
 * (its 4-byte little-endian length, then its bytes) from position 1.
 * Two members that applied the same records have the same digest.
 */
uint32_t kv_digest(const struct kvlog *);

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

/*
 * Call often (every few tens of milliseconds): finishes a snapshot whose
 * child is done, and starts one if the growth rule says one is due.
 */
void kv_snapshot_tick(struct kvlog *);

/* The position of DIR/snapshot, 0 if there is none. */
size_t kv_snapshot_pos(const struct kvlog *);

/*
 * Opens DIR/snapshot to send it; stores its position and size.  Returns
 * the descriptor (the caller closes it), or -1 with a warning printed.
 */
int kv_snapshot_open(const struct kvlog *, size_t *pos, long long *size);

/*
 * Receiving the primary's snapshot of the state at POS, SIZE bytes, into
 * DIR/snapshot.recv: kv_receive_data() adds bytes (returns -1 if more
 * than SIZE come); kv_receive_end() syncs and checks it and, if it is a
 * good snapshot at POS and POS is past the log's end, installs it: the
 * log is then empty after POS, and the map, request ids and epochs are
 * the snapshot's.  Otherwise it returns -1 with the reason in *WHY and
 * nothing changed.  kv_receive_abort() drops a transfer cut short.
 */
void kv_receive_begin(struct kvlog *, size_t pos, long long size);
int kv_receive_data(struct kvlog *, const char *data, size_t len);
int kv_receive_end(struct kvlog *, const char **why);
void kv_receive_abort(struct kvlog *);

#endif
