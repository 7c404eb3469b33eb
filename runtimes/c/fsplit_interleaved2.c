/*
 * fsplit_interleaved2.c - the interleaved payload version 2 (docs/formats.md, section 5): the
 * 14-bit requantization, the derived tables, the scalar group code that defines the byte order,
 * and the dispatch to the AVX2 path (fsplit_interleaved2_avx2.c).
 */
#include "fsplit_ilv2_internal.h"

#include <string.h>

#define ILV2_P FSR_ILV2_PRECISION
#define ILV2_MAX_SLOTS (UINT32_C(1) << ILV2_P)

/* ---------------------------------------------------------------- tables */

static size_t align4(size_t v)
{
    return (v + 3u) & ~(size_t)3u;
}

/* Bytes per row of the derived tables: sym, offset, max_value, bucket, window. */
#define ILV2_ROW_BYTES(stride)                                                                               \
    (4 * (size_t)(stride) + 8 + align4(2 * (size_t)FSR_ILV2_BUCKET_STRIDE) +                                 \
     4 * (size_t)FSR_ILV2_WINDOW_WORDS)

/* The window of row c (fsr_ilv2_tables.window) from its packed entries row[0 .. slots). */
static void ilv2_window_build(const uint32_t *row, uint32_t slots, int32_t *win)
{
    uint32_t w = slots < FSR_ILV2_WINDOW ? slots : FSR_ILV2_WINDOW, best = 0, mass = 0, top, s, j;
    for (s = 0; s < w; s++)
        mass += row[s] >> 16;
    top = mass;
    for (s = w; s < slots; s++) { /* the first of the windows with the most 14-bit frequency */
        mass += (row[s] >> 16) - (row[s - w] >> 16);
        if (mass > top) {
            top = mass;
            best = s - w + 1;
        }
    }
    for (j = 0; j < FSR_ILV2_WINDOW; j++)
        win[j] = (int32_t)(best + j < slots ? row[best + j] : ILV2_MAX_SLOTS);
    for (j = 1; j < FSR_ILV2_WINDOW; j++)
        win[FSR_ILV2_WINDOW + j - 1] = (win[j] & 0xFFFF) - 1;
    win[2 * FSR_ILV2_WINDOW - 1] = best + FSR_ILV2_WINDOW < slots
                                       ? (int32_t)(row[best + FSR_ILV2_WINDOW] & 0xFFFFu)
                                       : (int32_t)ILV2_MAX_SLOTS;
    win[2 * FSR_ILV2_WINDOW] = (win[0] & 0xFFFF) - 1;
    win[2 * FSR_ILV2_WINDOW + 1] = (int32_t)best;
}

size_t fsr_ilv2_tables_size(const fsr_tables *t)
{
    size_t maxlen = 0, rows, per;
    uint32_t c;
    if (fsr_tables_check(t) != FSR_OK)
        return 0;
    for (c = 0; c < t->num_cdfs; c++)
        if ((size_t)t->cdf_length[c] > maxlen)
            maxlen = (size_t)t->cdf_length[c];
    rows = t->num_cdfs;
    per = ILV2_ROW_BYTES(maxlen - 1);
    if (rows > SIZE_MAX / per)
        return 0;
    return rows * per;
}

/* The 14-bit frequencies of row c into g (len - 1 entries); FSR_ERR_TABLES if not representable. */
static int requantize_row(const fsr_tables *t, uint32_t c, uint32_t *g)
{
    const int32_t *cdf = t->cdf + (size_t)c * t->cdf_stride;
    const uint32_t slots = (uint32_t)t->cdf_length[c] - 1, prec = t->precision;
    uint32_t s, coded = 0;
    int64_t excess = -(int64_t)ILV2_MAX_SLOTS;
    for (s = 0; s < slots; s++) {
        uint64_t f = (uint64_t)(uint32_t)(cdf[s + 1] - cdf[s]);
        if (f == 0)
            g[s] = 0;
        else if (prec <= ILV2_P)
            g[s] = (uint32_t)(f << (ILV2_P - prec));
        else {
            uint64_t v = ((f << ILV2_P) + (UINT64_C(1) << (prec - 1))) >> prec;
            g[s] = v == 0 ? 1u : (uint32_t)v;
        }
        coded += f != 0;
        excess += g[s];
    }
    if (coded > ILV2_MAX_SLOTS)
        return FSR_ERR_TABLES;
    while (excess != 0) {
        uint32_t j = 0;
        for (s = 1; s < slots; s++)
            if (g[s] > g[j])
                j = s;
        if (excess < 0) {
            g[j] += (uint32_t)(-excess);
            excess = 0;
        } else {
            uint32_t d = (int64_t)(g[j] - 1) < excess ? g[j] - 1 : (uint32_t)excess;
            if (d == 0)
                return FSR_ERR_TABLES; /* unreachable with <= 2^14 coded slots */
            g[j] -= d;
            excess -= d;
        }
    }
    return FSR_OK;
}

int fsr_ilv2_tables_build(const fsr_tables *t, void *mem, size_t mem_size, fsr_ilv2_tables *out)
{
    size_t need = fsr_ilv2_tables_size(t), maxlen = 0;
    uint32_t c, *sym;
    uint16_t *bucket;
    int32_t *offset, *max_value, *window;
    if (need == 0 || mem == NULL || out == NULL || mem_size < need || ((uintptr_t)mem & 3u))
        return need == 0 && t != NULL ? FSR_ERR_TABLES : FSR_ERR_ARGUMENT;
    for (c = 0; c < t->num_cdfs; c++)
        if ((size_t)t->cdf_length[c] > maxlen)
            maxlen = (size_t)t->cdf_length[c];
    out->num_rows = t->num_cdfs;
    out->sym_stride = (uint32_t)(maxlen - 1);
    sym = (uint32_t *)mem;
    offset = (int32_t *)(sym + (size_t)t->num_cdfs * out->sym_stride);
    max_value = offset + t->num_cdfs;
    bucket = (uint16_t *)(max_value + t->num_cdfs);
    window =
        (int32_t *)(void *)((uint8_t *)bucket + align4(2 * (size_t)FSR_ILV2_BUCKET_STRIDE) * t->num_cdfs);
    memset(mem, 0, need);
    for (c = 0; c < t->num_cdfs; c++) {
        uint32_t *row = sym + (size_t)c * out->sym_stride;
        uint16_t *brow = bucket + (size_t)c * FSR_ILV2_BUCKET_STRIDE;
        uint32_t slots = (uint32_t)t->cdf_length[c] - 1, s, b, start = 0;
        int st = requantize_row(t, c, row); /* frequencies first, then packed in place */
        if (st != FSR_OK)
            return st;
        for (s = 0; s < slots; s++) {
            uint32_t f = row[s];
            row[s] = start | (f << 16);
            start += f;
        }
        offset[c] = t->offset[c];
        max_value[c] = t->cdf_length[c] - 2;
        ilv2_window_build(row, slots, window + (size_t)c * FSR_ILV2_WINDOW_WORDS);
        for (b = 0, s = 0; b < (1u << FSR_ILV2_BUCKET_BITS); b++) {
            uint32_t cum = b << (ILV2_P - FSR_ILV2_BUCKET_BITS);
            while ((row[s] & 0xFFFFu) + (row[s] >> 16) <= cum)
                s++;
            brow[b] = (uint16_t)s;
        }
    }
    out->sym = sym;
    out->bucket = bucket;
    out->offset = offset;
    out->max_value = max_value;
    out->window = window;
    return FSR_OK;
}

int fsr_ilv2_tables_attach(const void *mem, size_t mem_size, uint32_t num_rows, uint32_t sym_stride,
                           fsr_ilv2_tables *out)
{
    size_t per = ILV2_ROW_BYTES(sym_stride);
    const uint32_t *sym = (const uint32_t *)mem;
    if (mem == NULL || out == NULL || num_rows == 0 || sym_stride == 0 || ((uintptr_t)mem & 3u) ||
        num_rows > SIZE_MAX / per || mem_size < (size_t)num_rows * per)
        return FSR_ERR_ARGUMENT;
    out->num_rows = num_rows;
    out->sym_stride = sym_stride;
    out->sym = sym;
    out->offset = (const int32_t *)(sym + (size_t)num_rows * sym_stride);
    out->max_value = out->offset + num_rows;
    out->bucket = (const uint16_t *)(out->max_value + num_rows);
    out->window = (const int32_t *)(const void *)((const uint8_t *)out->bucket +
                                                  align4(2 * (size_t)FSR_ILV2_BUCKET_STRIDE) * num_rows);
    return FSR_OK;
}

int fsr_ilv2_row_cdf(const fsr_ilv2_tables *q, uint32_t r, int32_t *cdf14, size_t capacity)
{
    uint32_t s, slots;
    if (q == NULL || cdf14 == NULL || r >= q->num_rows)
        return FSR_ERR_ARGUMENT;
    slots = (uint32_t)q->max_value[r] + 1;
    if (capacity < (size_t)slots + 1)
        return FSR_ERR_ARGUMENT;
    for (s = 0; s < slots; s++)
        cdf14[s] = (int32_t)(q->sym[(size_t)r * q->sym_stride + s] & 0xFFFFu);
    cdf14[slots] = (int32_t)ILV2_MAX_SLOTS;
    return FSR_OK;
}

size_t fsr_ilv2_encode_bound(size_t n, uint32_t lanes)
{
    /* per symbol: one main word and an escape (9 nibble steps, at most one word each); 4 bytes a lane */
    const size_t per_symbol = 2 + 2 * 9;
    if (!fsr_ilv_lanes_supported(lanes) || n > (SIZE_MAX - 4 * (size_t)lanes) / per_symbol)
        return 0;
    return 4 * (size_t)lanes + per_symbol * n;
}

/* ---------------------------------------------------------------- encoder */

static inline int enc_word(ilv_encoder *e, uint32_t w)
{
    if (e->ptr - e->begin < 2)
        return FSR_ERR_BUFFER;
    e->ptr -= 2;
    e->ptr[0] = (uint8_t)w;
    e->ptr[1] = (uint8_t)(w >> 8);
    return FSR_OK;
}

static int enc_nibble(ilv_encoder *e, uint32_t k, uint32_t nibble)
{
    uint32_t x = e->x[k];
    if ((x >> 28) != 0) {
        if (enc_word(e, x) != FSR_OK)
            return FSR_ERR_BUFFER;
        x >>= 16;
    }
    e->x[k] = (x << 4) + nibble;
    return FSR_OK;
}

static int enc_escape(ilv_encoder *e, uint32_t k, uint32_t raw)
{
    unsigned nibbles = 0, j;
    while (nibbles < ILV_ESCAPE_MAX_NIBBLES && (raw >> (4 * nibbles)) != 0)
        nibbles++;
    for (j = nibbles; j-- > 0;)
        if (enc_nibble(e, k, (raw >> (4 * j)) & 15u) != FSR_OK)
            return FSR_ERR_BUFFER;
    return enc_nibble(e, k, nibbles);
}

int ilv2_encode_group(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t m, const int32_t *symbols,
                      const int32_t *index)
{
    uint32_t start[ILV_MAX_LANES], freq[ILV_MAX_LANES], raw[ILV_MAX_LANES];
    uint8_t escaped[ILV_MAX_LANES], renorm[ILV_MAX_LANES];
    uint32_t k;
    for (k = 0; k < m; k++) {
        int32_t max_value;
        int64_t value;
        uint32_t entry;
        if (index[k] < 0 || (uint32_t)index[k] >= q->num_rows)
            return FSR_ERR_INDEX;
        max_value = q->max_value[index[k]];
        value = (int64_t)symbols[k] - q->offset[index[k]];
        escaped[k] = !(value >= 0 && value < max_value);
        if (escaped[k]) {
            uint64_t r = value < 0 ? (uint64_t)(-2 * value - 1) : (uint64_t)(2 * (value - max_value));
            if (r > UINT32_MAX)
                return FSR_ERR_SYMBOL;
            raw[k] = (uint32_t)r;
            value = max_value;
        }
        entry = q->sym[(size_t)index[k] * q->sym_stride + (size_t)value];
        start[k] = entry & 0xFFFFu;
        freq[k] = entry >> 16;
        if (freq[k] == 0)
            return FSR_ERR_SYMBOL;
    }
    for (k = m; k-- > 0;)
        if (escaped[k] && enc_escape(e, k, raw[k]) != FSR_OK)
            return FSR_ERR_BUFFER;
    for (k = 0; k < m; k++)
        renorm[k] = (e->x[k] >> (32 - ILV2_P)) >= freq[k];
    for (k = m; k-- > 0;)
        if (renorm[k] && enc_word(e, e->x[k]) != FSR_OK)
            return FSR_ERR_BUFFER;
    for (k = 0; k < m; k++) {
        uint32_t x = renorm[k] ? e->x[k] >> 16 : e->x[k];
        e->x[k] = ((x / freq[k]) << ILV2_P) + x % freq[k] + start[k];
    }
    return FSR_OK;
}

int ilv2_encode_scalar(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                       size_t plane_size, size_t n)
{
    int32_t index[ILV_MAX_LANES];
    size_t groups = (n + lanes - 1) / lanes, g;
    int st;
    for (g = groups; g-- > 0;) {
        size_t i0 = g * lanes;
        uint32_t m = (uint32_t)(n - i0 < lanes ? n - i0 : lanes);
        ilv_planar_index(i0, plane_size, m, index);
        if ((st = ilv2_encode_group(e, q, m, symbols + i0, index)) != FSR_OK)
            return st;
    }
    return FSR_OK;
}

/* ---------------------------------------------------------------- decoder */

static inline int dec_refill(ilv_decoder *d, uint32_t k)
{
    if (d->x[k] < FSR_ILV2_STATE_LOW) {
        if (d->end - d->ptr < 2)
            return FSR_ERR_TRUNCATED;
        d->x[k] = (d->x[k] << 16) | (uint32_t)d->ptr[0] | ((uint32_t)d->ptr[1] << 8);
        d->ptr += 2;
    }
    return FSR_OK;
}

int ilv2_decode_escape(ilv_decoder *d, uint32_t k, int32_t max_value, int64_t *value)
{
    uint32_t count, j;
    uint64_t raw = 0;
    int st;
    count = d->x[k] & 15u;
    d->x[k] >>= 4;
    if ((st = dec_refill(d, k)) != FSR_OK)
        return st;
    if (count > ILV_ESCAPE_MAX_NIBBLES)
        return FSR_ERR_CORRUPT;
    for (j = 0; j < count; j++) {
        raw |= (uint64_t)(d->x[k] & 15u) << (4 * j);
        d->x[k] >>= 4;
        if ((st = dec_refill(d, k)) != FSR_OK)
            return st;
    }
    if (count > 0 && (raw >> (4 * (count - 1))) == 0)
        return FSR_ERR_CORRUPT;
    *value = (raw & 1u) ? -(int64_t)(raw >> 1) - 1 : (int64_t)(raw >> 1) + max_value;
    return FSR_OK;
}

/* The slot of cum in row r: from its bucket's first slot upwards (the derived tables are ours and
 * complete, so this stays inside the row for every cum < 2^14). */
static inline uint32_t ilv2_slot(const fsr_ilv2_tables *q, uint32_t r, uint32_t cum, uint32_t *entry)
{
    const uint32_t *row = q->sym + (size_t)r * q->sym_stride;
    uint32_t s = q->bucket[(size_t)r * FSR_ILV2_BUCKET_STRIDE + (cum >> (ILV2_P - FSR_ILV2_BUCKET_BITS))];
    while (cum - (row[s] & 0xFFFFu) >= (row[s] >> 16))
        s++;
    *entry = row[s];
    return s;
}

int ilv2_decode_group(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t m, const int32_t *index,
                      int32_t *out)
{
    uint32_t slot[ILV_MAX_LANES], k;
    int st;
    for (k = 0; k < m; k++) {
        uint32_t cum, entry;
        if (index[k] < 0 || (uint32_t)index[k] >= q->num_rows)
            return FSR_ERR_INDEX;
        cum = d->x[k] & (ILV2_MAX_SLOTS - 1);
        slot[k] = ilv2_slot(q, (uint32_t)index[k], cum, &entry);
        d->x[k] = (entry >> 16) * (d->x[k] >> ILV2_P) + cum - (entry & 0xFFFFu);
    }
    for (k = 0; k < m; k++)
        if ((st = dec_refill(d, k)) != FSR_OK)
            return st;
    for (k = 0; k < m; k++) {
        int32_t max_value = q->max_value[index[k]];
        int64_t value = slot[k];
        if ((int32_t)slot[k] == max_value && (st = ilv2_decode_escape(d, k, max_value, &value)) != FSR_OK)
            return st;
        value += q->offset[index[k]];
        if (value < INT32_MIN || value > INT32_MAX)
            return FSR_ERR_CORRUPT;
        out[k] = (int32_t)value;
    }
    return FSR_OK;
}

int ilv2_decode_scalar(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t lanes, size_t plane_size, size_t n,
                       int32_t *out)
{
    int32_t index[ILV_MAX_LANES];
    size_t i0;
    int st;
    for (i0 = 0; i0 < n; i0 += lanes) {
        uint32_t m = (uint32_t)(n - i0 < lanes ? n - i0 : lanes);
        ilv_planar_index(i0, plane_size, m, index);
        if ((st = ilv2_decode_group(d, q, m, index, out + i0)) != FSR_OK)
            return st;
    }
    return FSR_OK;
}

/* ---------------------------------------------------------------- dispatch */

static int check_call2(int impl, const fsr_ilv2_tables *q, uint32_t lanes, uint32_t num_planes,
                       size_t plane_size, size_t *n)
{
    if (!fsr_ilv_impl_available(impl) || !fsr_ilv_lanes_supported(lanes) || q == NULL || q->sym == NULL)
        return FSR_ERR_ARGUMENT;
    if (plane_size > 0 && num_planes > SIZE_MAX / plane_size)
        return FSR_ERR_ARGUMENT;
    *n = (size_t)num_planes * plane_size;
    if (*n > 0 && num_planes > q->num_rows)
        return FSR_ERR_INDEX;
    return FSR_OK;
}

int fsr_ilv2_encode_planar_with(int impl, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                                uint32_t num_planes, size_t plane_size, uint8_t *out, size_t out_capacity,
                                size_t *out_len)
{
    ilv_encoder e;
    size_t n = 0;
    uint32_t k;
    int st;
    if ((st = check_call2(impl, q, lanes, num_planes, plane_size, &n)) != FSR_OK)
        return st;
    if (out == NULL || out_len == NULL || (n > 0 && symbols == NULL))
        return FSR_ERR_ARGUMENT;
    if (impl == FSR_IMPL_AUTO)
        impl = fsr_ilv_impl_auto();
    for (k = 0; k < ILV_MAX_LANES; k++)
        e.x[k] = FSR_ILV2_STATE_LOW;
    e.begin = out;
    e.ptr = out + out_capacity;
    st = impl == FSR_IMPL_AVX2   ? ilv2_encode_avx2(&e, q, lanes, symbols, plane_size, n)
         : impl == FSR_IMPL_NEON ? ilv2_encode_neon(&e, q, lanes, symbols, plane_size, n)
                                 : ilv2_encode_scalar(&e, q, lanes, symbols, plane_size, n);
    if (st != FSR_OK)
        return st;
    if ((size_t)(e.ptr - e.begin) < 4 * (size_t)lanes)
        return FSR_ERR_BUFFER;
    for (k = lanes; k-- > 0;) {
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

int fsr_ilv2_decode_planar_with(int impl, const fsr_ilv2_tables *q, uint32_t lanes, uint32_t num_planes,
                                size_t plane_size, const uint8_t *data, size_t data_len, int32_t *symbols_out)
{
    ilv_decoder d;
    size_t n = 0;
    uint32_t k;
    int st;
    if ((st = check_call2(impl, q, lanes, num_planes, plane_size, &n)) != FSR_OK)
        return st;
    if (data == NULL || (n > 0 && symbols_out == NULL))
        return FSR_ERR_ARGUMENT;
    if (impl == FSR_IMPL_AUTO)
        impl = fsr_ilv_impl_auto();
    if (data_len < 4 * (size_t)lanes)
        return FSR_ERR_TRUNCATED;
    if (data_len % 2 != 0)
        return FSR_ERR_CORRUPT;
    for (k = 0; k < lanes; k++) {
        const uint8_t *p = data + 4 * k;
        d.x[k] = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
        if (d.x[k] < FSR_ILV2_STATE_LOW)
            return FSR_ERR_CORRUPT;
    }
    d.ptr = data + 4 * (size_t)lanes;
    d.end = data + data_len;
    st = impl == FSR_IMPL_AVX2   ? ilv2_decode_avx2(&d, q, lanes, plane_size, n, symbols_out)
         : impl == FSR_IMPL_NEON ? ilv2_decode_neon(&d, q, lanes, plane_size, n, symbols_out)
                                 : ilv2_decode_scalar(&d, q, lanes, plane_size, n, symbols_out);
    if (st != FSR_OK)
        return st;
    if (d.ptr != d.end)
        return FSR_ERR_CORRUPT;
    for (k = 0; k < lanes; k++)
        if (d.x[k] != FSR_ILV2_STATE_LOW)
            return FSR_ERR_CORRUPT;
    return FSR_OK;
}

#if !(defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)))
int ilv2_encode_avx2(ilv_encoder *e, const fsr_ilv2_tables *q, uint32_t lanes, const int32_t *symbols,
                     size_t plane_size, size_t n)
{
    return ilv2_encode_scalar(e, q, lanes, symbols, plane_size, n);
}
int ilv2_decode_avx2(ilv_decoder *d, const fsr_ilv2_tables *q, uint32_t lanes, size_t plane_size, size_t n,
                     int32_t *out)
{
    return ilv2_decode_scalar(d, q, lanes, plane_size, n, out);
}
#endif
