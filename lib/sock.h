/*
 * sock: UNIX stream socket helpers for daemons and their clients.
 *
 * Promise: sock_listen() never steals a live address: an existing socket
 * file that still accepts connections makes it fail with "address in use";
 * a stale one (nobody listening) is replaced; any other file is left alone.
 * The new socket gets mode MODE (0600 by default in every daemon) before
 * it accepts anyone.  All descriptors returned are non-blocking and
 * close-on-exec.
 *
 * Limits: a daemon holds at most SOCK_MAX_FDS descriptors, connections
 * included (sock_listen raises the soft RLIMIT_NOFILE to that, or to the
 * hard limit if lower); a connection beyond that is accepted and closed
 * at once, with a warning at most once a second, so a flood of
 * connections neither crashes the daemon nor makes it spin on a listening
 * socket it cannot drain.
 */
#ifndef HAKIT_SOCK_H
#define HAKIT_SOCK_H

#include <sys/types.h>

#define SOCK_MAX_FDS	4096
#define SOCK_MAX_PATH	107	/* bytes of a UNIX socket path (sun_path) */

/*
 * Listens on PATH with mode MODE; exits 1 on failure, 2 if PATH is longer
 * than SOCK_MAX_PATH, 3 if it is in use.
 */
int sock_listen(const char *path, mode_t mode);

/*
 * Accepts one connection on LFD.  Returns its descriptor, or -1 when none
 * is pending or the peer's uid differs from ours and ANY_UID is 0 (the
 * connection is then closed and a warning printed).
 */
int sock_accept(int lfd, int any_uid);

/*
 * Exits 2 with a message naming the limit if the socket path GIVEN (as
 * the user wrote it) is longer than SOCK_MAX_PATH, or if ABS, the
 * absolute name peers will use (NULL if none), is.
 */
void sock_check_path(const char *given, const char *abs);

/* Connects to PATH; returns a descriptor or -1 with errno set. */
int sock_connect(const char *path);

/* Parses an octal mode for -m; returns -1 if S is not one. */
int sock_parse_mode(const char *s, mode_t *mode);

/* Ignores SIGPIPE, so a peer that went away shows as EPIPE. */
void sock_ignore_sigpipe(void);

/* Makes FD non-blocking and close-on-exec. */
void sock_nonblock(int fd);

#endif
