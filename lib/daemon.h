/*
 * daemon: what every hakit daemon does around its event loop.
 *
 * Offers s6-style readiness notification (-r FD: one newline written to FD
 * once the socket accepts connections, then FD is closed), the common
 * signal setup (SIGPIPE ignored; SIGTERM and SIGINT stop the loop so the
 * daemon can close cleanly and exit 0) and the socket names to hand to
 * peers that may run in another directory.
 */
#ifndef HAKIT_DAEMON_H
#define HAKIT_DAEMON_H

struct evloop;

/*
 * Opens /dev/null on whichever of descriptors 0, 1 and 2 is closed, so
 * that no file, socket or pipe the daemon opens later takes their place
 * (and is read as its input, or written with its output).  Call first.
 */
void daemon_stdio(void);

/* Parses the -r operand; exits 2 on a bad one. */
int daemon_parse_fd(const char *s);

/* Writes the readiness newline to FD (if FD >= 0) and closes it. */
void daemon_ready(int fd);

/* Ignores SIGPIPE; makes SIGTERM and SIGINT stop EV. */
void daemon_signals(struct evloop *ev);

/*
 * Returns the name peers reach the socket address PATH by (a new string):
 * a TCP address as given, a UNIX path made absolute against the current
 * directory (without "unix:", which a path with a '/' does not need).
 * Exits 2 if the address is unusable (sock_check_addr).
 */
char *daemon_abspath(const char *path);

#endif
