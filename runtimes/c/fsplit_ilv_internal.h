/*
 * fsplit_ilv_internal.h - pieces of the interleaved coder shared by its scalar, AVX2 and NEON
 * implementations (not installed, not part of the API). The scalar group functions define the
 * byte order (docs/formats.md, section 4); a SIMD path computes the same thing for whole groups
 * and hands a group to these functions whenever it holds anything unusual (an escape, a tail, a
 * zero-frequency symbol), so every path writes and reads the very same bytes.
 */
#ifndef FSPLIT_ILV_INTERNAL_H
#define FSPLIT_ILV_INTERNAL_H

#include "fsplit_interleaved.h"

#define ILV_L FSR_ILV_STATE_LOW
#define ILV_MAX_LANES 32u
#define ILV_NIBBLE_BITS 4u
#define ILV_ESCAPE_MAX_NIBBLES 8u

typedef struct {
    uint32_t x[ILV_MAX_LANES];
    uint8_t *ptr;         /* bytes are written downwards from the end of the buffer */
    const uint8_t *begin; /* start of the caller's buffer */
} ilv_encoder;

typedef struct {
    uint32_t x[ILV_MAX_LANES];
    const uint8_t *ptr, *end;
} ilv_decoder;

/* Symbols [i0, i0 + m) of a planar latent, m <= lanes: symbol i0 + k is lane k, row index[k]. */
int ilv_encode_group(ilv_encoder *e, const fsr_tables *t, uint32_t m, const int32_t *symbols,
                     const int32_t *index);
int ilv_decode_group(ilv_decoder *d, const fsr_tables *t, uint32_t m, const int32_t *index, int32_t *out);

/* After the vector main steps and both refill rounds of a group: the escape payload of lane k,
 * whose slot was the escape slot max_value; *value receives symbol - offset. */
int ilv_decode_escape(ilv_decoder *d, uint32_t k, int32_t max_value, int64_t *value);

/* Rows of the m symbols starting at i in a planar latent of planes of plane_size symbols. */
static inline void ilv_planar_index(size_t i, size_t plane_size, uint32_t m, int32_t *index)
{
    uint32_t k;
    size_t p = i / plane_size, pos = i % plane_size;
    for (k = 0; k < m; k++) {
        index[k] = (int32_t)p;
        if (++pos == plane_size) {
            pos = 0;
            p++;
        }
    }
}

/* Whole-stream drivers: groups [0, n) of a planar latent (the encoder goes backwards). */
int ilv_encode_scalar(ilv_encoder *e, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                      size_t plane_size, size_t n);
int ilv_decode_scalar(ilv_decoder *d, const fsr_tables *t, uint32_t lanes, size_t plane_size, size_t n,
                      int32_t *out);

/* Whole-stream drivers of the SIMD paths (FSR_ERR_ARGUMENT where not compiled in). */
int ilv_encode_avx2(ilv_encoder *e, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                    size_t plane_size, size_t n);
int ilv_decode_avx2(ilv_decoder *d, const fsr_tables *t, uint32_t lanes, size_t plane_size, size_t n,
                    int32_t *out);
int ilv_encode_neon(ilv_encoder *e, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                    size_t plane_size, size_t n);
int ilv_decode_neon(ilv_decoder *d, const fsr_tables *t, uint32_t lanes, size_t plane_size, size_t n,
                    int32_t *out);
int ilv_avx2_available(void);

#endif /* FSPLIT_ILV_INTERNAL_H */
