/*
 * fuzz_decode.c - libFuzzer target for everything that reads untrusted bytes: the rANS decoder (with and
 * without the lookup), the tables file reader and the container parser.
 *   make fuzz && build/fuzz/fuzz_decode -max_total_time=60
 * Besides the sanitizers it checks properties that must hold for every input (abort on violation):
 *  - decoding with the lookup and without one, and the trusted decoder with its decoder table
 *    (fsr_decode_trusted), give the same status and symbols, and a wrong lookup is refused
 *    (FSR_ERR_TABLES) unless the stream is refused earlier for another reason;
 *  - a stream that decodes is canonical: re-encoding the symbols reproduces it byte for byte;
 *  - a tables file that parses is canonical: writing the tables back reproduces it.
 * The first input byte picks the target; "fixed" variants repair the SHA-256 or CRC so that the fuzzer
 * reaches the code behind them.
 */
#include "fsplit_container.h"
#include "fsplit_hash.h"
#include "fsplit_rans.h"
#include "fsplit_tables.h"
#include "fuzz_tables.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SYMBOLS 4096
static uint16_t g_random_lookup[ROWS * FSR_LOOKUP_STRIDE];
static int g_ready = 0;

static void setup(void)
{
    size_t k;
    fuzz_tables_setup();
    for (k = 0; k < ROWS * FSR_LOOKUP_STRIDE; k++)
        g_random_lookup[k] = (uint16_t)((k * 2654435761u) >> 7);
    g_ready = 1;
}

/* Decode `stream` with `t` three ways and check agreement and canonicity. */
static void check_stream(const fsr_tables *t, const uint16_t *lookup, const int32_t *indexes, size_t n,
                         const uint8_t *stream, size_t len)
{
    static int32_t a[MAX_SYMBOLS], b[MAX_SYMBOLS], c[MAX_SYMBOLS], d[MAX_SYMBOLS];
    static uint8_t again[4 * (2 + 10 * MAX_SYMBOLS)];
    fsr_tables plain = *t, fast = *t, noisy = *t;
    int sa, sb, sc, sd;
    size_t out_len, entries;
    fsr_dentry *dt;
    plain.lookup = NULL;
    fast.lookup = lookup;
    noisy.lookup = g_random_lookup; /* wrong for these tables: must be refused */
    sa = fsr_decode(&plain, indexes, n, stream, len, a);
    sb = fsr_decode(&fast, indexes, n, stream, len, b);
    sc = t->num_cdfs <= ROWS ? fsr_decode(&noisy, indexes, n, stream, len, c) : FSR_ERR_TABLES;
    entries = fsr_dtable_entries(&plain);
    dt = (fsr_dentry *)malloc((entries > 0 ? entries : 1) * sizeof(fsr_dentry));
    if (dt == NULL || entries == 0 || fsr_dtable_build(&plain, dt, entries) != FSR_OK)
        abort(); /* these tables are valid: the caller built their lookup */
    sd = fsr_decode_trusted(&plain, dt, indexes, n, stream, len, d);
    free(dt);
    if (sa != sb || sa != sd || (sc != FSR_ERR_TABLES && sc != FSR_ERR_TRUNCATED && sc != FSR_ERR_CORRUPT))
        abort();
    if (sa != FSR_OK)
        return;
    if (memcmp(a, b, n * sizeof(int32_t)) != 0 || memcmp(a, d, n * sizeof(int32_t)) != 0)
        abort();
    if (fsr_encode(&plain, a, indexes, n, again, sizeof again, &out_len) != FSR_OK || out_len != len ||
        memcmp(again, stream, len) != 0)
        abort(); /* an accepted stream must be the one encoding of its symbols */
}

/* Target 0: a raw stream for the built-in tables. Layout: n (1 byte, x16 + low bits), index seed, stream. */
static void fuzz_stream(const uint8_t *data, size_t size)
{
    static int32_t indexes[MAX_SYMBOLS];
    size_t n, i;
    if (size < 2)
        return;
    n = ((size_t)data[0] * 16 + (data[1] & 15)) % MAX_SYMBOLS;
    for (i = 0; i < n; i++) /* mostly valid indexes, now and then one out of range */
        indexes[i] =
            (int32_t)((data[1] >> 4) == 15 && i == n / 2 ? ROWS : (i * (data[1] | 1u) + (i >> 3)) % ROWS);
    check_stream(&g_tables, g_lookup, indexes, n, data + 2, size - 2);
}

/* Target 1: a tables file (optionally with its hash repaired), then a stream coded with it. */
static void fuzz_tables(const uint8_t *data, size_t size, int fix_hash)
{
    static uint8_t file[1 << 16];
    static int32_t indexes[MAX_SYMBOLS];
    fsr_tables_file_info info;
    fsr_tables view;
    int32_t *cdf, *len, *off;
    uint16_t *lookup;
    uint8_t hash[32], rewritten[1 << 16];
    size_t file_len, out_len, entries, n, i;
    if (size < 3)
        return;
    file_len = ((size_t)data[0] | (size_t)data[1] << 8) % (size - 2 + 1);
    if (file_len + (fix_hash ? 32u : 0u) > sizeof file)
        return;
    memcpy(file, data + 2, file_len);
    if (fix_hash) {
        fsr_sha256 s;
        fsr_sha256_init(&s);
        fsr_sha256_update(&s, file, file_len);
        fsr_sha256_final(&s, file + file_len);
        file_len += 32;
    }
    if (fsr_tables_file_info_read(file, file_len, &info) != FSR_OK)
        return;
    entries = (size_t)info.num_channels * info.max_length;
    if (entries > (1u << 20))
        return; /* allowed by the format, but too slow to fuzz */
    cdf = (int32_t *)malloc(entries * sizeof(int32_t));
    len = (int32_t *)malloc(info.num_channels * sizeof(int32_t));
    off = (int32_t *)malloc(info.num_channels * sizeof(int32_t));
    lookup = (uint16_t *)malloc((size_t)info.num_channels * FSR_LOOKUP_STRIDE * sizeof(uint16_t));
    if (fsr_tables_file_read(file, file_len, cdf, entries, len, off, info.num_channels, &view, hash) ==
        FSR_OK) {
        if (fsr_tables_file_write(&view, rewritten, sizeof rewritten, &out_len, NULL) != FSR_OK ||
            out_len != file_len || memcmp(rewritten, file, file_len) != 0)
            abort();
        if (fsr_lookup_build(&view, lookup, (size_t)info.num_channels * FSR_LOOKUP_STRIDE) != FSR_OK)
            abort();
        data += 2 + (file_len - (fix_hash ? 32u : 0u));
        size -= 2 + (file_len - (fix_hash ? 32u : 0u));
        n = size > 0 ? (size_t)data[0] * 8 % MAX_SYMBOLS : 0;
        for (i = 0; i < n; i++)
            indexes[i] = (int32_t)(i % info.num_channels);
        if (size > 0)
            check_stream(&view, lookup, indexes, n, data + 1, size - 1);
    }
    free(cdf);
    free(len);
    free(off);
    free(lookup);
}

/* Target 2: a container for the built-in tables (optionally with hash prefix and CRC repaired). */
static void fuzz_container(const uint8_t *data, size_t size, int repair)
{
    static uint8_t buf[1 << 16];
    static int32_t symbols[MAX_SYMBOLS];
    fsr_container_header h;
    if (size > sizeof buf)
        return;
    memcpy(buf, data, size);
    if (repair && size >= FSR_CONTAINER_HEADER_SIZE) {
        uint32_t crc;
        memcpy(buf + 8, g_hash, 8);
        buf[16] = ROWS; /* channels must match to reach the payload */
        buf[17] = buf[18] = buf[19] = 0;
        crc = fsr_crc32(fsr_crc32(0, buf, 32), buf + 36, size - 36);
        buf[32] = (uint8_t)crc;
        buf[33] = (uint8_t)(crc >> 8);
        buf[34] = (uint8_t)(crc >> 16);
        buf[35] = (uint8_t)(crc >> 24);
    }
    (void)fsr_latent_decode(&g_tables, g_hash, buf, size, &h, symbols, MAX_SYMBOLS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready)
        setup();
    if (size < 1)
        return 0;
    switch (data[0] % 5) {
        case 0: fuzz_stream(data + 1, size - 1); break;
        case 1: fuzz_tables(data + 1, size - 1, 0); break;
        case 2: fuzz_tables(data + 1, size - 1, 1); break;
        case 3: fuzz_container(data + 1, size - 1, 0); break;
        default: fuzz_container(data + 1, size - 1, 1); break;
    }
    return 0;
}
