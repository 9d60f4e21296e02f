/*
 * strmap: a hash map from byte strings to pointers (chained, FNV-1a).
 *
 * Promise: keys are copied; values are the caller's.  Lookups, inserts and
 * deletes take expected O(1); the table doubles as it fills.  Iteration
 * order is unspecified, and a map must not change while iterated.
 */
#ifndef HAKIT_STRMAP_H
#define HAKIT_STRMAP_H

#include <stddef.h>

struct strmap;

typedef void strmap_fn(const char *key, void *val, void *arg);

struct strmap *strmap_new(void);
/* Frees M and its keys (not the values). */
void strmap_free(struct strmap *);
void *strmap_get(const struct strmap *, const char *key);
/* Sets KEY to VAL, replacing any previous value. */
void strmap_put(struct strmap *, const char *key, void *val);
/* Removes KEY; returns its value, or NULL if absent. */
void *strmap_del(struct strmap *, const char *key);
size_t strmap_count(const struct strmap *);
void strmap_each(const struct strmap *, strmap_fn *fn, void *arg);

#endif
