/*
 * tracefile: reading HAKIT_TRACE lines back (see trace.h for the format).
 *
 * Promise: tracefile_parse never reads past the line's NUL and never
 * allocates; the record points into the line it was given.
 */
#ifndef HAKIT_TRACEFILE_H
#define HAKIT_TRACEFILE_H

/* One trace line: a message sent ('>') or received ('<'), or an event
 * ('!') in SELF's life, whose text is then in msg and peer is "". */
struct trace_rec {
	long long	 msec;
	char		*self;
	char		 dir;
	char		*peer;
	char		*msg;
};

/* Splits LINE (without its newline) in place into REC; returns 0, or -1
 * if LINE is not a trace line (say, a diagnostic that shared the file). */
int tracefile_parse(char *line, struct trace_rec *rec);

#endif
