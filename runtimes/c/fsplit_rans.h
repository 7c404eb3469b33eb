/*
 * fsplit_rans.h - portable rANS entropy coder, byte-compatible with CompressAI's
 * RansEncoder.encode_with_indexes / RansDecoder.decode_with_indexes (precision 16).
 *
 * C99, integer-only, no global state, no allocation: every buffer is provided by the caller.
 * The decoder is safe on untrusted input: it never reads or writes out of bounds and reports
 * truncated or inconsistent streams and invalid tables with an error code.
 *
 * Stream layout (see docs/formats.md): a 64-bit state x kept in [2^31, 2^63), 32-bit words,
 * little-endian; output = [x low 32 bits, x high 32 bits, refill words in decoder read order].
 */
#ifndef FSPLIT_RANS_H
#define FSPLIT_RANS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: 0 is success, errors are negative. */
enum {
    FSR_OK = 0,
    FSR_ERR_ARGUMENT = -1,  /* null pointer or inconsistent sizes passed by the caller */
    FSR_ERR_TABLES = -2,    /* invalid CDF tables (not monotone, wrong ends, bad length, bad precision) */
    FSR_ERR_INDEX = -3,     /* a CDF index is outside [0, num_cdfs) */
    FSR_ERR_SYMBOL = -4,    /* a symbol cannot be coded (zero-frequency slot, escape beyond 32 bits) */
    FSR_ERR_BUFFER = -5,    /* output buffer too small */
    FSR_ERR_TRUNCATED = -6, /* stream ends before all symbols are decoded */
    FSR_ERR_CORRUPT = -7,   /* stream is inconsistent (bad state, trailing data, bad escape) */
    FSR_ERR_FORMAT = -8,    /* file/container: bad magic, version, field or size */
    FSR_ERR_MISMATCH = -9,  /* container was written with other tables or another latent shape */
    FSR_ERR_CHECKSUM = -10, /* file/container: checksum or content hash does not match */
    FSR_ERR_LIMIT = -11     /* declared sizes exceed the reader's limits */
};

/* Human-readable name of a status code (static string, never NULL). */
const char *fsr_strerror(int status);

#define FSR_MAX_PRECISION 16

/* Decoder lookup: per row, the slot holding each of 2^8 evenly spaced cumulative frequencies. */
#define FSR_LOOKUP_BITS 8
#define FSR_LOOKUP_STRIDE ((1u << FSR_LOOKUP_BITS) + 1) /* uint16 entries per row */

/*
 * A read-only view of CompressAI-style CDF tables (nothing is copied or owned).
 * Row c is cdf[c * cdf_stride .. c * cdf_stride + cdf_length[c] - 1]; entries past
 * cdf_length[c] are padding and never read. A valid row starts at 0, never decreases and ends
 * at 2^precision; slot cdf_length[c] - 2 is the escape (bypass) slot.
 *
 * lookup is optional (NULL: binary search over the row). When set (fsr_lookup_build), decoding
 * narrows each search to one of 256 buckets, usually a single slot. Each decode call first checks
 * that the lookup is exactly the one these tables give (O(num_cdfs * 257)) and refuses a stale or
 * damaged one with FSR_ERR_TABLES, so the per-symbol path can trust it.
 */
typedef struct {
    const int32_t *cdf;        /* num_cdfs rows of cdf_stride entries */
    size_t cdf_stride;         /* entries per row, >= every cdf_length */
    const int32_t *cdf_length; /* num_cdfs lengths, each in [2, 2^precision + 1] */
    const int32_t *offset;     /* num_cdfs offsets: value = symbol - offset */
    uint32_t num_cdfs;         /* >= 1 */
    uint32_t precision;        /* 1..16; CompressAI uses 16 */
    const uint16_t *lookup;    /* NULL, or num_cdfs * FSR_LOOKUP_STRIDE entries */
} fsr_tables;

/* Validate tables. Encode and decode call this themselves; it is exposed for loaders. */
int fsr_tables_check(const fsr_tables *t);

/* Fill lookup (num_cdfs * FSR_LOOKUP_STRIDE entries) for these tables; t->lookup is not read. */
int fsr_lookup_build(const fsr_tables *t, uint16_t *lookup, size_t entries);

/* FSR_OK if t->lookup is NULL or exactly what fsr_lookup_build gives for t, else FSR_ERR_TABLES (also
 * for invalid tables). About 0.25 ns per lookup entry. */
int fsr_lookup_check(const fsr_tables *t);

/* Upper bound in bytes of an encoded stream of n symbols (0 if it would overflow size_t). */
size_t fsr_encode_bound(size_t n);

/*
 * Encode n symbols; symbol i uses row indexes[i]. Writes *out_len bytes at out[0..].
 * n may be 0 (8-byte stream). On error the contents of out are unspecified.
 */
int fsr_encode(const fsr_tables *t, const int32_t *symbols, const int32_t *indexes, size_t n, uint8_t *out,
               size_t out_capacity, size_t *out_len);

/* Decode n symbols coded with the same indexes. The whole stream must be consumed exactly. */
int fsr_decode(const fsr_tables *t, const int32_t *indexes, size_t n, const uint8_t *data, size_t data_len,
               int32_t *symbols_out);

/*
 * Planar variants for latents: num_planes planes of plane_size symbols in C order, the index of
 * every symbol of plane p is p (CompressAI's per-channel indexes for a C x H x W latent).
 */
int fsr_encode_planar(const fsr_tables *t, const int32_t *symbols, uint32_t num_planes, size_t plane_size,
                      uint8_t *out, size_t out_capacity, size_t *out_len);
int fsr_decode_planar(const fsr_tables *t, uint32_t num_planes, size_t plane_size, const uint8_t *data,
                      size_t data_len, int32_t *symbols_out);

/*
 * Trusted decoding, for a caller that owns private, immutable copies of its tables (the Python binding's
 * table object): the tables are validated once, when the decoder table is built, instead of on every call.
 *
 * The decoder table holds, per row, one entry for each of the 2^min(precision, bits) buckets of cumulative
 * frequency: the bucket's slot with its start and frequency when the whole bucket lies in one slot (the
 * usual case), else the range of slots to search; after all rows, one mode entry per row: its most probable
 * slot, tried first when it holds at least 3/4 of the mass (else freq 0). fsr_decode_trusted decodes exactly
 * as fsr_decode (same symbols, same status on every stream and index array) without checking the tables: t
 * and dt must be unchanged since fsr_dtable_build returned FSR_OK for them. Indexes and the stream are still
 * checked. fsr_decode itself keeps validating its caller's tables on every call.
 */
typedef struct {
    uint32_t freq;  /* slot frequency; 0: the bucket spans several slots, searched in [slot, start] */
    uint16_t start; /* cdf[slot] (or the last slot to search) */
    uint16_t slot;
} fsr_dentry;

/* Entries of the decoder table of t: num_cdfs * (2^min(precision, bits) + 1), bits 10 up to 256 rows, else 8
 * (at most 2 MiB, or 2 KiB a row); 0 if t is invalid. */
size_t fsr_dtable_entries(const fsr_tables *t);

/* Validate t (fsr_tables_check; t->lookup is not read) and fill dt (fsr_dtable_entries(t) entries). */
int fsr_dtable_build(const fsr_tables *t, fsr_dentry *dt, size_t entries);

int fsr_decode_trusted(const fsr_tables *t, const fsr_dentry *dt, const int32_t *indexes, size_t n,
                       const uint8_t *data, size_t data_len, int32_t *symbols_out);

/*
 * Trusted planar encoding: fsr_encode_planar's bytes without its division. The encoder table holds, per slot of
 * every row, the renormalisation bound and a 64-bit reciprocal of the slot's frequency (q = mulhi(x, rcp) >> shift
 * is x / freq exactly for every state x < 2^63), so a step is two multiplies instead of a 64-bit division on the
 * state's dependency chain. Like fsr_decode_trusted, fsr_encode_planar_trusted skips the per-call table check: t and
 * et must be unchanged since fsr_etable_build returned FSR_OK for them (a damaged table gives wrong bytes, never an
 * access outside the caller's buffers). Without a 128-bit multiply (no __int128) it divides, with the same bytes.
 */
typedef struct {
    uint64_t x_max; /* renormalise when x >= x_max (= freq << (63 - precision)); 0: zero-frequency slot */
    uint64_t rcp;   /* reciprocal of freq (2^64 - 1 for freq 1) */
    uint32_t bias;  /* start, or start + 2^precision - 1 for freq 1 */
    uint32_t cmpl;  /* 2^precision - freq */
    uint32_t shift; /* ceil(log2 freq) - 1, 0 for freq 1 */
    uint32_t freq;
} fsr_eentry;

/* The most entries an encoder table is worth building for: it takes 32 bytes an entry (8x the CDF), and a tables
 * file may hold 2^24 entries (512 MiB of table); larger tables keep the checked encoder (same bytes). The native
 * runner, the Python binding (rans.ENCODER_TABLE_MAX_ENTRIES) and Java (CodecTables.MAX_RECIPROCAL_SLOTS) use it. */
#define FSR_ETABLE_MAX_ENTRIES (UINT32_C(1) << 20)

/* Entries of the encoder table of t: num_cdfs * cdf_stride (slot s of row c at c * cdf_stride + s); 0 if t is
 * invalid or the count overflows. */
size_t fsr_etable_entries(const fsr_tables *t);

/* Validate t (fsr_tables_check; t->lookup is not read) and fill et (fsr_etable_entries(t) entries). */
int fsr_etable_build(const fsr_tables *t, fsr_eentry *et, size_t entries);

int fsr_encode_planar_trusted(const fsr_tables *t, const fsr_eentry *et, const int32_t *symbols,
                              uint32_t num_planes, size_t plane_size, uint8_t *out, size_t out_capacity,
                              size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* FSPLIT_RANS_H */
