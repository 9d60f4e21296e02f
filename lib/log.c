#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crash.h"
#include "crc32c.h"
#include "durable.h"
#include "filelock.h"
#include "log.h"
#include "util.h"

#define MAGIC		"HAKITLG1"
#define MAGIC_LEN	8
#define HDR_LEN		8
#define PREALLOC	(1024 * 1024)	/* zeros written ahead of the end */

struct waiter {
	log_done_fn *done;
	void *arg;
};

struct hlog {
	char *path;
	int fd;
	size_t end;		/* where the next record goes */
	size_t synced;		/* the end as of the last successful sync */
	size_t base;		/* the end after the last checkpoint */
	size_t outside;		/* state kept beside the log (a snapshot) */
	size_t min;		/* no checkpoint is due below this size */
	unsigned long growth;	/* % of growth that makes one due; 0: never */
	int keeping;		/* inside log_checkpoint's keep function */
	size_t alloc;		/* file size: end plus preallocated zeros */
	int nosync;
	int forced;		/* an urgent forced record waits for a sync */
	long delay;		/* how long soon records may wait, in ms */
	long long due;		/* when the oldest waiting soon record is due */
	char *buf;		/* appended, not yet written */
	size_t len, cap;
	struct waiter *w;	/* done callbacks for records in buf */
	size_t nw, wcap;
	unsigned long long syncs;
	struct hlog *next;	/* open logs, trimmed at exit */
};

static struct hlog *open_logs;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Syncs the directory holding PATH, so a new file's name is durable. */
static void
sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int dfd;

	if ((dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY)) == -1)
		err(EXIT_FAIL, "%s: open directory", path);
	if (fsync(dfd) == -1)
		err(EXIT_FAIL, "%s: fsync directory", path);
	close(dfd);
	free(copy);
}

/* Reads all of FD into a new buffer; returns it and stores its size. */
static unsigned char *
slurp(const char *path, int fd, size_t *size)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap);
		}
		if ((n = read(fd, buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			err(EXIT_FAIL, "%s: read", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*size = len;
	return buf;
}

static int
all_zero(const unsigned char *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return 0;
	return 1;
}

/* Cuts the file at OFF after reporting why; syncs the cut. */
static void
truncate_tail(struct hlog *l, size_t off, size_t size, const char *why)
{
	warnx("%s: %s at offset %zu: truncating %zu bytes", l->path, why,
	    off, size - off);
	if (ftruncate(l->fd, (off_t)off) == -1)
		err(EXIT_FAIL, "%s: ftruncate", l->path);
	if (fdatasync(l->fd) == -1)
		err(EXIT_FAIL, "%s: fdatasync", l->path);
}

/*
 * Syncs L's file, or exits 1.  After a failed sync the kernel may have
 * dropped the data yet still hand it to the next reader from its cache, so
 * a restarted daemon would trust records that never reached the disk
 * (PostgreSQL's "fsyncgate"): the file is first cut back to what the last
 * good sync covered.
 */
static void
sync_or_die(struct hlog *l)
{
	int saved;

	if (fdatasync(l->fd) == 0) {
		l->syncs++;
		l->synced = l->end;
		return;
	}
	saved = errno;
	if (ftruncate(l->fd, (off_t)l->synced) == 0)
		(void)fdatasync(l->fd);
	errno = saved;
	err(EXIT_FAIL, "%s: fdatasync", l->path);
}

/* Cuts the preallocated zeros off L's file (a clean end either way). */
static void
trim(struct hlog *l)
{
	if (l->alloc > l->end && ftruncate(l->fd, (off_t)l->end) == 0)
		l->alloc = l->end;
}

/* At exit, every open log loses its zeros, even if never closed. */
static void
trim_all(void)
{
	struct hlog *l;

	for (l = open_logs; l != NULL; l = l->next)
		trim(l);
}

/* The temporary a checkpoint of L is written to (a new string). */
static char *
checkpoint_path(const struct hlog *l)
{
	return xasprintf("%s.checkpoint", l->path);
}

/*
 * Removes what a checkpoint interrupted by a crash left: the old log or
 * the new one is complete under L's name either way.  Called with the lock
 * held, so no other process is checkpointing L.
 */
static void
sweep_checkpoint(struct hlog *l)
{
	char *tmp = checkpoint_path(l);

	if (unlink(tmp) == 0)
		warnx("%s: removed %s, left by a checkpoint a crash "
		    "interrupted", l->path, tmp);
	else if (errno != ENOENT)
		err(EXIT_FAIL, "%s", tmp);
	free(tmp);
}

struct hlog *
log_open(const char *path, log_replay_fn *fn, void *arg)
{
	struct hlog *l = xcalloc(1, sizeof(*l));
	unsigned char *buf;
	size_t size, off, len, end;
	int created = 0;

	l->path = xstrdup(path);
	l->growth = 100;
	l->min = LOG_CHECKPOINT_MIN;
	while ((l->fd = filelock_open(path, 0, 0)) == -1) {
		if (errno != ENOENT)
			err(EXIT_FAIL, "%s", path);
		if ((l->fd = filelock_open(path, O_CREAT | O_EXCL, 0644)) != -1) {
			created = 1;
			break;
		}
		if (errno != EEXIST)
			err(EXIT_FAIL, "%s", path);
	}
	sweep_checkpoint(l);
	buf = slurp(path, l->fd, &size);
	if (size < MAGIC_LEN) {
		if (!all_zero(buf, size) &&
		    memcmp(buf, MAGIC, size) != 0)
			errx(EXIT_USAGE, "%s: not a hakit log", path);
		if (size > 0)
			truncate_tail(l, 0, size, "torn header");
		if (pwrite(l->fd, MAGIC, MAGIC_LEN, 0) != MAGIC_LEN)
			err(EXIT_FAIL, "%s: write", path);
		if (fdatasync(l->fd) == -1)
			err(EXIT_FAIL, "%s: fdatasync", path);
		if (created)
			sync_dir(path);
		size = MAGIC_LEN;
	} else if (memcmp(buf, MAGIC, MAGIC_LEN) != 0)
		errx(EXIT_USAGE, "%s: not a hakit log", path);
	else if (fdatasync(l->fd) == -1)
		/* What a daemon killed before its sync left in the cache is
		 * made durable before anyone acts on it. */
		err(EXIT_FAIL, "%s: fdatasync", path);

	/*
	 * A bad record (a length past the end, or a failing CRC) is a torn
	 * tail when nothing but the preallocated zeros follows the end it
	 * claims: the write a power cut interrupted.  Valid data after it
	 * means the file was damaged, which is refused.
	 */
	for (off = MAGIC_LEN; off < size; off += HDR_LEN + len) {
		if (buf[off] == 0 && all_zero(buf + off, size - off))
			break;		/* preallocated space: the clean end */
		if (size - off < HDR_LEN) {
			truncate_tail(l, off, size, "torn record header");
			size = off;
			break;
		}
		len = get32(buf + off);
		end = off + HDR_LEN + len;
		if (end > size) {
			truncate_tail(l, off, size, "torn record");
			size = off;
			break;
		}
		if (len > LOG_MAX_RECORD || crc32c(crc32c(0, buf + off, 4),
		    buf + off + HDR_LEN, len) != get32(buf + off + 4)) {
			if (all_zero(buf + end, size - end)) {
				truncate_tail(l, off, size, "torn record");
				size = off;
				break;
			}
			errx(EXIT_USAGE, "%s: corrupt record at offset %zu: %s",
			    path, off, len > LOG_MAX_RECORD ? "bad length" :
			    "bad checksum");
		}
		fn(arg, (char *)buf + off + HDR_LEN, len);
	}
	free(buf);
	l->end = l->synced = off < size ? off : size;
	l->alloc = size;
	if (open_logs == NULL)
		atexit(trim_all);
	l->next = open_logs;
	open_logs = l;
	return l;
}

void
log_set_nosync(struct hlog *l, int nosync)
{
	l->nosync = nosync;
}

static void
buffer_record(struct hlog *l, const char *rec, size_t len)
{
	unsigned char hdr[HDR_LEN];

	if (len > LOG_MAX_RECORD)
		errx(EXIT_FAIL, "%s: record of %zu bytes is too long",
		    l->path, len);
	put32(hdr, (uint32_t)len);
	put32(hdr + 4, crc32c(crc32c(0, hdr, 4), rec, len));
	if (l->cap - l->len < HDR_LEN + len) {
		l->cap = 2 * (l->len + HDR_LEN + len) + 4096;
		l->buf = xrealloc(l->buf, l->cap);
	}
	memcpy(l->buf + l->len, hdr, HDR_LEN);
	memcpy(l->buf + l->len + HDR_LEN, rec, len);
	l->len += HDR_LEN + len;
}

void
log_append(struct hlog *l, const char *rec, size_t len, log_done_fn *done,
    void *arg)
{
	buffer_record(l, rec, len);
	l->forced = 1;
	if (done == NULL)
		return;
	if (l->nw == l->wcap) {
		l->wcap = l->wcap ? 2 * l->wcap : 64;
		l->w = xrealloc(l->w, l->wcap * sizeof(*l->w));
	}
	l->w[l->nw].done = done;
	l->w[l->nw].arg = arg;
	l->nw++;
}

void
log_append_soon(struct hlog *l, const char *rec, size_t len,
    log_done_fn *done, void *arg)
{
	int forced = l->forced, waiting = l->nw > 0;

	log_append(l, rec, len, done, arg);
	l->forced = forced;
	if (!waiting && !forced)
		l->due = now_ms() + l->delay;
	else if (!waiting)
		l->due = now_ms();
}

void
log_set_delay(struct hlog *l, long ms)
{
	l->delay = ms;
}

long
log_due_ms(const struct hlog *l)
{
	long long left;

	if (l->nw == 0 || l->forced)
		return l->nw == 0 ? -1 : 0;
	left = l->due - now_ms();
	return left < 0 ? 0 : (long)left;
}

void
log_append_lazy(struct hlog *l, const char *rec, size_t len)
{
	buffer_record(l, rec, len);
}

void
log_appendf(struct hlog *l, enum log_force force, log_done_fn *done,
    void *arg, const char *fmt, ...)
{
	va_list ap;
	char *buf;
	size_t n;

	va_start(ap, fmt);
	buf = xvasprintf(&n, fmt, ap);
	va_end(ap);
	switch (force) {
	case LOG_LAZY:
		log_append_lazy(l, buf, n);
		break;
	case LOG_FORCED:
		log_append(l, buf, n, done, arg);
		break;
	case LOG_SOON:
		log_append_soon(l, buf, n, done, arg);
		break;
	case LOG_KEEP:
		log_keep(l, buf, n);
		break;
	}
	free(buf);
}

/*
 * Writes zeros to FD from FROM to the preallocation boundary past NEED.
 * Returns where they end, short of it on a nearly full disk (the records
 * themselves then grow the file, and fdatasync covers the new size: better
 * than refusing to log anything with less than PREALLOC bytes free), or
 * -1 with errno set.
 */
static long long
write_zeros(int fd, size_t from, size_t need)
{
	static const char zeros[65536];
	size_t to = (need + PREALLOC) / PREALLOC * PREALLOC, n;
	ssize_t w;

	while (from < to) {
		n = to - from < sizeof(zeros) ? to - from : sizeof(zeros);
		if ((w = pwrite(fd, zeros, n, (off_t)from)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ENOSPC)
				break;
			return -1;
		}
		from += (size_t)w;
	}
	return (long long)from;
}

/*
 * Extends the file with zeros, synced, to past NEED: overwriting
 * allocated blocks lets each later fdatasync skip the metadata update that
 * growing the file would cost (as PostgreSQL preallocates WAL segments).
 */
static void
preallocate(struct hlog *l, size_t need)
{
	long long end = write_zeros(l->fd, l->alloc, need);

	if (end == -1)
		err(EXIT_FAIL, "%s: write", l->path);
	l->alloc = (size_t)end;
	if (!l->nosync)
		sync_or_die(l);
}

void
log_flush(struct hlog *l)
{
	struct waiter *w;
	size_t off, nw, i;
	ssize_t n;

	if (l->end + l->len > l->alloc)
		preallocate(l, l->end + l->len);
	for (off = 0; off < l->len; off += (size_t)n) {
		n = pwrite(l->fd, l->buf + off, l->len - off,
		    (off_t)(l->end + off));
		if (n == -1) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			err(EXIT_FAIL, "%s: write", l->path);
		}
	}
	l->end += l->len;
	l->len = 0;
	if (l->end > l->alloc)
		l->alloc = l->end;	/* grown past the zeros: see preallocate */
	if (!l->forced && (l->nw == 0 || now_ms() < l->due))
		return;		/* nothing urgent, nothing due yet */
	if (!l->nosync && (l->forced || l->nw > 0))
		sync_or_die(l);
	l->forced = 0;
	/* Callbacks may append again: detach the list before calling. */
	w = l->w;
	nw = l->nw;
	l->w = NULL;
	l->nw = l->wcap = 0;
	for (i = 0; i < nw; i++)
		w[i].done(w[i].arg);
	free(w);
}

void
log_append_sync(struct hlog *l, const char *rec, size_t len)
{
	log_append(l, rec, len, NULL, NULL);
	log_flush(l);
}

int
log_pending(const struct hlog *l)
{
	return l->len > 0 || l->forced;
}

unsigned long long
log_syncs(const struct hlog *l)
{
	return l->syncs;
}

void
log_truncate(struct hlog *l, long long size)
{
	log_flush(l);
	if (size < MAGIC_LEN)
		errx(EXIT_FAIL, "%s: cannot truncate to %lld bytes", l->path,
		    size);
	if (ftruncate(l->fd, (off_t)size) == -1)
		err(EXIT_FAIL, "%s: ftruncate", l->path);
	l->end = l->alloc = (size_t)size;
	if (l->synced > l->end)
		l->synced = l->end;
	sync_or_die(l);
}

void
log_close(struct hlog *l)
{
	struct hlog **lp;

	if (l == NULL)
		return;
	l->forced |= l->nw > 0;	/* nothing waits past the end */
	log_flush(l);
	/* A clean close leaves no preallocated zeros behind. */
	trim(l);
	for (lp = &open_logs; *lp != NULL; lp = &(*lp)->next)
		if (*lp == l) {
			*lp = l->next;
			break;
		}
	close(l->fd);
	free(l->buf);
	free(l->w);
	free(l->path);
	free(l);
}

size_t
log_size(const struct hlog *l)
{
	return l->end + l->len;
}

void
log_set_growth(struct hlog *l, unsigned long percent)
{
	l->growth = percent;
}

void
log_set_checkpoint_min(struct hlog *l, size_t bytes)
{
	l->min = bytes;
}

void
log_set_outside(struct hlog *l, size_t bytes)
{
	l->outside = bytes;
}

int
log_checkpoint_due(const struct hlog *l)
{
	size_t size = log_size(l);

	return l->growth > 0 && size >= l->min &&
	    size - l->base >= (l->base + l->outside) / 100 * l->growth;
}

void
log_keep(struct hlog *l, const char *rec, size_t len)
{
	if (!l->keeping)
		errx(EXIT_FAIL, "%s: log_keep outside a checkpoint", l->path);
	buffer_record(l, rec, len);
}

/* Writes all of BUF to FD; returns 0, or -1 with errno set. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
log_checkpoint_retire(struct hlog *l, log_keep_fn *keep, void *arg)
{
	char *tmp = checkpoint_path(l);
	const char *what;
	long long alloc;
	int fd, old;

	/* What was appended is made durable first (callbacks may append). */
	while (l->len > 0 || l->nw > 0) {
		l->forced |= l->nw > 0;
		log_flush(l);
	}
	l->keeping = 1;
	keep(l, arg);
	l->keeping = 0;
	what = "open";
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
	    -1)
		goto fail;
	/* Preallocated like any log, within the same sync. */
	what = "write";
	if (write_all(fd, MAGIC, MAGIC_LEN) == -1 ||
	    write_all(fd, l->buf, l->len) == -1 ||
	    (alloc = write_zeros(fd, MAGIC_LEN + l->len, MAGIC_LEN + l->len)) ==
	    -1)
		goto fail;
	what = "fsync";
	if (fsync(fd) == -1)
		goto fail;
	CRASH_POINT("log.checkpoint-synced");
	/* Locked before it takes the log's name: never a moment unlocked. */
	filelock_take(fd, l->path);
	what = "rename";
	if (rename(tmp, l->path) == -1)
		goto fail;
	CRASH_POINT("log.checkpoint-renamed");
	if (fsync_parent(l->path) == -1)
		err(EXIT_FAIL, "%s: fsync the directory", l->path);
	old = l->fd;
	l->fd = fd;
	l->end = l->synced = l->base = MAGIC_LEN + l->len;
	l->alloc = (size_t)alloc;
	l->len = 0;
	/* The buffer held the whole state: give the memory back. */
	free(l->buf);
	l->buf = NULL;
	l->cap = 0;
	l->syncs += 2;
	free(tmp);
	return old;
fail:
	/* The old log is untouched and complete: stop before any more acks. */
	(void)unlink(tmp);
	err(EXIT_FAIL, "%s: checkpoint: %s %s", l->path, what, tmp);
}

void
log_checkpoint(struct hlog *l, log_keep_fn *keep, void *arg)
{
	close(log_checkpoint_retire(l, keep, arg));
}
