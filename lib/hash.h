/*
 * hash: the key hashes a ring can place keys with, each bit-exact with a
 * named peer so that hakit and that program agree on where a key lives.
 *
 * Every function maps any bytes to a 32-bit value and is pure.  The
 * byte-at-a-time hashes read bytes as signed chars, as twemproxy's and
 * libmemcached's code does on x86-64: that is what makes keys with bytes
 * >= 0x80 land where those programs put them.
 */
#ifndef HAKIT_HASH_H
#define HAKIT_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t keyhash_fn(const void *key, size_t len);

struct keyhash {
	const char	*name;	/* as given to -H */
	keyhash_fn	*fn;
};

/* The known hashes, ending with a {NULL, NULL} entry; md5 is first. */
extern const struct keyhash keyhashes[];

/* Returns the hash called NAME, or NULL if there is none. */
const struct keyhash *keyhash_find(const char *name);

/*
 * Returns the hash called NAME (as given to -H); exits 2 with a message
 * that lists the known ones if there is none.
 */
const struct keyhash *keyhash_option(const char *name);

keyhash_fn hash_md5;		/* first LE word of MD5: libmemcached, libketama */
keyhash_fn hash_fnv1a_64;	/* twemproxy's default, computed in 32 bits */
keyhash_fn hash_fnv1_64;
keyhash_fn hash_fnv1_32;
keyhash_fn hash_fnv1a_32;
keyhash_fn hash_one_at_a_time;
keyhash_fn hash_crc32;		/* libmemcached/twemproxy "crc32": 15 bits */
keyhash_fn hash_crc32a;		/* the standard CRC-32 (ISO-HDLC) */

#endif
