/*
 * fsplit_interleaved2.h - the interleaved rANS payload, version 2 (docs/formats.md, section 5): N
 * lanes of 32-bit states in [2^16, 2^32) with 16-bit renormalisation words, over the tables
 * requantized to 14 bits. One refill round per group, and per channel a 1024-bucket slot lookup
 * (2 KiB), a packed start/frequency row and a window of its 16 most probable consecutive slots, all
 * built once per tables (fsr_ilv2_tables_build), so the SIMD coders need no search, and the AVX2
 * coder no gather for 8 symbols inside the window.
 *
 * Scalar C99, AVX2 (x86_64) and NEON (aarch64) write identical bytes. No global
 * state, no allocation (the caller gives the derived tables' memory), safe on untrusted input.
 */
#ifndef FSPLIT_INTERLEAVED2_H
#define FSPLIT_INTERLEAVED2_H

#include "fsplit_interleaved.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSR_ILV2_PRECISION 14u                 /* coding precision of version 2 */
#define FSR_ILV2_STATE_LOW (UINT32_C(1) << 16) /* lane states stay in [2^16, 2^32) */
#define FSR_ILV2_BUCKET_BITS 10u               /* slot lookup: 1024 buckets of 16 cum values */
#define FSR_ILV2_WINDOW 16u                    /* slots per row the AVX2 coder looks up in registers */
#define FSR_ILV2_WINDOW_WORDS 36u              /* int32 per row of fsr_ilv2_tables.window */
#define FSR_ILV2_BUCKET_STRIDE ((1u << FSR_ILV2_BUCKET_BITS) + 2u) /* uint16 entries per row (padded) */

/* The derived tables version 2 codes with (a view into the caller's memory). */
typedef struct {
    uint32_t num_rows;
    uint32_t sym_stride;      /* entries per row of sym: max cdf_length - 1 */
    const uint32_t *sym;      /* per row and slot: start | freq << 16 (14-bit CDF) */
    const uint16_t *bucket;   /* per row: the slot of cum = 16 b, for b < 1024 */
    const int32_t *offset;    /* per row */
    const int32_t *max_value; /* per row: cdf_length - 2 (the escape slot) */
    const int32_t *window;    /* per row, FSR_ILV2_WINDOW_WORDS words: the window of FSR_ILV2_WINDOW
                               * consecutive slots w0 .. w0+15 of the most probability (a speed hint: the
                               * AVX2 coder looks them up in registers): [0, 16) their packed entries (past
                               * the row: start 2^14, freq 0); [16, 31) start of slot w0+j minus 1, j = 1..15;
                               * [31] the window's end (start of slot w0+16, or 2^14); [32] start of slot w0
                               * minus 1; [33] w0; [34, 36) zero */
} fsr_ilv2_tables;

/* Bytes of memory fsr_ilv2_tables_build needs for t (0 if t is invalid or too large). */
size_t fsr_ilv2_tables_size(const fsr_tables *t);

/* Requantize t to 14 bits (the normative rule of docs/formats.md section 5) into mem (at least
 * fsr_ilv2_tables_size(t) bytes, 4-byte aligned) and fill *out. FSR_ERR_TABLES if a row has more
 * than 2^14 coded slots. */
int fsr_ilv2_tables_build(const fsr_tables *t, void *mem, size_t mem_size, fsr_ilv2_tables *out);

/* A view of derived tables built earlier into mem by fsr_ilv2_tables_build (same num_rows and
 * sym_stride); the memory is trusted: only pass what fsr_ilv2_tables_build wrote. */
int fsr_ilv2_tables_attach(const void *mem, size_t mem_size, uint32_t num_rows, uint32_t sym_stride,
                           fsr_ilv2_tables *out);

/* The 14-bit CDF of row r (cdf_length entries) into cdf14 (for tests and other implementations). */
int fsr_ilv2_row_cdf(const fsr_ilv2_tables *q, uint32_t r, int32_t *cdf14, size_t capacity);

/* Upper bound in bytes of a version 2 payload of n symbols (0 on overflow or bad lanes). */
size_t fsr_ilv2_encode_bound(size_t n, uint32_t lanes);

/* Encode / decode num_planes planes of plane_size symbols (C order; plane p uses row p). */
int fsr_ilv2_encode_planar_with(int impl, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                                uint32_t num_planes, size_t plane_size, uint8_t *out, size_t out_capacity,
                                size_t *out_len);
int fsr_ilv2_decode_planar_with(int impl, const fsr_ilv2_tables *q, uint32_t lanes, uint32_t num_planes,
                                size_t plane_size, const uint8_t *data, size_t data_len,
                                int32_t *symbols_out);

#ifdef __cplusplus
}
#endif

#endif /* FSPLIT_INTERLEAVED2_H */
