/* The single-host lease: a lock file and its state file (lease.h). */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "durable.h"
#include "keyfile.h"
#include "lease-backend.h"
#include "util.h"

struct flease {
	int fd;			/* the lock file */
	char *state;		/* PATH.state */
};

static int
file_trylock(int fd)
{
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return 0;
		err(EXIT_FAIL, "flock");
	}
	return 1;
}

static void
file_unlock(int fd)
{
	if (flock(fd, LOCK_UN) == -1)
		err(EXIT_FAIL, "flock");
}

static int
file_read(struct lease *l, struct lease_state *st)
{
	struct flease *f = l->b;
	size_t len = 0;
	char *text = keyfile_load(f->state, &len);
	int found = text != NULL;

	lease_parse(found ? text : "", len, f->state, st);
	free(text);
	return found ? 0 : -1;
}

static int
file_write(struct lease *l, const struct lease_state *st)
{
	struct flease *f = l->b;
	const char *what;
	size_t len;
	char *text = lease_format(st, &len);

	if (durable_replace(f->state, text, len, &what) == -1)
		err(EXIT_FAIL, "%s: %s", f->state, what);
	free(text);
	return 0;
}

static int
file_take(struct lease *l, struct lease_state *st, lease_decide_fn *decide,
    void *arg)
{
	struct flease *f = l->b;

	if (!file_trylock(f->fd))
		return 0;
	lease_free(st);
	file_read(l, st);
	if (!decide(st, arg)) {
		file_unlock(f->fd);
		return 0;
	}
	file_write(l, st);
	return 1;
}

static void
file_renew(struct lease *l, struct evloop *ev)
{
	(void)l;
	(void)ev;		/* the kernel holds the lock for us */
}

static int
file_watch(struct lease *l, struct evloop *ev, void (*fn)(void *), void *arg)
{
	(void)l;
	(void)ev;
	(void)fn;
	(void)arg;
	return 0;		/* a lock is cheap to try: poll it */
}

static int
file_held(struct lease *l)
{
	(void)l;
	return 1;		/* until we die */
}

static void
file_release(struct lease *l)
{
	file_unlock(((struct flease *)l->b)->fd);
}

static void
file_close(struct lease *l)
{
	struct flease *f = l->b;

	close(f->fd);
	free(f->state);
	free(f);
}

const struct lease_ops lease_file_ops = {
	file_read, file_take, file_write, file_renew, file_watch, file_held,
	file_release, file_close
};

void
lease_file_open(struct lease *l)
{
	struct flease *f = xcalloc(1, sizeof(*f));

	if ((f->fd = open(l->name, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		err(EXIT_FAIL, "%s", l->name);
	f->state = xasprintf("%s.state", l->name);
	l->ops = &lease_file_ops;
	l->b = f;
}
