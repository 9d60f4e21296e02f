/*
 * sock: stream sockets for daemons and their clients, UNIX or TCP.
 *
 * Addresses: "HOST:PORT" (HOST a name or a dotted IPv4 address, without
 * '/') and "[V6ADDR]:PORT" are TCP; anything else is the path of a UNIX
 * socket, and "unix:PATH" names a path that would otherwise read as
 * HOST:PORT.  The address is parsed here and nowhere else; callers hold the
 * string, and the transport behind it (a small table of operations, one
 * per family) is chosen from it on each call.
 *
 * Promise (UNIX): sock_listen() never steals a live address: an existing
 * socket file that still accepts connections makes it fail with "address
 * in use"; a stale one (nobody listening) is replaced; any other file is
 * left alone.  The new socket gets mode MODE (0600 by default in every
 * daemon) before it accepts anyone, and peers of another uid are refused
 * (SO_PEERCRED) unless allowed.
 *
 * Promise (TCP): a port in use is "address in use" too; a daemon without a
 * key (auth.h) listens on loopback addresses only.  Every TCP connection
 * gets TCP_NODELAY, keepalive probes after a second of silence and
 * TCP_USER_TIMEOUT, both from sock_set_timeout(), so that a peer behind a
 * cut link is given up within that time rather than after minutes of
 * retransmissions.  Names are resolved with getaddrinfo(3), which may
 * block: once, when an address is first checked or used (daemons check
 * their own and their peers' at start-up); the result is remembered for
 * the life of the process.  A name with several addresses is reached at
 * the first one getaddrinfo returns.
 *
 * All descriptors returned are non-blocking and close-on-exec.
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
#define SOCK_TIMEOUT_MS	5000	/* default for sock_set_timeout */

/* Returns 1 if ADDR names a TCP address, 0 if a UNIX socket path. */
int sock_is_tcp(const char *addr);

/*
 * Returns 1 if S is a name a daemon is known by (daemon_abspath): a TCP
 * address, or the absolute path of a UNIX socket.
 */
int sock_name_ok(const char *s);

/* Returns the path a UNIX address names (ADDR less "unix:"), or NULL. */
const char *sock_unix_path(const char *addr);

/*
 * Exits 2 with a message if the address GIVEN (as the user wrote it), or
 * ABS, the name peers will use (NULL if none), is unusable: a UNIX path
 * longer than SOCK_MAX_PATH, a bad port or IPv6 address, or a name that
 * does not resolve.
 */
void sock_check_addr(const char *given, const char *abs);

/*
 * Listens on ADDR (a UNIX path with mode MODE); exits 1 on failure, 2 if
 * ADDR is unusable or is a non-loopback TCP address and no key was
 * loaded, 3 if it is in use.
 */
int sock_listen(const char *addr, mode_t mode);

/*
 * Accepts one connection on LFD.  Returns its descriptor, or -1 when none
 * is pending or, on a UNIX socket, the peer's uid differs from ours and
 * ANY_UID is 0 (the connection is then closed and a warning printed).
 */
int sock_accept(int lfd, int any_uid);

/*
 * Starts connecting to ADDR; returns a descriptor or -1 with errno set.  A
 * TCP connection may still be under way: the descriptor becomes writable
 * when it is made, and reading or writing it reports a failure.
 */
int sock_connect(const char *addr);

/*
 * Connects to ADDR and waits up to MS ms for the connection (and, over
 * TCP with a key, the handshake of auth.h); for clients that block.
 * Returns a descriptor, or -1 with errno set; exits 2, saying why, if the
 * peer refuses our key or cannot prove that it knows it.
 */
int sock_connect_wait(const char *addr, long ms);

/* Removes ADDR's socket file if it is a UNIX path; returns unlink's. */
int sock_unlink(const char *addr);

/*
 * Sets how long a TCP peer may stay silent, or leave what we sent
 * unacknowledged, before its connection is given up (default
 * SOCK_TIMEOUT_MS); a daemon passes its lag or timeout.
 */
void sock_set_timeout(long ms);
long sock_timeout(void);

/* Returns 1 if FD is a TCP socket. */
int sock_fd_is_tcp(int fd);

/* Writes "HOST:PORT" of FD's peer (or "local") into BUF of SIZE bytes. */
void sock_peer_name(int fd, char *buf, size_t size);

/* Parses an octal mode for -m; returns -1 if S is not one. */
int sock_parse_mode(const char *s, mode_t *mode);

/* Ignores SIGPIPE, so a peer that went away shows as EPIPE. */
void sock_ignore_sigpipe(void);

/* Makes FD non-blocking and close-on-exec. */
void sock_nonblock(int fd);

#endif
