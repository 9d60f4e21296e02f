#define _GNU_SOURCE	/* struct ucred, accept4 */
#include <arpa/inet.h>
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "evloop.h"
#include "sock.h"
#include "util.h"

_Static_assert(SOCK_MAX_PATH < sizeof(((struct sockaddr_un *)0)->sun_path),
    "SOCK_MAX_PATH must fit in sun_path with its NUL");

/* What one family of addresses does; chosen once per call from ADDR. */
struct transport {
	int (*listen)(const char *addr, mode_t mode);
	int (*connect)(const char *addr);
	/* Vets an accepted FD; returns 0, or -1 (FD then closed). */
	int (*admit)(int fd, int any_uid);
	int (*unlink)(const char *addr);
};

static const struct transport unix_transport, tcp_transport;
static void raise_nofile(void);
static int spare = -1;	/* a descriptor kept to refuse with */
static long timeout_ms = SOCK_TIMEOUT_MS;

void
sock_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		err(EXIT_FAIL, "fcntl");
}

void
sock_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

void
sock_set_timeout(long ms)
{
	timeout_ms = ms > 0 ? ms : SOCK_TIMEOUT_MS;
}

long
sock_timeout(void)
{
	return timeout_ms;
}

/* ---- addresses ---- */

/*
 * Reads ADDR as a TCP address into HOST (HOSTSZ bytes, brackets removed)
 * and PORT.  Returns 1 if it is one, 0 if ADDR is a UNIX socket path, -1
 * if it is meant as TCP but is unusable (*WHY says why).  A path has a
 * slash or "unix:" in front, or neither a colon nor a leading bracket:
 * anything else is meant as TCP, so that a mistyped address is refused
 * rather than made a socket file in the current directory.
 */
static int
parse_tcp(const char *addr, char *host, size_t hostsz, char port[6],
    const char **why)
{
	const char *colon, *h = addr, *e;
	struct in6_addr a6;
	unsigned long v;
	size_t n;

	if (strncmp(addr, "unix:", 5) == 0 || strchr(addr, '/') != NULL ||
	    (addr[0] != '[' && strchr(addr, ':') == NULL))
		return 0;
	*why = "give HOST:PORT or [V6ADDR]:PORT (a path needs a / or unix:)";
	if ((colon = strrchr(addr, ':')) == NULL || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	e = colon;
	if (*h == '[') {
		if (e == h || e[-1] != ']')
			return -1;
		h++;
		e--;
	} else {
		for (n = 0; h + n < e; n++)
			if (!isalnum((unsigned char)h[n]) &&
			    strchr(".-_", h[n]) == NULL) {
				*why = "an IPv6 address goes in brackets, "
				    "[V6ADDR]:PORT; a host name has letters, "
				    "digits, '.', '-' and '_'";
				return -1;
			}
	}
	if (h == e)
		return -1;
	n = (size_t)(e - h);
	if (n >= hostsz) {
		*why = "host name too long";
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	if (addr[0] == '[' && inet_pton(AF_INET6, host, &a6) != 1) {
		*why = "not an IPv6 address between the brackets";
		return -1;
	}
	if (strlen(colon + 1) > 5 ||
	    parse_ulong(colon + 1, 1, 65535, &v) == -1) {
		*why = "a port is a number from 1 to 65535";
		return -1;
	}
	snprintf(port, 6, "%lu", v);
	return 1;
}

int
sock_is_tcp(const char *addr)
{
	char host[256], port[6];
	const char *why;

	return parse_tcp(addr, host, sizeof(host), port, &why) != 0;
}

/* The path a UNIX address names. */
static const char *
unix_path(const char *addr)
{
	return strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr;
}

int
sock_name_ok(const char *s)
{
	char host[256], port[6];
	const char *why;

	return s[0] == '/' || parse_tcp(s, host, sizeof(host), port, &why) == 1;
}

const char *
sock_unix_path(const char *addr)
{
	return sock_is_tcp(addr) ? NULL : unix_path(addr);
}

static const struct transport *
transport(const char *addr)
{
	return sock_is_tcp(addr) ? &tcp_transport : &unix_transport;
}

/* Addresses resolved so far: getaddrinfo runs once per address. */
struct resolved {
	char *addr;
	struct sockaddr_storage ss;
	socklen_t len;
	struct resolved *next;
};
static struct resolved *resolved;

/*
 * Resolves the TCP address ADDR; returns its entry, or NULL with *WHY
 * saying why not.
 */
static const struct resolved *
resolve(const char *addr, const char **why)
{
	struct addrinfo hints, *ai;
	struct resolved *r;
	char host[256], port[6];
	int rc;

	for (r = resolved; r != NULL; r = r->next)
		if (strcmp(r->addr, addr) == 0)
			return r;
	if (parse_tcp(addr, host, sizeof(host), port, why) != 1)
		return NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (addr[0] == '[' ? AI_NUMERICHOST : 0);
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		*why = rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->addr = xstrdup(addr);
	memcpy(&r->ss, ai->ai_addr, ai->ai_addrlen);
	r->len = ai->ai_addrlen;
	freeaddrinfo(ai);
	r->next = resolved;
	resolved = r;
	return r;
}

void
sock_check_addr(const char *given, const char *abs)
{
	char host[256], port[6];
	const char *why, *path;

	switch (parse_tcp(given, host, sizeof(host), port, &why)) {
	case -1:
		errx(EXIT_USAGE, "%s: %s", given, why);
	case 1:
		if (resolve(given, &why) == NULL)
			errx(EXIT_USAGE, "%s: cannot resolve %s: %s", given,
			    host, why);
		return;
	}
	path = unix_path(given);
	if (strlen(path) > SOCK_MAX_PATH)
		errx(EXIT_USAGE, "%s: a socket path may be at most %d bytes; "
		    "this one has %zu: use a shorter one", given, SOCK_MAX_PATH,
		    strlen(path));
	if (abs != NULL && strlen(abs) > SOCK_MAX_PATH)
		errx(EXIT_USAGE, "%s: a socket path may be at most %d bytes, "
		    "and as an absolute path (%s) this one has %zu: use a "
		    "shorter one", given, SOCK_MAX_PATH, abs, strlen(abs));
}

/* ---- what both families share ---- */

/* Closes FD after a failure; returns -1 with errno E. */
static int
close_failed(int fd, int e)
{
	close(fd);
	errno = e;
	return -1;
}

int
sock_listen(const char *addr, mode_t mode)
{
	int fd;

	sock_check_addr(addr, NULL);
	fd = transport(addr)->listen(addr, mode);
	raise_nofile();
	if (spare == -1)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sock_nonblock(fd);
	return fd;
}

int
sock_connect(const char *addr)
{
	return transport(addr)->connect(addr);
}

int
sock_unlink(const char *addr)
{
	return transport(addr)->unlink(addr);
}

int
sock_connect_wait(const char *addr, long ms)
{
	long long deadline = ev_now_ms() + ms;
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, e = 0, n;

	if ((fd = sock_connect(addr)) == -1)
		return -1;
	if (!sock_fd_is_tcp(fd))
		return fd;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		n = poll(&pfd, 1, (int)(deadline - ev_now_ms() > 0 ?
		    deadline - ev_now_ms() : 0));
	while (n == -1 && errno == EINTR);
	if (n == 0)
		e = ETIMEDOUT;
	else if (n == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e != 0)
		return close_failed(fd, e);
	if (auth_enabled() && auth_dial(fd, addr, deadline) == -1)
		return close_failed(fd, errno);
	return fd;
}

int
sock_fd_is_tcp(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
}

void
sock_peer_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		snprintf(buf, size, "local");
		return;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	}
}

/* Raises the soft descriptor limit towards SOCK_MAX_FDS (best effort). */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= SOCK_MAX_FDS)
		return;
	rl.rlim_cur = rl.rlim_max < SOCK_MAX_FDS ? rl.rlim_max : SOCK_MAX_FDS;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* Says, at most once a second, that a connection was turned away. */
static void
warn_full(const char *why)
{
	static time_t last;
	time_t now = time(NULL);

	if (now != last)
		warnx("too many connections (%s): refusing new ones", why);
	last = now;
}

/*
 * Out of descriptors, a pending connection cannot be accepted and keeps
 * the listening socket readable: give back a spare descriptor, accept the
 * connection and close it, then take the spare again.
 */
static void
refuse_one(int lfd)
{
	int fd;

	if (spare >= 0) {
		close(spare);
		spare = -1;
	}
	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int
sock_accept(int lfd, int any_uid)
{
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			warn_full(strerror(errno));
			refuse_one(lfd);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED)
			warn("accept");
		return -1;
	}
	if (fd >= SOCK_MAX_FDS) {
		warn_full("descriptor limit");
		close(fd);
		errno = EAGAIN;
		return -1;
	}
	if ((sock_fd_is_tcp(fd) ? &tcp_transport : &unix_transport)->admit(fd,
	    any_uid) == -1)
		return -1;
	return fd;
}

int
sock_parse_mode(const char *s, mode_t *mode)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 8);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 0777)
		return -1;
	*mode = (mode_t)v;
	return 0;
}

/* ---- UNIX sockets ---- */

/* Fills SUN with PATH; returns -1 (ENAMETOOLONG) if it does not fit. */
static int
fill_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) > SOCK_MAX_PATH) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

static int
unix_connect(const char *addr)
{
	struct sockaddr_un sun;
	int fd;

	if (fill_addr(&sun, unix_path(addr)) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/*
	 * A UNIX connect never waits for the peer to accept: it succeeds
	 * at once or fails (EAGAIN when the backlog is full), so it is
	 * made blocking-free by making the descriptor non-blocking first.
	 */
	sock_nonblock(fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return close_failed(fd, errno);
	return fd;
}

static int
unix_listen(const char *addr, mode_t mode)
{
	const char *path = unix_path(addr);
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (fill_addr(&sun, path) == -1)
		err(EXIT_FAIL, "%s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			errx(EXIT_FAIL, "%s: exists and is not a socket", path);
		if ((fd = unix_connect(path)) != -1 || errno == EAGAIN)
			errx(EXIT_UNAVAIL, "%s: address in use", path);
		if (unlink(path) == -1)
			err(EXIT_FAIL, "%s: removing stale socket", path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(EXIT_FAIL, "socket");
	/* fchmod on a socket is not portable; the umask covers the bind. */
	mode_t old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(EXIT_FAIL, "%s: bind", path);
	umask(old);
	if (chmod(path, mode) == -1)
		err(EXIT_FAIL, "%s: chmod", path);
	if (listen(fd, SOMAXCONN) == -1)
		err(EXIT_FAIL, "%s: listen", path);
	return fd;
}

/* Refuses a peer of another uid unless ANY_UID. */
static int
unix_admit(int fd, int any_uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (any_uid)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		warn("SO_PEERCRED");
		close(fd);
		return -1;
	}
	if (cred.uid != getuid()) {
		warnx("refused a peer of uid %lu (pid %ld)",
		    (unsigned long)cred.uid, (long)cred.pid);
		close(fd);
		return -1;
	}
	return 0;
}

static int
unix_unlink(const char *addr)
{
	return unlink(unix_path(addr));
}

static const struct transport unix_transport = {
	unix_listen, unix_connect, unix_admit, unix_unlink
};

/* ---- TCP ---- */

/*
 * Sets the options every TCP connection has (best effort): no Nagle delay
 * for our one-line requests; keepalive probes after a second of silence,
 * every second; and TCP_USER_TIMEOUT, which gives the connection up once
 * data or probes stay unacknowledged for the timeout (it also bounds the
 * keepalive probes), so a cut link is noticed on both ends.
 */
static void
tcp_tune(int fd)
{
	int on = 1, idle = 1, cnt = (int)(timeout_ms / 1000) + 1;
	/* Not below a second: one lost packet must not end a connection. */
	unsigned int ut = (unsigned int)(timeout_ms > 1000 ? timeout_ms : 1000);

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
}

/* Returns 1 if SS is a loopback address (127/8, ::1, or ::ffff:127/104). */
static int
is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr)
		    >> 24) == 127;
	const struct in6_addr *a;

	a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) ||
	    (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

static int
tcp_connect(const char *addr)
{
	const struct resolved *r;
	const char *why;
	int fd;

	if ((r = resolve(addr, &why)) == NULL) {
		errno = EHOSTUNREACH;
		return -1;
	}
	fd = socket(r->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	tcp_tune(fd);
	if (connect(fd, (const struct sockaddr *)&r->ss, r->len) == -1 &&
	    errno != EINPROGRESS)
		return close_failed(fd, errno);
	return fd;
}

static int
tcp_listen(const char *addr, mode_t mode)
{
	const struct resolved *r;
	const char *why;
	int fd, on = 1;

	(void)mode;
	if ((r = resolve(addr, &why)) == NULL)
		errx(EXIT_USAGE, "%s: %s", addr, why);
	if (!is_loopback(&r->ss) && !auth_enabled())
		errx(EXIT_USAGE, "%s: not a loopback address: listening on "
		    "it needs a shared key (-K KEYFILE)", addr);
	if ((fd = socket(r->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		err(EXIT_FAIL, "socket");
	/* A restarted daemon gets its port back at once. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&r->ss, r->len) == -1) {
		if (errno == EADDRINUSE)
			errx(EXIT_UNAVAIL, "%s: address in use", addr);
		err(EXIT_FAIL, "%s: bind", addr);
	}
	if (listen(fd, SOMAXCONN) == -1)
		err(EXIT_FAIL, "%s: listen", addr);
	return fd;
}

static int
tcp_admit(int fd, int any_uid)
{
	(void)any_uid;
	tcp_tune(fd);
	return 0;
}

static int
tcp_unlink(const char *addr)
{
	(void)addr;
	return 0;
}

static const struct transport tcp_transport = {
	tcp_listen, tcp_connect, tcp_admit, tcp_unlink
};
