/*
 * crash: crash injection for tests and demos.
 *
 * HAKIT_CRASH=POINT[:N] makes the process kill itself with SIGKILL (as a
 * power cut would, minus the loss of unsynced data) the N-th time (default
 * the first) it passes the point named POINT.  Points are named ROLE.STEP
 * and listed in each tool's man page and in hakit(7).
 *
 * Promise: when HAKIT_CRASH is unset, CRASH_POINT costs one test of a
 * global flag.  The environment is read once, by crash_init().
 */
#ifndef HAKIT_CRASH_H
#define HAKIT_CRASH_H

extern int crash_armed;

/* Reads HAKIT_CRASH; exits 2 if it is malformed. */
void crash_init(void);

/* Counts a pass of POINT and dies if it is the armed one. */
void crash_at(const char *point);

#define CRASH_POINT(p)	do { if (crash_armed) crash_at(p); } while (0)

#endif
