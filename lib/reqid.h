/*
 * reqid: which client writes a log already holds, by request id.
 *
 * A client write may carry a request id, "CLIENT:SEQ": CLIENT names the
 * client (1 to REQID_CLIENT_MAX bytes of [0-9A-Za-z._-]; repl-client picks
 * 16 random hex digits), SEQ numbers its writes (each new write a higher
 * number, every retry of it the same).  The id travels in the write's log
 * record, so the table is rebuilt from the log and every member derives
 * the same one: a new primary knows the ids its predecessors appended.
 *
 * What is remembered, so that memory stays bounded: for each of the
 * REQID_CLIENTS clients that wrote last, its highest SEQ and the position
 * of each of its writes numbered less than REQID_WINDOW below that.  So
 * reqid_find() tells a retry (already in the log, at this position) from a
 * new write, and says FORGOTTEN for a SEQ further below its client's
 * highest than the window, whose fate the table no longer knows.
 *
 * Weakness: a client that has not written while REQID_CLIENTS others did
 * is forgotten whole, and a retry from it is then taken for a new write
 * and applied again.
 */
#ifndef HAKIT_REQID_H
#define HAKIT_REQID_H

#include <stddef.h>

#define REQID_CLIENTS		4096
#define REQID_WINDOW		16
#define REQID_CLIENT_MAX	64

struct reqid {
	char client[REQID_CLIENT_MAX + 1];
	unsigned long long seq;
};

enum reqid_state { REQID_NEW, REQID_DONE, REQID_FORGOTTEN };

struct reqid_table;

/*
 * Parses the LEN bytes at S as "CLIENT:SEQ" into ID; returns 0, or -1 if
 * they are not a request id.
 */
int reqid_parse(const char *s, size_t len, struct reqid *id);

struct reqid_table *reqid_new(void);
void reqid_free(struct reqid_table *);

/* Forgets everything (before the table is rebuilt from a cut log). */
void reqid_clear(struct reqid_table *);

/* Notes that the write with ID is in the log at POS. */
void reqid_note(struct reqid_table *, const struct reqid *id, size_t pos);

/* Says what the log holds of ID; for REQID_DONE, its position in *POS. */
enum reqid_state reqid_find(const struct reqid_table *,
    const struct reqid *id, size_t *pos);

typedef void reqid_fn(void *arg, const struct reqid *id, size_t pos);

/*
 * Calls FN for every id the table remembers, in an order that rebuilds
 * the same table when each is given to reqid_note() (to save it in a
 * snapshot): clients from the one that wrote longest ago, each one's ids
 * by SEQ.
 */
void reqid_each(const struct reqid_table *, reqid_fn *fn, void *arg);

#endif
