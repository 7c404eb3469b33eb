/*
 * fsplit_tables.h - the codec tables file (.fsct): per-channel CDFs, lengths and offsets with a
 * SHA-256 content hash. Layout in docs/formats.md. All parsing is bounds-checked.
 */
#ifndef FSPLIT_TABLES_H
#define FSPLIT_TABLES_H

#include "fsplit_rans.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSR_TABLES_MAGIC "FSCT"
#define FSR_TABLES_VERSION 1u
#define FSR_TABLES_HEADER_SIZE 16u
#define FSR_TABLES_HASH_SIZE 32u
/* Readers refuse files whose padded table (num_channels * max_length) exceeds this. */
#define FSR_TABLES_MAX_ENTRIES (UINT32_C(1) << 24)
#define FSR_TABLES_MAX_CHANNELS 65536u

typedef struct {
    uint32_t version;
    uint32_t precision;
    uint32_t num_channels;
    uint32_t max_length; /* longest CDF: the row stride of the parsed table */
} fsr_tables_file_info;

/* Read and sanity-check the header; tells how large the arrays for fsr_tables_file_read must be. */
int fsr_tables_file_info_read(const uint8_t *data, size_t len, fsr_tables_file_info *info);

/*
 * Parse a whole file into caller arrays: cdf (num_channels * max_length entries, rows padded with
 * zeros), cdf_length and offset (num_channels entries each). Verifies the content hash and the
 * tables, then fills *view (stride max_length) and content_hash (may be NULL).
 */
int fsr_tables_file_read(const uint8_t *data, size_t len, int32_t *cdf, size_t cdf_capacity,
                         int32_t *cdf_length, int32_t *offset, size_t channels_capacity, fsr_tables *view,
                         uint8_t content_hash[32]);

/* Size in bytes of the file for these tables (0 if they are invalid). */
size_t fsr_tables_file_size(const fsr_tables *t);

/* Write the file; content_hash (may be NULL) receives its SHA-256 content hash. */
int fsr_tables_file_write(const fsr_tables *t, uint8_t *out, size_t out_capacity, size_t *out_len,
                          uint8_t content_hash[32]);

#ifdef __cplusplus
}
#endif

#endif /* FSPLIT_TABLES_H */
