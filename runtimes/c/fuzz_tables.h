/*
 * fuzz_tables.h - the built-in tables both libFuzzer targets (fuzz_decode.c, fuzz_interleaved.c) code with:
 * the row, a probability-1 escape slot, a 1/65536 slot, a zero-width slot, a wide uneven row and an
 * offset near INT32_MAX (decoded symbols can leave int32). Included once per target.
 */
#ifndef FSPLIT_FUZZ_TABLES_H
#define FSPLIT_FUZZ_TABLES_H

#include "fsplit_rans.h"
#include "fsplit_tables.h"

#include <stdlib.h>
#include <string.h>

#define STRIDE 41
#define ROWS 6

static int32_t g_cdf[ROWS * STRIDE];
static int32_t g_len[ROWS] = {5, 2, 4, 5, 41, 3};
static int32_t g_off[ROWS] = {0, 0, -1, 7, -20, INT32_MAX - 1};
static uint16_t g_lookup[ROWS * FSR_LOOKUP_STRIDE];
static uint8_t g_hash[32];
static fsr_tables g_tables;

/* Fill g_tables (valid, precision 16), its lookup g_lookup and its content hash g_hash. */
static void fuzz_tables_setup(void)
{
    static const int32_t rows[4][5] = {
        {0, 16384, 49152, 65535, 65536}, {0, 65536}, {0, 1, 65535, 65536}, {0, 0, 20000, 65000, 65536}};
    uint8_t file[4096];
    size_t len, r, k;
    for (r = 0; r < 4; r++)
        memcpy(g_cdf + r * STRIDE, rows[r], (size_t)g_len[r] * sizeof(int32_t));
    for (k = 0; k < 41; k++) /* a wide, uneven row */
        g_cdf[4 * STRIDE + k] = k == 40 ? 65536 : (int32_t)(k * k * 40);
    g_cdf[5 * STRIDE + 0] = 0; /* offset near INT32_MAX: decoded symbols can leave int32 */
    g_cdf[5 * STRIDE + 1] = 30000;
    g_cdf[5 * STRIDE + 2] = 65536;
    g_tables.cdf = g_cdf;
    g_tables.cdf_stride = STRIDE;
    g_tables.cdf_length = g_len;
    g_tables.offset = g_off;
    g_tables.num_cdfs = ROWS;
    g_tables.precision = 16;
    g_tables.lookup = NULL;
    if (fsr_tables_check(&g_tables) != FSR_OK ||
        fsr_lookup_build(&g_tables, g_lookup, sizeof g_lookup / 2) != FSR_OK ||
        fsr_tables_file_write(&g_tables, file, sizeof file, &len, g_hash) != FSR_OK)
        abort();
}

#endif /* FSPLIT_FUZZ_TABLES_H */
