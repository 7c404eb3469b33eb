/*
 * fsplit_interleaved2_avx2.c - the version 2 interleaved coder with AVX2 (x86_64): 8 lanes per
 * register, up to 4 registers (32 lanes). Byte-identical to the scalar code by construction: a
 * group with an escape, an out-of-range value or a zero-frequency symbol, and the tail group, go to
 * the scalar group functions.
 *
 * Both look the common group up in the row's window (FSR_ILV2_WINDOW = 16 consecutive slots of
 * the most probability, laid out by fsr_ilv2_tables_build in 36 words that stay in L1 for the run
 * of a plane; 8 lanes across a plane boundary blend both rows' windows per lane), so it needs no
 * gather (AVX2 gathers are slow: about 25 cycles of latency on the decoder's dependency chain and
 * 10 of throughput on the Zen 4 of benchmarks/results/codec.md). The body is inlined once per
 * register count, so the lane states stay in registers.
 * Decode per 8 lanes: the slot as the count of the window's 15 upper starts at or below cum (15
 * compares and an adder tree), its packed start|freq by two lane permutations, one multiply, and
 * the refill round: a compare, a popcount, one 16-byte load and a lane permutation of 16-bit words
 * by an in-register prefix count (taken only when a lane needs a word: the branch lets the next
 * group start early; a branch-free round was slower here). A lane outside the window sends its 8
 * lanes to the gathers: the bucket's first slot, its packed start|freq, and a masked re-gather for
 * the rare lane whose bucket holds a slot boundary.
 * Encode per 8 lanes: start|freq by two lane permutations of the window (a gather when a value
 * lies outside it), one compare for the renormalisation, the words compressed to the write
 * position, and x / freq as a float product with the reciprocal computed off the dependency chain,
 * corrected to the exact quotient (the quotient is below 2^18, the float error below 1/8).
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

/* The next 8 symbols: the plane of the first, and how many of the 8 lie in it. */
static inline uint32_t next8(walk2 *w, size_t *plane)
{
    const size_t left = w->plane_size - w->pos;
    *plane = w->plane;
    w->pos += 8;
    while (w->pos >= w->plane_size) {
        w->pos -= w->plane_size;
        w->plane++;
    }
    return left >= 8 ? 8u : (uint32_t)left;
}

/* The rows of the 8 symbols from i (planar latent). */
AVX2 static inline __m256i rows_at(size_t i, size_t plane_size)
{
    int32_t idx[8];
    ilv_planar_index(i, plane_size, 8, idx);
    return _mm256_loadu_si256((const __m256i *)idx);
}

/* values[row] per lane: of plane (lanes below split) and plane + 1 (mb: the lanes from split on) when
 * two, of plane when neither two nor many, else gathered by rows. */
AVX2 static inline __m256i per_row(const int32_t *values, size_t plane, __m256i mb, int two, int many,
                                   __m256i rows)
{
    if (many)
        return _mm256_i32gather_epi32((const int *)values, rows, 4);
    if (two)
        return _mm256_blendv_epi8(_mm256_set1_epi32(values[plane]), _mm256_set1_epi32(values[plane + 1]), mb);
    return _mm256_set1_epi32(values[plane]);
}

AVX2 static inline int mbits(__m256i m)
{
    return _mm256_movemask_ps(_mm256_castsi256_ps(m));
}

/* ---------------------------------------------------------------- the window */

/* Word positions in a row of fsr_ilv2_tables.window. */
#define WIN_STM1 FSR_ILV2_WINDOW          /* start of slot w0 + j, minus 1, j = 1 .. 15 */
#define WIN_END (2 * FSR_ILV2_WINDOW - 1) /* cum < end */
#define WIN_LOW (2 * FSR_ILV2_WINDOW)     /* cum > low */
#define WIN_W0 (2 * FSR_ILV2_WINDOW + 1)  /* the window's first slot */

/* Word k of each lane's window: wa's, or wb's in the lanes of mb when two. */
AVX2 static inline __m256i wword(const int32_t *wa, const int32_t *wb, __m256i mb, int two, int k)
{
    __m256i a = _mm256_set1_epi32(wa[k]);
    return two ? _mm256_blendv_epi8(a, _mm256_set1_epi32(wb[k]), mb) : a;
}

/* The packed entries of window positions idx (0 .. 15) of window wt: two lane permutations and a
 * blend on bit 3. */
AVX2 static inline __m256i window_entry1(const int32_t *wt, __m256i idx)
{
    __m256i lo = _mm256_loadu_si256((const __m256i *)wt), hi = _mm256_loadu_si256((const __m256i *)(wt + 8));
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(_mm256_permutevar8x32_epi32(lo, idx)),
                                                _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(hi, idx)),
                                                _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28))));
}

/* The same from window wa, or from wb in the lanes of mb when two. */
AVX2 static inline __m256i window_entry(const int32_t *wa, const int32_t *wb, __m256i mb, int two,
                                        __m256i idx)
{
    __m256i e = window_entry1(wa, idx);
    return two ? _mm256_blendv_epi8(e, window_entry1(wb, idx), mb) : e;
}

/* ---------------------------------------------------------------- decoder */

/* The window position of cum (8 lanes of one row): the count of the window's upper starts <= cum
 * (15 compares, an adder tree); *inside is 0 unless every lane's cum lies in the window. */
AVX2 static inline __m256i window_slot(const int32_t *wa, const int32_t *wb, __m256i mb, int two, __m256i cum,
                                       int *inside)
{
    __m256i c[FSR_ILV2_WINDOW - 1], in;
    int j;
#pragma GCC unroll 16
    for (j = 0; j < (int)FSR_ILV2_WINDOW - 1; j++)
        c[j] = _mm256_cmpgt_epi32(cum, wword(wa, wb, mb, two, WIN_STM1 + j));
#pragma GCC unroll 8
    for (j = 0; j < 7; j++) /* 15 masks of -1 summed as a tree */
        c[j] = _mm256_add_epi32(c[2 * j], c[2 * j + 1]);
    c[0] = _mm256_add_epi32(c[0], c[14]);
    c[0] = _mm256_add_epi32(c[0], c[1]);
    c[2] = _mm256_add_epi32(c[2], c[3]);
    c[4] = _mm256_add_epi32(c[4], c[5]);
    c[0] = _mm256_add_epi32(c[0], c[2]);
    c[4] = _mm256_add_epi32(c[4], c[6]);
    in = _mm256_and_si256(_mm256_cmpgt_epi32(cum, wword(wa, wb, mb, two, WIN_LOW)),
                          _mm256_cmpgt_epi32(wword(wa, wb, mb, two, WIN_END), cum));
    *inside = mbits(in) == 0xFF;
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_add_epi32(c[0], c[4]));
}

/* nb registers of 8 lanes; inlined with a constant nb so the lane states stay in registers. */
AVX2 static inline __attribute__((always_inline)) int decode_lanes(ilv_decoder *d, const fsr_ilv2_tables *q,
                                                                   const uint32_t nb, size_t plane_size,
                                                                   size_t n, int32_t *out)
{
    const uint32_t lanes = 8 * nb;
    const size_t full = n - n % lanes;
    const __m256i cum_mask = _mm256_set1_epi32((1 << P2) - 1), low16 = _mm256_set1_epi32(0xFFFF);
    const __m256i sstride = _mm256_set1_epi32((int32_t)q->sym_stride);
    const __m256i bstride = _mm256_set1_epi32((int32_t)FSR_ILV2_BUCKET_STRIDE);
    const __m256i one = _mm256_set1_epi32(1), iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int *sym = (const int *)q->sym;
    const int *bucket = (const int *)(const void *)q->bucket;
    __m256i x[4], slot[4];
    int32_t index[ILV_MAX_LANES];
    walk2 w;
    size_t i0;
    uint32_t b, k;
    int st;

    w.plane = 0;
    w.pos = 0;
    w.plane_size = plane_size;
    for (b = 0; b < nb; b++)
        x[b] = _mm256_loadu_si256((const __m256i *)(d->x + 8 * b));

    for (i0 = 0; i0 < full; i0 += lanes) {
        int special = 0;
#pragma GCC unroll 4
        for (b = 0; b < nb; b++) {
            size_t plane;
            const uint32_t split = next8(&w, &plane);
            const int two = split < 8 && plane_size >= 8, many = split < 8 && plane_size < 8;
            const int32_t *wa = q->window + plane * FSR_ILV2_WINDOW_WORDS, *wb = wa + FSR_ILV2_WINDOW_WORDS;
            const __m256i mb = _mm256_cmpgt_epi32(iota, _mm256_set1_epi32((int32_t)split - 1));
            __m256i cum = _mm256_and_si256(x[b], cum_mask);
            __m256i r = many ? rows_at(i0 + 8 * b, plane_size)
                             : _mm256_sub_epi32(_mm256_set1_epi32((int32_t)plane), mb);
            __m256i s, e, start, freq, bias, max_value, off, v;
            int inside = 0;
            if (!many) { /* the row's window (two rows' windows blended at a plane boundary) */
                if (two) {
                    s = window_slot(wa, wb, mb, 1, cum, &inside);
                    e = window_entry(wa, wb, mb, 1, s);
                    s = _mm256_add_epi32(s, wword(wa, wb, mb, 1, WIN_W0));
                } else {
                    s = window_slot(wa, wa, mb, 0, cum, &inside);
                    e = window_entry(wa, wa, mb, 0, s);
                    s = _mm256_add_epi32(s, wword(wa, wa, mb, 0, WIN_W0));
                }
                start = _mm256_and_si256(e, low16);
                freq = _mm256_srli_epi32(e, 16);
                bias = _mm256_sub_epi32(cum, start);
            }
            if (!inside) { /* gathers: the bucket's first slot, its entry, then step up past boundaries */
                __m256i bi = _mm256_add_epi32(_mm256_mullo_epi32(r, bstride),
                                              _mm256_srli_epi32(cum, P2 - FSR_ILV2_BUCKET_BITS));
                __m256i base = _mm256_mullo_epi32(r, sstride), past;
                s = _mm256_and_si256(_mm256_i32gather_epi32(bucket, bi, 2), low16);
                e = _mm256_i32gather_epi32(sym, _mm256_add_epi32(base, s), 4);
                start = _mm256_and_si256(e, low16);
                freq = _mm256_srli_epi32(e, 16);
                bias = _mm256_sub_epi32(cum, start);
                past = _mm256_cmpgt_epi32(_mm256_add_epi32(bias, one), freq); /* bias >= freq */
                while (mbits(past)) {
                    s = _mm256_sub_epi32(s, past);
                    e = _mm256_mask_i32gather_epi32(e, sym, _mm256_add_epi32(base, s), past, 4);
                    start = _mm256_and_si256(e, low16);
                    freq = _mm256_srli_epi32(e, 16);
                    bias = _mm256_sub_epi32(cum, start);
                    past = _mm256_cmpgt_epi32(_mm256_add_epi32(bias, one), freq);
                }
            }
            x[b] = _mm256_add_epi32(_mm256_mullo_epi32(freq, _mm256_srli_epi32(x[b], P2)), bias);
            max_value = per_row(q->max_value, plane, mb, two, many, r);
            off = per_row(q->offset, plane, mb, two, many, r);
            v = _mm256_add_epi32(s, off);
            special |= mbits(_mm256_or_si256(_mm256_cmpeq_epi32(s, max_value), _mm256_cmpgt_epi32(off, v)));
            _mm256_storeu_si256((__m256i *)(out + i0 + 8 * b), v);
            slot[b] = s;
        }
#pragma GCC unroll 4
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
                { /* lane k takes word (the count of needing lanes below k): an in-register prefix sum */
                    __m256i n1 = _mm256_srli_epi32(need, 31), p;
                    p = _mm256_add_epi32(n1, _mm256_slli_si256(n1, 4));
                    p = _mm256_add_epi32(p, _mm256_slli_si256(p, 8));
                    p = _mm256_add_epi32(p,
                                         _mm256_permute2x128_si256(_mm256_shuffle_epi32(p, 0xFF), p, 0x08));
                    perm = _mm256_sub_epi32(p, n1);
                }
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

AVX2 int ilv2_decode_avx2(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t lanes, size_t plane_size,
                          size_t n, int32_t *out)
{
    if (!gather_safe2(q) || plane_size == 0)
        return ilv2_decode_scalar(d, q, lanes, plane_size, n, out);
    switch (lanes) {
        case 8: return decode_lanes(d, q, 1, plane_size, n, out);
        case 16: return decode_lanes(d, q, 2, plane_size, n, out);
        default: return decode_lanes(d, q, 4, plane_size, n, out);
    }
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

AVX2 static inline __attribute__((always_inline)) int encode_lanes(ilv_encoder *e, const fsr_ilv2_tables *q,
                                                                   const uint32_t nb, const int32_t *symbols,
                                                                   size_t plane_size, size_t n)
{
    const uint32_t lanes = 8 * nb;
    const size_t full = n - n % lanes;
    const __m256i sstride = _mm256_set1_epi32((int32_t)q->sym_stride), low16 = _mm256_set1_epi32(0xFFFF);
    const __m256i one = _mm256_set1_epi32(1), ones = _mm256_set1_epi32(-1);
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i wsize = _mm256_set1_epi32((int32_t)FSR_ILV2_WINDOW), scale = _mm256_set1_epi32(1 << P2);
    const __m256 onef = _mm256_set1_ps(1.0f), two32 = _mm256_set1_ps(4294967296.0f);
    const int *sym = (const int *)q->sym;
    int32_t index[ILV_MAX_LANES];
    __m256i x[4], start[4], freq[4];
    __m256 rcp[4];
    size_t g;
    uint32_t b;
    int st;

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
#pragma GCC unroll 4
        for (b = 0; b < nb; b++) {
            size_t plane;
            const uint32_t split = next8(&w, &plane);
            const int two = split < 8 && plane_size >= 8, many = split < 8 && plane_size < 8;
            const int32_t *wa = q->window + plane * FSR_ILV2_WINDOW_WORDS, *wb = wa + FSR_ILV2_WINDOW_WORDS;
            const __m256i mb = _mm256_cmpgt_epi32(iota, _mm256_set1_epi32((int32_t)split - 1));
            __m256i r = many ? rows_at(i0 + 8 * b, plane_size)
                             : _mm256_sub_epi32(_mm256_set1_epi32((int32_t)plane), mb);
            __m256i s = _mm256_loadu_si256((const __m256i *)(symbols + i0 + 8 * b));
            __m256i off = per_row(q->offset, plane, mb, two, many, r);
            __m256i max_value = per_row(q->max_value, plane, mb, two, many, r);
            __m256i value = _mm256_sub_epi32(s, off);
            __m256i wrapped =
                _mm256_srai_epi32(_mm256_and_si256(_mm256_xor_si256(s, off), _mm256_xor_si256(s, value)), 31);
            __m256i plain =
                _mm256_andnot_si256(wrapped, _mm256_and_si256(_mm256_cmpgt_epi32(value, ones),
                                                              _mm256_cmpgt_epi32(max_value, value)));
            __m256i ent;
            int inside = 0;
            if (!many) { /* the row's window (two rows' windows blended at a plane boundary) */
                __m256i idx = _mm256_sub_epi32(value, two ? wword(wa, wb, mb, 1, WIN_W0)
                                                          : wword(wa, wa, mb, 0, WIN_W0));
                inside =
                    mbits(_mm256_and_si256(plain, _mm256_and_si256(_mm256_cmpgt_epi32(idx, ones),
                                                                   _mm256_cmpgt_epi32(wsize, idx)))) == 0xFF;
                if (inside)
                    ent = two ? window_entry(wa, wb, mb, 1, idx) : window_entry(wa, wa, mb, 0, idx);
            }
            if (!inside) {
                __m256i at = _mm256_add_epi32(_mm256_mullo_epi32(r, sstride), value);
                ent = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), sym, at, plain, 4);
            }
            start[b] = _mm256_and_si256(ent, low16);
            freq[b] = _mm256_srli_epi32(ent, 16);
            special |= mbits(_mm256_or_si256(_mm256_xor_si256(plain, ones),
                                             _mm256_cmpeq_epi32(freq[b], _mm256_setzero_si256())));
            rcp[b] =
                _mm256_div_ps(onef, _mm256_cvtepi32_ps(freq[b])); /* off the chain; unused when special */
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
            __m256i keep[4];
#pragma GCC unroll 4
            for (b = 0; b < nb; b++) /* no word out if x >> (32 - 14) < freq */
                keep[b] = _mm256_cmpgt_epi32(freq[b], _mm256_srli_epi32(x[b], 32 - P2));
#pragma GCC unroll 4
            for (b = nb; b-- > 0;) {
                int m = mbits(keep[b]) ^ 0xFF;
                if (m)
                    put_words(e, x[b], m);
            }
#pragma GCC unroll 4
            for (b = 0; b < nb; b++) {
                /* q = y / freq: y as float (y >= 2^31 only without a word out, and then freq > 2^13;
                 * signed, plus 2^32 / freq), times the reciprocal: within 1/8 of the quotient, then
                 * corrected to it exactly by the remainder's sign and size */
                __m256i y = _mm256_blendv_epi8(_mm256_srli_epi32(x[b], 16), x[b], keep[b]);
                __m256i cfreq = _mm256_sub_epi32(scale, freq[b]);
                __m256 hi = _mm256_and_ps(_mm256_castsi256_ps(_mm256_srai_epi32(y, 31)),
                                          _mm256_mul_ps(two32, rcp[b]));
                __m256i qv =
                    _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(y), rcp[b]), hi));
                __m256i rem = _mm256_sub_epi32(y, _mm256_mullo_epi32(qv, freq[b]));
                __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), rem);
                __m256i big = _mm256_cmpgt_epi32(rem, _mm256_sub_epi32(freq[b], one));
                /* x = q * 2^14 + rem + start = y + start + q * (2^14 - freq), q corrected by +1 / -1 */
                __m256i acc = _mm256_add_epi32(_mm256_add_epi32(y, start[b]), _mm256_mullo_epi32(qv, cfreq));
                x[b] = _mm256_add_epi32(
                    acc, _mm256_sub_epi32(_mm256_and_si256(big, cfreq), _mm256_and_si256(neg, cfreq)));
            }
        }
    }
    for (b = 0; b < nb; b++)
        _mm256_storeu_si256((__m256i *)(e->x + 8 * b), x[b]);
    return FSR_OK;
}

AVX2 int ilv2_encode_avx2(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                          size_t plane_size, size_t n)
{
    if (!gather_safe2(q) || plane_size == 0)
        return ilv2_encode_scalar(e, q, lanes, symbols, plane_size, n);
    switch (lanes) {
        case 8: return encode_lanes(e, q, 1, symbols, plane_size, n);
        case 16: return encode_lanes(e, q, 2, symbols, plane_size, n);
        default: return encode_lanes(e, q, 4, symbols, plane_size, n);
    }
}

#endif
