/*
 * sha256 [-k KEYHEX]: prints the SHA-256 of stdin in hex, or with -k its
 * HMAC-SHA-256 under the key given in hex, through lib/sha256.c; for
 * checking it against the published test vectors (tests/44-tcp-auth.bats).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"

int
main(int argc, char *argv[])
{
	unsigned char key[1024], out[SHA256_LEN], buf[65536];
	char *data = NULL;
	size_t keylen = 0, len = 0, n, i;
	unsigned int byte;
	int ch, hmac = 0;

	while ((ch = getopt(argc, argv, "k:")) != -1) {
		if (ch != 'k' || strlen(optarg) % 2 != 0 ||
		    strlen(optarg) / 2 > sizeof(key))
			errx(2, "usage: sha256 [-k keyhex]");
		for (i = 0; optarg[2 * i] != '\0'; i++) {
			if (sscanf(optarg + 2 * i, "%2x", &byte) != 1)
				errx(2, "-k: not hex");
			key[i] = (unsigned char)byte;
		}
		keylen = i;
		hmac = 1;
	}
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		if ((data = realloc(data, len + n)) == NULL)
			err(1, "realloc");
		memcpy(data + len, buf, n);
		len += n;
	}
	if (hmac)
		hmac_sha256(key, keylen, data, len, out);
	else
		sha256(data, len, out);
	for (i = 0; i < SHA256_LEN; i++)
		printf("%02x", out[i]);
	printf("\n");
	free(data);
	return 0;
}
