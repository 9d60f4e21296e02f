/*
 * crc32c: the CRC-32C (Castagnoli) checksum, as used by iSCSI, ext4 and
 * Kafka, computed in software (slicing-by-8) with libc only.
 *
 * Promise: crc32c(0, "123456789", 9) == 0xe3069283.  A running checksum is
 * extended by passing the previous result as CRC.
 */
#ifndef HAKIT_CRC32C_H
#define HAKIT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
