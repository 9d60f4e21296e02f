#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crash.h"
#include "durable.h"
#include "evloop.h"
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
	fprintf(fp, "hakit-member 1\nid %s\nlog-inode %llu\ncommit %zu\n",
	    m->id, m->inode, commit);
	if (fclose(fp) == EOF)
		err(EXIT_FAIL, "open_memstream");
	rc = durable_replace(m->path, text, len, what);
	free(text);
	return rc;
}

/*
 * Reads M->path into M.  Returns 0, or -1 if there is none.  Exits 2 if
 * it is malformed.
 */
static int
read_file(struct member *m, unsigned long long *inode)
{
	char *line = NULL, *val;
	size_t cap = 0, lineno = 0;
	unsigned long long v;
	int have = 0;
	ssize_t n;
	FILE *fp;

	if ((fp = fopen(m->path, "r")) == NULL) {
		if (errno != ENOENT)
			err(EXIT_FAIL, "%s", m->path);
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((val = strchr(line, ' ')) == NULL)
			goto bad;
		*val++ = '\0';
		if (lineno == 1) {
			if (strcmp(line, "hakit-member") != 0 ||
			    strcmp(val, "1") != 0)
				goto bad;
		} else if (strcmp(line, "id") == 0 && member_id_ok(val)) {
			memcpy(m->id, val, MEMBER_ID_LEN + 1);
			have |= 1;
		} else if (strcmp(line, "log-inode") == 0 &&
		    sscanf(val, "%llu", inode) == 1)
			have |= 2;
		else if (strcmp(line, "commit") == 0 &&
		    sscanf(val, "%llu", &v) == 1 && v <= SIZE_MAX / 2) {
			m->commit = (size_t)v;
			have |= 4;
		} else
			goto bad;
	}
	if (ferror(fp))
		err(EXIT_FAIL, "%s", m->path);
	fclose(fp);
	free(line);
	if (have != 7)
		goto bad;
	return 0;
bad:
	errx(EXIT_USAGE, "%s: malformed member file at line %zu", m->path,
	    lineno);
}

struct member *
member_open(const char *dir, size_t records)
{
	struct member *m = xcalloc(1, sizeof(*m));
	size_t n = strlen(dir) + 16;
	unsigned long long inode = 0;
	const char *what, *why = NULL;
	char *log = xmalloc(n);
	struct stat sb;
	int found;

	m->path = xmalloc(n);
	snprintf(m->path, n, "%s/member", dir);
	snprintf(log, n, "%s/log", dir);
	if (stat(log, &sb) == -1)
		err(EXIT_FAIL, "%s", log);
	m->inode = (unsigned long long)sb.st_ino;
	durable_sweep(m->path);
	found = read_file(m, &inode) == 0;
	if (found && inode != m->inode)
		why = "its log is not the file its id was made for";
	else if (found && m->commit > records)
		why = "its log lacks records it knew were committed";
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
	free(log);
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

void
member_free(struct member *m)
{
	free(m->path);
	free(m);
}
