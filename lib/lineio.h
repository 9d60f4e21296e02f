/*
 * lineio: buffered line input and output for filters.
 *
 * An outbuf collects output and writes it in large blocks.  A linereader
 * hands out input one line at a time; before it blocks in read(2) it
 * flushes the outbuf it was given.  So a filter writes in large blocks in
 * a bulk pipe, yet answers every line before waiting for the next one when
 * it runs as a co-process.
 *
 * Write errors are sticky: after the first failed write an outbuf drops
 * further output, and ob_flush() reports the error (with errno) until the
 * caller gives up.  Callers must check ob_flush() before exiting 0.
 */
#ifndef HAKIT_LINEIO_H
#define HAKIT_LINEIO_H

#include <stddef.h>
#include <string.h>

#define OUTBUF_SIZE	(64 * 1024)

struct outbuf {
	int	fd;
	int	error;		/* errno of the first failed write, or 0 */
	size_t	len;
	char	buf[OUTBUF_SIZE];
};

void ob_init(struct outbuf *ob, int fd);
/* Writes out what is buffered; returns 0, or -1 with errno set. */
int ob_flush(struct outbuf *ob);
void ob_write_slow(struct outbuf *ob, const void *p, size_t n);

static inline void
ob_write(struct outbuf *ob, const void *p, size_t n)
{
	if (n <= OUTBUF_SIZE - ob->len) {
		memcpy(ob->buf + ob->len, p, n);
		ob->len += n;
	} else
		ob_write_slow(ob, p, n);
}

static inline void
ob_putc(struct outbuf *ob, char c)
{
	if (ob->len == OUTBUF_SIZE)
		ob_flush(ob);
	ob->buf[ob->len++] = c;
}

struct linereader {
	int		 fd;
	char		*buf;
	size_t		 cap;
	size_t		 head;		/* start of the next line */
	size_t		 scanned;	/* bytes after head known to hold no '\n' */
	size_t		 tail;		/* end of the data read */
	size_t		 max;		/* longest line accepted */
	int		 eof;
	unsigned long	 lineno;	/* of the line last returned */
	struct outbuf	*flush_first;
};

/* Reads lines of at most MAX bytes from FD, flushing FLUSH_FIRST (which
 * may be NULL) before every read. */
void lr_init(struct linereader *lr, int fd, size_t max,
    struct outbuf *flush_first);
void lr_free(struct linereader *lr);

/*
 * Returns 1 with the next line in *LINE and *LEN (without its newline; a
 * last line without one counts too), 0 at the end of input, or -1 with
 * errno set: EMSGSIZE for a line longer than the maximum, or the error of
 * the failed read or flush.  The line stays valid until the next call.
 */
int lr_next(struct linereader *lr, const char **line, size_t *len);

#endif
