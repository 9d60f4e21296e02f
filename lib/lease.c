#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "durable.h"
#include "keyfile.h"
#include "lease.h"
#include "member.h"
#include "sock.h"
#include "util.h"

static const char *ack_names[] = { "none", "recv", "fsync" };

int
lease_open(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		err(EXIT_FAIL, "%s", path);
	return fd;
}

int
lease_trylock(int fd)
{
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return 0;
		err(EXIT_FAIL, "flock");
	}
	return 1;
}

void
lease_unlock(int fd)
{
	if (flock(fd, LOCK_UN) == -1)
		err(EXIT_FAIL, "flock");
}

static char *
state_path(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *s = xmalloc(n);

	snprintf(s, n, "%s%s", path, suffix);
	return s;
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

int
lease_read(const char *path, struct lease_state *st)
{
	char *sp = state_path(path, ".state");
	struct reading r = { st, sp };
	int rc;

	memset(st, 0, sizeof(*st));
	st->ack = ACK_FSYNC;
	st->lag_ms = 1000;
	rc = keyfile_read(sp, "lease state", state_line, &r);
	free(sp);
	return rc;
}

void
lease_write(const char *path, const struct lease_state *st)
{
	char *sp = state_path(path, ".state"), *text = NULL;
	const char *what;
	size_t i, len = 0;
	FILE *fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
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
		err(EXIT_FAIL, "%s", sp);
	if (durable_replace(sp, text, len, &what) == -1)
		err(EXIT_FAIL, "%s: %s", sp, what);
	free(text);
	free(sp);
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
