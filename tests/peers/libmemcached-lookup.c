/*
 * libmemcached-lookup HOST PORT WEIGHT [HOST PORT WEIGHT ...]
 *
 * Reads keys on stdin and prints "KEY<TAB>HOST:PORT", the server that
 * libmemcached's weighted ketama picks for each.  A reference for the
 * tests, built against the system's libmemcached; not part of hakit.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char *argv[])
{
	memcached_st *mc = memcached_create(NULL);
	const memcached_instance_st *server;
	memcached_return_t rc;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
	for (int i = 1; i + 2 < argc; i += 3)
		memcached_server_add_with_weight(mc, argv[i], atoi(argv[i + 1]),
		    (uint32_t)atoi(argv[i + 2]));
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		server = memcached_server_by_key(mc, line, (size_t)len, &rc);
		if (server == NULL)
			return 1;
		printf("%s\t%s:%u\n", line, memcached_server_name(server),
		    memcached_server_port(server));
	}
	return 0;
}
