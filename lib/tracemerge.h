/*
 * tracemerge: HAKIT_TRACE lines from many files put in causal order.
 *
 * Every message is traced twice, "T A > PA MSG" by its sender A and
 * "T' B < PB MSG" by its receiver B, where PA and PB are the names each
 * side gives the other (roles such as "client", not the other's SELF).
 * trace_merge pairs each send with its receipt, then orders the lines so
 * that a receipt comes right after its send, each process's lines keep
 * the order of its file, and otherwise earlier times come first.  Clocks
 * may disagree (traces of several hosts) and files may be given in any
 * order: the order follows from the pairing, not from the times.
 *
 * Pairing.  A send can only pair with a receipt of the same text by
 * another process.  When the text reached several processes, the
 * receiver is the one whose SELF is the PEER the sender named, else the
 * one that PEER name has been seen to reach (with texts only one process
 * received) if it reached only one, else the one whose receipt is nearest
 * in time.  A receipt whose PEER name has been seen to reach another
 * process than the sender is not paired with that sender.  The sends of
 * one text from one process to another pair with that process's receipts
 * of it in order, first with first (a connection delivers in order),
 * skipping a send whose receipt is missing (the receiver died) or a
 * receipt whose send is (the sender was not traced) when the next one is
 * nearer in time.
 *
 * Order.  Lines are placed one message at a time, a message once each of its
 * lines is the next of its process in its file; among those, the earliest
 * by its time made causal (never before a line placed earlier in either
 * stream, as Lamport's clocks), then the first given.
 *
 * Known weakness: two messages that cross (each sent before the other
 * arrived) cannot both be drawn as one row with both processes' order
 * kept; the one sent first is drawn first, and its receiver's line then
 * shows it before a send that in fact came earlier.
 */
#ifndef HAKIT_TRACEMERGE_H
#define HAKIT_TRACEMERGE_H

#include <stddef.h>

#include "tracefile.h"

struct trace_line {
	struct trace_rec rec;
	int		 file;		/* which file it came from */
	long		 mate;		/* set: its message's other end, or -1 */
};

/* Pairs the N lines of L (given file by file, each file in its order)
 * and returns a new array of their N indices in causal order. */
size_t *trace_merge(struct trace_line *l, size_t n);

#endif
