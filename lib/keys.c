#include <err.h>
#include <errno.h>
#include <string.h>

#include "keys.h"
#include "util.h"

/* Flushes OUT, if any, before a message that ends the tool. */
static void
flush_out(struct outbuf *out)
{
	if (out != NULL && ob_flush(out) < 0)
		err(EXIT_FAIL, "stdout");
}

void
keys_read(int fd, const char *name, struct outbuf *out, key_fn *fn,
    void *arg)
{
	struct linereader in;
	const char *key;
	size_t len;
	int rc;

	lr_init(&in, fd, KEY_MAX, out);
	while ((rc = lr_next(&in, &key, &len)) > 0) {
		if (memchr(key, '\0', len) != NULL) {
			flush_out(out);
			errx(EXIT_USAGE, "%s:%lu: key contains a NUL byte",
			    name, in.lineno);
		}
		fn(arg, key, len);
	}
	if (rc < 0) {
		int e = errno;

		if (out != NULL && out->error != 0) {
			errno = out->error;
			err(EXIT_FAIL, "stdout");
		}
		flush_out(out);
		if (e == EMSGSIZE)
			errx(EXIT_USAGE, "%s:%lu: key longer than %d bytes",
			    name, in.lineno + 1, KEY_MAX);
		errno = e;
		err(EXIT_FAIL, "%s", name);
	}
	lr_free(&in);
}
