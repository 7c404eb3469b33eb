/*
 * fsplit_hash.h - the two digests the file formats use: SHA-256 (FIPS 180-4) for the codec tables
 * content hash and CRC-32 (IEEE 802.3, as zlib.crc32 and java.util.zip.CRC32) for the container.
 */
#ifndef FSPLIT_HASH_H
#define FSPLIT_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t h[8];
    uint64_t total_len; /* bytes hashed so far */
    uint8_t block[64];
    size_t block_len;
} fsr_sha256;

void fsr_sha256_init(fsr_sha256 *s);
void fsr_sha256_update(fsr_sha256 *s, const uint8_t *data, size_t len);
void fsr_sha256_final(fsr_sha256 *s, uint8_t digest[32]);

/* Continue a CRC-32: start with crc = 0; crc32(b, crc32(a, 0)) == crc32(a || b). */
uint32_t fsr_crc32(uint32_t crc, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* FSPLIT_HASH_H */
