#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crash.h"
#include "durable.h"
#include "evloop.h"
#include "keyfile.h"
#include "member.h"
#include "util.h"

#define REWRITE_MS	1000	/* the commit point is rewritten this often */

int
member_id_ok(const char *id)
{
	return strlen(id) == MEMBER_ID_LEN &&
	    strspn(id, "0123456789abcdef") == MEMBER_ID_LEN;
}

/* Writes the member file; returns 0, or -1 with errno and *WHAT set. */
static int
write_file(const struct member *m, size_t commit, const char **what)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int rc;

	if ((fp = open_memstream(&text, &len)) == NULL)
		err(EXIT_FAIL, "open_memstream");
	fprintf(fp, "hakit-member 2\nid %s\ndir-inode %llu\ncommit %zu\n",
	    m->id, m->inode, commit);
	if (fclose(fp) == EOF)
		err(EXIT_FAIL, "open_memstream");
	rc = durable_replace(m->path, text, len, what);
	free(text);
	return rc;
}

/* What a member file says, as it is read. */
struct reading {
	struct member *m;
	unsigned long long inode;
	int have;		/* bits: id, dir-inode, commit */
};

/* One line of a member file (keyfile_fn). */
static int
member_line(void *arg, size_t lineno, const char *key, char *val)
{
	struct reading *r = arg;
	unsigned long long v;

	if (lineno == 1) {
		if (strcmp(key, "hakit-member") != 0)
			return -1;
		if (strcmp(val, "1") == 0)
			errx(EXIT_USAGE, "%s: a version 1 member file, from an "
			    "older hakit: remove it (the member then joins as a "
			    "new copy)", r->m->path);
		return strcmp(val, "2") == 0 ? 0 : -1;
	}
	if (strcmp(key, "id") == 0 && member_id_ok(val)) {
		memcpy(r->m->id, val, MEMBER_ID_LEN + 1);
		r->have |= 1;
	} else if (strcmp(key, "dir-inode") == 0 &&
	    sscanf(val, "%llu", &r->inode) == 1)
		r->have |= 2;
	else if (strcmp(key, "commit") == 0 && sscanf(val, "%llu", &v) == 1 &&
	    v <= SIZE_MAX / 2) {
		r->m->commit = (size_t)v;
		r->have |= 4;
	} else
		return -1;
	return 0;
}

struct member *
member_open(const char *dir, size_t records)
{
	struct member *m = xcalloc(1, sizeof(*m));
	struct reading r = { m, 0, 0 };
	size_t n = strlen(dir) + 16;
	const char *what, *why = NULL;
	struct stat sb;
	int found;

	m->path = xmalloc(n);
	snprintf(m->path, n, "%s/member", dir);
	if (stat(dir, &sb) == -1)
		err(EXIT_FAIL, "%s", dir);
	m->inode = (unsigned long long)sb.st_ino;
	durable_sweep(m->path);
	found = keyfile_read(m->path, "member file", member_line, &r) == 0;
	if (found && r.have != 7)
		errx(EXIT_USAGE, "%s: malformed member file: it lacks a line",
		    m->path);
	if (found && r.inode != m->inode)
		why = "it is not the directory its id was made for";
	else if (found && m->commit > records)
		why = "it lacks records it knew were committed";
	if (!found || records == 0 || why != NULL) {
		if (why != NULL)
			warnx("%s: %s: this is a new copy of the data", dir,
			    why);
		random_hex(m->id, MEMBER_ID_LEN / 2);
		m->commit = 0;
		if (write_file(m, 0, &what) == -1)
			err(EXIT_FAIL, "%s: %s", m->path, what);
		CRASH_POINT("member.identified");
	}
	return m;
}

void
member_note_commit(struct member *m, size_t commit, int now)
{
	long long t = ev_now_ms();
	const char *what;

	if (commit <= m->commit ||
	    (!now && m->written_ms != 0 && t - m->written_ms < REWRITE_MS))
		return;
	m->written_ms = t;
	if (write_file(m, commit, &what) == -1) {
		warn("%s: %s (the commit point stays at %zu)", m->path, what,
		    m->commit);
		return;
	}
	m->commit = commit;
}
