#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "lineio.h"
#include "snapshot.h"
#include "util.h"
#include "wire.h"

#define MAGIC		"hakit-snapshot\t1\n"
#define END_LEN		13	/* "end\t" and 8 hex digits and a newline */

struct snapshot_writer {
	struct outbuf ob;
	uint32_t crc;
	char *line;		/* room to escape one line into */
	size_t cap;
};

/* Writes N bytes of a line, counted in the checksum. */
static void
put(struct snapshot_writer *w, const char *s, size_t n)
{
	ob_write(&w->ob, s, n);
	w->crc = crc32c(w->crc, s, n);
}

struct snapshot_writer *
snapshot_begin(int fd)
{
	struct snapshot_writer *w = xcalloc(1, sizeof(*w));

	ob_init(&w->ob, fd);
	put(w, MAGIC, strlen(MAGIC));
	return w;
}

void
snapshot_add(struct snapshot_writer *w, int nf, const char *const *f,
    const size_t *len)
{
	size_t n;
	int i;

	for (n = 0, i = 0; i < nf; i++)
		n += 2 * len[i] + 1;
	if (n > w->cap) {
		w->cap = n;
		w->line = xrealloc(w->line, w->cap);
	}
	for (n = 0, i = 0; i < nf; i++) {
		n += wire_escape(f[i], len[i], w->line + n);
		w->line[n++] = i + 1 < nf ? '\t' : '\n';
	}
	put(w, w->line, n);
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
	int fd = w->ob.fd, rc = 0, saved;

	snprintf(end, sizeof(end), "end\t%08x\n", (unsigned)w->crc);
	put(w, end, END_LEN);
	/* A failed write is sticky in the outbuf: the flush reports it. */
	if (ob_flush(&w->ob) == -1) {
		*what = "write";
		rc = -1;
	} else if (fsync(fd) == -1) {
		*what = "fsync";
		rc = -1;
	}
	saved = errno;
	if (close(fd) == -1 && rc == 0) {
		*what = "close";
		rc = -1;
	} else
		errno = saved;
	free(w->line);
	free(w);
	return rc;
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
		if ((nf = wire_fields(line, f, len, SNAPSHOT_MAX_FIELDS)) == -1) {
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
