/*
 * fsplit_interleaved_neon.c - the interleaved coder with NEON (AArch64 Advanced SIMD, always
 * present there): 4 lanes per register, up to 8 registers (32 lanes). NEON has no gather, so the
 * table reads stay per lane; the state arithmetic, the refill rounds (compare, popcount, one byte
 * table lookup per register) and the encoder's byte counts and division (a float estimate
 * corrected to the exact quotient, as in the AVX2 path) are vector code. Byte-identical to the
 * scalar code by construction: groups holding an escape, an out-of-range value or a zero-frequency
 * symbol, and the tail group, go through the scalar group functions.
 */
#include "fsplit_ilv_internal.h"

#if defined(__aarch64__) && defined(__ARM_NEON)

#include <arm_neon.h>
#include <string.h>

#define MIN_SIMD_PRECISION 12u

/* For a 4-bit mask m of lanes taking a byte: byte index (0..3) of the round's bytes that lane k
 * takes, placed in lane k's low byte, 0xFF (gives 0) elsewhere. */
/* clang-format off */
static const uint8_t expand4[16][16] = {
#define L0(m) ((m) & 1 ? 0 : 0xFF)
#define B(m, j) (((m) >> (j)) & 1)
#define RANK(m, k) ((k) == 1 ? B(m, 0) : (k) == 2 ? B(m, 0) + B(m, 1) : B(m, 0) + B(m, 1) + B(m, 2))
#define LN(m, k) ((m) >> (k) & 1 ? RANK(m, k) : 0xFF)
#define ROW(m) {L0(m), 0xFF, 0xFF, 0xFF, LN(m, 1), 0xFF, 0xFF, 0xFF, LN(m, 2), 0xFF, 0xFF, 0xFF, \
                LN(m, 3), 0xFF, 0xFF, 0xFF}
    ROW(0), ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6), ROW(7),
    ROW(8), ROW(9), ROW(10), ROW(11), ROW(12), ROW(13), ROW(14), ROW(15)
#undef ROW
#undef LN
#undef RANK
#undef B
#undef L0
};
/* clang-format on */

static inline unsigned lane_mask(uint32x4_t m)
{
    static const uint32_t bit[4] = {1, 2, 4, 8};
    return vaddvq_u32(vandq_u32(m, vld1q_u32(bit)));
}

int ilv_decode_neon(ilv_decoder *d, const fsr_tables *t, uint32_t lanes, size_t plane_size, size_t n,
                    int32_t *out)
{
    const uint32_t nq = lanes / 4, prec = t->precision;
    const size_t full = n - n % lanes;
    const uint32_t cum_mask = (UINT32_C(1) << prec) - 1;
    const int32x4_t neg_prec = vdupq_n_s32(-(int32_t)prec);
    const uint32x4_t low = vdupq_n_u32(ILV_L);
    uint32x4_t x[8];
    int32_t index[ILV_MAX_LANES], slots[ILV_MAX_LANES];
    size_t i0;
    uint32_t q, k;
    int st;

    if (t->lookup == NULL || prec < FSR_LOOKUP_BITS || plane_size == 0)
        return ilv_decode_scalar(d, t, lanes, plane_size, n, out);
    for (q = 0; q < nq; q++)
        x[q] = vld1q_u32(d->x + 4 * q);
    for (i0 = 0; i0 < full; i0 += lanes) {
        int special = 0, round;
        ilv_planar_index(i0, plane_size, lanes, index);
        for (q = 0; q < nq; q++) {
            uint32_t cum[4], start[4], freq[4];
            uint32x4_t cumv = vandq_u32(x[q], vdupq_n_u32(cum_mask));
            vst1q_u32(cum, cumv);
            for (k = 0; k < 4; k++) { /* no gather on NEON: per-lane table reads */
                int32_t r = index[4 * q + k];
                const int32_t *cdf = t->cdf + (size_t)r * t->cdf_stride;
                const uint16_t *row = t->lookup + (size_t)r * FSR_LOOKUP_STRIDE;
                uint32_t last = (uint32_t)t->cdf_length[r] - 2, bucket = cum[k] >> (prec - FSR_LOOKUP_BITS);
                uint32_t s = row[bucket] < last ? row[bucket] : last;
                uint32_t hi = row[bucket + 1] < last ? row[bucket + 1] : last;
                while (s < hi && (uint32_t)cdf[s + 1] <= cum[k])
                    s++;
                start[k] = (uint32_t)cdf[s];
                freq[k] = (uint32_t)cdf[s + 1] - start[k];
                if (cum[k] < start[k] || cum[k] - start[k] >= freq[k])
                    return FSR_ERR_TABLES; /* a lookup of other tables */
                slots[4 * q + k] = (int32_t)s;
                special |= (s == last) | ((int64_t)s + t->offset[r] > INT32_MAX);
            }
            x[q] = vmlaq_u32(vsubq_u32(cumv, vld1q_u32(start)), vld1q_u32(freq), vshlq_u32(x[q], neg_prec));
        }
        for (round = 0; round < 2; round++) {
            for (q = 0; q < nq; q++) {
                uint32x4_t need = vcltq_u32(x[q], low);
                unsigned m = lane_mask(need);
                if (m != 0) {
                    unsigned cnt = (unsigned)__builtin_popcount(m);
                    uint8_t tmp[16] = {0};
                    uint8x16_t bytes;
                    if ((size_t)(d->end - d->ptr) < cnt)
                        return FSR_ERR_TRUNCATED;
                    memcpy(tmp, d->ptr, cnt);
                    bytes = vqtbl1q_u8(vld1q_u8(tmp), vld1q_u8(expand4[m]));
                    x[q] =
                        vbslq_u32(need, vorrq_u32(vshlq_n_u32(x[q], 8), vreinterpretq_u32_u8(bytes)), x[q]);
                    d->ptr += cnt;
                }
            }
        }
        for (q = 0; q < nq; q++)
            vst1q_u32(d->x + 4 * q, x[q]);
        for (k = 0; k < lanes; k++) { /* the scalar order of the remaining checks */
            int32_t max_value = t->cdf_length[index[k]] - 2;
            int64_t value = slots[k];
            if (special && slots[k] == max_value &&
                (st = ilv_decode_escape(d, k, max_value, &value)) != FSR_OK)
                return st;
            value += t->offset[index[k]];
            if (value < INT32_MIN || value > INT32_MAX)
                return FSR_ERR_CORRUPT;
            out[i0 + k] = (int32_t)value;
        }
        if (special)
            for (q = 0; q < nq; q++)
                x[q] = vld1q_u32(d->x + 4 * q);
    }
    for (q = 0; q < nq; q++)
        vst1q_u32(d->x + 4 * q, x[q]);
    if (full < n) {
        uint32_t m = (uint32_t)(n - full);
        ilv_planar_index(full, plane_size, m, index);
        return ilv_decode_group(d, t, m, index, out + full);
    }
    return FSR_OK;
}

int ilv_encode_neon(ilv_encoder *e, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                    size_t plane_size, size_t n)
{
    const uint32_t nq = lanes / 4, prec = t->precision;
    const size_t full = n - n % lanes;
    const int32x4_t sh1 = vdupq_n_s32(-(int32_t)(32 - prec)), sh2 = vdupq_n_s32(-(int32_t)(40 - prec));
    const int32x4_t sh_prec = vdupq_n_s32((int32_t)prec);
    int32_t index[ILV_MAX_LANES];
    uint32_t start[ILV_MAX_LANES], freq[ILV_MAX_LANES];
    uint32x4_t x[8];
    size_t g;
    uint32_t q, k;
    int st;

    if (prec < MIN_SIMD_PRECISION || plane_size == 0)
        return ilv_encode_scalar(e, t, lanes, symbols, plane_size, n);
    if (full < n) {
        uint32_t m = (uint32_t)(n - full);
        ilv_planar_index(full, plane_size, m, index);
        if ((st = ilv_encode_group(e, t, m, symbols + full, index)) != FSR_OK)
            return st;
    }
    for (q = 0; q < nq; q++)
        x[q] = vld1q_u32(e->x + 4 * q);
    for (g = full / lanes; g-- > 0;) {
        const size_t i0 = g * lanes;
        int special = 0;
        ilv_planar_index(i0, plane_size, lanes, index);
        for (k = 0; k < lanes; k++) {
            int32_t r = index[k];
            int64_t value = (int64_t)symbols[i0 + k] - t->offset[r];
            const int32_t *cdf = t->cdf + (size_t)r * t->cdf_stride;
            if (value < 0 || value >= t->cdf_length[r] - 2) {
                special = 1;
                break;
            }
            start[k] = (uint32_t)cdf[value];
            freq[k] = (uint32_t)(cdf[value + 1] - cdf[value]);
            special |= freq[k] == 0;
        }
        if (special || (size_t)(e->ptr - e->begin) < 2 * (size_t)lanes) {
            for (q = 0; q < nq; q++)
                vst1q_u32(e->x + 4 * q, x[q]);
            if ((st = ilv_encode_group(e, t, lanes, symbols + i0, index)) != FSR_OK)
                return st;
            for (q = 0; q < nq; q++)
                x[q] = vld1q_u32(e->x + 4 * q);
            continue;
        }
        {
            uint32_t xs[ILV_MAX_LANES], c1[ILV_MAX_LANES], c2[ILV_MAX_LANES];
            uint32x4_t m1[8], m2[8];
            for (q = 0; q < nq; q++) {
                uint32x4_t f = vld1q_u32(freq + 4 * q);
                m1[q] = vcgeq_u32(vshlq_u32(x[q], sh1), f);
                m2[q] = vcgeq_u32(vshlq_u32(x[q], sh2), f);
                vst1q_u32(xs + 4 * q, x[q]);
                vst1q_u32(c1 + 4 * q, m1[q]);
                vst1q_u32(c2 + 4 * q, m2[q]);
            }
            for (k = lanes; k-- > 0;) /* round 2 bytes, then round 1 bytes, written downwards */
                if (c2[k])
                    *--e->ptr = (uint8_t)xs[k];
            for (k = lanes; k-- > 0;)
                if (c1[k])
                    *--e->ptr = (uint8_t)(c2[k] ? xs[k] >> 8 : xs[k]);
            for (q = 0; q < nq; q++) {
                uint32x4_t f = vld1q_u32(freq + 4 * q);
                int32x4_t shift = vnegq_s32(vreinterpretq_s32_u32(
                    vaddq_u32(vandq_u32(m1[q], vdupq_n_u32(8)), vandq_u32(m2[q], vdupq_n_u32(8)))));
                uint32x4_t y = vshlq_u32(x[q], shift);
                uint32x4_t qt = vcvtq_u32_f32(vdivq_f32(vcvtq_f32_u32(y), vcvtq_f32_u32(f)));
                int32x4_t rem = vreinterpretq_s32_u32(vsubq_u32(y, vmulq_u32(qt, f)));
                uint32x4_t neg = vcltq_s32(rem, vdupq_n_s32(0)), big;
                qt = vaddq_u32(qt, neg); /* neg is all ones: -1 */
                rem = vaddq_s32(rem, vreinterpretq_s32_u32(vandq_u32(neg, f)));
                big = vcgeq_s32(rem, vreinterpretq_s32_u32(f));
                qt = vsubq_u32(qt, big);
                rem = vsubq_s32(rem, vreinterpretq_s32_u32(vandq_u32(big, f)));
                x[q] = vaddq_u32(vaddq_u32(vshlq_u32(qt, sh_prec), vreinterpretq_u32_s32(rem)),
                                 vld1q_u32(start + 4 * q));
            }
        }
    }
    for (q = 0; q < nq; q++)
        vst1q_u32(e->x + 4 * q, x[q]);
    return FSR_OK;
}

#endif
