/*
 * lease-backend: what lease.c asks of a backend (lease-file.c, a lock
 * file and its state file; lease-etcd.c, keys in etcd).  Each call is the
 * one lease.h documents, for that backend.
 */
#ifndef HAKIT_LEASE_BACKEND_H
#define HAKIT_LEASE_BACKEND_H

#include "lease.h"

struct lease_ops {
	int (*read)(struct lease *, struct lease_state *);
	int (*take)(struct lease *, struct lease_state *, lease_decide_fn *,
	    void *);
	int (*write)(struct lease *, const struct lease_state *);
	void (*renew)(struct lease *, struct evloop *);
	int (*watch)(struct lease *, struct evloop *, void (*)(void *), void *);
	int (*held)(struct lease *);
	void (*release)(struct lease *);
	void (*close)(struct lease *);
};

struct lease {
	const struct lease_ops *ops;
	char *name;		/* as given */
	char err[600];		/* lease_error() */
	long ttl_ms;
	char *self;		/* "ID SOCK" of the member that takes it */
	void *b;		/* the backend's own */
};

/* Fill L->ops and L->b for L->name; etcd returns -1 with WHY if bad. */
void lease_file_open(struct lease *l);
int lease_etcd_open(struct lease *l, const char *spec, char *why,
    size_t whylen);

/* The state as text (a new buffer, its length in *LEN), and back. */
char *lease_format(const struct lease_state *st, size_t *len);

/*
 * Parses LEN bytes of TEXT, read from FROM (named in messages), into ST;
 * exits 2 if it is not a lease state.
 */
void lease_parse(const char *text, size_t len, const char *from,
    struct lease_state *st);

#endif
