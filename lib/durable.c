#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "util.h"

/* Returns the directory part of PATH, malloc'd; *BASE gets the rest. */
static char *
split_path(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		*base = path;
		return xstrdup(".");
	}
	*base = slash + 1;
	return slash == path ? xstrdup("/") :
	    xmemdup(path, (size_t)(slash - path));
}

int
fsync_parent(const char *path)
{
	const char *base;
	char *dir = split_path(path, &base);
	int fd, rc = -1, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(fd);
		saved = errno;
		close(fd);
		errno = saved;
	}
	saved = errno;
	free(dir);
	errno = saved;
	return rc;
}

/* Writes all of BUF to FD; returns 0 or -1 with errno. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
durable_replace(const char *path, const void *data, size_t len,
    const char **what)
{
	const char *base;
	char *dir = split_path(path, &base), *tmp;
	size_t tmpsz = strlen(path) + 32;
	struct stat st;
	int fd, created = 0, renamed = 0, saved;

	tmp = xmalloc(tmpsz);
	snprintf(tmp, tmpsz, "%s/.%s.XXXXXX", dir, base);
	*what = "create a temporary file";
	if ((fd = mkstemp(tmp)) < 0)
		goto out;
	created = 1;
	*what = "write the temporary file";
	if ((stat(path, &st) == 0 && fchmod(fd, st.st_mode & 07777) < 0) ||
	    write_all(fd, data, len) < 0)
		goto out;
	*what = "fsync the temporary file";
	if (fsync(fd) < 0)
		goto out;
	*what = "close the temporary file";
	saved = close(fd);
	fd = -1;
	if (saved < 0)
		goto out;
	*what = "rename the temporary file";
	if (rename(tmp, path) < 0)
		goto out;
	renamed = 1;
	*what = "fsync the directory";
	if (fsync_parent(path) < 0)
		goto out;
	*what = NULL;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (created && !renamed)
		unlink(tmp);
	free(tmp);
	free(dir);
	errno = saved;
	return *what == NULL ? 0 : -1;
}

void
durable_sweep(const char *path)
{
	const char *base;
	char *dir = split_path(path, &base), *victim;
	size_t blen = strlen(base), vsz;
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	/* Temporaries are named ".BASE.XXXXXX", as durable_replace() makes. */
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (n[0] != '.' || strncmp(n + 1, base, blen) != 0 ||
		    n[1 + blen] != '.' || strlen(n + 2 + blen) != 6)
			continue;
		vsz = strlen(dir) + strlen(n) + 2;
		victim = xmalloc(vsz);
		snprintf(victim, vsz, "%s/%s", dir, n);
		unlink(victim);
		free(victim);
	}
	closedir(d);
	free(dir);
}
