#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"
#include "util.h"

int
keyfile_read(const char *path, const char *what, keyfile_fn *fn, void *arg)
{
	char *line = NULL, *val;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno != ENOENT)
			err(EXIT_FAIL, "%s", path);
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((val = strchr(line, ' ')) == NULL)
			goto bad;
		*val++ = '\0';
		if (fn(arg, lineno, line, val) == -1)
			goto bad;
	}
	if (ferror(fp))
		err(EXIT_FAIL, "%s", path);
	fclose(fp);
	free(line);
	return 0;
bad:
	errx(EXIT_USAGE, "%s: malformed %s at line %zu", path, what, lineno);
}
