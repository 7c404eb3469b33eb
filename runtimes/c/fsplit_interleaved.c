/*
 * fsplit_interleaved.c - interleaved rANS payload, portable scalar code and the run-time choice of
 * implementation (see fsplit_interleaved.h and docs/formats.md, section 4).
 *
 * Lane state x in [2^24, 2^32), one byte per renormalisation. A step with start, freq, prec:
 *   encode: while (x >> (32 - prec)) >= freq: emit x & 255, x >>= 8 (at most twice);
 *           x = (x / freq) * 2^prec + x % freq + start.
 *   decode: cum = x mod 2^prec; slot s with cdf[s] <= cum < cdf[s+1];
 *           x = freq * (x >> prec) + cum - start (>= 2^8), then refilled byte-wise to >= 2^24.
 * Why bytes and 2^24 (not 16-bit words and 2^16): with CompressAI's 16-bit precision a 2^16 floor
 * leaves almost no state headroom and cost +0.8 % of the default model's stream at 8 lanes,
 * against +0.45 % here (each lane's final state is still only 4 bytes).
 * Why groups of N symbols with two refill rounds: every lane of a group does its step at once, then
 * the lanes needing a byte take the next bytes in lane order, twice - which SIMD code does with
 * one compare, a popcount and one byte shuffle per round.
 */
#include "fsplit_ilv_internal.h"

#include <string.h>

int fsr_ilv_lanes_supported(uint32_t lanes)
{
    return lanes == 8 || lanes == 16 || lanes == 32;
}

size_t fsr_ilv_encode_bound(size_t n, uint32_t lanes)
{
    /* A symbol emits at most 2 bytes for its own step and 1 per escape step (count + 8 nibbles). */
    const size_t per_symbol = 2 + 1 + ILV_ESCAPE_MAX_NIBBLES;
    if (!fsr_ilv_lanes_supported(lanes) || n > (SIZE_MAX - 4 * ILV_MAX_LANES) / per_symbol)
        return 0;
    return 4 * (size_t)lanes + per_symbol * n;
}

/* ---------------------------------------------------------------- encoder */

static inline int enc_byte(ilv_encoder *e, uint32_t b)
{
    if (e->ptr == e->begin)
        return FSR_ERR_BUFFER;
    *--e->ptr = (uint8_t)b;
    return FSR_OK;
}

/* One 4-bit escape step on lane k (freq 1, prec 4): at most one byte out. */
static int enc_nibble(ilv_encoder *e, uint32_t k, uint32_t nibble)
{
    uint32_t x = e->x[k];
    if ((x >> (32 - ILV_NIBBLE_BITS)) != 0) {
        if (enc_byte(e, x) != FSR_OK)
            return FSR_ERR_BUFFER;
        x >>= 8;
    }
    e->x[k] = (x << ILV_NIBBLE_BITS) + nibble;
    return FSR_OK;
}

/* The escape payload of lane k, pushed in reverse of the decoder's order: the nibbles of raw from
 * the most significant, then their count (<= 8, one chunk). */
static int enc_escape(ilv_encoder *e, uint32_t k, uint32_t raw)
{
    unsigned nibbles = 0, j;
    while (nibbles < ILV_ESCAPE_MAX_NIBBLES && (raw >> (ILV_NIBBLE_BITS * nibbles)) != 0)
        nibbles++;
    for (j = nibbles; j-- > 0;)
        if (enc_nibble(e, k, (raw >> (ILV_NIBBLE_BITS * j)) & 15u) != FSR_OK)
            return FSR_ERR_BUFFER;
    return enc_nibble(e, k, nibbles);
}

int ilv_encode_group(ilv_encoder *e, const fsr_tables *t, uint32_t m, const int32_t *symbols,
                     const int32_t *index)
{
    uint32_t start[ILV_MAX_LANES], freq[ILV_MAX_LANES], raw[ILV_MAX_LANES];
    uint8_t escaped[ILV_MAX_LANES], count[ILV_MAX_LANES];
    const unsigned prec = t->precision;
    uint32_t k;
    for (k = 0; k < m; k++) {
        const int32_t *cdf;
        int32_t max_value;
        int64_t value;
        if (index[k] < 0 || (uint32_t)index[k] >= t->num_cdfs)
            return FSR_ERR_INDEX;
        cdf = t->cdf + (size_t)index[k] * t->cdf_stride;
        max_value = t->cdf_length[index[k]] - 2;
        value = (int64_t)symbols[k] - t->offset[index[k]];
        escaped[k] = !(value >= 0 && value < max_value);
        if (escaped[k]) {
            uint64_t r = value < 0 ? (uint64_t)(-2 * value - 1) : (uint64_t)(2 * (value - max_value));
            if (r > UINT32_MAX)
                return FSR_ERR_SYMBOL;
            raw[k] = (uint32_t)r;
            value = max_value;
        }
        start[k] = (uint32_t)cdf[value];
        freq[k] = (uint32_t)(cdf[value + 1] - cdf[value]);
        if (freq[k] == 0)
            return FSR_ERR_SYMBOL;
    }
    /* The decoder reads: refill round 1, round 2, then the escape payloads in lane order. */
    for (k = m; k-- > 0;)
        if (escaped[k] && enc_escape(e, k, raw[k]) != FSR_OK)
            return FSR_ERR_BUFFER;
    for (k = 0; k < m; k++) {
        uint32_t x = e->x[k];
        count[k] = 0;
        while ((x >> (32 - prec)) >= freq[k]) {
            x >>= 8;
            count[k]++;
        }
    }
    for (k = m; k-- > 0;) /* round 2: the first byte the lane shifted out */
        if (count[k] == 2 && enc_byte(e, e->x[k]) != FSR_OK)
            return FSR_ERR_BUFFER;
    for (k = m; k-- > 0;) /* round 1: the last byte the lane shifted out */
        if (count[k] > 0 && enc_byte(e, e->x[k] >> (8 * (count[k] - 1))) != FSR_OK)
            return FSR_ERR_BUFFER;
    for (k = 0; k < m; k++) {
        uint32_t x = e->x[k] >> (8 * count[k]);
        e->x[k] = ((x / freq[k]) << prec) + x % freq[k] + start[k];
    }
    return FSR_OK;
}

/* Scalar encoder over groups [0, n) in reverse (rANS is last-in first-out). */
int ilv_encode_scalar(ilv_encoder *e, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                      size_t plane_size, size_t n)
{
    int32_t index[ILV_MAX_LANES];
    size_t groups = (n + lanes - 1) / lanes, g;
    int st;
    for (g = groups; g-- > 0;) {
        size_t i0 = g * lanes;
        uint32_t m = (uint32_t)(n - i0 < lanes ? n - i0 : lanes);
        ilv_planar_index(i0, plane_size, m, index);
        if ((st = ilv_encode_group(e, t, m, symbols + i0, index)) != FSR_OK)
            return st;
    }
    return FSR_OK;
}

/* ---------------------------------------------------------------- decoder */

static inline int dec_refill(ilv_decoder *d, uint32_t k)
{
    if (d->x[k] < ILV_L) {
        if (d->ptr == d->end)
            return FSR_ERR_TRUNCATED;
        d->x[k] = (d->x[k] << 8) | *d->ptr++;
    }
    return FSR_OK;
}

/* Largest s in [lo, hi] with cdf[s] <= cum (it lies there). */
static inline uint32_t search_slot(const int32_t *cdf, uint32_t lo, uint32_t hi, uint32_t cum)
{
    while (lo < hi && (uint32_t)cdf[lo + 1] <= cum)
        lo++;
    return lo;
}

/* The slot holding cum; the lookup (not checked as a whole) only narrows the search: its bounds
 * are clamped to the row and the caller verifies cdf[s] <= cum < cdf[s+1], so a stale lookup gives
 * FSR_ERR_TABLES, never a wrong symbol or an access outside the row. */
static inline uint32_t find_slot(const fsr_tables *t, int32_t index, const int32_t *cdf, int32_t len,
                                 uint32_t cum)
{
    uint32_t last = (uint32_t)len - 2;
    if (t->lookup != NULL) {
        const uint16_t *row = t->lookup + (size_t)index * FSR_LOOKUP_STRIDE;
        unsigned bits = t->precision < FSR_LOOKUP_BITS ? t->precision : FSR_LOOKUP_BITS;
        uint32_t bucket = cum >> (t->precision - bits);
        uint32_t lo = row[bucket] < last ? row[bucket] : last;
        uint32_t hi = row[bucket + 1] < last ? row[bucket + 1] : last;
        return search_slot(cdf, lo, hi, cum);
    }
    {
        uint32_t lo = 0, n = last + 1; /* answer in [lo, lo + n) */
        while (n > 1) {
            uint32_t half = n / 2;
            lo = ((uint32_t)cdf[lo + half] <= cum) ? lo + half : lo;
            n -= half;
        }
        return lo;
    }
}

int ilv_decode_escape(ilv_decoder *d, uint32_t k, int32_t max_value, int64_t *value)
{
    uint32_t count, j;
    uint64_t raw = 0;
    int st;
    count = d->x[k] & 15u;
    d->x[k] >>= ILV_NIBBLE_BITS;
    if ((st = dec_refill(d, k)) != FSR_OK)
        return st;
    if (count > ILV_ESCAPE_MAX_NIBBLES)
        return FSR_ERR_CORRUPT;
    for (j = 0; j < count; j++) {
        raw |= (uint64_t)(d->x[k] & 15u) << (ILV_NIBBLE_BITS * j);
        d->x[k] >>= ILV_NIBBLE_BITS;
        if ((st = dec_refill(d, k)) != FSR_OK)
            return st;
    }
    if (count > 0 && (raw >> (ILV_NIBBLE_BITS * (count - 1))) == 0)
        return FSR_ERR_CORRUPT; /* non-minimal count: no encoder writes a leading zero nibble */
    *value = (raw & 1u) ? -(int64_t)(raw >> 1) - 1 : (int64_t)(raw >> 1) + max_value;
    return FSR_OK;
}

int ilv_decode_group(ilv_decoder *d, const fsr_tables *t, uint32_t m, const int32_t *index, int32_t *out)
{
    uint32_t slot[ILV_MAX_LANES], k;
    const unsigned prec = t->precision;
    const uint32_t mask = (UINT32_C(1) << prec) - 1;
    int round, st;
    for (k = 0; k < m; k++) {
        const int32_t *cdf;
        uint32_t cum, s, start, freq;
        if (index[k] < 0 || (uint32_t)index[k] >= t->num_cdfs)
            return FSR_ERR_INDEX;
        cdf = t->cdf + (size_t)index[k] * t->cdf_stride;
        cum = d->x[k] & mask;
        s = find_slot(t, index[k], cdf, t->cdf_length[index[k]], cum);
        start = (uint32_t)cdf[s];
        freq = (uint32_t)cdf[s + 1] - start;
        if (cum < start || cum - start >= freq)
            return FSR_ERR_TABLES; /* only a lookup that does not belong to these tables */
        d->x[k] = freq * (d->x[k] >> prec) + cum - start;
        slot[k] = s;
    }
    for (round = 0; round < 2; round++)
        for (k = 0; k < m; k++)
            if ((st = dec_refill(d, k)) != FSR_OK)
                return st;
    for (k = 0; k < m; k++) {
        int32_t max_value = t->cdf_length[index[k]] - 2;
        int64_t value = slot[k];
        if ((int32_t)slot[k] == max_value && (st = ilv_decode_escape(d, k, max_value, &value)) != FSR_OK)
            return st;
        value += t->offset[index[k]];
        if (value < INT32_MIN || value > INT32_MAX)
            return FSR_ERR_CORRUPT;
        out[k] = (int32_t)value;
    }
    return FSR_OK;
}

int ilv_decode_scalar(ilv_decoder *d, const fsr_tables *t, uint32_t lanes, size_t plane_size, size_t n,
                      int32_t *out)
{
    int32_t index[ILV_MAX_LANES];
    size_t i0;
    int st;
    for (i0 = 0; i0 < n; i0 += lanes) {
        uint32_t m = (uint32_t)(n - i0 < lanes ? n - i0 : lanes);
        ilv_planar_index(i0, plane_size, m, index);
        if ((st = ilv_decode_group(d, t, m, index, out + i0)) != FSR_OK)
            return st;
    }
    return FSR_OK;
}

/* ---------------------------------------------------------------- dispatch */

int fsr_ilv_impl_available(int impl)
{
    switch (impl) {
        case FSR_IMPL_AUTO:
        case FSR_IMPL_SCALAR: return 1;
        case FSR_IMPL_AVX2: return ilv_avx2_available();
#if defined(__aarch64__) && defined(__ARM_NEON)
        case FSR_IMPL_NEON: return 1; /* Advanced SIMD is mandatory on AArch64 */
#endif
        default: return 0;
    }
}

int fsr_ilv_impl_auto(void)
{
    if (fsr_ilv_impl_available(FSR_IMPL_AVX2))
        return FSR_IMPL_AVX2;
    if (fsr_ilv_impl_available(FSR_IMPL_NEON))
        return FSR_IMPL_NEON;
    return FSR_IMPL_SCALAR;
}

const char *fsr_ilv_impl_name(int impl)
{
    switch (impl == FSR_IMPL_AUTO ? fsr_ilv_impl_auto() : impl) {
        case FSR_IMPL_SCALAR: return "scalar";
        case FSR_IMPL_AVX2: return "avx2";
        case FSR_IMPL_NEON: return "neon";
        default: return "unknown";
    }
}

static int check_call(int impl, const fsr_tables *t, uint32_t lanes, uint32_t num_planes, size_t plane_size,
                      size_t *n)
{
    int st;
    if (!fsr_ilv_impl_available(impl) || !fsr_ilv_lanes_supported(lanes))
        return FSR_ERR_ARGUMENT;
    if ((st = fsr_tables_check(t)) != FSR_OK)
        return st;
    if (plane_size > 0 && num_planes > SIZE_MAX / plane_size)
        return FSR_ERR_ARGUMENT;
    *n = (size_t)num_planes * plane_size;
    if (*n > 0 && num_planes > t->num_cdfs)
        return FSR_ERR_INDEX;
    return FSR_OK;
}

int fsr_ilv_encode_planar_with(int impl, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                               uint32_t num_planes, size_t plane_size, uint8_t *out, size_t out_capacity,
                               size_t *out_len)
{
    ilv_encoder e;
    size_t n = 0;
    uint32_t k;
    int st;
    if ((st = check_call(impl, t, lanes, num_planes, plane_size, &n)) != FSR_OK)
        return st;
    if (out == NULL || out_len == NULL || (n > 0 && symbols == NULL))
        return FSR_ERR_ARGUMENT;
    if (impl == FSR_IMPL_AUTO)
        impl = fsr_ilv_impl_auto();
    for (k = 0; k < ILV_MAX_LANES; k++)
        e.x[k] = ILV_L;
    e.begin = out;
    e.ptr = out + out_capacity;
    if (impl == FSR_IMPL_AVX2)
        st = ilv_encode_avx2(&e, t, lanes, symbols, plane_size, n);
    else if (impl == FSR_IMPL_NEON)
        st = ilv_encode_neon(&e, t, lanes, symbols, plane_size, n);
    else
        st = ilv_encode_scalar(&e, t, lanes, symbols, plane_size, n);
    if (st != FSR_OK)
        return st;
    if ((size_t)(e.ptr - e.begin) < 4 * (size_t)lanes)
        return FSR_ERR_BUFFER;
    for (k = lanes; k-- > 0;) { /* the final states, lane 0 first, little-endian */
        e.ptr -= 4;
        e.ptr[0] = (uint8_t)e.x[k];
        e.ptr[1] = (uint8_t)(e.x[k] >> 8);
        e.ptr[2] = (uint8_t)(e.x[k] >> 16);
        e.ptr[3] = (uint8_t)(e.x[k] >> 24);
    }
    *out_len = (size_t)((out + out_capacity) - e.ptr);
    memmove(out, e.ptr, *out_len);
    return FSR_OK;
}

int fsr_ilv_decode_planar_with(int impl, const fsr_tables *t, uint32_t lanes, uint32_t num_planes,
                               size_t plane_size, const uint8_t *data, size_t data_len, int32_t *symbols_out)
{
    ilv_decoder d;
    size_t n = 0;
    uint32_t k;
    int st;
    if ((st = check_call(impl, t, lanes, num_planes, plane_size, &n)) != FSR_OK)
        return st;
    if (data == NULL || (n > 0 && symbols_out == NULL))
        return FSR_ERR_ARGUMENT;
    if (impl == FSR_IMPL_AUTO)
        impl = fsr_ilv_impl_auto();
    if (data_len < 4 * (size_t)lanes)
        return FSR_ERR_TRUNCATED;
    for (k = 0; k < lanes; k++) {
        const uint8_t *p = data + 4 * k;
        d.x[k] = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
        if (d.x[k] < ILV_L)
            return FSR_ERR_CORRUPT;
    }
    d.ptr = data + 4 * (size_t)lanes;
    d.end = data + data_len;
    if (impl == FSR_IMPL_AVX2)
        st = ilv_decode_avx2(&d, t, lanes, plane_size, n, symbols_out);
    else if (impl == FSR_IMPL_NEON)
        st = ilv_decode_neon(&d, t, lanes, plane_size, n, symbols_out);
    else
        st = ilv_decode_scalar(&d, t, lanes, plane_size, n, symbols_out);
    if (st != FSR_OK)
        return st;
    if (d.ptr != d.end)
        return FSR_ERR_CORRUPT; /* bytes left over */
    for (k = 0; k < lanes; k++)
        if (d.x[k] != ILV_L)
            return FSR_ERR_CORRUPT; /* a valid stream returns every lane to its initial state */
    return FSR_OK;
}

int fsr_ilv_encode_planar(const fsr_tables *t, uint32_t lanes, const int32_t *symbols, uint32_t num_planes,
                          size_t plane_size, uint8_t *out, size_t out_capacity, size_t *out_len)
{
    return fsr_ilv_encode_planar_with(FSR_IMPL_AUTO, t, lanes, symbols, num_planes, plane_size, out,
                                      out_capacity, out_len);
}

int fsr_ilv_decode_planar(const fsr_tables *t, uint32_t lanes, uint32_t num_planes, size_t plane_size,
                          const uint8_t *data, size_t data_len, int32_t *symbols_out)
{
    return fsr_ilv_decode_planar_with(FSR_IMPL_AUTO, t, lanes, num_planes, plane_size, data, data_len,
                                      symbols_out);
}

/* Builds without a SIMD file for this architecture still link. */
#if !(defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)))
int ilv_avx2_available(void)
{
    return 0;
}
int ilv_encode_avx2(ilv_encoder *e, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                    size_t plane_size, size_t n)
{
    return ilv_encode_scalar(e, t, lanes, symbols, plane_size, n);
}
int ilv_decode_avx2(ilv_decoder *d, const fsr_tables *t, uint32_t lanes, size_t plane_size, size_t n,
                    int32_t *out)
{
    return ilv_decode_scalar(d, t, lanes, plane_size, n, out);
}
#endif
#if !(defined(__aarch64__) && defined(__ARM_NEON))
int ilv_encode_neon(ilv_encoder *e, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                    size_t plane_size, size_t n)
{
    return ilv_encode_scalar(e, t, lanes, symbols, plane_size, n);
}
int ilv_decode_neon(ilv_decoder *d, const fsr_tables *t, uint32_t lanes, size_t plane_size, size_t n,
                    int32_t *out)
{
    return ilv_decode_scalar(d, t, lanes, plane_size, n, out);
}
#endif
