/*
 * fsplit_ilv2_internal.h - pieces of the version 2 interleaved coder shared by its scalar, AVX2 and
 * NEON code (not installed). The scalar group functions define the byte order (docs/formats.md,
 * section 5); the AVX2 path hands every unusual group (an escape, a tail, an out-of-range value)
 * to them.
 */
#ifndef FSPLIT_ILV2_INTERNAL_H
#define FSPLIT_ILV2_INTERNAL_H

#include "fsplit_ilv_internal.h"
#include "fsplit_interleaved2.h"

/* The tail (docs/formats.md section 5): its length is one 16-bit word below 2^15, else two, so a payload
 * holds fewer than 2^31 symbols; after the words parked in lanes 1 .. N-1 the tail reads at most 9 more
 * (one symbol's main word, escape count and 8 nibbles, less the one that reached N-1). */
#define ILV2_MAX_SYMBOLS ((size_t)1 << 31)
#define ILV2_TAIL_ONE_WORD ((size_t)1 << 15)
#define ILV2_MAX_TAIL_WORDS_LEFT 9u

int ilv2_encode_group(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t m, const int32_t *symbols,
                      const int32_t *index);
int ilv2_decode_group(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t m, const int32_t *index,
                      int32_t *out);
int ilv2_decode_escape(ilv_decoder *d, uint32_t k, int32_t max_value, int64_t *value);
int ilv2_encode_scalar(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                       size_t plane_size, size_t n);
int ilv2_decode_scalar(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t lanes, size_t plane_size, size_t n,
                       int32_t *out);
int ilv2_encode_avx2(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                     size_t plane_size, size_t n);
int ilv2_decode_avx2(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t lanes, size_t plane_size, size_t n,
                     int32_t *out);
int ilv2_encode_neon(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                     size_t plane_size, size_t n);
int ilv2_decode_neon(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t lanes, size_t plane_size, size_t n,
                     int32_t *out);

#endif /* FSPLIT_ILV2_INTERNAL_H */
