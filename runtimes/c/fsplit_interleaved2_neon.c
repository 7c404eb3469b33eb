/*
 * fsplit_interleaved2_neon.c - the version 2 interleaved coder with NEON (AArch64 Advanced SIMD): 4
 * lanes per register, up to 8 registers (32 lanes). NEON has no gather, so the slot lookups and the
 * start|freq reads stay per lane; the state arithmetic (the decoder's multiply, the encoder's
 * renormalisation test and its division: a float estimate corrected to the exact quotient, as in the
 * AVX2 path) and the decoder's refill round (a compare, a lane mask and one byte table lookup per
 * register that places the next 16-bit words in the lanes taking one) are vector code. Byte-identical
 * to the scalar code by construction: a group with an escape, an out-of-range value or a
 * zero-frequency symbol, and the tail group, go through the scalar group functions.
 */
#include "fsplit_ilv2_internal.h"

#if defined(__aarch64__) && defined(__ARM_NEON)

#include <arm_neon.h>
#include <string.h>

#define P2 FSR_ILV2_PRECISION

/* For a 4-bit mask m of lanes taking a word: the two bytes (0..7) of word rank(k) in lane k's low
 * half, 0xFF (gives 0) elsewhere. */
/* clang-format off */
static const uint8_t expand_words4[16][16] = {
#define B(m, j) (((m) >> (j)) & 1)
#define RANK(m, k) ((k) == 0 ? 0 : (k) == 1 ? B(m, 0) : (k) == 2 ? B(m, 0) + B(m, 1) \
                    : B(m, 0) + B(m, 1) + B(m, 2))
#define LO(m, k) ((m) >> (k) & 1 ? 2 * RANK(m, k) : 0xFF)
#define HI(m, k) ((m) >> (k) & 1 ? 2 * RANK(m, k) + 1 : 0xFF)
#define ROW(m) {LO(m, 0), HI(m, 0), 0xFF, 0xFF, LO(m, 1), HI(m, 1), 0xFF, 0xFF, \
                LO(m, 2), HI(m, 2), 0xFF, 0xFF, LO(m, 3), HI(m, 3), 0xFF, 0xFF}
    ROW(0), ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6), ROW(7),
    ROW(8), ROW(9), ROW(10), ROW(11), ROW(12), ROW(13), ROW(14), ROW(15)
#undef ROW
#undef HI
#undef LO
#undef RANK
#undef B
};
/* clang-format on */

static inline unsigned lane_mask(uint32x4_t m)
{
    static const uint32_t bit[4] = {1, 2, 4, 8};
    return vaddvq_u32(vandq_u32(m, vld1q_u32(bit)));
}

/* ---------------------------------------------------------------- decoder */

int ilv2_decode_neon(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t lanes, size_t plane_size, size_t n,
                     int32_t *out)
{
    const uint32_t nq = lanes / 4;
    const size_t full = n - n % lanes;
    const uint32x4_t cum_mask = vdupq_n_u32((1u << P2) - 1);
    uint32x4_t x[8];
    int32_t index[ILV_MAX_LANES], slots[ILV_MAX_LANES];
    size_t i0;
    uint32_t b, k;
    int st;

    if (plane_size == 0)
        return ilv2_decode_scalar(d, q, lanes, plane_size, n, out);
    for (b = 0; b < nq; b++)
        x[b] = vld1q_u32(d->x + 4 * b);
    for (i0 = 0; i0 < full; i0 += lanes) {
        int special = 0;
        ilv_planar_index(i0, plane_size, lanes, index);
        for (b = 0; b < nq; b++) {
            uint32_t cum[4], start[4], freq[4];
            vst1q_u32(cum, vandq_u32(x[b], cum_mask));
            for (k = 0; k < 4; k++) { /* no gather on NEON: per-lane table reads */
                const uint32_t r = (uint32_t)index[4 * b + k];
                const uint32_t *row = q->sym + (size_t)r * q->sym_stride;
                uint32_t s =
                    q->bucket[(size_t)r * FSR_ILV2_BUCKET_STRIDE + (cum[k] >> (P2 - FSR_ILV2_BUCKET_BITS))];
                while (cum[k] - (row[s] & 0xFFFFu) >= (row[s] >> 16))
                    s++;
                start[k] = row[s] & 0xFFFFu;
                freq[k] = row[s] >> 16;
                slots[4 * b + k] = (int32_t)s;
                {
                    const int32_t off = q->offset[r], v = (int32_t)((uint32_t)s + (uint32_t)off);
                    special |= (int32_t)s == q->max_value[r] || off > v;
                    out[i0 + 4 * b + k] = v;
                }
            }
            /* x = freq * (x >> 14) + cum - start */
            x[b] = vmlaq_u32(vsubq_u32(vld1q_u32(cum), vld1q_u32(start)), vld1q_u32(freq),
                             vshrq_n_u32(x[b], P2));
        }
        for (b = 0; b < nq; b++) { /* the refill round: one 16-bit word per lane below 2^16 */
            uint32x4_t need = vcltq_u32(x[b], vdupq_n_u32(FSR_ILV2_STATE_LOW));
            unsigned m = lane_mask(need);
            if (m != 0) {
                unsigned cnt = (unsigned)__builtin_popcount(m);
                uint8x16_t raw;
                uint32x4_t words;
                if ((size_t)(d->end - d->ptr) < 2 * cnt)
                    return FSR_ERR_TRUNCATED;
                if (d->end - d->ptr >= 16) {
                    raw = vld1q_u8(d->ptr);
                } else {
                    uint8_t tmp[16] = {0};
                    memcpy(tmp, d->ptr, (size_t)(d->end - d->ptr));
                    raw = vld1q_u8(tmp);
                }
                words = vreinterpretq_u32_u8(vqtbl1q_u8(raw, vld1q_u8(expand_words4[m])));
                x[b] = vbslq_u32(need, vorrq_u32(vshlq_n_u32(x[b], 16), words), x[b]);
                d->ptr += 2 * cnt;
            }
        }
        if (special) { /* escapes or out-of-range values: the scalar order of checks */
            for (b = 0; b < nq; b++)
                vst1q_u32(d->x + 4 * b, x[b]);
            for (k = 0; k < lanes; k++) {
                int32_t max_value = q->max_value[index[k]];
                int64_t value = slots[k];
                if (slots[k] == max_value && (st = ilv2_decode_escape(d, k, max_value, &value)) != FSR_OK)
                    return st;
                value += q->offset[index[k]];
                if (value < INT32_MIN || value > INT32_MAX)
                    return FSR_ERR_CORRUPT;
                out[i0 + k] = (int32_t)value;
            }
            for (b = 0; b < nq; b++)
                x[b] = vld1q_u32(d->x + 4 * b);
        }
    }
    for (b = 0; b < nq; b++)
        vst1q_u32(d->x + 4 * b, x[b]);
    if (full < n) {
        uint32_t m = (uint32_t)(n - full);
        ilv_planar_index(full, plane_size, m, index);
        return ilv2_decode_group(d, q, m, index, out + full);
    }
    return FSR_OK;
}

/* ---------------------------------------------------------------- encoder */

int ilv2_encode_neon(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                     size_t plane_size, size_t n)
{
    const uint32_t nq = lanes / 4;
    const size_t full = n - n % lanes;
    int32_t index[ILV_MAX_LANES];
    uint32_t start[ILV_MAX_LANES], freq[ILV_MAX_LANES];
    size_t g;
    uint32_t b, k;
    int st;

    if (plane_size == 0)
        return ilv2_encode_scalar(e, q, lanes, symbols, plane_size, n);
    if (full < n) {
        uint32_t m = (uint32_t)(n - full);
        ilv_planar_index(full, plane_size, m, index);
        if ((st = ilv2_encode_group(e, q, m, symbols + full, index)) != FSR_OK)
            return st;
    }
    for (g = full / lanes; g-- > 0;) {
        const size_t i0 = g * lanes;
        int special = 0;
        ilv_planar_index(i0, plane_size, lanes, index);
        for (k = 0; k < lanes; k++) {
            const uint32_t r = (uint32_t)index[k];
            const int64_t value = (int64_t)symbols[i0 + k] - q->offset[r];
            if (value >= 0 && value < q->max_value[r]) {
                const uint32_t ent = q->sym[(size_t)r * q->sym_stride + (size_t)value];
                start[k] = ent & 0xFFFFu;
                freq[k] = ent >> 16;
                special |= freq[k] == 0;
            } else {
                special = 1;
            }
        }
        if (special || (size_t)(e->ptr - e->begin) < 2 * (size_t)lanes + 16) {
            if ((st = ilv2_encode_group(e, q, lanes, symbols + i0, index)) != FSR_OK)
                return st;
            continue;
        }
        for (k = lanes; k-- > 0;) { /* the renormalisation words, lanes m-1 .. 0 (prepended) */
            if ((e->x[k] >> (32 - P2)) >= freq[k]) {
                e->ptr -= 2;
                e->ptr[0] = (uint8_t)e->x[k];
                e->ptr[1] = (uint8_t)(e->x[k] >> 8);
                e->x[k] >>= 16;
            }
        }
        for (b = 0; b < nq; b++) { /* x = (x / freq) * 2^14 + x mod freq + start */
            uint32x4_t y = vld1q_u32(e->x + 4 * b), f = vld1q_u32(freq + 4 * b);
            uint32x4_t qt = vcvtq_u32_f32(vdivq_f32(vcvtq_f32_u32(y), vcvtq_f32_u32(f)));
            int32x4_t rem = vreinterpretq_s32_u32(vmlsq_u32(y, qt, f));
            uint32x4_t neg = vcltq_s32(rem, vdupq_n_s32(0)), big;
            qt = vaddq_u32(qt, neg); /* neg is all ones: q - 1 */
            rem = vaddq_s32(rem, vreinterpretq_s32_u32(vandq_u32(neg, f)));
            big = vcgeq_s32(rem, vreinterpretq_s32_u32(f));
            qt = vsubq_u32(qt, big); /* big is all ones: q + 1 */
            rem = vsubq_s32(rem, vreinterpretq_s32_u32(vandq_u32(big, f)));
            vst1q_u32(e->x + 4 * b, vaddq_u32(vaddq_u32(vshlq_n_u32(qt, P2), vreinterpretq_u32_s32(rem)),
                                              vld1q_u32(start + 4 * b)));
        }
    }
    return FSR_OK;
}

#else

int ilv2_encode_neon(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                     size_t plane_size, size_t n)
{
    return ilv2_encode_scalar(e, q, lanes, symbols, plane_size, n);
}

int ilv2_decode_neon(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t lanes, size_t plane_size, size_t n,
                     int32_t *out)
{
    return ilv2_decode_scalar(d, q, lanes, plane_size, n, out);
}

#endif
