#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "evloop.h"
#include "sock.h"
#include "trace.h"
#include "util.h"

void
daemon_stdio(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(EXIT_FAIL);
}

int
daemon_parse_fd(const char *s)
{
	unsigned long fd;
	int fl;

	if (parse_ulong(s, 0, INT_MAX, &fd) == -1)
		errx(EXIT_USAGE, "bad readiness descriptor: %s", s);
	/* Checked now, before our own descriptors could take its number. */
	if ((fl = fcntl((int)fd, F_GETFL)) == -1 || (fl & O_ACCMODE) == O_RDONLY)
		errx(EXIT_USAGE, "readiness descriptor %lu is not open for "
		    "writing: start the daemon with it open (say 3>FILE, or "
		    "3>&1 in a pipeline)", fd);
	return (int)fd;
}

void
daemon_ready(int fd)
{
	trace_event("ready");
	if (fd < 0)
		return;
	if (write(fd, "\n", 1) != 1)
		warn("readiness descriptor %d", fd);
	close(fd);
}

static void
on_stop(struct evloop *ev, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	ev_stop(ev);
}

void
daemon_signals(struct evloop *ev)
{
	sock_ignore_sigpipe();
	ev_signal(ev, SIGTERM, on_stop, NULL);
	ev_signal(ev, SIGINT, on_stop, NULL);
}

char *
daemon_abspath(const char *path)
{
	const char *p = sock_unix_path(path);
	char cwd[PATH_MAX], *s;
	size_t n;

	if (p == NULL) {
		sock_check_addr(path, NULL);
		return xstrdup(path);
	}
	if (p[0] == '/')
		s = xstrdup(p);
	else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			err(EXIT_FAIL, "getcwd");
		n = strlen(cwd) + strlen(p) + 2;
		s = xmalloc(n);
		snprintf(s, n, "%s/%s", cwd, p);
	}
	sock_check_addr(path, s);
	return s;
}
