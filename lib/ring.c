#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "ring.h"
#include "util.h"

static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

static int
isblank_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

const char *
ring_bad_name(const char *name)
{
	if (*name == '\0')
		return "empty";
	if (*name == '#')
		return "starts with '#'";
	if (strpbrk(name, " \t\r\n") != NULL)
		return "contains a blank";
	if (strlen(name) > RING_MAX_LINE - 16)
		return "too long";
	return NULL;
}

struct ring_node *
ring_append(struct ring *r, const char *name, unsigned long weight)
{
	struct ring_node *n;

	if (r->nnodes == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->node = xrealloc(r->node, r->cap * sizeof(*r->node));
	}
	n = &r->node[r->nnodes++];
	memset(n, 0, sizeof(*n));
	n->len = strlen(name);
	n->name = xmemdup(name, n->len);
	n->weight = weight;
	return n;
}

/* Orders node indices by name, then by line, to find duplicates. */
static const struct ring *sort_ring;

static int
by_name(const void *a, const void *b)
{
	const struct ring_node *x = &sort_ring->node[*(const size_t *)a];
	const struct ring_node *y = &sort_ring->node[*(const size_t *)b];
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* Reports the duplicate whose second appearance comes first in the file. */
static int
check_duplicates(const struct ring *r, char *err, size_t errsz)
{
	size_t *idx = xmalloc(r->nnodes * sizeof(*idx));
	const struct ring_node *first = NULL, *dup = NULL;
	size_t i;

	for (i = 0; i < r->nnodes; i++)
		idx[i] = i;
	sort_ring = r;
	qsort(idx, r->nnodes, sizeof(*idx), by_name);
	for (i = 1; i < r->nnodes; i++) {
		const struct ring_node *a = &r->node[idx[i - 1]];
		const struct ring_node *b = &r->node[idx[i]];
		if (strcmp(a->name, b->name) == 0 &&
		    (dup == NULL || b->line < dup->line)) {
			first = a;
			dup = b;
		}
	}
	free(idx);
	if (dup != NULL)
		return fail(err, errsz, "%s:%lu: duplicate node '%s' "
		    "(first on line %lu)", r->path, dup->line, dup->name,
		    first->line);
	return 0;
}

/* Parses one line (without its newline) that starts at offset START. */
static int
parse_line(struct ring *r, unsigned long lineno, size_t start, size_t len,
    char *err, size_t errsz)
{
	const char *s = r->text + start, *end = s + len, *f[3];
	size_t flen[3];
	int nf = 0;
	unsigned long weight = 1;
	char wbuf[16];
	struct ring_node *n;

	if (memchr(s, '\0', len) != NULL)
		return fail(err, errsz, "%s:%lu: NUL byte in line", r->path,
		    lineno);
	while (nf < 3) {
		while (s < end && isblank_byte(*s))
			s++;
		if (s == end || *s == '#')
			break;
		f[nf] = s;
		while (s < end && !isblank_byte(*s))
			s++;
		flen[nf] = (size_t)(s - f[nf]);
		nf++;
	}
	if (nf == 0)
		return 0;
	if (nf == 3)
		return fail(err, errsz, "%s:%lu: extra field '%.*s' (expected "
		    "NODE [WEIGHT])", r->path, lineno, (int)flen[2], f[2]);
	if (nf == 2) {
		int ok = flen[1] < sizeof(wbuf);
		if (ok) {
			memcpy(wbuf, f[1], flen[1]);
			wbuf[flen[1]] = '\0';
			ok = parse_ulong(wbuf, 1, RING_MAX_WEIGHT, &weight) == 0;
		}
		if (!ok)
			return fail(err, errsz, "%s:%lu: bad weight '%.*s' "
			    "(expected an integer from 1 to %d)", r->path,
			    lineno, (int)(flen[1] > 40 ? 40 : flen[1]), f[1],
			    RING_MAX_WEIGHT);
	}
	n = ring_append(r, "", weight);
	free(n->name);
	n->name = xmemdup(f[0], flen[0]);
	n->len = flen[0];
	n->line = lineno;
	n->line_start = start;
	n->line_end = start + len + (start + len < r->textlen);
	n->field_end = (size_t)(f[nf - 1] + flen[nf - 1] - r->text);
	return 0;
}

int
ring_parse(struct ring *r, const char *path, const char *text, size_t len,
    char *err, size_t errsz)
{
	size_t start = 0, linelen;
	unsigned long lineno = 0;
	const char *nl;

	memset(r, 0, sizeof(*r));
	r->path = xstrdup(path);
	r->text = xmemdup(text, len);
	r->textlen = len;
	while (start < len) {
		lineno++;
		nl = memchr(r->text + start, '\n', len - start);
		linelen = nl != NULL ? (size_t)(nl - (r->text + start)) :
		    len - start;
		if (linelen > RING_MAX_LINE) {
			fail(err, errsz, "%s:%lu: line longer than %d bytes",
			    path, lineno, RING_MAX_LINE);
			goto bad;
		}
		if (parse_line(r, lineno, start, linelen, err, errsz) < 0)
			goto bad;
		start += linelen + 1;
	}
	if (check_duplicates(r, err, errsz) == 0)
		return 0;
bad:
	ring_free(r);
	return -1;
}

int
ring_load_fd(struct ring *r, int fd, const char *path, char *err,
    size_t errsz)
{
	size_t len = 0, cap = 65536;
	char *buf = xmalloc(cap);
	ssize_t n;
	int rc;

	for (;;) {
		if (len == cap) {
			if (cap >= RING_MAX_SIZE) {
				free(buf);
				return fail(err, errsz, "%s: larger than %d "
				    "bytes", path, RING_MAX_SIZE);
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR) {
			rc = errno;
			free(buf);
			return fail(err, errsz, "%s: %s", path, strerror(rc));
		}
		if (n > 0)
			len += (size_t)n;
	}
	rc = ring_parse(r, path, buf, len, err, errsz);
	free(buf);
	return rc;
}

int
ring_load(struct ring *r, const char *path, char *err, size_t errsz)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(err, errsz, "%s: %s", path, strerror(errno));
	rc = ring_load_fd(r, fd, path, err, errsz);
	close(fd);
	return rc;
}

void
ring_free(struct ring *r)
{
	for (size_t i = 0; i < r->nnodes; i++)
		free(r->node[i].name);
	free(r->node);
	free(r->text);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

struct ring_node *
ring_find(const struct ring *r, const char *name)
{
	for (size_t i = 0; i < r->nnodes; i++)
		if (!r->node[i].removed && strcmp(r->node[i].name, name) == 0)
			return &r->node[i];
	return NULL;
}

size_t *
ring_map(const struct ring *a, const struct ring *b)
{
	size_t *map = xcalloc(a->nnodes ? a->nnodes : 1, sizeof(*map));

	for (size_t i = 0; i < a->nnodes; i++) {
		const struct ring_node *n = ring_find(b, a->node[i].name);

		map[i] = n != NULL ? (size_t)(n - b->node) : SIZE_MAX;
	}
	return map;
}

size_t
ring_size(const struct ring *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nnodes; i++)
		n += !r->node[i].removed;
	return n;
}

/* Opens PATH (creating it if CREATE) and locks it exclusively.  Returns
 * the locked descriptor, or -1 with errno set. */
static int
ring_lock(const char *path, int create)
{
	struct stat locked, named;
	int fd;

	for (;;) {
		fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0),
		    0666);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &locked) < 0)
			break;
		if (stat(path, &named) < 0) {
			if (errno != ENOENT)
				break;
			if (!create) {
				errno = ENOENT;
				break;
			}
		} else if (named.st_dev == locked.st_dev &&
		    named.st_ino == locked.st_ino) {
			if (!S_ISREG(locked.st_mode)) {
				errno = EINVAL;
				break;
			}
			return fd;
		}
		close(fd);	/* replaced while we waited: lock the new one */
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Renders R's new contents into a malloc'd buffer. */
static char *
render(const struct ring *r, size_t *lenp)
{
	size_t cap = r->textlen + 64, len = 0, pos = 0;
	char *out = xmalloc(cap);
	char line[RING_MAX_LINE + 32];
	int n;

#define EMIT(p, l) do {							\
	size_t l_ = (l);						\
	if (len + l_ > cap) {						\
		cap = 2 * (len + l_);					\
		out = xrealloc(out, cap);				\
	}								\
	memcpy(out + len, (p), l_);					\
	len += l_;							\
} while (0)

	for (size_t i = 0; i < r->nnodes; i++) {
		const struct ring_node *nd = &r->node[i];
		if (nd->line == 0)
			continue;
		if (nd->removed) {
			EMIT(r->text + pos, nd->line_start - pos);
			pos = nd->line_end;
		} else if (nd->reweighed) {
			EMIT(r->text + pos, nd->line_start - pos);
			n = nd->weight == 1 ? snprintf(line, sizeof(line), "%s",
			    nd->name) : snprintf(line, sizeof(line), "%s %lu",
			    nd->name, nd->weight);
			EMIT(line, (size_t)n);
			pos = nd->field_end;
		}
	}
	EMIT(r->text + pos, r->textlen - pos);
	if (len > 0 && out[len - 1] != '\n')
		EMIT("\n", 1);
	for (size_t i = 0; i < r->nnodes; i++) {
		const struct ring_node *nd = &r->node[i];
		if (nd->line != 0 || nd->removed)
			continue;
		n = nd->weight == 1 ? snprintf(line, sizeof(line), "%s\n",
		    nd->name) : snprintf(line, sizeof(line), "%s %lu\n",
		    nd->name, nd->weight);
		EMIT(line, (size_t)n);
	}
#undef EMIT
	*lenp = len;
	return out;
}

/* Replaces the ring file atomically and durably; returns 0, or -1 with
 * errno set and the step that failed in *WHAT. */
static int
ring_replace(const struct ring *r, const char **what)
{
	size_t len;
	char *text = render(r, &len);
	int rc = durable_replace(r->path, text, len, what), saved = errno;

	free(text);
	errno = saved;
	return rc;
}

int
ring_begin_update(struct ring *r, const char *path, int create, char *err,
    size_t errsz, int *status)
{
	int fd;

	if ((fd = ring_lock(path, create)) < 0) {
		*status = errno == ENOENT || errno == EINVAL || errno == EISDIR ?
		    EXIT_USAGE : EXIT_FAIL;
		return fail(err, errsz, "%s: %s", path, errno == EINVAL ?
		    "not a regular file" : strerror(errno));
	}
	if (ring_load_fd(r, fd, path, err, errsz) < 0) {
		*status = EXIT_USAGE;
		close(fd);
		return -1;
	}
	durable_sweep(path);	/* what writers killed mid-update left */
	return fd;
}

int
ring_end_update(struct ring *r, int lockfd, int changed, char *err,
    size_t errsz)
{
	const char *what;
	int rc = 0;

	if (changed && ring_replace(r, &what) < 0)
		rc = fail(err, errsz, "%s: %s: %s", r->path, what,
		    strerror(errno));
	close(lockfd);
	ring_free(r);
	return rc;
}
