/*
 * fuzz_interleaved2.c - libFuzzer target for the interleaved payload version 2 (fsplit_interleaved2.h,
 * docs/formats.md section 5): its decoders on untrusted bytes and its encoders on arbitrary symbols,
 * every implementation this CPU runs.
 *   make fuzz-ilv2 && build/fuzz/fuzz_interleaved2 -max_total_time=60
 * Besides the sanitizers it checks properties that must hold for every input (abort on violation):
 *  - every implementation (scalar, AVX2 or NEON) gives the same status and, on success, the same symbols;
 *  - a payload that decodes is canonical: re-encoding its symbols reproduces it byte for byte;
 *  - encoding arbitrary symbols gives the same status and bytes from every implementation, and the bytes
 *    decode back to the symbols;
 *  - containers (hash prefix, channel count and CRC repaired) with version 2 flags decode as the payload.
 * The first input byte picks the target and the lane count (the same layout as fuzz_interleaved.c).
 */
#include "fsplit_container.h"
#include "fsplit_hash.h"
#include "fsplit_interleaved2.h"
#include "fsplit_tables.h"
#include "fuzz_tables.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SYMBOLS 1024 /* 32 groups of 32 lanes: enough for every path, fast enough for 10 M runs */
#define CAP (4 * 32 + 12 * MAX_SYMBOLS)

static uint32_t g_q_mem[1 << 14];
static fsr_ilv2_tables g_q;
static int g_ready = 0;
static const int g_impls[] = {FSR_IMPL_SCALAR, FSR_IMPL_AVX2, FSR_IMPL_NEON};
static const uint32_t g_lanes[4] = {8, 16, 32, 8};

static void setup(void)
{
    fuzz_tables_setup();
    if (fsr_ilv2_tables_size(&g_tables) > sizeof g_q_mem ||
        fsr_ilv2_tables_build(&g_tables, g_q_mem, sizeof g_q_mem, &g_q) != FSR_OK)
        abort();
    g_ready = 1;
}

/* Decode with every implementation; they must agree; an accepted payload must be canonical. */
static void check_payload(uint32_t lanes, uint32_t planes, size_t plane, const uint8_t *p, size_t len)
{
    static int32_t ref[MAX_SYMBOLS], got[MAX_SYMBOLS];
    static uint8_t again[CAP];
    size_t n = (size_t)planes * plane, i, out_len;
    int st_ref, st;
    st_ref = fsr_ilv2_decode_planar_with(FSR_IMPL_SCALAR, &g_q, lanes, planes, plane, p, len, ref);
    for (i = 0; i < sizeof g_impls / sizeof *g_impls; i++) {
        if (!fsr_ilv_impl_available(g_impls[i]))
            continue;
        st = fsr_ilv2_decode_planar_with(g_impls[i], &g_q, lanes, planes, plane, p, len, got);
        if (st != st_ref || (st == FSR_OK && memcmp(got, ref, n * sizeof(int32_t)) != 0))
            abort();
    }
    if (st_ref != FSR_OK)
        return;
    for (i = 0; i < sizeof g_impls / sizeof *g_impls; i++) {
        if (!fsr_ilv_impl_available(g_impls[i]))
            continue;
        if (fsr_ilv2_encode_planar_with(g_impls[i], &g_q, lanes, ref, planes, plane, again, sizeof again,
                                        &out_len) != FSR_OK ||
            out_len != len || memcmp(again, p, len) != 0)
            abort();
    }
}

/* Target 0: a raw payload. Layout: planes-1 (1 byte, mod ROWS), plane size (2 bytes), payload. */
static void fuzz_payload(uint32_t lanes, const uint8_t *data, size_t size)
{
    uint32_t planes;
    size_t plane;
    if (size < 3)
        return;
    planes = 1 + data[0] % ROWS;
    plane = ((size_t)data[1] | (size_t)data[2] << 8) % (MAX_SYMBOLS / planes + 1);
    check_payload(lanes, planes, plane, data + 3, size - 3);
}

/* Target 1: symbols from the input bytes (mostly small values, some escapes of every size). */
static void fuzz_encode(uint32_t lanes, const uint8_t *data, size_t size)
{
    static int32_t sym[MAX_SYMBOLS], back[MAX_SYMBOLS];
    static uint8_t ref[CAP], out[CAP];
    uint32_t planes;
    size_t plane, n, i, ref_len = 0, len = 0;
    int st_ref, st;
    if (size < 1)
        return;
    planes = 1 + data[0] % ROWS;
    data++;
    size--;
    n = (size / 2 < MAX_SYMBOLS ? size / 2 : MAX_SYMBOLS) / planes * planes;
    plane = n / planes;
    for (i = 0; i < n; i++) {
        uint32_t a = data[2 * i], b = data[2 * i + 1];
        int32_t v = (int32_t)(a % 8) - 2;
        if (a >= 0xF0) /* an escape: b sets its size, the input its bits */
            v = (int32_t)(((uint32_t)a * 2654435761u ^ b * 40503u) >> (b % 32));
        sym[i] = v + ((a & 8) ? -1 : 0);
    }
    st_ref = fsr_ilv2_encode_planar_with(FSR_IMPL_SCALAR, &g_q, lanes, sym, planes, plane, ref, sizeof ref,
                                         &ref_len);
    for (i = 0; i < sizeof g_impls / sizeof *g_impls; i++) {
        if (!fsr_ilv_impl_available(g_impls[i]))
            continue;
        st = fsr_ilv2_encode_planar_with(g_impls[i], &g_q, lanes, sym, planes, plane, out, sizeof out, &len);
        if (st != st_ref || (st == FSR_OK && (len != ref_len || memcmp(out, ref, len) != 0)))
            abort();
    }
    if (st_ref != FSR_OK)
        return;
    if (fsr_ilv2_decode_planar_with(FSR_IMPL_AUTO, &g_q, lanes, planes, plane, ref, ref_len, back) !=
            FSR_OK ||
        memcmp(back, sym, n * sizeof(int32_t)) != 0)
        abort();
    check_payload(lanes, planes, plane, ref, ref_len);
}

/* Target 2: a container with version 2 flags (hash prefix, channel count, flags and CRC repaired). */
static void fuzz_container(uint32_t lanes, const uint8_t *data, size_t size)
{
    static uint8_t buf[CAP + FSR_CONTAINER_HEADER_SIZE];
    static int32_t symbols[MAX_SYMBOLS];
    fsr_container_header h;
    uint32_t crc;
    if (size < FSR_CONTAINER_HEADER_SIZE || size > sizeof buf)
        return;
    memcpy(buf, data, size);
    buf[4] = 2;
    buf[5] = 0;
    buf[6] = (uint8_t)(2u | ((lanes == 8 ? 3u : lanes == 16 ? 4u : 5u) << 4));
    memcpy(buf + 8, g_hash, 8);
    buf[16] = ROWS;
    buf[17] = buf[18] = buf[19] = 0;
    crc = fsr_crc32(fsr_crc32(0, buf, 32), buf + 36, size - 36);
    buf[32] = (uint8_t)crc;
    buf[33] = (uint8_t)(crc >> 8);
    buf[34] = (uint8_t)(crc >> 16);
    buf[35] = (uint8_t)(crc >> 24);
    (void)fsr_latent_decode2(&g_tables, &g_q, g_hash, buf, size, &h, symbols, MAX_SYMBOLS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t lanes;
    if (!g_ready)
        setup();
    if (size < 1)
        return 0;
    lanes = g_lanes[(data[0] >> 2) & 3];
    switch (data[0] % 3) {
        case 0: fuzz_payload(lanes, data + 1, size - 1); break;
        case 1: fuzz_encode(lanes, data + 1, size - 1); break;
        default: fuzz_container(lanes, data + 1, size - 1); break;
    }
    return 0;
}
