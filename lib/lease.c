#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"
#include "lease-backend.h"
#include "member.h"
#include "sock.h"
#include "util.h"

static const char *ack_names[] = { "none", "recv", "fsync" };

int
lease_is_etcd(const char *name)
{
	return strncmp(name, "etcd://", 7) == 0;
}

/* Returns 1 if NAME starts with a URL's scheme ("http://..."). */
static int
has_scheme(const char *name)
{
	const char *sep = strstr(name, "://");

	return sep != NULL && strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") == (size_t)(sep - name);
}

struct lease *
lease_open(const char *name)
{
	struct lease *l = xcalloc(1, sizeof(*l));
	char why[300];

	l->name = xstrdup(name);
	l->ttl_ms = 5000;
	if (lease_is_etcd(name)) {
		if (lease_etcd_open(l, name + 7, why, sizeof(why)) == -1)
			errx(EXIT_USAGE, "-L %s: %s (the form is "
			    "etcd://HOST:PORT[,HOST:PORT...]/PREFIX)", name, why);
	} else if (has_scheme(name))
		errx(EXIT_USAGE, "-L %s: not a lease: a lease is a lock file's "
		    "path or etcd://HOST:PORT[,HOST:PORT...]/PREFIX", name);
	else
		lease_file_open(l);
	return l;
}

void
lease_close(struct lease *l)
{
	l->ops->close(l);
	free(l->self);
	free(l->name);
	free(l);
}

void
lease_set_ttl(struct lease *l, long ms)
{
	l->ttl_ms = ms;
}

void
lease_set_self(struct lease *l, const char *id, const char *sock)
{
	free(l->self);
	l->self = xasprintf("%s %s", id, sock);
}

int
lease_read(struct lease *l, struct lease_state *st)
{
	return l->ops->read(l, st);
}

int
lease_take(struct lease *l, struct lease_state *st, lease_decide_fn *decide,
    void *arg)
{
	return l->ops->take(l, st, decide, arg);
}

int
lease_write(struct lease *l, const struct lease_state *st)
{
	return l->ops->write(l, st);
}

void
lease_renew(struct lease *l, struct evloop *ev)
{
	l->ops->renew(l, ev);
}

int
lease_watch(struct lease *l, struct evloop *ev, void (*fn)(void *), void *arg)
{
	return l->ops->watch(l, ev, fn, arg);
}

int
lease_held(struct lease *l)
{
	return l->ops->held(l);
}

void
lease_release(struct lease *l)
{
	l->ops->release(l);
}

const char *
lease_error(const struct lease *l)
{
	return l->err;
}

const char *
lease_ack_name(int ack)
{
	return ack_names[ack];
}

int
lease_ack_parse(const char *s)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, ack_names[i]) == 0)
			return i;
	return -1;
}

/*
 * Splits "ID SOCK" at its space, returning SOCK, or NULL if ID is not a
 * member id or SOCK not the name of a member (sock_name_ok).
 */
static char *
member_split(char *val)
{
	char *sp = strchr(val, ' ');

	if (sp == NULL || !sock_name_ok(sp + 1))
		return NULL;
	*sp = '\0';
	return member_id_ok(val) ? sp + 1 : NULL;
}

/* The lease state being read from PATH. */
struct reading {
	struct lease_state *st;
	const char *path;
};

/* One line of the lease state (keyfile_fn). */
static int
state_line(void *arg, size_t lineno, const char *key, char *val)
{
	struct lease_state *st = ((struct reading *)arg)->st;
	const char *path = ((struct reading *)arg)->path;
	unsigned long v;
	char *sock;

	if (lineno == 1) {
		if (strcmp(key, "hakit-lease") == 0 && strcmp(val, "1") == 0)
			errx(EXIT_USAGE, "%s: lease state of an older hakit "
			    "(version 1, members without ids): start the "
			    "group on a new lease", path);
		return strcmp(key, "hakit-lease") == 0 &&
		    strcmp(val, "2") == 0 ? 0 : -1;
	}
	if (strcmp(key, "epoch") == 0)
		return sscanf(val, "%llu", &st->epoch) == 1 ? 0 : -1;
	if (strcmp(key, "primary") == 0 || strcmp(key, "insync") == 0) {
		if ((sock = member_split(val)) == NULL)
			return -1;
		if (key[0] == 'p')
			lease_set_primary(st, val, sock);
		else
			lease_add(st, val, sock);
		return 0;
	}
	if (strcmp(key, "ack") == 0)
		return (st->ack = lease_ack_parse(val)) == -1 ? -1 : 0;
	if (strcmp(key, "min-insync") == 0)
		return parse_ulong(val, 0, 1000, &st->k);
	if (strcmp(key, "lag") == 0 && parse_ulong(val, 1, 86400000, &v) == 0) {
		st->lag_ms = v;
		return 0;
	}
	return -1;
}

void
lease_parse(const char *text, size_t len, const char *from,
    struct lease_state *st)
{
	struct reading r = { st, from };

	memset(st, 0, sizeof(*st));
	st->ack = ACK_FSYNC;
	st->lag_ms = 1000;
	keyfile_parse(text, len, from, "lease state", state_line, &r);
}

char *
lease_format(const struct lease_state *st, size_t *len)
{
	char *text = NULL;
	size_t i;
	FILE *fp;

	if ((fp = open_memstream(&text, len)) == NULL)
		err(EXIT_FAIL, "open_memstream");
	fprintf(fp, "hakit-lease 2\nepoch %llu\n", st->epoch);
	if (st->primary.sock != NULL)
		fprintf(fp, "primary %s %s\n", st->primary.id,
		    st->primary.sock);
	fprintf(fp, "ack %s\nmin-insync %lu\nlag %lu\n",
	    lease_ack_name(st->ack), st->k, st->lag_ms);
	for (i = 0; i < st->ninsync; i++)
		fprintf(fp, "insync %s %s\n", st->insync[i].id,
		    st->insync[i].sock);
	if (fclose(fp) == EOF)
		err(EXIT_FAIL, "lease state");
	return text;
}

static void
member_clear(struct lease_member *m)
{
	free(m->id);
	free(m->sock);
	m->id = m->sock = NULL;
}

void
lease_free(struct lease_state *st)
{
	size_t i;

	for (i = 0; i < st->ninsync; i++)
		member_clear(&st->insync[i]);
	free(st->insync);
	member_clear(&st->primary);
	memset(st, 0, sizeof(*st));
}

int
lease_insync(const struct lease_state *st, const char *id, const char *sock)
{
	size_t i;

	for (i = 0; i < st->ninsync; i++)
		if (strcmp(st->insync[i].id, id) == 0 &&
		    strcmp(st->insync[i].sock, sock) == 0)
			return 1;
	return 0;
}

void
lease_add(struct lease_state *st, const char *id, const char *sock)
{
	struct lease_member *m;

	if (lease_insync(st, id, sock))
		return;
	st->insync = xrealloc(st->insync,
	    (st->ninsync + 1) * sizeof(*st->insync));
	m = &st->insync[st->ninsync++];
	m->id = xstrdup(id);
	m->sock = xstrdup(sock);
}

void
lease_remove(struct lease_state *st, const char *id, const char *sock)
{
	size_t i;

	for (i = 0; i < st->ninsync; i++) {
		if (strcmp(st->insync[i].id, id) == 0 &&
		    strcmp(st->insync[i].sock, sock) == 0) {
			member_clear(&st->insync[i]);
			st->insync[i] = st->insync[--st->ninsync];
			return;
		}
	}
}

void
lease_set_primary(struct lease_state *st, const char *id, const char *sock)
{
	char *nid = xstrdup(id), *nsock = xstrdup(sock);

	member_clear(&st->primary);
	st->primary.id = nid;
	st->primary.sock = nsock;
}
