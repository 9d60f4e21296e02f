#include <err.h>
#include <string.h>

#include "hash.h"
#include "md5.h"
#include "util.h"

const struct keyhash keyhashes[] = {
	{ "md5", hash_md5 },
	{ "fnv1a_64", hash_fnv1a_64 },
	{ "fnv1_64", hash_fnv1_64 },
	{ "fnv1_32", hash_fnv1_32 },
	{ "fnv1a_32", hash_fnv1a_32 },
	{ "one_at_a_time", hash_one_at_a_time },
	{ "crc32", hash_crc32 },
	{ "crc32a", hash_crc32a },
	{ NULL, NULL }
};

const struct keyhash *
keyhash_find(const char *name)
{
	const struct keyhash *h;

	for (h = keyhashes; h->name != NULL; h++)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

const struct keyhash *
keyhash_option(const char *name)
{
	const struct keyhash *h = keyhash_find(name);
	char list[256] = "";

	if (h != NULL)
		return h;
	for (h = keyhashes; h->name != NULL; h++) {
		if (h != keyhashes)
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, h->name, sizeof(list) - strlen(list) - 1);
	}
	errx(EXIT_USAGE, "unknown hash '%s': use one of %s", name, list);
}

/* A byte widened as x86-64's char is: signed, then sign-extended. */
#define SX32(b)	((uint32_t)(int32_t)(signed char)(b))
#define SX64(b)	((uint64_t)(int64_t)(signed char)(b))

enum {
	FNV32_INIT = 2166136261u,
	FNV32_PRIME = 16777619u
};
#define FNV64_INIT	UINT64_C(0xcbf29ce484222325)
#define FNV64_PRIME	UINT64_C(0x100000001b3)

uint32_t
hash_md5(const void *key, size_t len)
{
	return md5_word0(key, len);
}

/*
 * twemproxy's fnv1a_64 keeps only the low 32 bits of the 64-bit offset
 * basis and prime and multiplies in 32 bits, which is not FNV-1a 64 but
 * is what every twemproxy deployment has placed keys with.
 */
uint32_t
hash_fnv1a_64(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = (uint32_t)FNV64_INIT;

	while (len-- > 0) {
		h ^= SX32(*p++);
		h *= (uint32_t)FNV64_PRIME;
	}
	return h;
}

uint32_t
hash_fnv1_64(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = FNV64_INIT;

	while (len-- > 0) {
		h *= FNV64_PRIME;
		h ^= SX64(*p++);
	}
	return (uint32_t)h;
}

uint32_t
hash_fnv1_32(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = FNV32_INIT;

	while (len-- > 0) {
		h *= FNV32_PRIME;
		h ^= SX32(*p++);
	}
	return h;
}

uint32_t
hash_fnv1a_32(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = FNV32_INIT;

	while (len-- > 0) {
		h ^= SX32(*p++);
		h *= FNV32_PRIME;
	}
	return h;
}

uint32_t
hash_one_at_a_time(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = 0;

	while (len-- > 0) {
		h += SX32(*p++);
		h += h << 10;
		h ^= h >> 6;
	}
	h += h << 3;
	h ^= h >> 11;
	h += h << 15;
	return h;
}

/* The reflected CRC-32 polynomial's table, made on first use. */
static const uint32_t *
crc32_table(void)
{
	static uint32_t table[256];
	static int ready;

	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	return table;
}

uint32_t
hash_crc32a(const void *key, size_t len)
{
	const uint32_t *t = crc32_table();
	const unsigned char *p = key;
	uint32_t crc = ~0u;

	while (len-- > 0)
		crc = t[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* libmemcached's "crc32" keeps 15 bits of the CRC, and twemproxy copied it. */
uint32_t
hash_crc32(const void *key, size_t len)
{
	return (hash_crc32a(key, len) >> 16) & 0x7fff;
}
