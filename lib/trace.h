/*
 * trace: protocol tracing.
 *
 * With HAKIT_TRACE set to anything but "" or "0", every protocol message a
 * tool sends or receives is printed on stderr as one line
 * "MSEC SELF > PEER MESSAGE" (sent) or "MSEC SELF < PEER MESSAGE" (received),
 * MSEC being milliseconds since the epoch, so traces of many processes can be
 * merged with sort -n.  Control bytes in MESSAGE are shown as \t, \n, \xHH.
 * Events in a process's life are lines "MSEC SELF ! EVENT": "ready" when a
 * daemon starts serving, "crash POINT" at a crash point (hakit-trace(1)
 * draws them as start, restart and crash).
 *
 * Promise: costs one test of a global flag when tracing is off; each line
 * is written with a single write(2), so lines from processes sharing a file
 * do not interleave.
 */
#ifndef HAKIT_TRACE_H
#define HAKIT_TRACE_H

#include <stddef.h>

extern int trace_on;

/* Reads HAKIT_TRACE and remembers SELF, the name shown for this process. */
void trace_init(const char *self);

/* Prints one message; DIR is '>' for sent, '<' for received. */
void trace_msg(char dir, const char *peer, const char *msg, size_t len);

/* Prints one event line "MSEC SELF ! EVENT" when tracing is on. */
void trace_event(const char *event);

#define TRACE(dir, peer, msg, len) \
	do { if (trace_on) trace_msg(dir, peer, msg, len); } while (0)

#endif
