/*
 * keys: reading the keys the ring tools place, one per line.
 *
 * A key is any bytes but NUL and newline, up to KEY_MAX bytes.  keys_read
 * hands each line of a file to a callback, in order, and ends the tool
 * with a message naming the file and line on the first bad key (exit 2)
 * or failed read or write (exit 1): the keys before it have been handed
 * on, and the caller's output is flushed first, so they are answered.
 */
#ifndef HAKIT_KEYS_H
#define HAKIT_KEYS_H

#include <stddef.h>

#include "lineio.h"

#define KEY_MAX	(1024 * 1024)

typedef void key_fn(void *arg, const char *key, size_t len);

/* Calls FN(ARG, KEY, LEN) for each line of FD, called NAME in messages.
 * OUT, if not NULL, is flushed before every read and before exiting. */
void keys_read(int fd, const char *name, struct outbuf *out, key_fn *fn,
    void *arg);

#endif
