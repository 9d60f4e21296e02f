#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"
#include "util.h"

char *
keyfile_load(const char *path, size_t *lenp)
{
	char *text = NULL;
	size_t cap = 0, len = 0, n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno != ENOENT)
			err(EXIT_FAIL, "%s", path);
		return NULL;
	}
	do {
		if (cap - len < 4096)
			text = xrealloc(text, cap = cap ? 2 * cap : 8192);
		n = fread(text + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	if (ferror(fp))
		err(EXIT_FAIL, "%s", path);
	fclose(fp);
	*lenp = len;
	return text;
}

int
keyfile_read(const char *path, const char *what, keyfile_fn *fn, void *arg)
{
	size_t len;
	char *text = keyfile_load(path, &len);

	if (text == NULL)
		return -1;
	keyfile_parse(text, len, path, what, fn, arg);
	free(text);
	return 0;
}

void
keyfile_parse(const char *text, size_t len, const char *name,
    const char *what, keyfile_fn *fn, void *arg)
{
	char *copy = xmemdup(text, len), *line = copy, *nl, *val;
	size_t lineno = 0;

	while (line < copy + len) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(copy + len - line))) ==
		    NULL)
			nl = copy + len;
		*nl = '\0';
		if ((val = strchr(line, ' ')) == NULL)
			goto bad;
		*val++ = '\0';
		if (fn(arg, lineno, line, val) == -1)
			goto bad;
		line = nl + 1;
	}
	free(copy);
	return;
bad:
	errx(EXIT_USAGE, "%s: malformed %s at line %zu", name, what, lineno);
}
