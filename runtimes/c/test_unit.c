/*
 * test_unit.c - C-level checks the conformance vectors do not cover: digests, argument and table
 * validation, buffer limits, and that every truncation or single-byte change of a stream, tables
 * file or container is refused (or decodes to something) without any out-of-bounds access.
 */
#include "fsplit_container.h"
#include "fsplit_hash.h"
#include "fsplit_rans.h"
#include "fsplit_tables.h"

#include "test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const uint8_t *d, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_digests(void)
{
    static const char *abc_digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char *two_block = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    const char *msg2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    fsr_sha256 s;
    uint8_t d[32];
    char h[65];
    fsr_sha256_init(&s);
    fsr_sha256_update(&s, (const uint8_t *)"abc", 3);
    fsr_sha256_final(&s, d);
    hex(d, 32, h);
    CHECK(strcmp(h, abc_digest) == 0);
    fsr_sha256_init(&s);
    fsr_sha256_update(&s, (const uint8_t *)msg2, 20); /* in two pieces */
    fsr_sha256_update(&s, (const uint8_t *)msg2 + 20, strlen(msg2) - 20);
    fsr_sha256_final(&s, d);
    hex(d, 32, h);
    CHECK(strcmp(h, two_block) == 0);
    CHECK(fsr_crc32(0, (const uint8_t *)"123456789", 9) == 0xCBF43926u);
    CHECK(fsr_crc32(fsr_crc32(0, (const uint8_t *)"1234", 4), (const uint8_t *)"56789", 5) == 0xCBF43926u);
}

/* The table plus a second channel with offset -3. */
static const int32_t cdf[2][5] = {{0, 16384, 49152, 65535, 65536}, {0, 20000, 65536, 0, 0}};
static const int32_t lengths[2] = {5, 3};
static const int32_t offsets[2] = {0, -3};

static fsr_tables make_tables(void)
{
    fsr_tables t;
    t.cdf = &cdf[0][0];
    t.cdf_stride = 5;
    t.cdf_length = lengths;
    t.offset = offsets;
    t.num_cdfs = 2;
    t.precision = 16;
    t.lookup = NULL;
    return t;
}

static void test_table_validation(void)
{
    int32_t bad[5] = {0, 16384, 49152, 65535, 65536};
    int32_t len1[1] = {5}, off1[1] = {0};
    fsr_tables t = {bad, 5, len1, off1, 1, 16, NULL};
    CHECK(fsr_tables_check(&t) == FSR_OK);
    bad[2] = 10000; /* decreasing */
    CHECK(fsr_tables_check(&t) == FSR_ERR_TABLES);
    bad[2] = 49152;
    bad[4] = 65535; /* does not end at 2^16 */
    CHECK(fsr_tables_check(&t) == FSR_ERR_TABLES);
    bad[4] = 65536;
    bad[0] = 1; /* does not start at 0 */
    CHECK(fsr_tables_check(&t) == FSR_ERR_TABLES);
    bad[0] = 0;
    len1[0] = 6; /* longer than the stride */
    CHECK(fsr_tables_check(&t) == FSR_ERR_TABLES);
    len1[0] = 1;
    CHECK(fsr_tables_check(&t) == FSR_ERR_TABLES);
    len1[0] = 5;
    t.precision = 17;
    CHECK(fsr_tables_check(&t) == FSR_ERR_TABLES);
    t.precision = 16;
    t.num_cdfs = 0;
    CHECK(fsr_tables_check(&t) == FSR_ERR_TABLES);
    CHECK(fsr_tables_check(NULL) == FSR_ERR_ARGUMENT);
}

static void test_encode_errors(void)
{
    fsr_tables t = make_tables();
    int32_t sym[3] = {0, 1, 2}, idx[3] = {0, 1, 0}, out_sym[3];
    uint8_t out[256];
    size_t len;
    idx[1] = 2;
    CHECK(fsr_encode(&t, sym, idx, 3, out, sizeof out, &len) == FSR_ERR_INDEX);
    idx[1] = -1;
    CHECK(fsr_encode(&t, sym, idx, 3, out, sizeof out, &len) == FSR_ERR_INDEX);
    idx[1] = 1;
    sym[1] = INT32_MIN; /* value = INT32_MIN + 3 still fits 32 escape bits */
    CHECK(fsr_encode(&t, sym, idx, 3, out, sizeof out, &len) == FSR_OK);
    CHECK(fsr_decode(&t, idx, 3, out, len, out_sym) == FSR_OK && out_sym[1] == INT32_MIN);
    sym[1] = INT32_MAX; /* value = INT32_MAX + 3 - 1: raw 2^32 + 2 needs 33 bits */
    CHECK(fsr_encode(&t, sym, idx, 3, out, sizeof out, &len) == FSR_ERR_SYMBOL);
    sym[1] = 0;
    CHECK(fsr_encode(&t, sym, idx, 3, out, 7, &len) == FSR_ERR_BUFFER);
    CHECK(fsr_encode(&t, sym, idx, 3, out, 0, &len) == FSR_ERR_BUFFER);
    CHECK(fsr_encode(&t, NULL, idx, 3, out, sizeof out, &len) == FSR_ERR_ARGUMENT);
    CHECK(fsr_encode(&t, NULL, NULL, 0, out, sizeof out, &len) == FSR_OK && len == 8);
    CHECK(fsr_encode_bound((size_t)-1) == 0);
    {
        /* a zero-width slot cannot be coded */
        int32_t z[4] = {0, 0, 60000, 65536}, zl[1] = {4}, zo[1] = {0}, s = 0, i = 0;
        fsr_tables tz = {z, 4, zl, zo, 1, 16, NULL};
        CHECK(fsr_encode(&tz, &s, &i, 1, out, sizeof out, &len) == FSR_ERR_SYMBOL);
        s = 1;
        CHECK(fsr_encode(&tz, &s, &i, 1, out, sizeof out, &len) == FSR_OK);
    }
}

/* Every prefix and every single-byte change of a valid stream: a status, never a crash. */
static void test_stream_damage(void)
{
    fsr_tables t = make_tables();
    int32_t sym[64], idx[64], back[64];
    uint8_t out[4 * (2 + 10 * 64)], damaged[sizeof out];
    size_t len, k;
    int i, refused = 0;
    for (i = 0; i < 64; i++) {
        idx[i] = i % 2;
        sym[i] = (i % 7 == 0) ? -1000 * i - 1 : (i % 5 == 0 ? 77777 * i : i % 3);
    }
    CHECK(fsr_encode(&t, sym, idx, 64, out, sizeof out, &len) == FSR_OK);
    CHECK(fsr_decode(&t, idx, 64, out, len, back) == FSR_OK && memcmp(back, sym, sizeof sym) == 0);
    for (k = 0; k < len; k++) {
        int st = fsr_decode(&t, idx, 64, out, k, back);
        CHECK(st == FSR_ERR_TRUNCATED || st == FSR_ERR_CORRUPT);
    }
    for (k = 0; k < len; k++) {
        int bit;
        for (bit = 0; bit < 8; bit++) {
            int st;
            memcpy(damaged, out, len);
            damaged[k] ^= (uint8_t)(1u << bit);
            st = fsr_decode(&t, idx, 64, damaged, len, back);
            CHECK(st == FSR_OK || st == FSR_ERR_TRUNCATED || st == FSR_ERR_CORRUPT);
            refused += st != FSR_OK;
        }
    }
    /* rANS maps most damaged streams to other symbols: the strictness checks (final state,
     * escapes, length) refuse about half of the flips here; the container's CRC catches the rest. */
    CHECK(refused > (int)(len * 8) / 3);
    CHECK(fsr_decode(&t, idx, 64, NULL, len, back) == FSR_ERR_ARGUMENT);
}

/* The trusted decoder (tables validated once, when the decoder table is built) gives fsr_decode's status and
 * symbols on a valid stream, every truncation, every single-bit flip and bad indexes; invalid tables get no
 * decoder table. */
static void test_trusted_decoder(void)
{
    fsr_tables t = make_tables(), bad = make_tables();
    int32_t sym[64], idx[64], a[64], b[64], bad_len[2] = {5, 1};
    uint8_t out[4 * (2 + 10 * 64)], damaged[sizeof out];
    fsr_dentry dt[2 * 1025 + 2];
    size_t entries = fsr_dtable_entries(&t), len, k;
    int i, bit;
    CHECK(entries > 0 && entries <= sizeof dt / sizeof dt[0]);
    CHECK(fsr_dtable_build(&t, dt, entries) == FSR_OK);
    CHECK(fsr_dtable_build(&t, dt, entries - 1) != FSR_OK); /* too small a table is refused */
    bad.cdf_length = bad_len;
    CHECK(fsr_dtable_entries(&bad) == 0 && fsr_dtable_build(&bad, dt, entries) == FSR_ERR_TABLES);
    for (i = 0; i < 64; i++) {
        idx[i] = (i * 7) % 2;
        sym[i] = (i % 9 == 0) ? -5000 * i - 3 : (i % 11 == 0 ? 123457 * i : i % 4 - 1);
    }
    CHECK(fsr_encode(&t, sym, idx, 64, out, sizeof out, &len) == FSR_OK);
    CHECK(fsr_decode_trusted(&t, dt, idx, 64, out, len, a) == FSR_OK && memcmp(a, sym, sizeof sym) == 0);
    for (k = 0; k < len; k++)
        CHECK(fsr_decode_trusted(&t, dt, idx, 64, out, k, a) == fsr_decode(&t, idx, 64, out, k, b));
    for (k = 0; k < len; k++) {
        for (bit = 0; bit < 8; bit++) {
            int st;
            memcpy(damaged, out, len);
            damaged[k] ^= (uint8_t)(1u << bit);
            st = fsr_decode_trusted(&t, dt, idx, 64, damaged, len, a);
            CHECK(st == fsr_decode(&t, idx, 64, damaged, len, b));
            CHECK(st != FSR_OK || memcmp(a, b, sizeof a) == 0);
        }
    }
    idx[10] = 2; /* outside [0, num_cdfs) */
    CHECK(fsr_decode_trusted(&t, dt, idx, 64, out, len, a) == FSR_ERR_INDEX);
    idx[10] = -1;
    CHECK(fsr_decode_trusted(&t, dt, idx, 64, out, len, a) == FSR_ERR_INDEX);
}

/* The trusted encoder (reciprocals instead of the division) writes fsr_encode_planar's bytes and status: random
 * tables at every precision with slots of frequency 1, 2^k, 2^k + 1, zero and the whole range, symbols in and out
 * of range (escapes), zero-frequency symbols and every output buffer too small by a word. */
#define TE_ROWS 3
#define TE_STRIDE 40
#define TE_N 200
static uint32_t te_rand(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static void te_random_row(int32_t *cdf, int32_t *len, unsigned prec, uint32_t *rng, int shape)
{
    int32_t total = (int32_t)1 << prec, n = 2 + (int32_t)(te_rand(rng) % (TE_STRIDE - 2)), s;
    if (n - 1 > total)
        n = total + 1;
    cdf[0] = 0;
    for (s = 1; s < n - 1; s++) {
        int32_t left = total - cdf[s - 1], slots = n - 1 - s;
        int32_t f = (int32_t)(te_rand(rng) % (uint32_t)(left - slots + 1));
        if (shape == 1)
            f = left - slots > 0 ? 1 : 0; /* frequency 1 everywhere but the last slot */
        else if (shape == 2 && s == 1)
            f = (left - slots) / 2 + 1; /* a large power-of-two-ish slot */
        cdf[s] = cdf[s - 1] + f;
    }
    cdf[n - 1] = total;
    *len = n;
}

#if defined(__SIZEOF_INT128__) && !defined(FSR_NO_INT128)
__extension__ typedef unsigned __int128 te_u128;
/* Every frequency at every precision: the entry's step equals the division's on the states where a reciprocal
 * goes wrong first (multiples of freq and their neighbours, the bounds of [2^31, x_max)). */
static void test_etable_exact(void)
{
    unsigned prec;
    long wrong = 0, tried = 0;
    for (prec = 1; prec <= 16; prec++) {
        uint32_t total = 1u << prec, f;
        for (f = 1; f < total; f++) {
            int32_t row[3] = {0, (int32_t)f, (int32_t)total}, len[1] = {3}, off[1] = {0};
            fsr_tables t = {row, 3, len, off, 1, prec, NULL};
            fsr_eentry e[3];
            uint64_t top, k, xs[8];
            int j;
            CHECK(fsr_etable_build(&t, e, 3) == FSR_OK);
            top = e[0].x_max - 1; /* the largest state coded without renormalising */
            k = top / f;
            xs[0] = UINT64_C(1) << 31;
            xs[1] = top;
            xs[2] = k * f;
            xs[3] = k * f - 1;
            xs[4] = (k - 1) * f;
            xs[5] = (k / 2) * f;
            xs[6] = (k / 2) * f + f - 1;
            xs[7] = (k / 3) * f + 1;
            for (j = 0; j < 8; j++) {
                uint64_t x = xs[j] < (UINT64_C(1) << 31) ? (UINT64_C(1) << 31) : xs[j];
                uint64_t q = (uint64_t)(((te_u128)x * e[0].rcp) >> 64) >> e[0].shift;
                uint64_t fast = x + e[0].bias + q * e[0].cmpl, slow = ((x / f) << prec) + x % f + 0;
                wrong += fast != slow;
                tried++;
            }
        }
    }
    CHECK(tried > 500000 && wrong == 0);
}
#endif

static void test_trusted_encoder(void)
{
    static int32_t cdf[TE_ROWS * TE_STRIDE], sym[TE_ROWS * TE_N];
    static fsr_eentry et[TE_ROWS * TE_STRIDE];
    static uint8_t a[4 * (2 + 10 * TE_ROWS * TE_N)], b[sizeof a];
    int32_t lengths3[TE_ROWS], offsets3[TE_ROWS] = {-3, 0, 7}, bad_len[2] = {5, 1};
    fsr_tables t = {cdf, TE_STRIDE, lengths3, offsets3, TE_ROWS, 16, NULL}, bad = make_tables();
    uint32_t rng = 12345u;
    unsigned prec;
    int round, i, coded = 0, refused = 0;
    for (prec = 1; prec <= 16; prec++) {
        for (round = 0; round < 12; round++) {
            size_t la, lb, cut;
            int sa, sb, r;
            t.precision = prec;
            for (r = 0; r < TE_ROWS; r++)
                te_random_row(cdf + r * TE_STRIDE, &lengths3[r], prec, &rng, (round + r) % 3);
            CHECK(fsr_tables_check(&t) == FSR_OK);
            CHECK(fsr_etable_entries(&t) == TE_ROWS * TE_STRIDE);
            CHECK(fsr_etable_build(&t, et, TE_ROWS * TE_STRIDE) == FSR_OK);
            for (i = 0; i < TE_ROWS * TE_N; i++) {
                int32_t r_ = i / TE_N, span = lengths3[r_] + 4;
                const int32_t *row = cdf + r_ * TE_STRIDE;
                int32_t v = (int32_t)(te_rand(&rng) % (uint32_t)span) - 3;
                if (round % 3 != 0 && v >= 0 && v < lengths3[r_] - 2 && row[v + 1] == row[v])
                    v = -1 - (v % 3); /* most rounds avoid zero-frequency slots (an escape instead) */
                sym[i] = offsets3[r_] + v;
                if (round % 4 == 3 && i % 37 == 0)
                    sym[i] = (int32_t)(te_rand(&rng) * 977u); /* long escapes */
            }
            sa = fsr_encode_planar(&t, sym, TE_ROWS, TE_N, a, sizeof a, &la);
            sb = fsr_encode_planar_trusted(&t, et, sym, TE_ROWS, TE_N, b, sizeof b, &lb);
            CHECK(sa == sb); /* FSR_ERR_SYMBOL on a zero-frequency symbol in both */
            CHECK(sa != FSR_OK || (la == lb && memcmp(a, b, la) == 0));
            coded += sa == FSR_OK;
            refused += sa == FSR_ERR_SYMBOL;
            if (sa == FSR_OK) {
                for (cut = 4; cut <= 16 && cut <= la; cut += 4)
                    CHECK(fsr_encode_planar_trusted(&t, et, sym, TE_ROWS, TE_N, b, la - cut, &lb) ==
                          FSR_ERR_BUFFER);
            }
        }
    }
    printf("trusted encoder: %d coded, %d refused\n", coded, refused);
    CHECK(coded >= 40 && refused >= 20); /* both outcomes were compared, not only one */
    /* the whole range in one slot (probability 1) and zero-length planes */
    {
        int32_t one[3] = {0, 65536, 65536}, len1[1] = {3}, off1[1] = {0}, s1[5] = {0, 0, 0, 0, 0};
        fsr_tables t1 = {one, 3, len1, off1, 1, 16, NULL};
        fsr_eentry e1[3];
        size_t la, lb;
        CHECK(fsr_etable_build(&t1, e1, 3) == FSR_OK);
        CHECK(fsr_encode_planar(&t1, s1, 1, 5, a, sizeof a, &la) == FSR_OK);
        CHECK(fsr_encode_planar_trusted(&t1, e1, s1, 1, 5, b, sizeof b, &lb) == FSR_OK);
        CHECK(la == lb && memcmp(a, b, la) == 0);
        CHECK(fsr_encode_planar_trusted(&t1, e1, s1, 1, 0, b, sizeof b, &lb) == FSR_OK && lb == 8);
        CHECK(fsr_etable_build(&t1, e1, 2) == FSR_ERR_ARGUMENT); /* too small a table is refused */
        CHECK(fsr_encode_planar_trusted(&t1, e1, s1, 2, 5, b, sizeof b, &lb) == FSR_ERR_INDEX);
    }
    bad.cdf_length = bad_len;
    CHECK(fsr_etable_entries(&bad) == 0 && fsr_etable_build(&bad, et, 10) == FSR_ERR_TABLES);
}

/* The lookup only accelerates: decoding with it gives the same result, a wrong one is refused. */
static void test_lookup(void)
{
    fsr_tables t = make_tables();
    uint16_t lookup[2 * FSR_LOOKUP_STRIDE];
    int32_t sym[500], idx[500], back[500];
    uint8_t out[4 * (2 + 10 * 500)];
    size_t len, k;
    int i, trial;
    for (i = 0; i < 500; i++) {
        idx[i] = (i * 7) % 2;
        sym[i] = (i * 31) % 9 - 3;
    }
    CHECK(fsr_encode(&t, sym, idx, 500, out, sizeof out, &len) == FSR_OK);
    CHECK(fsr_lookup_build(&t, lookup, 2 * FSR_LOOKUP_STRIDE - 1) == FSR_ERR_ARGUMENT);
    CHECK(fsr_lookup_build(&t, lookup, 2 * FSR_LOOKUP_STRIDE) == FSR_OK);
    CHECK(lookup[0] == 0 && lookup[64] == 1 && lookup[192] == 2 && lookup[256] == 3); /* issue table */
    CHECK(lookup[FSR_LOOKUP_STRIDE + 256] == 1);                                      /* last slot */
    t.lookup = lookup;
    CHECK(fsr_decode(&t, idx, 500, out, len, back) == FSR_OK && memcmp(back, sym, sizeof sym) == 0);
    for (trial = 0; trial < 20; trial++) {
        uint32_t r = 12345u + (uint32_t)trial;
        for (k = 0; k < 2 * FSR_LOOKUP_STRIDE; k++) {
            r = r * 1103515245u + 12345u;
            lookup[k] = (uint16_t)(trial < 10 ? (r >> 16) : (r >> 16) % 5);
        }
        CHECK(fsr_decode(&t, idx, 500, out, len, back) == FSR_ERR_TABLES);
    }
    CHECK(fsr_lookup_build(&t, lookup, 2 * FSR_LOOKUP_STRIDE) == FSR_OK);
    lookup[FSR_LOOKUP_STRIDE + 100] ^= 1; /* one entry off */
    CHECK(fsr_decode(&t, idx, 500, out, len, back) == FSR_ERR_TABLES);
}

static void test_tables_file(void)
{
    fsr_tables t = make_tables(), view;
    size_t size = fsr_tables_file_size(&t), len, k;
    uint8_t *file = (uint8_t *)malloc(size), hash[32], hash2[32];
    int32_t rcdf[10], rlen[2], roff[2];
    fsr_tables_file_info info;
    CHECK(size == 16 + (8 + 20) + (8 + 12) + 32);
    CHECK(fsr_tables_file_write(&t, file, size - 1, &len, hash) == FSR_ERR_BUFFER);
    CHECK(fsr_tables_file_write(&t, file, size, &len, hash) == FSR_OK && len == size);
    CHECK(fsr_tables_file_info_read(file, len, &info) == FSR_OK && info.num_channels == 2 &&
          info.max_length == 5);
    CHECK(fsr_tables_file_read(file, len, rcdf, 10, rlen, roff, 2, &view, hash2) == FSR_OK);
    CHECK(memcmp(hash, hash2, 32) == 0 && rlen[1] == 3 && roff[1] == -3 && rcdf[5 + 2] == 65536 &&
          rcdf[5 + 3] == 0);
    CHECK(fsr_tables_file_read(file, len, rcdf, 9, rlen, roff, 2, &view, NULL) == FSR_ERR_BUFFER);
    for (k = 0; k < len; k++) {
        int bit;
        CHECK(fsr_tables_file_read(file, k, rcdf, 10, rlen, roff, 2, &view, NULL) != FSR_OK);
        for (bit = 0; bit < 8; bit++) {
            file[k] ^= (uint8_t)(1u << bit);
            CHECK(fsr_tables_file_read(file, len, rcdf, 10, rlen, roff, 2, &view, NULL) != FSR_OK);
            file[k] ^= (uint8_t)(1u << bit);
        }
    }
    free(file);
}

static void test_container(void)
{
    fsr_tables t = make_tables();
    uint8_t hash[32], out[512];
    int32_t sym[2 * 3 * 4], back[2 * 3 * 4];
    fsr_container_header h;
    const uint8_t *payload;
    size_t len, k;
    int i;
    memset(hash, 0xab, sizeof hash);
    for (i = 0; i < 24; i++)
        sym[i] = (i * 7) % 5 - 1;
    CHECK(fsr_latent_encode(&t, hash, sym, 3, 3, 4, out, sizeof out, &len) == FSR_ERR_MISMATCH);
    CHECK(fsr_latent_encode(&t, hash, sym, 2, 3, 4, out, sizeof out, &len) == FSR_OK);
    CHECK(fsr_container_parse(out, len, &h, &payload) == FSR_OK && h.height == 3 && h.width == 4);
    CHECK(fsr_latent_decode(&t, hash, out, len, &h, back, 24) == FSR_OK &&
          memcmp(back, sym, sizeof sym) == 0);
    CHECK(fsr_latent_decode(&t, hash, out, len, &h, back, 23) == FSR_ERR_BUFFER);
    { /* the container around the trusted encoder: the same bytes */
        fsr_eentry et[2 * 5];
        uint8_t again[512];
        size_t len2 = 0;
        CHECK(fsr_etable_build(&t, et, 10) == FSR_OK);
        CHECK(fsr_latent_encode_trusted(&t, et, NULL, hash, sym, 2, 3, 4, NULL, again, sizeof again, &len2) ==
              FSR_OK);
        CHECK(len2 == len && memcmp(again, out, len) == 0);
    }
    for (k = 0; k < len; k++)
        CHECK(fsr_latent_decode(&t, hash, out, k, &h, back, 24) != FSR_OK);
    for (k = 0; k < len; k++) {
        out[k] ^= 0x40;
        CHECK(fsr_latent_decode(&t, hash, out, len, &h, back, 24) != FSR_OK);
        out[k] ^= 0x40;
    }
    hash[0] ^= 1;
    CHECK(fsr_latent_decode(&t, hash, out, len, &h, back, 24) == FSR_ERR_MISMATCH);
}

static void test_container_flags(void)
{
    fsr_tables t = make_tables();
    fsr_stream_format f = {FSR_FORMAT_SINGLE, 1, 7}, back;
    uint8_t hash[32], out[512];
    int32_t sym[2 * 3 * 4], dec[2 * 3 * 4];
    fsr_container_header h;
    const char *why = NULL;
    uint16_t flags = 0;
    size_t len;
    memset(hash, 0x5a, sizeof hash);
    memset(sym, 0, sizeof sym);
    CHECK(fsr_container_flags(&f, &flags) == FSR_OK && flags == 0x0700);
    f.payload_format = FSR_FORMAT_INTERLEAVED;
    f.lanes = 16;
    CHECK(fsr_container_flags(&f, &flags) == FSR_OK && flags == 0x0741);
    CHECK(fsr_container_parse_flags(2, 0x0741, &back, &why) == FSR_OK && why[0] == '\0');
    CHECK(back.payload_format == 1 && back.lanes == 16 && back.rate_point == 7);
    f.lanes = 4; /* unsupported lane count, and lanes != 1 for the single stream */
    CHECK(fsr_container_flags(&f, &flags) == FSR_ERR_ARGUMENT);
    f.payload_format = FSR_FORMAT_SINGLE;
    CHECK(fsr_container_flags(&f, &flags) == FSR_ERR_ARGUMENT);
    f.lanes = 1;
    f.rate_point = 256;
    CHECK(fsr_container_flags(&f, &flags) == FSR_ERR_ARGUMENT);
    CHECK(fsr_container_parse_flags(1, 0, &back, &why) == FSR_OK && back.lanes == 1);
    CHECK(fsr_container_parse_flags(2, 0, &back, &why) == FSR_ERR_FORMAT && strstr(why, "version 1"));
    CHECK(fsr_container_parse_flags(1, 0x0100, &back, &why) == FSR_ERR_FORMAT && strstr(why, "version 1"));
    CHECK(fsr_container_parse_flags(3, 0, &back, &why) == FSR_ERR_FORMAT && strstr(why, "version"));
    CHECK(fsr_container_parse_flags(2, 0x0003, &back, &why) == FSR_ERR_FORMAT && strstr(why, "format"));
    CHECK(fsr_container_parse_flags(2, 0x0002, &back, &why) == FSR_ERR_FORMAT && strstr(why, "lane"));
    CHECK(fsr_container_parse_flags(2, 0x0032, &back, &why) == FSR_OK &&
          back.payload_format == FSR_FORMAT_INTERLEAVED2);
    CHECK(fsr_container_parse_flags(2, 0x0004, &back, &why) == FSR_ERR_FORMAT && strstr(why, "reserved"));
    CHECK(fsr_container_parse_flags(2, 0x0010, &back, &why) == FSR_ERR_FORMAT && strstr(why, "lanes"));
    CHECK(fsr_container_parse_flags(2, 0x0021, &back, &why) == FSR_ERR_FORMAT && strstr(why, "lane"));
    /* a rate point alone makes a version 2 single-stream container that decodes as before */
    f.rate_point = 3;
    CHECK(fsr_latent_encode_format(&t, hash, sym, 2, 3, 4, &f, out, sizeof out, &len) == FSR_OK);
    CHECK(out[4] == 2 && out[5] == 0 && out[6] == 0 && out[7] == 3);
    CHECK(fsr_latent_decode(&t, hash, out, len, &h, dec, 24) == FSR_OK && h.version == 2);
    CHECK(h.format.rate_point == 3 && h.format.payload_format == FSR_FORMAT_SINGLE);
    f.rate_point = 0;
    CHECK(fsr_latent_encode_format(&t, hash, sym, 2, 3, 4, &f, out, sizeof out, &len) == FSR_OK);
    CHECK(out[4] == 1 && out[6] == 0 && out[7] == 0);
    /* an interleaved container: flags name it, the decoder follows them */
    f.payload_format = FSR_FORMAT_INTERLEAVED;
    f.lanes = 32;
    f.rate_point = 1;
    sym[5] = 1000; /* an escape */
    sym[6] = -1;
    CHECK(fsr_latent_encode_format(&t, hash, sym, 2, 3, 4, &f, out, sizeof out, &len) == FSR_OK);
    CHECK(len >= 36 + 128 && out[4] == 2 && out[6] == 0x51 && out[7] == 1);
    CHECK(fsr_latent_decode(&t, hash, out, len, &h, dec, 24) == FSR_OK && memcmp(dec, sym, sizeof sym) == 0);
    CHECK(h.format.payload_format == FSR_FORMAT_INTERLEAVED && h.format.lanes == 32);
    f.lanes = 64;
    CHECK(fsr_latent_encode_format(&t, hash, sym, 2, 3, 4, &f, out, sizeof out, &len) == FSR_ERR_ARGUMENT);
}

static void test_strerror(void)
{
    int code;
    for (code = 0; code >= FSR_ERR_LIMIT; code--)
        CHECK(strcmp(fsr_strerror(code), "unknown error") != 0);
    CHECK(strcmp(fsr_strerror(-99), "unknown error") == 0);
}

int main(void)
{
    test_digests();
    test_table_validation();
    test_encode_errors();
    test_stream_damage();
    test_trusted_decoder();
    test_trusted_encoder();
#if defined(__SIZEOF_INT128__) && !defined(FSR_NO_INT128)
    test_etable_exact();
#endif
    test_lookup();
    test_tables_file();
    test_container();
    test_container_flags();
    test_strerror();
    printf("unit: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
