#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "util.h"

#define MAX_HOOKS	8

struct fdslot {
	int events;
	ev_fd_fn *rfn, *wfn;
	void *rarg, *warg;
};

struct timer {
	long long id;
	long long when;
	ev_timer_fn *fn;
	void *arg;
	struct timer *next;
};

struct sigslot {
	ev_signal_fn *fn;
	void *arg;
};

struct evloop {
	struct fdslot *fds;	/* indexed by fd */
	int nfds;		/* size of fds */
	struct pollfd *pfd;
	struct timer *timers;
	long long next_id;
	struct {
		ev_hook_fn *fn;
		void *arg;
	} hooks[MAX_HOOKS];
	int nhooks;
	struct sigslot sigs[NSIG];
	int stop;
};

static int sigpipe[2] = { -1, -1 };

long long
ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct evloop *
ev_new(void)
{
	return xcalloc(1, sizeof(struct evloop));
}

void
ev_add_fd(struct evloop *ev, int fd, int events, ev_fd_fn *fn, void *arg)
{
	if (fd >= ev->nfds) {
		int n = fd + 64;

		ev->fds = xrealloc(ev->fds, (size_t)n * sizeof(*ev->fds));
		memset(ev->fds + ev->nfds, 0,
		    (size_t)(n - ev->nfds) * sizeof(*ev->fds));
		ev->pfd = xrealloc(ev->pfd, (size_t)n * sizeof(*ev->pfd));
		ev->nfds = n;
	}
	ev->fds[fd].events |= events;
	if (events & EV_READ) {
		ev->fds[fd].rfn = fn;
		ev->fds[fd].rarg = arg;
	}
	if (events & EV_WRITE) {
		ev->fds[fd].wfn = fn;
		ev->fds[fd].warg = arg;
	}
}

void
ev_del_fd(struct evloop *ev, int fd, int events)
{
	if (fd < 0 || fd >= ev->nfds)
		return;
	ev->fds[fd].events &= ~events;
}

long long
ev_add_timer(struct evloop *ev, long ms, ev_timer_fn *fn, void *arg)
{
	struct timer *t = xmalloc(sizeof(*t));

	t->id = ++ev->next_id;
	t->when = ev_now_ms() + ms;
	t->fn = fn;
	t->arg = arg;
	t->next = ev->timers;
	ev->timers = t;
	return t->id;
}

void
ev_del_timer(struct evloop *ev, long long id)
{
	struct timer **tp, *t;

	for (tp = &ev->timers; (t = *tp) != NULL; tp = &t->next)
		if (t->id == id) {
			*tp = t->next;
			free(t);
			return;
		}
}

void
ev_before_sleep(struct evloop *ev, ev_hook_fn *fn, void *arg)
{
	if (ev->nhooks == MAX_HOOKS)
		errx(EXIT_FAIL, "evloop: too many hooks");
	ev->hooks[ev->nhooks].fn = fn;
	ev->hooks[ev->nhooks].arg = arg;
	ev->nhooks++;
}

static void
on_signal(int signo)
{
	unsigned char c = (unsigned char)signo;
	int saved = errno;

	(void)!write(sigpipe[1], &c, 1);
	errno = saved;
}

/* Drains the self-pipe and dispatches each signal to its callback. */
static void
read_signals(struct evloop *ev, int fd, int events, void *arg)
{
	unsigned char buf[64];
	ssize_t n, i;

	(void)events;
	(void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			if (buf[i] < NSIG && ev->sigs[buf[i]].fn != NULL)
				ev->sigs[buf[i]].fn(ev, buf[i],
				    ev->sigs[buf[i]].arg);
}

void
ev_signal(struct evloop *ev, int signo, ev_signal_fn *fn, void *arg)
{
	struct sigaction sa;
	int i;

	if (sigpipe[0] == -1) {
		if (pipe(sigpipe) == -1)
			err(EXIT_FAIL, "pipe");
		for (i = 0; i < 2; i++) {
			fcntl(sigpipe[i], F_SETFL, O_NONBLOCK);
			fcntl(sigpipe[i], F_SETFD, FD_CLOEXEC);
		}
		ev_add_fd(ev, sigpipe[0], EV_READ, read_signals, NULL);
	}
	ev->sigs[signo].fn = fn;
	ev->sigs[signo].arg = arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | (signo == SIGCHLD ? SA_NOCLDSTOP : 0);
	if (sigaction(signo, &sa, NULL) == -1)
		err(EXIT_FAIL, "sigaction");
}

void
ev_stop(struct evloop *ev)
{
	ev->stop = 1;
}

/* Fires every due timer, earliest first. */
static void
fire_timers(struct evloop *ev)
{
	struct timer *t, *due;
	long long now;
	long next;

	while (!ev->stop) {
		now = ev_now_ms();
		due = NULL;
		for (t = ev->timers; t != NULL; t = t->next)
			if (t->when <= now && (due == NULL ||
			    t->when < due->when))
				due = t;
		if (due == NULL)
			break;
		next = due->fn(ev, due->id, due->arg);
		/* The callback may have deleted its own timer. */
		for (t = ev->timers; t != NULL && t != due; t = t->next)
			;
		if (t == NULL)
			continue;
		if (next < 0)
			ev_del_timer(ev, due->id);
		else
			due->when = ev_now_ms() + next;
	}
}

/* Returns the ms until the nearest timer (0 if due), or -1 if none. */
static int
next_timeout(struct evloop *ev)
{
	struct timer *t;
	long long now = ev_now_ms(), next = -1;

	for (t = ev->timers; t != NULL; t = t->next)
		if (next == -1 || t->when - now < next)
			next = t->when - now < 0 ? 0 : t->when - now;
	return next > INT_MAX ? INT_MAX : (int)next;
}

void
ev_run(struct evloop *ev)
{
	int i, n, fd, timeout, re;

	ev->stop = 0;
	while (!ev->stop) {
		/*
		 * Timers first, then the hooks, so that what a timer
		 * queued (log records, replies) is flushed before sleeping.
		 */
		fire_timers(ev);
		for (i = 0; i < ev->nhooks; i++)
			ev->hooks[i].fn(ev, ev->hooks[i].arg);
		if (ev->stop)
			break;
		timeout = next_timeout(ev);
		n = 0;
		for (fd = 0; fd < ev->nfds; fd++) {
			if (ev->fds[fd].events == 0)
				continue;
			ev->pfd[n].fd = fd;
			ev->pfd[n].events =
			    ((ev->fds[fd].events & EV_READ) ? POLLIN : 0) |
			    ((ev->fds[fd].events & EV_WRITE) ? POLLOUT : 0);
			n++;
		}
		if (poll(ev->pfd, (nfds_t)n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			err(EXIT_FAIL, "poll");
		}
		for (i = 0; i < n && !ev->stop; i++) {
			struct fdslot *s;

			fd = ev->pfd[i].fd;
			re = ev->pfd[i].revents;
			if (re == 0)
				continue;
			s = &ev->fds[fd];
			if ((s->events & EV_READ) &&
			    (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
				s->rfn(ev, fd, EV_READ, s->rarg);
			s = &ev->fds[fd];	/* fds may have moved */
			if ((s->events & EV_WRITE) &&
			    (re & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)))
				s->wfn(ev, fd, EV_WRITE, s->warg);
		}
	}
}
