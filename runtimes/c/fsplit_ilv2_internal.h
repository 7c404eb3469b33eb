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
