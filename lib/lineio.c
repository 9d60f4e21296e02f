#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "lineio.h"
#include "util.h"

void
ob_init(struct outbuf *ob, int fd)
{
	ob->fd = fd;
	ob->error = 0;
	ob->len = 0;
}

int
ob_flush(struct outbuf *ob)
{
	size_t off = 0;
	ssize_t n;

	while (off < ob->len && ob->error == 0) {
		n = write(ob->fd, ob->buf + off, ob->len - off);
		if (n < 0 && errno != EINTR)
			ob->error = errno;
		else if (n > 0)
			off += (size_t)n;
	}
	ob->len = 0;
	if (ob->error != 0) {
		errno = ob->error;
		return -1;
	}
	return 0;
}

void
ob_write_slow(struct outbuf *ob, const void *p, size_t n)
{
	const char *s = p;
	size_t room;

	while (n > 0) {
		if (ob->len == OUTBUF_SIZE)
			ob_flush(ob);
		room = OUTBUF_SIZE - ob->len;
		if (room > n)
			room = n;
		memcpy(ob->buf + ob->len, s, room);
		ob->len += room;
		s += room;
		n -= room;
	}
}

void
lr_init(struct linereader *lr, int fd, size_t max, struct outbuf *flush_first)
{
	lr->fd = fd;
	lr->cap = max < 65536 ? max + 1 : 65536;
	lr->buf = xmalloc(lr->cap);
	lr->head = lr->scanned = lr->tail = 0;
	lr->max = max;
	lr->eof = 0;
	lr->lineno = 0;
	lr->flush_first = flush_first;
}

void
lr_free(struct linereader *lr)
{
	free(lr->buf);
	lr->buf = NULL;
}

/* Makes room after the data; returns -1 (EMSGSIZE) if the line being
 * read is already as long as the maximum. */
static int
make_room(struct linereader *lr)
{
	size_t pending = lr->tail - lr->head;

	if (pending > lr->max) {
		errno = EMSGSIZE;
		return -1;
	}
	if (lr->head > 0) {
		memmove(lr->buf, lr->buf + lr->head, pending);
		lr->head = 0;
		lr->tail = pending;
	}
	if (lr->tail == lr->cap) {
		lr->cap = lr->cap * 2 > lr->max + 1 ? lr->max + 1 : lr->cap * 2;
		lr->buf = xrealloc(lr->buf, lr->cap);
	}
	return 0;
}

int
lr_next(struct linereader *lr, const char **line, size_t *len)
{
	char *start, *nl;
	ssize_t n;

	for (;;) {
		start = lr->buf + lr->head;
		nl = memchr(start + lr->scanned, '\n',
		    lr->tail - lr->head - lr->scanned);
		if (nl != NULL || (lr->eof && lr->tail > lr->head)) {
			*line = start;
			*len = nl != NULL ? (size_t)(nl - start) :
			    lr->tail - lr->head;
			if (*len > lr->max) {
				errno = EMSGSIZE;
				return -1;
			}
			lr->head += *len + (nl != NULL);
			lr->scanned = 0;
			lr->lineno++;
			return 1;
		}
		if (lr->eof)
			return 0;
		lr->scanned = lr->tail - lr->head;
		if (make_room(lr) < 0)
			return -1;
		if (lr->flush_first != NULL && lr->flush_first->len > 0 &&
		    ob_flush(lr->flush_first) < 0)
			return -1;
		n = read(lr->fd, lr->buf + lr->tail, lr->cap - lr->tail);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n == 0)
			lr->eof = 1;
		else if (n > 0)
			lr->tail += (size_t)n;
	}
}
