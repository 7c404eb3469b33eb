/*
 * fsplit_interleaved_avx2.c - the interleaved coder with AVX2 (x86_64): 8 lanes per register, up
 * to 4 registers (32 lanes) in flight. Compiled for every x86_64 build with per-function target
 * attributes, used only when the CPU reports AVX2 (fsr_ilv_impl_available). Byte-identical to the
 * scalar code by construction: a group holding anything unusual (an escape, an out-of-range value,
 * a zero-frequency symbol, a nearly full output buffer) is handed to the scalar group functions,
 * and the tail group (n not a multiple of the lanes) always is.
 *
 * Decode per 8 lanes: the lookup gives the slot bounds of cum's bucket (one gather, clamped to the
 * row), the rare multi-slot bucket is resolved by a short masked-gather loop, two gathers give
 * start and the next CDF entry (which also verify the slot: start <= cum < next), one multiply
 * updates the states; each refill round is a compare, a popcount,
 * one 8-byte load and a lane permutation (fsplit_ilv_tables.h).
 * Encode per 8 lanes: gathers of start/freq, the byte counts from two shifted compares, the bytes
 * compressed to the write position, and x / freq as a float division corrected to the exact
 * quotient (|error| < 1 for precision >= 12, checked and fixed with one multiply).
 */
#include "fsplit_ilv_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include "fsplit_ilv_tables.h"

#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,popcnt")))
#define MIN_SIMD_PRECISION 12u

int ilv_avx2_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
}

/* Whether the tables' offsets fit the 32-bit gather indexes. */
static int gather_safe(const fsr_tables *t)
{
    return (uint64_t)t->num_cdfs * (t->cdf_stride + 1) < (UINT64_C(1) << 30) &&
           (uint64_t)t->num_cdfs * FSR_LOOKUP_STRIDE < (UINT64_C(1) << 30);
}

/* Row indexes of the 8 symbols from i (planar latent), and whether they are all the same row. */
typedef struct {
    size_t plane, pos; /* of the next symbol */
    size_t plane_size;
} plane_walk;

AVX2 static inline __m256i next_rows(plane_walk *w, int *uniform)
{
    __m256i r;
    if (w->pos + 8 <= w->plane_size) {
        r = _mm256_set1_epi32((int32_t)w->plane);
        *uniform = 1;
        w->pos += 8;
    } else {
        int32_t idx[8];
        ilv_planar_index(w->plane * w->plane_size + w->pos, w->plane_size, 8, idx);
        r = _mm256_loadu_si256((const __m256i *)idx);
        *uniform = 0;
        w->pos += 8;
    }
    while (w->pos >= w->plane_size && w->plane_size > 0) {
        w->pos -= w->plane_size;
        w->plane++;
    }
    return r;
}

/* Per-row int32 values (offset, cdf_length) for the 8 lanes. */
AVX2 static inline __m256i row_values(const int32_t *values, __m256i rows, int uniform)
{
    if (uniform)
        return _mm256_set1_epi32(values[_mm256_cvtsi256_si32(rows)]);
    return _mm256_i32gather_epi32((const int *)values, rows, 4);
}

/* x < 2^24 per lane, as a vector mask and its 8-bit movemask. */
AVX2 static inline __m256i below_low(__m256i x)
{
    return _mm256_cmpeq_epi32(_mm256_srli_epi32(x, 24), _mm256_setzero_si256());
}

AVX2 static inline int mask_bits(__m256i m)
{
    return _mm256_movemask_ps(_mm256_castsi256_ps(m));
}

/* ---------------------------------------------------------------- decoder */

AVX2 int ilv_decode_avx2(ilv_decoder *d, const fsr_tables *t, uint32_t lanes, size_t plane_size, size_t n,
                         int32_t *out)
{
    const uint32_t nb = lanes / 8, prec = t->precision;
    const size_t full = n - n % lanes;
    const __m128i sh_prec = _mm_cvtsi32_si128((int)prec);
    const __m128i sh_bucket = _mm_cvtsi32_si128((int)(prec - FSR_LOOKUP_BITS));
    const __m256i cum_mask = _mm256_set1_epi32((int32_t)((UINT32_C(1) << prec) - 1));
    const __m256i stride = _mm256_set1_epi32((int32_t)t->cdf_stride);
    const __m256i lstride = _mm256_set1_epi32((int32_t)FSR_LOOKUP_STRIDE);
    const __m256i low16 = _mm256_set1_epi32(0xFFFF), one = _mm256_set1_epi32(1);
    const int *cdf = (const int *)t->cdf;
    __m256i x[4], slot[4], rows[4];
    plane_walk w;
    size_t i0;
    uint32_t b, k;
    int32_t index[ILV_MAX_LANES];
    int st;

    if (t->lookup == NULL || prec < FSR_LOOKUP_BITS || !gather_safe(t) || plane_size == 0)
        return ilv_decode_scalar(d, t, lanes, plane_size, n, out);
    w.plane = 0;
    w.pos = 0;
    w.plane_size = plane_size;
    for (b = 0; b < nb; b++)
        x[b] = _mm256_loadu_si256((const __m256i *)(d->x + 8 * b));

    for (i0 = 0; i0 < full; i0 += lanes) {
        int special = 0, bad = 0, round;
        for (b = 0; b < nb; b++) {
            int uniform;
            __m256i r = next_rows(&w, &uniform);
            __m256i cum = _mm256_and_si256(x[b], cum_mask);
            __m256i bucket = _mm256_srl_epi32(cum, sh_bucket);
            __m256i lk = _mm256_i32gather_epi32((const int *)t->lookup,
                                                _mm256_add_epi32(_mm256_mullo_epi32(r, lstride), bucket), 2);
            __m256i max_value = _mm256_sub_epi32(row_values(t->cdf_length, r, uniform), _mm256_set1_epi32(2));
            __m256i s = _mm256_min_epi32(_mm256_and_si256(lk, low16), max_value);
            __m256i hi = _mm256_min_epi32(_mm256_srli_epi32(lk, 16), max_value);
            __m256i base = _mm256_mullo_epi32(r, stride);
            __m256i open = _mm256_cmpgt_epi32(hi, s);
            __m256i start, next, freq;
            while (mask_bits(open)) { /* buckets holding several slots: step to the right one */
                __m256i nxt = _mm256_mask_i32gather_epi32(
                    _mm256_setzero_si256(), cdf, _mm256_add_epi32(_mm256_add_epi32(base, s), one), open, 4);
                __m256i adv = _mm256_andnot_si256(_mm256_cmpgt_epi32(nxt, cum), open);
                s = _mm256_sub_epi32(s, adv);
                open = _mm256_and_si256(adv, _mm256_cmpgt_epi32(hi, s));
            }
            start = _mm256_i32gather_epi32(cdf, _mm256_add_epi32(base, s), 4);
            next = _mm256_i32gather_epi32(cdf, _mm256_add_epi32(_mm256_add_epi32(base, s), one), 4);
            freq = _mm256_sub_epi32(next, start);
            /* cum in [start, next) proves s right whatever the (unchecked) lookup held */
            bad |= mask_bits(
                _mm256_or_si256(_mm256_cmpgt_epi32(start, cum),
                                _mm256_xor_si256(_mm256_cmpgt_epi32(next, cum), _mm256_set1_epi32(-1))));
            x[b] = _mm256_add_epi32(_mm256_mullo_epi32(freq, _mm256_srl_epi32(x[b], sh_prec)),
                                    _mm256_sub_epi32(cum, start));
            special |= mask_bits(_mm256_cmpeq_epi32(s, max_value));
            {
                __m256i off = row_values(t->offset, r, uniform);
                __m256i v = _mm256_add_epi32(s, off);
                special |= mask_bits(_mm256_cmpgt_epi32(off, v)); /* s + offset beyond INT32_MAX */
                _mm256_storeu_si256((__m256i *)(out + i0 + 8 * b), v);
            }
            slot[b] = s;
            rows[b] = r;
        }
        if (bad)
            return FSR_ERR_TABLES;
        for (round = 0; round < 2; round++) {
            for (b = 0; b < nb; b++) {
                __m256i need = below_low(x[b]);
                int m = mask_bits(need);
                if (m != 0) {
                    unsigned cnt = (unsigned)__builtin_popcount((unsigned)m);
                    uint8_t tmp[8] = {0};
                    __m128i raw;
                    __m256i bytes, perm;
                    if ((size_t)(d->end - d->ptr) < cnt)
                        return FSR_ERR_TRUNCATED;
                    if (d->end - d->ptr >= 8) {
                        raw = _mm_loadl_epi64((const __m128i *)d->ptr);
                    } else {
                        memcpy(tmp, d->ptr, (size_t)(d->end - d->ptr));
                        raw = _mm_loadl_epi64((const __m128i *)tmp);
                    }
                    perm = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)ilv_expand8[m]));
                    bytes = _mm256_permutevar8x32_epi32(_mm256_cvtepu8_epi32(raw), perm);
                    x[b] = _mm256_blendv_epi8(x[b], _mm256_or_si256(_mm256_slli_epi32(x[b], 8), bytes), need);
                    d->ptr += cnt;
                }
            }
        }
        if (special) { /* escapes or out-of-range values: the scalar order of checks */
            int32_t slots[ILV_MAX_LANES];
            for (b = 0; b < nb; b++) {
                _mm256_storeu_si256((__m256i *)(d->x + 8 * b), x[b]);
                _mm256_storeu_si256((__m256i *)(slots + 8 * b), slot[b]);
                _mm256_storeu_si256((__m256i *)(index + 8 * b), rows[b]);
            }
            for (k = 0; k < lanes; k++) {
                int32_t max_value = t->cdf_length[index[k]] - 2;
                int64_t value = slots[k];
                if (slots[k] == max_value && (st = ilv_decode_escape(d, k, max_value, &value)) != FSR_OK)
                    return st;
                value += t->offset[index[k]];
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
        return ilv_decode_group(d, t, m, index, out + full);
    }
    return FSR_OK;
}

/* ---------------------------------------------------------------- encoder */

/* Write the low bytes of the lanes in mask m (ascending lane order) just below e->ptr. The caller
 * made sure 8 bytes below e->ptr are inside the buffer (the garbage below the bytes is overwritten
 * by what the encoder writes next, or ends up before the payload start and is not part of it). */
AVX2 static inline void put_bytes(ilv_encoder *e, __m256i v, int m)
{
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4,
                                          8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    __m256i perm = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)ilv_compress8[m]));
    __m256i packed = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(v, perm), pick);
    __m128i bytes = _mm_unpacklo_epi32(_mm256_castsi256_si128(packed), _mm256_extracti128_si256(packed, 1));
    _mm_storel_epi64((__m128i *)(e->ptr - 8), bytes);
    e->ptr -= __builtin_popcount((unsigned)m);
}

AVX2 int ilv_encode_avx2(ilv_encoder *e, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                         size_t plane_size, size_t n)
{
    const uint32_t nb = lanes / 8, prec = t->precision;
    const size_t full = n - n % lanes;
    const __m128i sh_prec = _mm_cvtsi32_si128((int)prec);
    const __m128i sh_renorm = _mm_cvtsi32_si128((int)(32 - prec));
    const __m128i sh_renorm2 = _mm_cvtsi32_si128((int)(40 - prec));
    const __m256i stride = _mm256_set1_epi32((int32_t)t->cdf_stride);
    const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2), eight = _mm256_set1_epi32(8);
    const __m256i sign = _mm256_set1_epi32(INT32_MIN);
    const __m256 two31 = _mm256_set1_ps(2147483648.0f);
    const int *cdf = (const int *)t->cdf;
    int32_t index[ILV_MAX_LANES];
    __m256i x[4], start[4], freq[4];
    size_t g;
    uint32_t b;
    int st;

    if (prec < MIN_SIMD_PRECISION || !gather_safe(t) || plane_size == 0)
        return ilv_encode_scalar(e, t, lanes, symbols, plane_size, n);
    if (full < n) { /* the tail group is the last one: encoded first */
        uint32_t m = (uint32_t)(n - full);
        ilv_planar_index(full, plane_size, m, index);
        if ((st = ilv_encode_group(e, t, m, symbols + full, index)) != FSR_OK)
            return st;
    }
    for (b = 0; b < nb; b++)
        x[b] = _mm256_loadu_si256((const __m256i *)(e->x + 8 * b));

    for (g = full / lanes; g-- > 0;) {
        const size_t i0 = g * lanes;
        plane_walk w;
        int special = 0;
        w.plane = i0 / plane_size;
        w.pos = i0 % plane_size;
        w.plane_size = plane_size;
        for (b = 0; b < nb; b++) {
            int uniform;
            __m256i r = next_rows(&w, &uniform);
            __m256i sym = _mm256_loadu_si256((const __m256i *)(symbols + i0 + 8 * b));
            __m256i off = row_values(t->offset, r, uniform);
            __m256i max_value = _mm256_sub_epi32(row_values(t->cdf_length, r, uniform), two);
            __m256i value = _mm256_sub_epi32(sym, off);
            __m256i wrapped = _mm256_srai_epi32(
                _mm256_and_si256(_mm256_xor_si256(sym, off), _mm256_xor_si256(sym, value)), 31);
            __m256i plain = _mm256_andnot_si256(
                wrapped, _mm256_and_si256(_mm256_cmpgt_epi32(value, _mm256_set1_epi32(-1)),
                                          _mm256_cmpgt_epi32(max_value, value)));
            __m256i at = _mm256_add_epi32(_mm256_mullo_epi32(r, stride), value);
            __m256i s0 = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), cdf, at, plain, 4);
            __m256i s1 =
                _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), cdf, _mm256_add_epi32(at, one), plain, 4);
            start[b] = s0;
            freq[b] = _mm256_sub_epi32(s1, s0);
            special |= mask_bits(_mm256_or_si256(_mm256_xor_si256(plain, _mm256_set1_epi32(-1)),
                                                 _mm256_cmpeq_epi32(freq[b], _mm256_setzero_si256())));
        }
        /* escapes, errors, or too little room for an 8-byte store per byte round: scalar group */
        if (special || (size_t)(e->ptr - e->begin) < 2 * (size_t)lanes + 8) {
            for (b = 0; b < nb; b++)
                _mm256_storeu_si256((__m256i *)(e->x + 8 * b), x[b]);
            ilv_planar_index(i0, plane_size, lanes, index);
            if ((st = ilv_encode_group(e, t, lanes, symbols + i0, index)) != FSR_OK)
                return st;
            for (b = 0; b < nb; b++)
                x[b] = _mm256_loadu_si256((const __m256i *)(e->x + 8 * b));
            continue;
        }
        {
            __m256i c1[4], c2[4];
            for (b = 0; b < nb; b++) { /* one byte out if x >> (32-prec) >= freq, two if x >> (40-prec) too */
                c1[b] = _mm256_xor_si256(_mm256_cmpgt_epi32(freq[b], _mm256_srl_epi32(x[b], sh_renorm)),
                                         _mm256_set1_epi32(-1));
                c2[b] = _mm256_xor_si256(_mm256_cmpgt_epi32(freq[b], _mm256_srl_epi32(x[b], sh_renorm2)),
                                         _mm256_set1_epi32(-1));
            }
            for (b = nb; b-- > 0;) { /* round 2 bytes: the first byte each lane shifts out */
                int m = mask_bits(c2[b]);
                if (m)
                    put_bytes(e, x[b], m);
            }
            for (b = nb; b-- > 0;) { /* round 1 bytes: the last byte each lane shifts out */
                int m = mask_bits(c1[b]);
                if (m)
                    put_bytes(e, _mm256_blendv_epi8(x[b], _mm256_srli_epi32(x[b], 8), c2[b]), m);
            }
            for (b = 0; b < nb; b++) {
                __m256i shift =
                    _mm256_add_epi32(_mm256_and_si256(c1[b], eight), _mm256_and_si256(c2[b], eight));
                __m256i y = _mm256_srlv_epi32(x[b], shift);
                /* q = y / freq: float estimate (y may reach 2^32 - 1: top bit added separately) */
                __m256 yf =
                    _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_andnot_si256(sign, y)),
                                  _mm256_and_ps(_mm256_castsi256_ps(_mm256_srai_epi32(y, 31)), two31));
                __m256i q = _mm256_cvttps_epi32(_mm256_div_ps(yf, _mm256_cvtepi32_ps(freq[b])));
                __m256i rem = _mm256_sub_epi32(y, _mm256_mullo_epi32(q, freq[b]));
                __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), rem);
                __m256i big;
                q = _mm256_add_epi32(q, neg);
                rem = _mm256_add_epi32(rem, _mm256_and_si256(neg, freq[b]));
                big = _mm256_cmpgt_epi32(rem, _mm256_sub_epi32(freq[b], one));
                q = _mm256_sub_epi32(q, big);
                rem = _mm256_sub_epi32(rem, _mm256_and_si256(big, freq[b]));
                x[b] = _mm256_add_epi32(_mm256_add_epi32(_mm256_sll_epi32(q, sh_prec), rem), start[b]);
            }
        }
    }
    for (b = 0; b < nb; b++)
        _mm256_storeu_si256((__m256i *)(e->x + 8 * b), x[b]);
    return FSR_OK;
}

#endif
