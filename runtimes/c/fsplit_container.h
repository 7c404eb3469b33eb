/*
 * fsplit_container.h - the stream container around a CompressAI-compatible payload: magic,
 * version, table-hash prefix, latent shape (C, H, W), payload length and CRC-32, so a decoder
 * holding other tables refuses the stream. Layout in docs/formats.md.
 */
#ifndef FSPLIT_CONTAINER_H
#define FSPLIT_CONTAINER_H

#include "fsplit_rans.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSR_CONTAINER_MAGIC "FSCL"
#define FSR_CONTAINER_VERSION 1u
#define FSR_CONTAINER_HEADER_SIZE 36u
#define FSR_CONTAINER_HASH_PREFIX 8u
/* Decoders refuse latents with more symbols than this (C * H * W). */
#define FSR_CONTAINER_MAX_SYMBOLS (UINT32_C(1) << 26)

typedef struct {
    uint8_t table_hash[FSR_CONTAINER_HASH_PREFIX]; /* first bytes of the tables' SHA-256 */
    uint32_t channels, height, width;
    uint32_t payload_len;
    uint32_t crc32; /* over header bytes [0, 32) then the payload */
} fsr_container_header;

/* Check magic, version, sizes and CRC; on success *payload points into data. */
int fsr_container_parse(const uint8_t *data, size_t len, fsr_container_header *header,
                        const uint8_t **payload);

/* Fill header->crc32 from the other fields and the payload, and write the 36 header bytes. */
int fsr_container_write_header(fsr_container_header *header, const uint8_t *payload,
                               uint8_t out[FSR_CONTAINER_HEADER_SIZE]);

/* Bytes needed by fsr_latent_encode for a latent of this many symbols (0 on overflow). */
size_t fsr_latent_encode_bound(size_t num_symbols);

/* Encode a C x H x W latent (C-order, index = channel) into a complete container. */
int fsr_latent_encode(const fsr_tables *t, const uint8_t content_hash[32], const int32_t *symbols,
                      uint32_t channels, uint32_t height, uint32_t width, uint8_t *out,
                      size_t out_capacity, size_t *out_len);

/* Decode a container written with these tables; *header receives its shape. */
int fsr_latent_decode(const fsr_tables *t, const uint8_t content_hash[32], const uint8_t *data,
                      size_t len, fsr_container_header *header, int32_t *symbols_out,
                      size_t symbols_capacity);

#ifdef __cplusplus
}
#endif

#endif /* FSPLIT_CONTAINER_H */
