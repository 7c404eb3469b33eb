/*
 * fsplit_interleaved2_avx2.c - the version 2 interleaved coder with AVX2 (x86_64): 8 lanes per
 * register, up to 4 registers (32 lanes). Byte-identical to the scalar code by construction: a
 * group with an escape, an out-of-range value or a zero-frequency symbol, and the tail group, go to
 * the scalar group functions.
 *
 * Decode per 8 lanes: one gather of the bucket's first slot, one gather of its packed start|freq
 * (a masked re-gather for the rare lane whose bucket holds a slot boundary), one multiply, and one
 * refill round: a compare, a popcount, one 16-byte load and a lane permutation of 16-bit words.
 * Encode per 8 lanes: one gather of start|freq, one compare for the renormalisation, the words
 * compressed to the write position, and x / freq as a float division corrected to the exact
 * quotient (the quotient is below 2^18, the float error below 1).
 */
#include "fsplit_ilv2_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include "fsplit_ilv_tables.h"

#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,popcnt")))
#define P2 FSR_ILV2_PRECISION

static int gather_safe2(const fsr_ilv2_tables *q)
{
    return (uint64_t)q->num_rows * ((uint64_t)q->sym_stride + 1) < (UINT64_C(1) << 30) &&
           (uint64_t)q->num_rows * FSR_ILV2_BUCKET_STRIDE < (UINT64_C(1) << 30);
}

typedef struct {
    size_t plane, pos, plane_size;
} walk2;

/* Rows of the next 8 symbols; *uniform when they are one row. */
AVX2 static inline __m256i rows8(walk2 *w, int *uniform)
{
    __m256i r;
    if (w->pos + 8 <= w->plane_size) {
        r = _mm256_set1_epi32((int32_t)w->plane);
        *uniform = 1;
    } else {
        int32_t idx[8];
        ilv_planar_index(w->plane * w->plane_size + w->pos, w->plane_size, 8, idx);
        r = _mm256_loadu_si256((const __m256i *)idx);
        *uniform = 0;
    }
    w->pos += 8;
    while (w->pos >= w->plane_size) {
        w->pos -= w->plane_size;
        w->plane++;
    }
    return r;
}

AVX2 static inline __m256i per_row(const int32_t *values, __m256i rows, int uniform)
{
    if (uniform)
        return _mm256_set1_epi32(values[_mm256_cvtsi256_si32(rows)]);
    return _mm256_i32gather_epi32((const int *)values, rows, 4);
}

AVX2 static inline int mbits(__m256i m)
{
    return _mm256_movemask_ps(_mm256_castsi256_ps(m));
}

/* ---------------------------------------------------------------- decoder */

AVX2 int ilv2_decode_avx2(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t lanes, size_t plane_size,
                          size_t n, int32_t *out)
{
    const uint32_t nb = lanes / 8;
    const size_t full = n - n % lanes;
    const __m256i cum_mask = _mm256_set1_epi32((1 << P2) - 1), low16 = _mm256_set1_epi32(0xFFFF);
    const __m256i sstride = _mm256_set1_epi32((int32_t)q->sym_stride);
    const __m256i bstride = _mm256_set1_epi32((int32_t)FSR_ILV2_BUCKET_STRIDE);
    const __m256i one = _mm256_set1_epi32(1);
    const int *sym = (const int *)q->sym;
    const int *bucket = (const int *)(const void *)q->bucket;
    __m256i x[4], slot[4];
    int32_t index[ILV_MAX_LANES];
    walk2 w;
    size_t i0;
    uint32_t b, k;
    int st;

    if (!gather_safe2(q) || plane_size == 0)
        return ilv2_decode_scalar(d, q, lanes, plane_size, n, out);
    w.plane = 0;
    w.pos = 0;
    w.plane_size = plane_size;
    for (b = 0; b < nb; b++)
        x[b] = _mm256_loadu_si256((const __m256i *)(d->x + 8 * b));

    for (i0 = 0; i0 < full; i0 += lanes) {
        int special = 0;
        for (b = 0; b < nb; b++) {
            int uniform;
            __m256i r = rows8(&w, &uniform);
            __m256i cum = _mm256_and_si256(x[b], cum_mask);
            __m256i bi = _mm256_add_epi32(_mm256_mullo_epi32(r, bstride),
                                          _mm256_srli_epi32(cum, P2 - FSR_ILV2_BUCKET_BITS));
            __m256i s = _mm256_and_si256(_mm256_i32gather_epi32(bucket, bi, 2), low16);
            __m256i base = _mm256_mullo_epi32(r, sstride);
            __m256i e = _mm256_i32gather_epi32(sym, _mm256_add_epi32(base, s), 4);
            __m256i start = _mm256_and_si256(e, low16), freq = _mm256_srli_epi32(e, 16);
            __m256i bias = _mm256_sub_epi32(cum, start);
            __m256i past = _mm256_cmpgt_epi32(_mm256_add_epi32(bias, one), freq); /* bias >= freq */
            __m256i max_value, off, v;
            while (mbits(past)) { /* bucket with a slot boundary below cum: step up */
                s = _mm256_sub_epi32(s, past);
                e = _mm256_mask_i32gather_epi32(e, sym, _mm256_add_epi32(base, s), past, 4);
                start = _mm256_and_si256(e, low16);
                freq = _mm256_srli_epi32(e, 16);
                bias = _mm256_sub_epi32(cum, start);
                past = _mm256_cmpgt_epi32(_mm256_add_epi32(bias, one), freq);
            }
            x[b] = _mm256_add_epi32(_mm256_mullo_epi32(freq, _mm256_srli_epi32(x[b], P2)), bias);
            max_value = per_row(q->max_value, r, uniform);
            off = per_row(q->offset, r, uniform);
            v = _mm256_add_epi32(s, off);
            special |= mbits(_mm256_or_si256(_mm256_cmpeq_epi32(s, max_value), _mm256_cmpgt_epi32(off, v)));
            _mm256_storeu_si256((__m256i *)(out + i0 + 8 * b), v);
            slot[b] = s;
        }
        for (b = 0; b < nb; b++) { /* the refill round: one 16-bit word per lane below 2^16 */
            __m256i need = _mm256_cmpeq_epi32(_mm256_srli_epi32(x[b], 16), _mm256_setzero_si256());
            int m = mbits(need);
            if (m != 0) {
                unsigned cnt = (unsigned)__builtin_popcount((unsigned)m);
                __m128i raw;
                __m256i words, perm;
                if ((size_t)(d->end - d->ptr) < 2 * cnt)
                    return FSR_ERR_TRUNCATED;
                if (d->end - d->ptr >= 16) {
                    raw = _mm_loadu_si128((const __m128i *)d->ptr);
                } else {
                    uint8_t tmp[16] = {0};
                    memcpy(tmp, d->ptr, (size_t)(d->end - d->ptr));
                    raw = _mm_loadu_si128((const __m128i *)tmp);
                }
                perm = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)ilv_expand8[m]));
                words = _mm256_permutevar8x32_epi32(_mm256_cvtepu16_epi32(raw), perm);
                x[b] = _mm256_blendv_epi8(x[b], _mm256_or_si256(_mm256_slli_epi32(x[b], 16), words), need);
                d->ptr += 2 * cnt;
            }
        }
        if (special) { /* escapes or out-of-range values: the scalar order of checks */
            int32_t slots[ILV_MAX_LANES];
            for (b = 0; b < nb; b++) {
                _mm256_storeu_si256((__m256i *)(d->x + 8 * b), x[b]);
                _mm256_storeu_si256((__m256i *)(slots + 8 * b), slot[b]);
            }
            ilv_planar_index(i0, plane_size, lanes, index);
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
            for (b = 0; b < nb; b++)
                x[b] = _mm256_loadu_si256((const __m256i *)(d->x + 8 * b));
        }
    }
    for (b = 0; b < nb; b++)
        _mm256_storeu_si256((__m256i *)(d->x + 8 * b), x[b]);
    if (full < n) {
        uint32_t m = (uint32_t)(n - full);
        ilv_planar_index(full, plane_size, m, index);
        return ilv2_decode_group(d, q, m, index, out + full);
    }
    return FSR_OK;
}

/* ---------------------------------------------------------------- encoder */

/* Write the low 16 bits of the lanes in mask m (ascending lane order) just below e->ptr; the caller
 * made sure 16 bytes below e->ptr are inside the buffer. */
AVX2 static inline void put_words(ilv_encoder *e, __m256i v, int m)
{
    const __m256i pick = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 4,
                                          5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
    __m256i perm = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)ilv_compress8[m]));
    __m256i packed = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(v, perm), pick);
    __m128i words = _mm_unpacklo_epi64(_mm256_castsi256_si128(packed), _mm256_extracti128_si256(packed, 1));
    _mm_storeu_si128((__m128i *)(e->ptr - 16), words);
    e->ptr -= 2 * __builtin_popcount((unsigned)m);
}

AVX2 int ilv2_encode_avx2(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                          size_t plane_size, size_t n)
{
    const uint32_t nb = lanes / 8;
    const size_t full = n - n % lanes;
    const __m256i sstride = _mm256_set1_epi32((int32_t)q->sym_stride), low16 = _mm256_set1_epi32(0xFFFF);
    const __m256i one = _mm256_set1_epi32(1), ones = _mm256_set1_epi32(-1);
    const __m256i sign = _mm256_set1_epi32(INT32_MIN);
    const __m256 two31 = _mm256_set1_ps(2147483648.0f);
    const int *sym = (const int *)q->sym;
    int32_t index[ILV_MAX_LANES];
    __m256i x[4], start[4], freq[4];
    size_t g;
    uint32_t b;
    int st;

    if (!gather_safe2(q) || plane_size == 0)
        return ilv2_encode_scalar(e, q, lanes, symbols, plane_size, n);
    if (full < n) {
        uint32_t m = (uint32_t)(n - full);
        ilv_planar_index(full, plane_size, m, index);
        if ((st = ilv2_encode_group(e, q, m, symbols + full, index)) != FSR_OK)
            return st;
    }
    for (b = 0; b < nb; b++)
        x[b] = _mm256_loadu_si256((const __m256i *)(e->x + 8 * b));

    for (g = full / lanes; g-- > 0;) {
        const size_t i0 = g * lanes;
        walk2 w;
        int special = 0;
        w.plane = i0 / plane_size;
        w.pos = i0 % plane_size;
        w.plane_size = plane_size;
        for (b = 0; b < nb; b++) {
            int uniform;
            __m256i r = rows8(&w, &uniform);
            __m256i s = _mm256_loadu_si256((const __m256i *)(symbols + i0 + 8 * b));
            __m256i off = per_row(q->offset, r, uniform);
            __m256i max_value = per_row(q->max_value, r, uniform);
            __m256i value = _mm256_sub_epi32(s, off);
            __m256i wrapped =
                _mm256_srai_epi32(_mm256_and_si256(_mm256_xor_si256(s, off), _mm256_xor_si256(s, value)), 31);
            __m256i plain =
                _mm256_andnot_si256(wrapped, _mm256_and_si256(_mm256_cmpgt_epi32(value, ones),
                                                              _mm256_cmpgt_epi32(max_value, value)));
            __m256i at = _mm256_add_epi32(_mm256_mullo_epi32(r, sstride), value);
            __m256i ent = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), sym, at, plain, 4);
            start[b] = _mm256_and_si256(ent, low16);
            freq[b] = _mm256_srli_epi32(ent, 16);
            special |= mbits(_mm256_or_si256(_mm256_xor_si256(plain, ones),
                                             _mm256_cmpeq_epi32(freq[b], _mm256_setzero_si256())));
        }
        if (special || (size_t)(e->ptr - e->begin) < 2 * (size_t)lanes + 16) {
            for (b = 0; b < nb; b++)
                _mm256_storeu_si256((__m256i *)(e->x + 8 * b), x[b]);
            ilv_planar_index(i0, plane_size, lanes, index);
            if ((st = ilv2_encode_group(e, q, lanes, symbols + i0, index)) != FSR_OK)
                return st;
            for (b = 0; b < nb; b++)
                x[b] = _mm256_loadu_si256((const __m256i *)(e->x + 8 * b));
            continue;
        }
        {
            __m256i c[4];
            for (b = 0; b < nb; b++) /* a word out if x >> (32 - 14) >= freq */
                c[b] = _mm256_xor_si256(_mm256_cmpgt_epi32(freq[b], _mm256_srli_epi32(x[b], 32 - P2)), ones);
            for (b = nb; b-- > 0;) {
                int m = mbits(c[b]);
                if (m)
                    put_words(e, x[b], m);
            }
            for (b = 0; b < nb; b++) {
                __m256i y = _mm256_blendv_epi8(x[b], _mm256_srli_epi32(x[b], 16), c[b]);
                __m256 yf =
                    _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_andnot_si256(sign, y)),
                                  _mm256_and_ps(_mm256_castsi256_ps(_mm256_srai_epi32(y, 31)), two31));
                __m256i qv = _mm256_cvttps_epi32(_mm256_div_ps(yf, _mm256_cvtepi32_ps(freq[b])));
                __m256i rem = _mm256_sub_epi32(y, _mm256_mullo_epi32(qv, freq[b]));
                __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), rem);
                __m256i big;
                qv = _mm256_add_epi32(qv, neg);
                rem = _mm256_add_epi32(rem, _mm256_and_si256(neg, freq[b]));
                big = _mm256_cmpgt_epi32(rem, _mm256_sub_epi32(freq[b], one));
                qv = _mm256_sub_epi32(qv, big);
                rem = _mm256_sub_epi32(rem, _mm256_and_si256(big, freq[b]));
                x[b] = _mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(qv, P2), rem), start[b]);
            }
        }
    }
    for (b = 0; b < nb; b++)
        _mm256_storeu_si256((__m256i *)(e->x + 8 * b), x[b]);
    return FSR_OK;
}

#endif
