#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "snapshot.h"
#include "util.h"
#include "wire.h"

#define MAGIC		"hakit-snapshot\t1\n"
#define END_LEN		13	/* "end\t" and 8 hex digits and a newline */
#define BUF_SIZE	65536

struct snapshot_writer {
	int fd;
	uint32_t crc;
	char *buf;		/* lines not yet written */
	size_t len, cap;
	const char *what;	/* the first step that failed */
	int error;
};

/* Writes what is buffered; notes the first failure. */
static void
drain(struct snapshot_writer *w)
{
	size_t off = 0;
	ssize_t n;

	while (w->what == NULL && off < w->len) {
		if ((n = write(w->fd, w->buf + off, w->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			w->what = "write";
			w->error = errno;
		} else
			off += (size_t)n;
	}
	w->len = 0;
}

/* Makes room for N more bytes in the buffer. */
static void
reserve(struct snapshot_writer *w, size_t n)
{
	if (w->len + n > BUF_SIZE)
		drain(w);
	if (w->len + n > w->cap) {
		w->cap = w->len + n > BUF_SIZE ? w->len + n : BUF_SIZE;
		w->buf = xrealloc(w->buf, w->cap);
	}
}

/* Buffers N bytes of a line, counted in the checksum. */
static void
put(struct snapshot_writer *w, const char *s, size_t n)
{
	reserve(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->crc = crc32c(w->crc, s, n);
}

struct snapshot_writer *
snapshot_begin(int fd)
{
	struct snapshot_writer *w = xcalloc(1, sizeof(*w));

	w->fd = fd;
	put(w, MAGIC, strlen(MAGIC));
	return w;
}

void
snapshot_add(struct snapshot_writer *w, int nf, const char *const *f,
    const size_t *len)
{
	size_t start, n;
	int i;

	for (n = 0, i = 0; i < nf; i++)
		n += 2 * len[i] + 1;
	reserve(w, n);
	start = w->len;
	for (i = 0; i < nf; i++) {
		w->len += wire_escape(f[i], len[i], w->buf + w->len);
		w->buf[w->len++] = i + 1 < nf ? '\t' : '\n';
	}
	w->crc = crc32c(w->crc, w->buf + start, w->len - start);
}

void
snapshot_addv(struct snapshot_writer *w, const char *first, ...)
{
	const char *f[SNAPSHOT_MAX_FIELDS], *s;
	size_t len[SNAPSHOT_MAX_FIELDS];
	va_list ap;
	int nf = 0;

	va_start(ap, first);
	for (s = first; s != NULL && nf < SNAPSHOT_MAX_FIELDS;
	    s = va_arg(ap, const char *)) {
		f[nf] = s;
		len[nf++] = strlen(s);
	}
	va_end(ap);
	snapshot_add(w, nf, f, len);
}

int
snapshot_end(struct snapshot_writer *w, const char **what)
{
	char end[END_LEN + 1];
	int rc = 0;

	snprintf(end, sizeof(end), "end\t%08x\n", (unsigned)w->crc);
	put(w, end, END_LEN);
	drain(w);
	if (w->what == NULL && fsync(w->fd) == -1) {
		w->what = "fsync";
		w->error = errno;
	}
	if (close(w->fd) == -1 && w->what == NULL) {
		w->what = "close";
		w->error = errno;
	}
	if (w->what != NULL) {
		*what = w->what;
		errno = w->error;
		rc = -1;
	}
	free(w->buf);
	free(w);
	return rc;
}

/* Splits LINE (without its newline) at TABs and unescapes each field. */
static int
split(char *line, char **f, size_t *len)
{
	int nf = 0;
	char *tab;
	long n;

	for (;;) {
		if (nf == SNAPSHOT_MAX_FIELDS)
			return -1;
		f[nf] = line;
		if ((tab = strchr(line, '\t')) != NULL)
			*tab = '\0';
		if ((n = wire_unescape(line, strlen(line))) < 0)
			return -1;
		len[nf++] = (size_t)n;
		if (tab == NULL)
			return nf;
		line = tab + 1;
	}
}

int
snapshot_read(const char *path, snapshot_line_fn *fn, void *arg,
    const char **why)
{
	char *line = NULL, *f[SNAPSHOT_MAX_FIELDS], want[END_LEN + 1];
	size_t cap = 0, len[SNAPSHOT_MAX_FIELDS];
	uint32_t crc = 0;
	int nf, first = 1, rc = -1;
	ssize_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno != ENOENT)
			err(EXIT_FAIL, "%s", path);
		return 0;
	}
	*why = "it ends before its last line";
	while ((n = getline(&line, &cap, fp)) != -1) {
		if (line[n - 1] != '\n' || memchr(line, '\0', (size_t)n) != NULL)
			break;
		if (first && strcmp(line, MAGIC) != 0) {
			*why = "not a hakit snapshot";
			break;
		}
		if (!first && strncmp(line, "end\t", 4) == 0) {
			snprintf(want, sizeof(want), "end\t%08x\n",
			    (unsigned)crc);
			if (strcmp(line, want) != 0)
				*why = "bad checksum";
			else if (getc(fp) != EOF)
				*why = "data after its last line";
			else
				rc = 1;
			break;
		}
		crc = crc32c(crc, line, (size_t)n);
		line[n - 1] = '\0';
		if (first) {
			first = 0;
			continue;
		}
		if ((nf = split(line, f, len)) == -1) {
			*why = "a malformed line";
			break;
		}
		if (fn(arg, nf, f, len) == -1) {
			*why = "a line it may not hold";
			break;
		}
	}
	if (ferror(fp))
		err(EXIT_FAIL, "%s", path);
	fclose(fp);
	free(line);
	return rc;
}
