/*
 * fsplit_rans.c - the rANS coder (see fsplit_rans.h and docs/formats.md).
 *
 * One coding step with probability freq / 2^prec and cumulative start:
 *   encode: if x >= 2^(63-prec) * freq, emit the low 32 bits of x and x >>= 32;
 *           then x = (x / freq) * 2^prec + x % freq + start.
 *   decode: cum = x mod 2^prec; find the slot s with cdf[s] <= cum < cdf[s+1];
 *           x = freq * (x >> prec) + cum - start; if x < 2^31, x = (x << 32) | next word.
 * A 4-bit escape nibble is the same step with prec = 4, freq = 1, start = nibble.
 * The state stays below 2^63 on every input, so no step can overflow.
 */
#include "fsplit_rans.h"

#include <string.h>

#define RANS_L (UINT64_C(1) << 31) /* lower bound of the normalised state */
#define NIBBLE_BITS 4u
#define NIBBLE_CHUNK_MAX 15u  /* a nibble count is sent as 15, 15, ..., remainder */
#define ESCAPE_MAX_NIBBLES 8u /* raw escape values are below 2^32 */

const char *fsr_strerror(int status)
{
    switch (status) {
        case FSR_OK: return "ok";
        case FSR_ERR_ARGUMENT: return "invalid argument";
        case FSR_ERR_TABLES: return "invalid CDF tables";
        case FSR_ERR_INDEX: return "CDF index out of range";
        case FSR_ERR_SYMBOL: return "symbol cannot be coded with these tables";
        case FSR_ERR_BUFFER: return "output buffer too small";
        case FSR_ERR_TRUNCATED: return "stream is truncated";
        case FSR_ERR_CORRUPT: return "stream is corrupt";
        case FSR_ERR_FORMAT: return "bad format (magic, version, field or size)";
        case FSR_ERR_MISMATCH: return "stream does not match these tables or this shape";
        case FSR_ERR_CHECKSUM: return "checksum mismatch";
        case FSR_ERR_LIMIT: return "declared size exceeds limits";
        default: return "unknown error";
    }
}

static void store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int fsr_tables_check(const fsr_tables *t)
{
    uint32_t c;
    if (t == NULL || t->cdf == NULL || t->cdf_length == NULL || t->offset == NULL)
        return FSR_ERR_ARGUMENT;
    if (t->precision < 1 || t->precision > FSR_MAX_PRECISION || t->num_cdfs == 0)
        return FSR_ERR_TABLES;
    for (c = 0; c < t->num_cdfs; c++) {
        const int32_t *row = t->cdf + (size_t)c * t->cdf_stride;
        int32_t len = t->cdf_length[c];
        int32_t k;
        if (len < 2 || (size_t)len > t->cdf_stride || len > (INT32_C(1) << t->precision) + 1)
            return FSR_ERR_TABLES;
        if (row[0] != 0 || row[len - 1] != (INT32_C(1) << t->precision))
            return FSR_ERR_TABLES;
        for (k = 1; k < len; k++)
            if (row[k] < row[k - 1])
                return FSR_ERR_TABLES;
    }
    return FSR_OK;
}

/* For every bucket start of row c, the slot holding that cumulative frequency: written to `out`
 * (fsr_lookup_build), or compared with `expect` (checking a caller's lookup). */
static int lookup_row(const fsr_tables *t, uint32_t c, uint16_t *out, const uint16_t *expect)
{
    const int32_t *cdf = t->cdf + (size_t)c * t->cdf_stride;
    int32_t last = t->cdf_length[c] - 2, s = 0;
    unsigned bits = t->precision < FSR_LOOKUP_BITS ? t->precision : FSR_LOOKUP_BITS;
    uint32_t b;
    for (b = 0; b <= (1u << bits); b++) {
        int32_t target = (int32_t)(b << (t->precision - bits));
        while (s < last && cdf[s + 1] <= target)
            s++;
        if (out != NULL)
            out[b] = (uint16_t)s;
        else if (expect[b] != s)
            return FSR_ERR_TABLES;
    }
    return FSR_OK;
}

int fsr_lookup_build(const fsr_tables *t, uint16_t *lookup, size_t entries)
{
    uint32_t c;
    int st = fsr_tables_check(t);
    if (st != FSR_OK)
        return st;
    if (lookup == NULL || entries / FSR_LOOKUP_STRIDE < t->num_cdfs)
        return FSR_ERR_ARGUMENT;
    for (c = 0; c < t->num_cdfs; c++)
        lookup_row(t, c, lookup + (size_t)c * FSR_LOOKUP_STRIDE, NULL);
    return FSR_OK;
}

/* Entry b of a row must be the slot s holding b's target T = b * 2^shift: cdf[s] <= T < cdf[s+1], or the last
 * slot when T >= cdf[last] - what lookup_row builds, as the row is monotone. So slot s owns the contiguous
 * entries [ceil(cdf[s] / 2^shift), ceil(cdf[s+1] / 2^shift)), and the check walks the slots and compares
 * runs of entries with a constant (vectorisable): about 10x cheaper than walking the buckets, whose
 * data-dependent loads made the per-call check cost a sixth of a whole latent's decode time. */
int fsr_lookup_check(const fsr_tables *t)
{
    uint32_t c, s, b;
    unsigned bits, shift;
    if (t->lookup == NULL)
        return FSR_OK;
    if (fsr_tables_check(t) != FSR_OK) /* the walk below relies on valid rows */
        return FSR_ERR_TABLES;
    bits = t->precision < FSR_LOOKUP_BITS ? t->precision : FSR_LOOKUP_BITS;
    shift = t->precision - bits;
    for (c = 0; c < t->num_cdfs; c++) {
        const int32_t *cdf = t->cdf + (size_t)c * t->cdf_stride;
        const uint16_t *row = t->lookup + (size_t)c * FSR_LOOKUP_STRIDE;
        uint32_t last = (uint32_t)t->cdf_length[c] - 2;
        unsigned bad = 0;
        for (s = 0, b = 0; s <= last; s++) {
            uint32_t end =
                s < last ? (((uint32_t)cdf[s + 1] + (1u << shift) - 1) >> shift) : (1u << bits) + 1;
            for (; b < end; b++)
                bad |= row[b] != s;
        }
        if (bad)
            return FSR_ERR_TABLES;
    }
    return FSR_OK;
}

size_t fsr_encode_bound(size_t n)
{
    /* Every coding step emits at most one word; a symbol takes at most 1 + 1 + 8 steps. */
    const size_t steps_per_symbol = 2 + ESCAPE_MAX_NIBBLES;
    if (n > (SIZE_MAX / 4 - 2) / steps_per_symbol)
        return 0;
    return 4 * (2 + steps_per_symbol * n);
}

/* ---------------------------------------------------------------- encoder */

typedef struct {
    uint64_t x;
    uint8_t *ptr;         /* words are written downwards from the end of the buffer */
    const uint8_t *begin; /* start of the caller's buffer */
} encoder;

static inline int enc_put(encoder *e, uint32_t start, uint32_t freq, unsigned prec)
{
    uint64_t x = e->x;
    if ((x >> (63 - prec)) >= freq) { /* x >= 2^(63-prec) * freq: renormalise */
        if (e->ptr - e->begin < 4)
            return FSR_ERR_BUFFER;
        e->ptr -= 4;
        store_le32(e->ptr, (uint32_t)x);
        x >>= 32;
    }
    e->x = ((x / freq) << prec) + x % freq + start;
    return FSR_OK;
}

/* Escape: raw's nibbles (coded last-pushed-first: most significant first), then the count. */
static int enc_escape_payload(encoder *e, uint32_t raw)
{
    unsigned nibbles = 0, j;
    int st;
    while (nibbles < ESCAPE_MAX_NIBBLES && (raw >> (NIBBLE_BITS * nibbles)) != 0)
        nibbles++;
    for (j = nibbles; j-- > 0;)
        if ((st = enc_put(e, (raw >> (NIBBLE_BITS * j)) & 15u, 1, NIBBLE_BITS)) != FSR_OK)
            return st;
    /* The decoder reads the count as chunks 15, 15, ..., remainder; nibbles <= 8 is one chunk. */
    if ((st = enc_put(e, nibbles % NIBBLE_CHUNK_MAX, 1, NIBBLE_BITS)) != FSR_OK)
        return st;
    for (j = nibbles / NIBBLE_CHUNK_MAX; j > 0; j--)
        if ((st = enc_put(e, NIBBLE_CHUNK_MAX, 1, NIBBLE_BITS)) != FSR_OK)
            return st;
    return FSR_OK;
}

static inline int enc_symbol(encoder *e, const fsr_tables *t, int32_t symbol, int32_t index)
{
    const int32_t *cdf;
    int32_t max_value;
    int64_t value;
    uint64_t raw;
    uint32_t freq;
    int st;

    if (index < 0 || (uint32_t)index >= t->num_cdfs)
        return FSR_ERR_INDEX;
    cdf = t->cdf + (size_t)index * t->cdf_stride;
    max_value = t->cdf_length[index] - 2; /* the escape slot */
    value = (int64_t)symbol - t->offset[index];

    if (value >= 0 && value < max_value) {
        freq = (uint32_t)(cdf[value + 1] - cdf[value]);
        if (freq == 0)
            return FSR_ERR_SYMBOL;
        return enc_put(e, (uint32_t)cdf[value], freq, t->precision);
    }
    raw = value < 0 ? (uint64_t)(-2 * value - 1) : (uint64_t)(2 * (value - max_value));
    if (raw > UINT32_MAX)
        return FSR_ERR_SYMBOL;
    freq = (uint32_t)(cdf[max_value + 1] - cdf[max_value]);
    if (freq == 0)
        return FSR_ERR_SYMBOL;
    if ((st = enc_escape_payload(e, (uint32_t)raw)) != FSR_OK)
        return st;
    return enc_put(e, (uint32_t)cdf[max_value], freq, t->precision);
}

static int enc_begin(encoder *e, const fsr_tables *t, uint8_t *out, size_t cap, size_t *out_len)
{
    int st = fsr_tables_check(t);
    if (st != FSR_OK)
        return st;
    if (out == NULL || out_len == NULL)
        return FSR_ERR_ARGUMENT;
    e->x = RANS_L;
    e->begin = out;
    e->ptr = out + cap;
    return FSR_OK;
}

/* Write the final state (low word first) and move the stream to the start of the buffer. */
static int enc_flush(encoder *e, uint8_t *out, size_t cap, size_t *out_len)
{
    if (e->ptr - e->begin < 8)
        return FSR_ERR_BUFFER;
    e->ptr -= 8;
    store_le32(e->ptr, (uint32_t)e->x);
    store_le32(e->ptr + 4, (uint32_t)(e->x >> 32));
    *out_len = (size_t)((out + cap) - e->ptr);
    memmove(out, e->ptr, *out_len);
    return FSR_OK;
}

/* Shared loop: symbol i of plane p uses index indexes[i] when given, else p (one call site keeps
 * enc_symbol inlined and the state in a register). */
static int encode_impl(const fsr_tables *t, const int32_t *symbols, const int32_t *indexes,
                       uint32_t num_planes, size_t plane_size, uint8_t *out, size_t out_capacity,
                       size_t *out_len)
{
    encoder e;
    uint32_t p;
    size_t i;
    int st;
    if ((st = enc_begin(&e, t, out, out_capacity, out_len)) != FSR_OK)
        return st;
    if (plane_size > 0 && num_planes > SIZE_MAX / plane_size)
        return FSR_ERR_ARGUMENT;
    if (num_planes > 0 && plane_size > 0 && symbols == NULL)
        return FSR_ERR_ARGUMENT;
    for (p = num_planes; p-- > 0;) { /* rANS is last-in first-out: encode in reverse */
        for (i = (size_t)p * plane_size + plane_size; i-- > (size_t)p * plane_size;) {
            int32_t index = indexes != NULL ? indexes[i] : (int32_t)p;
            if ((st = enc_symbol(&e, t, symbols[i], index)) != FSR_OK)
                return st;
        }
    }
    return enc_flush(&e, out, out_capacity, out_len);
}

int fsr_encode(const fsr_tables *t, const int32_t *symbols, const int32_t *indexes, size_t n, uint8_t *out,
               size_t out_capacity, size_t *out_len)
{
    if (n > 0 && indexes == NULL)
        return FSR_ERR_ARGUMENT;
    return encode_impl(t, symbols, indexes, 1, n, out, out_capacity, out_len);
}

int fsr_encode_planar(const fsr_tables *t, const int32_t *symbols, uint32_t num_planes, size_t plane_size,
                      uint8_t *out, size_t out_capacity, size_t *out_len)
{
    if (t != NULL && plane_size > 0 && num_planes > t->num_cdfs)
        return FSR_ERR_INDEX;
    return encode_impl(t, symbols, NULL, num_planes, plane_size, out, out_capacity, out_len);
}

/* ---------------------------------------------------------------- trusted encoder (reciprocals) */

#if defined(__SIZEOF_INT128__) && !defined(FSR_NO_INT128) /* FSR_NO_INT128: the division path (tests) */
#define FSR_HAVE_MULHI 1
/* a GCC/Clang extension: __extension__ keeps -Wpedantic quiet */
__extension__ typedef unsigned __int128 fsr_u128;
static inline uint64_t mulhi64(uint64_t a, uint64_t b)
{
    return (uint64_t)(((fsr_u128)a * b) >> 64);
}
#else
#define FSR_HAVE_MULHI 0
#endif

size_t fsr_etable_entries(const fsr_tables *t)
{
    if (fsr_tables_check(t) != FSR_OK || t->cdf_stride > SIZE_MAX / sizeof(fsr_eentry) / t->num_cdfs)
        return 0;
    return (size_t)t->num_cdfs * t->cdf_stride;
}

/* One slot. For freq >= 2 with 2^(s-1) < freq <= 2^s: rcp = ceil(2^(63+s) / freq) < 2^64, whose error
 * rcp * freq - 2^(63+s) is below freq <= 2^s, so floor(x * rcp / 2^(63+s)) = floor(x / freq) for x < 2^63
 * (Granlund & Montgomery 1994, theorem 4.2). The step x + bias + q * cmpl is then q * 2^prec + x mod freq + start.
 * For freq 1, mulhi(x, 2^64 - 1) = x - 1 (x >= 1), which the bias's extra cmpl makes up. */
static void eentry_init(fsr_eentry *e, uint32_t start, uint32_t freq, unsigned prec)
{
    memset(e, 0, sizeof *e);
    e->freq = freq;
    if (freq == 0)
        return; /* x_max 0 marks the slot uncodable */
    e->x_max = (uint64_t)freq << (63 - prec);
    e->cmpl = (uint32_t)((UINT32_C(1) << prec) - freq);
    if (freq == 1) {
        e->rcp = UINT64_MAX;
        e->bias = start + e->cmpl;
    } else {
        unsigned s = 0;
        uint64_t a, q1, q0, r0;
        while ((UINT32_C(1) << s) < freq)
            s++;
        /* ceil(2^(63+s) / freq) in two 64-bit divisions: 2^(63+s) = 2^(31+s) * 2^32, and 2^(31+s) / freq < 2^32 */
        a = UINT64_C(1) << (31 + s);
        q1 = a / freq;
        q0 = ((a % freq) << 32) / freq;
        r0 = ((a % freq) << 32) % freq;
        e->rcp = (q1 << 32) + q0 + (r0 != 0);
        e->shift = s - 1;
        e->bias = start;
    }
}

int fsr_etable_build(const fsr_tables *t, fsr_eentry *et, size_t entries)
{
    uint32_t c;
    int32_t s;
    size_t need = fsr_etable_entries(t);
    if (need == 0)
        return fsr_tables_check(t) != FSR_OK ? FSR_ERR_TABLES : FSR_ERR_ARGUMENT;
    if (et == NULL || entries < need)
        return FSR_ERR_ARGUMENT;
    memset(et, 0, need * sizeof *et);
    for (c = 0; c < t->num_cdfs; c++) {
        const int32_t *cdf = t->cdf + (size_t)c * t->cdf_stride;
        fsr_eentry *row = et + (size_t)c * t->cdf_stride;
        for (s = 0; s + 1 < t->cdf_length[c]; s++)
            eentry_init(&row[s], (uint32_t)cdf[s], (uint32_t)(cdf[s + 1] - cdf[s]), t->precision);
    }
    return FSR_OK;
}

static inline int enc_put_entry(encoder *e, const fsr_eentry *s, unsigned prec)
{
    uint64_t x = e->x;
    if (x >= s->x_max) {
        if (e->ptr - e->begin < 4)
            return FSR_ERR_BUFFER;
        e->ptr -= 4;
        store_le32(e->ptr, (uint32_t)x);
        x >>= 32;
    }
#if FSR_HAVE_MULHI
    e->x = x + s->bias + (mulhi64(x, s->rcp) >> s->shift) * s->cmpl;
#else
    e->x = ((x / s->freq) << prec) + x % s->freq +
           (s->bias - (s->freq == 1 ? s->cmpl : 0)); /* bias - cmpl: start */
#endif
    (void)prec;
    return FSR_OK;
}

int fsr_encode_planar_trusted(const fsr_tables *t, const fsr_eentry *et, const int32_t *symbols,
                              uint32_t num_planes, size_t plane_size, uint8_t *out, size_t out_capacity,
                              size_t *out_len)
{
    encoder e;
    uint32_t p;
    size_t i;
    int st;
    if (t == NULL || et == NULL || out == NULL || out_len == NULL)
        return FSR_ERR_ARGUMENT;
    if (plane_size > 0 && num_planes > t->num_cdfs)
        return FSR_ERR_INDEX;
    if (plane_size > 0 && num_planes > SIZE_MAX / plane_size)
        return FSR_ERR_ARGUMENT;
    if (num_planes > 0 && plane_size > 0 && symbols == NULL)
        return FSR_ERR_ARGUMENT;
    e.x = RANS_L;
    e.begin = out;
    e.ptr = out + out_capacity;
    for (p = num_planes; p-- > 0;) { /* rANS is last-in first-out: encode in reverse */
        const fsr_eentry *row = et + (size_t)p * t->cdf_stride;
        const int32_t *plane = symbols + (size_t)p * plane_size;
        const uint64_t max_value = (uint64_t)(t->cdf_length[p] - 2); /* the escape slot */
        const int64_t offset = t->offset[p];
        for (i = plane_size; i-- > 0;) {
            uint64_t value = (uint64_t)((int64_t)plane[i] - offset);
            if (value < max_value) { /* also false for negative values */
                if (row[value].x_max == 0)
                    return FSR_ERR_SYMBOL;
                st = enc_put_entry(&e, &row[value], t->precision);
            } else {
                st = enc_symbol(&e, t, plane[i], (int32_t)p); /* escapes: rare, the checked step */
            }
            if (st != FSR_OK)
                return st;
        }
    }
    return enc_flush(&e, out, out_capacity, out_len);
}

/* ---------------------------------------------------------------- decoder */

typedef struct {
    uint64_t x;
    const uint8_t *ptr, *end;
} decoder;

static inline int dec_refill(decoder *d)
{
    if (d->x < RANS_L) {
        if (d->end - d->ptr < 4)
            return FSR_ERR_TRUNCATED;
        d->x = (d->x << 32) | load_le32(d->ptr);
        d->ptr += 4;
    }
    return FSR_OK;
}

/* Largest s in [lo, hi] with cdf[s] <= cum, given that it lies in that range. */
static uint32_t search_slot(const int32_t *cdf, uint32_t lo, uint32_t hi, uint32_t cum)
{
    const int32_t *base = cdf + lo;
    size_t n = (size_t)(hi - lo) + 1; /* the answer lies in [base, base + n) */
    while (n > 1) {
        size_t half = n / 2;
        base = ((uint32_t)base[half] <= cum) ? base + half : base;
        n -= half;
    }
    return (uint32_t)(base - cdf);
}

/* The slot s with cdf[s] <= cum < cdf[s+1] (valid row: cdf[0] = 0 <= cum < cdf[len-1]). A checked
 * lookup bounds the answer to [row[bucket], row[bucket + 1]], usually a single slot. */
static inline uint32_t find_slot(const fsr_tables *t, int32_t index, const int32_t *cdf, int32_t len,
                                 uint32_t cum)
{
    if (t->lookup != NULL) {
        const uint16_t *row = t->lookup + (size_t)index * FSR_LOOKUP_STRIDE;
        unsigned bits = t->precision < FSR_LOOKUP_BITS ? t->precision : FSR_LOOKUP_BITS;
        uint32_t bucket = cum >> (t->precision - bits);
        return search_slot(cdf, row[bucket], row[bucket + 1], cum);
    }
    return search_slot(cdf, 0, (uint32_t)len - 2, cum);
}

/* One 4-bit escape step. */
static inline int dec_nibble(decoder *d, uint32_t *nibble)
{
    *nibble = (uint32_t)(d->x & 15u);
    d->x >>= NIBBLE_BITS;
    return dec_refill(d);
}

static inline int dec_escape(decoder *d, int32_t max_value, int64_t *value)
{
    uint32_t count, nibble, j;
    uint64_t raw = 0;
    int st;
    if ((st = dec_nibble(d, &count)) != FSR_OK)
        return st;
    /* A count of 15 would need continuation chunks; no 32-bit raw value needs more than 8. */
    if (count > ESCAPE_MAX_NIBBLES)
        return FSR_ERR_CORRUPT;
    for (j = 0; j < count; j++) {
        if ((st = dec_nibble(d, &nibble)) != FSR_OK)
            return st;
        raw |= (uint64_t)nibble << (NIBBLE_BITS * j);
    }
    if (count > 0 && (raw >> (NIBBLE_BITS * (count - 1))) == 0)
        return FSR_ERR_CORRUPT; /* non-minimal count: no encoder writes a leading zero nibble */
    if (raw & 1u)
        *value = -(int64_t)(raw >> 1) - 1;
    else
        *value = (int64_t)(raw >> 1) + max_value;
    return FSR_OK;
}

static inline int dec_symbol(decoder *d, const fsr_tables *t, int32_t index, int32_t *symbol)
{
    const int32_t *cdf;
    int32_t len;
    uint32_t cum, s, start, freq;
    int64_t value;
    int st;

    if (index < 0 || (uint32_t)index >= t->num_cdfs)
        return FSR_ERR_INDEX;
    cdf = t->cdf + (size_t)index * t->cdf_stride;
    len = t->cdf_length[index];
    cum = (uint32_t)(d->x & ((UINT64_C(1) << t->precision) - 1));
    s = find_slot(t, index, cdf, len, cum);
    start = (uint32_t)cdf[s];
    freq = (uint32_t)cdf[s + 1] - start;
    d->x = freq * (d->x >> t->precision) + cum - start;
    if ((st = dec_refill(d)) != FSR_OK)
        return st;

    value = (int64_t)s;
    if ((int32_t)s == len - 2 && (st = dec_escape(d, len - 2, &value)) != FSR_OK)
        return st;
    value += t->offset[index];
    if (value < INT32_MIN || value > INT32_MAX)
        return FSR_ERR_CORRUPT;
    *symbol = (int32_t)value;
    return FSR_OK;
}

/* The stream's framing and initial state (shared by the checked and the trusted decoder). */
static int dec_open(decoder *d, const uint8_t *data, size_t len)
{
    if (data == NULL)
        return FSR_ERR_ARGUMENT;
    if (len < 8)
        return FSR_ERR_TRUNCATED;
    if (len % 4 != 0)
        return FSR_ERR_CORRUPT;
    d->x = (uint64_t)load_le32(data) | ((uint64_t)load_le32(data + 4) << 32);
    if (d->x < RANS_L || (d->x >> 63) != 0)
        return FSR_ERR_CORRUPT;
    d->ptr = data + 8;
    d->end = data + len;
    return FSR_OK;
}

static int dec_begin(decoder *d, const fsr_tables *t, const uint8_t *data, size_t len)
{
    int st = fsr_tables_check(t);
    if (st != FSR_OK)
        return st;
    /* The per-symbol path trusts the lookup, so it must be exactly the one these tables give. */
    if (fsr_lookup_check(t) != FSR_OK)
        return FSR_ERR_TABLES;
    return dec_open(d, data, len);
}

/* A valid stream is consumed exactly and returns the state to its initial value. */
static int dec_end(const decoder *d)
{
    return (d->ptr == d->end && d->x == RANS_L) ? FSR_OK : FSR_ERR_CORRUPT;
}

/* Shared loop, as encode_impl. */
static int decode_impl(const fsr_tables *t, const int32_t *indexes, uint32_t num_planes, size_t plane_size,
                       const uint8_t *data, size_t data_len, int32_t *symbols_out)
{
    decoder d;
    uint32_t p;
    size_t i;
    int st;
    if ((st = dec_begin(&d, t, data, data_len)) != FSR_OK)
        return st;
    if (plane_size > 0 && num_planes > SIZE_MAX / plane_size)
        return FSR_ERR_ARGUMENT;
    if (num_planes > 0 && plane_size > 0 && symbols_out == NULL)
        return FSR_ERR_ARGUMENT;
    for (p = 0, i = 0; p < num_planes; p++) {
        size_t end = i + plane_size;
        for (; i < end; i++) {
            int32_t index = indexes != NULL ? indexes[i] : (int32_t)p;
            if ((st = dec_symbol(&d, t, index, &symbols_out[i])) != FSR_OK)
                return st;
        }
    }
    return dec_end(&d);
}

int fsr_decode(const fsr_tables *t, const int32_t *indexes, size_t n, const uint8_t *data, size_t data_len,
               int32_t *symbols_out)
{
    if (n > 0 && indexes == NULL)
        return FSR_ERR_ARGUMENT;
    return decode_impl(t, indexes, 1, n, data, data_len, symbols_out);
}

int fsr_decode_planar(const fsr_tables *t, uint32_t num_planes, size_t plane_size, const uint8_t *data,
                      size_t data_len, int32_t *symbols_out)
{
    if (t != NULL && plane_size > 0 && num_planes > t->num_cdfs)
        return FSR_ERR_INDEX;
    return decode_impl(t, NULL, num_planes, plane_size, data, data_len, symbols_out);
}

/* ---------------------------------------------------------------- trusted decoder (decoder table) */

#if defined(__GNUC__)
#define FSR_ALWAYS_INLINE inline __attribute__((always_inline))
/* Keeps p's computation apart: the compiler would otherwise fold it into the load address on the state chain. */
#define FSR_OPAQUE(p) __asm__("" : "+r"(p))
#else
#define FSR_ALWAYS_INLINE inline
#define FSR_OPAQUE(p) (void)0
#endif

/* Bucket bits of the decoder table: 10 (8 KiB a row; 10 % faster than 8 bits on the 2.5-bit/symbol latent of the
 * codec benchmark, as fewer buckets span several slots; 11 and 12 were slower) while the table stays within 2 MiB,
 * else 8. */
#define DTABLE_BITS 10u
#define DTABLE_BITS_LARGE 8u
#define DTABLE_MAX_ROWS 256u

static unsigned dtable_bits(unsigned precision, uint32_t num_cdfs)
{
    unsigned bits = num_cdfs <= DTABLE_MAX_ROWS ? DTABLE_BITS : DTABLE_BITS_LARGE;
    return precision < bits ? precision : bits;
}

/* A row's mode entry is on when its most probable slot holds >= 12/16 of the mass: trying that slot first is then
 * a well-predicted branch and a multiply (2.4-3.3 ns a symbol instead of 4.2-6.5 on the FrankenSplit, units and
 * light-lite0 latents of the codec benchmark, an Intel Xeon VM); below, mispredictions cost more than it saves. */
#ifndef FSR_MODE_MIN_16THS
#define FSR_MODE_MIN_16THS 12
#endif

size_t fsr_dtable_entries(const fsr_tables *t)
{
    if (fsr_tables_check(t) != FSR_OK)
        return 0;
    return (size_t)t->num_cdfs * ((1u << dtable_bits(t->precision, t->num_cdfs)) + 1);
}

int fsr_dtable_build(const fsr_tables *t, fsr_dentry *dt, size_t entries)
{
    uint32_t c, b;
    unsigned bits, shift;
    int st = fsr_tables_check(t);
    if (st != FSR_OK)
        return st;
    bits = dtable_bits(t->precision, t->num_cdfs);
    shift = t->precision - bits;
    if (dt == NULL || entries / ((1u << bits) + 1) < t->num_cdfs)
        return FSR_ERR_ARGUMENT;
    for (c = 0; c < t->num_cdfs; c++) {
        const int32_t *cdf = t->cdf + (size_t)c * t->cdf_stride;
        fsr_dentry *row = dt + ((size_t)c << bits), *mode = dt + ((size_t)t->num_cdfs << bits) + c;
        uint32_t last = (uint32_t)t->cdf_length[c] - 2, s = 0;
        for (b = 0; b < (1u << bits); b++) {
            /* the slot of cum is the largest s <= last with cdf[s] <= cum (never a zero-frequency one) */
            int32_t first = (int32_t)(b << shift), final = first + (int32_t)(1u << shift) - 1;
            uint32_t lo, hi;
            while (s < last && cdf[s + 1] <= first)
                s++;
            lo = s;
            while (s < last && cdf[s + 1] <= final)
                s++;
            hi = s;
            row[b].slot = (uint16_t)lo; /* last <= 2^16 - 1 and cdf[lo] <= first < 2^16: both fit */
            if (lo == hi) {
                row[b].start = (uint16_t)cdf[lo];
                row[b].freq = (uint32_t)(cdf[lo + 1] - cdf[lo]);
            } else {
                row[b].start = (uint16_t)hi;
                row[b].freq = 0;
            }
        }
        /* the row's most probable slot, tried first when it is likely enough (else freq 0: off) */
        mode->freq = 0;
        mode->start = mode->slot = 0;
        for (s = 0; s <= last; s++) {
            uint32_t freq = (uint32_t)(cdf[s + 1] - cdf[s]);
            if (freq > mode->freq && 16 * (uint64_t)freq >= (uint64_t)FSR_MODE_MIN_16THS << t->precision) {
                mode->freq = freq;
                mode->start = (uint16_t)cdf[s];
                mode->slot = (uint16_t)s;
            }
        }
    }
    return FSR_OK;
}

/* The loop of fsr_decode_trusted, with precision a constant where the caller can make it one. Decodes exactly as
 * dec_symbol: the mode entry and the decoder table give the same slot as find_slot, so the state, every refill and
 * every status are the same. */
static FSR_ALWAYS_INLINE int decode_trusted_loop(const fsr_tables *t, const fsr_dentry *dt,
                                                 const int32_t *indexes, size_t n, decoder *d,
                                                 int32_t *symbols_out, unsigned prec, unsigned bits)
{
    const unsigned shift = prec - bits;
    const uint32_t mask = (uint32_t)((UINT64_C(1) << prec) - 1), num_cdfs = t->num_cdfs;
    const int32_t *cdf_base = t->cdf, *lengths = t->cdf_length, *offsets = t->offset;
    const fsr_dentry *modes = dt + ((size_t)num_cdfs << bits);
    const size_t stride = t->cdf_stride;
    const uint8_t *ptr = d->ptr, *const end = d->end;
    uint64_t x = d->x;
    size_t i;
    int st;
    for (i = 0; i < n; i++) {
        int32_t index = indexes[i];
        const fsr_dentry *row, *e, *mode;
        uint32_t cum, s, start, freq;
        int64_t value;
        if ((uint32_t)index >= num_cdfs) /* also refuses negative indexes */
            return FSR_ERR_INDEX;
        mode = modes + index;
        cum = (uint32_t)x & mask;
        /* The state chain: with a likely mode, a predicted branch and the multiply; else the bucket's entry. */
        if (cum - mode->start < mode->freq) {
            freq = mode->freq;
            start = mode->start;
            s = mode->slot;
        } else {
            row = dt + ((size_t)(uint32_t)index << bits);
            FSR_OPAQUE(row);
            e = row + (cum >> shift);
            freq = e->freq;
            start = e->start;
            s = e->slot;
            if (freq == 0) { /* a bucket spanning several slots */
                const int32_t *cdf = cdf_base + (size_t)index * stride;
                s = search_slot(cdf, s, start, cum);
                start = (uint32_t)cdf[s];
                freq = (uint32_t)cdf[s + 1] - start;
            }
        }
        x = (uint64_t)freq * (x >> prec) + (cum - start); /* cum >= start: one add after the multiply */
        if (x < RANS_L) {
            if (end - ptr < 4)
                return FSR_ERR_TRUNCATED;
            x = (x << 32) | load_le32(ptr);
            ptr += 4;
        }
        value = (int64_t)s;
        if ((int32_t)s == lengths[index] - 2) { /* rare: the escape payload */
            d->x = x;
            d->ptr = ptr;
            if ((st = dec_escape(d, (int32_t)s, &value)) != FSR_OK)
                return st;
            x = d->x;
            ptr = d->ptr;
        }
        value += offsets[index];
        if (value < INT32_MIN || value > INT32_MAX)
            return FSR_ERR_CORRUPT;
        symbols_out[i] = (int32_t)value;
    }
    d->x = x;
    d->ptr = ptr;
    return FSR_OK;
}

int fsr_decode_trusted(const fsr_tables *t, const fsr_dentry *dt, const int32_t *indexes, size_t n,
                       const uint8_t *data, size_t data_len, int32_t *symbols_out)
{
    decoder d;
    int st;
    if (t == NULL || dt == NULL || (n > 0 && (indexes == NULL || symbols_out == NULL)))
        return FSR_ERR_ARGUMENT;
    if ((st = dec_open(&d, data, data_len)) != FSR_OK)
        return st;
    /* constant shifts for CompressAI's precision */
    if (t->precision == 16 && dtable_bits(16, t->num_cdfs) == DTABLE_BITS)
        st = decode_trusted_loop(t, dt, indexes, n, &d, symbols_out, 16, DTABLE_BITS);
    else if (t->precision == 16)
        st = decode_trusted_loop(t, dt, indexes, n, &d, symbols_out, 16, DTABLE_BITS_LARGE);
    else
        st = decode_trusted_loop(t, dt, indexes, n, &d, symbols_out, t->precision,
                                 dtable_bits(t->precision, t->num_cdfs));
    if (st != FSR_OK)
        return st;
    return dec_end(&d);
}
