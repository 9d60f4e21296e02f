/*
 * libFuzzer target: what a TCP peer or a command line can hand the
 * address parser and the server's side of the handshake.  Each input line
 * goes through sock_is_tcp(), sock_unix_path() and sock_name_ok() (which
 * must agree: a TCP address has no UNIX path, and a name is an absolute
 * path or a TCP address), and the lines, in order,
 * are the steps of one handshake (auth_step() as a server), which must
 * end at the first bad one and never accept a proof made without the key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "sock.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz-auth-key.XXXXXX";
	int fd = mkstemp(path);

	(void)argc;
	(void)argv;
	if (fd == -1 || write(fd, "0123456789abcdef0123456789abcdef", 32) != 32)
		abort();
	close(fd);
	auth_load_key(path);
	unlink(path);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	char out[AUTH_LINE], *line;
	const char *why;
	struct auth a;
	int r = AUTH_MORE;

	auth_start(&a, AUTH_SERVER, 0, out);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		line = strndup(p, (size_t)(nl - p));
		if (line == NULL)
			abort();
		if (sock_is_tcp(line) == (sock_unix_path(line) != NULL))
			abort();
		if (sock_name_ok(line) && line[0] != '/' && !sock_is_tcp(line))
			abort();
		if (r == AUTH_MORE) {
			r = auth_step(&a, line, out, &why);
			/* Nobody without the key gets past the proof. */
			if (r == AUTH_DONE)
				abort();
		}
		free(line);
		p = nl + 1;
	}
	return 0;
}
