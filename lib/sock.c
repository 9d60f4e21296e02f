#define _GNU_SOURCE	/* struct ucred, accept4 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sock.h"
#include "util.h"

_Static_assert(SOCK_MAX_PATH < sizeof(((struct sockaddr_un *)0)->sun_path),
    "SOCK_MAX_PATH must fit in sun_path with its NUL");

static void raise_nofile(void);
static int spare = -1;	/* a descriptor kept to refuse with */

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

void
sock_check_path(const char *given, const char *abs)
{
	if (strlen(given) > SOCK_MAX_PATH)
		errx(EXIT_USAGE, "%s: a socket path may be at most %d bytes; "
		    "this one has %zu: use a shorter one", given, SOCK_MAX_PATH,
		    strlen(given));
	if (abs != NULL && strlen(abs) > SOCK_MAX_PATH)
		errx(EXIT_USAGE, "%s: a socket path may be at most %d bytes, "
		    "and as an absolute path (%s) this one has %zu: use a "
		    "shorter one", given, SOCK_MAX_PATH, abs, strlen(abs));
}

int
sock_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if (fill_addr(&sun, path) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/*
	 * A UNIX connect never waits for the peer to accept: it succeeds
	 * at once or fails (EAGAIN when the backlog is full), so it is
	 * made blocking-free by making the descriptor non-blocking first.
	 */
	sock_nonblock(fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	sock_check_path(path, NULL);
	if (fill_addr(&sun, path) == -1)
		err(EXIT_FAIL, "%s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			errx(EXIT_FAIL, "%s: exists and is not a socket", path);
		if ((fd = sock_connect(path)) != -1 || errno == EAGAIN)
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
	raise_nofile();
	if (spare == -1)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sock_nonblock(fd);
	return fd;
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
	struct ucred cred;
	socklen_t len = sizeof(cred);
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
	if (any_uid)
		return fd;
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
