/*
 * test_ilv.c - the interleaved payload: every implementation available here (scalar, AVX2 or
 * NEON) writes the same bytes and decodes them back, for every lane count, on random tables and
 * latents with escapes, odd plane sizes, 0 and 1 symbols; every truncation and many byte changes
 * are refused or decode without out-of-bounds access; bad arguments give error codes. The same for
 * the version 2 payload (test_v2: every implementation writes the scalar code's bytes, and gives its
 * verdict on every truncation and byte change).
 */
#include "fsplit_interleaved.h"
#include "fsplit_interleaved2.h"

#include "test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

#define ROWS 5
#define WIDTH 40

typedef struct {
    int32_t cdf[ROWS * WIDTH], len[ROWS], off[ROWS];
    uint16_t lookup[ROWS * FSR_LOOKUP_STRIDE];
    fsr_tables view;
} tables;

/* Random rows (some with zero-frequency slots), precision prec. */
static void make_tables(tables *t, unsigned prec)
{
    uint32_t r;
    int32_t total = (int32_t)1 << prec;
    for (r = 0; r < ROWS; r++) {
        int32_t n = 3 + (int32_t)(rnd() % (WIDTH - 3)), k;
        if (n > total + 1)
            n = total + 1;
        t->len[r] = n;
        t->off[r] = (int32_t)(rnd() % 9) - 4;
        for (k = 0; k < n; k++)
            t->cdf[r * WIDTH + k] = (int32_t)((int64_t)total * k / (n - 1));
        for (k = 1; k < n - 1 && r == 1; k += 3) /* zero-width slots */
            t->cdf[r * WIDTH + k] = t->cdf[r * WIDTH + k - 1];
        if (r == 2 && n > 3) { /* a skewed row: one very likely slot */
            for (k = 1; k < n - 1; k++)
                t->cdf[r * WIDTH + k] = total - (n - 1 - k);
        }
    }
    t->view.cdf = t->cdf;
    t->view.cdf_stride = WIDTH;
    t->view.cdf_length = t->len;
    t->view.offset = t->off;
    t->view.num_cdfs = ROWS;
    t->view.precision = prec;
    t->view.lookup = NULL;
    CHECK(fsr_tables_check(&t->view) == FSR_OK);
    CHECK(fsr_lookup_build(&t->view, t->lookup, ROWS * FSR_LOOKUP_STRIDE) == FSR_OK);
}

/* Symbols of row p: mostly in range (value drawn by the CDF), some escapes of every size. */
static void make_latent(const tables *t, int32_t *sym, uint32_t planes, size_t plane_size)
{
    uint32_t p;
    size_t i;
    for (p = 0; p < planes; p++)
        for (i = 0; i < plane_size; i++) {
            uint32_t u = rnd();
            int32_t max_value = t->len[p] - 2, v;
            if (u % 23 == 0) {
                int32_t mag = (int32_t)(rnd() >> (2 + rnd() % 30)); /* escapes of every size */
                v = (u & 64) ? -1 - mag : max_value + mag;
            } else {
                /* inverse CDF of a random cum: the slot holding it (never a zero-width one) */
                uint32_t cum = rnd() & ((UINT32_C(1) << t->view.precision) - 1);
                for (v = 0; v < max_value && (uint32_t)t->cdf[p * WIDTH + v + 1] <= cum; v++)
                    ;
                if (v == max_value)
                    v = max_value + 1; /* the escape slot: code an escape instead */
            }
            if ((int64_t)v + t->off[p] > INT32_MAX || (int64_t)v + t->off[p] < INT32_MIN + 8)
                v = 0;
            sym[(size_t)p * plane_size + i] = v + t->off[p];
        }
}

static const int impls[] = {FSR_IMPL_SCALAR, FSR_IMPL_AVX2, FSR_IMPL_NEON};
static const uint32_t lane_counts[] = {8, 16, 32};

static void test_round_trips(void)
{
    static int32_t sym[ROWS * 700], back[ROWS * 700];
    static uint8_t ref[ROWS * 700 * 11 + 128], out[ROWS * 700 * 11 + 128];
    static const size_t sizes[] = {0, 1, 7, 8, 13, 64, 100, 699};
    static const unsigned precs[] = {16, 12, 9, 3};
    tables t;
    size_t si, pi, li, ii, trial;
    for (trial = 0; trial < 3; trial++)
        for (pi = 0; pi < sizeof precs / sizeof *precs; pi++) {
            make_tables(&t, precs[pi]);
            for (si = 0; si < sizeof sizes / sizeof *sizes; si++) {
                size_t ps = sizes[si], n = ROWS * ps;
                make_latent(&t, sym, ROWS, ps);
                for (li = 0; li < 3; li++) {
                    uint32_t lanes = lane_counts[li];
                    size_t cap = fsr_ilv_encode_bound(n, lanes), ref_len = 0, len = 0;
                    CHECK(cap > 0 && cap <= sizeof ref);
                    CHECK(fsr_ilv_encode_planar_with(FSR_IMPL_SCALAR, &t.view, lanes, sym, ROWS, ps, ref, cap,
                                                     &ref_len) == FSR_OK);
                    CHECK(ref_len >= 4 * lanes);
                    for (ii = 0; ii < 3; ii++) {
                        int impl = impls[ii], with_lookup;
                        if (!fsr_ilv_impl_available(impl))
                            continue;
                        CHECK(fsr_ilv_encode_planar_with(impl, &t.view, lanes, sym, ROWS, ps, out, cap,
                                                         &len) == FSR_OK);
                        CHECK(len == ref_len && memcmp(out, ref, len) == 0);
                        for (with_lookup = 0; with_lookup < 2; with_lookup++) {
                            t.view.lookup = with_lookup ? t.lookup : NULL;
                            memset(back, 0x55, sizeof back);
                            CHECK(fsr_ilv_decode_planar_with(impl, &t.view, lanes, ROWS, ps, ref, ref_len,
                                                             back) == FSR_OK);
                            CHECK(memcmp(back, sym, n * sizeof *sym) == 0);
                        }
                        t.view.lookup = NULL;
                    }
                }
            }
        }
}

static void test_empty_and_errors(void)
{
    tables t;
    int32_t sym[16] = {0}, back[16];
    uint8_t out[600];
    size_t len = 0, k;
    make_tables(&t, 16);
    CHECK(fsr_ilv_encode_planar(&t.view, 8, sym, ROWS, 0, out, sizeof out, &len) == FSR_OK);
    CHECK(len == 32);
    for (k = 0; k < 8; k++)
        CHECK(out[4 * k] == 0 && out[4 * k + 1] == 0 && out[4 * k + 2] == 0 && out[4 * k + 3] == 1);
    CHECK(fsr_ilv_decode_planar(&t.view, 8, ROWS, 0, out, len, back) == FSR_OK);
    CHECK(fsr_ilv_decode_planar(&t.view, 16, ROWS, 0, out, len, back) == FSR_ERR_TRUNCATED);
    CHECK(fsr_ilv_encode_planar(&t.view, 4, sym, 1, 1, out, sizeof out, &len) == FSR_ERR_ARGUMENT);
    CHECK(fsr_ilv_encode_planar(&t.view, 8, sym, ROWS + 1, 1, out, sizeof out, &len) == FSR_ERR_INDEX);
    CHECK(fsr_ilv_encode_planar(&t.view, 8, sym, 1, 1, out, 20, &len) == FSR_ERR_BUFFER);
    CHECK(fsr_ilv_encode_planar(&t.view, 8, NULL, 1, 1, out, sizeof out, &len) == FSR_ERR_ARGUMENT);
    CHECK(fsr_ilv_decode_planar(&t.view, 8, 1, 1, NULL, 0, back) == FSR_ERR_ARGUMENT);
    CHECK(fsr_ilv_encode_bound(10, 12) == 0);
    sym[0] = INT32_MIN; /* escape beyond 32 bits with offset > 0 somewhere */
    t.off[0] = 4;
    CHECK(fsr_ilv_encode_planar(&t.view, 8, sym, 1, 1, out, sizeof out, &len) == FSR_ERR_SYMBOL);
    t.cdf[1] = 70000; /* invalid tables */
    CHECK(fsr_ilv_encode_planar(&t.view, 8, sym, 1, 1, out, sizeof out, &len) == FSR_ERR_TABLES);
    CHECK(fsr_ilv_decode_planar(&t.view, 8, 1, 0, out, 32, back) == FSR_ERR_TABLES);
    CHECK(strcmp(fsr_ilv_impl_name(FSR_IMPL_SCALAR), "scalar") == 0);
    CHECK(fsr_ilv_impl_available(FSR_IMPL_SCALAR) && !fsr_ilv_impl_available(99));
}

static void test_damage(void)
{
    static int32_t sym[ROWS * 37], back[ROWS * 37];
    static uint8_t data[ROWS * 37 * 11 + 128];
    tables t;
    size_t len = 0, cut, k, ii;
    uint32_t li;
    make_tables(&t, 16);
    make_latent(&t, sym, ROWS, 37);
    t.view.lookup = t.lookup;
    for (li = 0; li < 3; li++) {
        uint32_t lanes = lane_counts[li];
        CHECK(fsr_ilv_encode_planar(&t.view, lanes, sym, ROWS, 37, data, sizeof data, &len) == FSR_OK);
        for (ii = 0; ii < 3; ii++) {
            int impl = impls[ii];
            if (!fsr_ilv_impl_available(impl))
                continue;
            for (cut = 0; cut < len; cut++)
                CHECK(fsr_ilv_decode_planar_with(impl, &t.view, lanes, ROWS, 37, data, cut, back) != FSR_OK);
            for (k = 0; k < len; k++) {
                int st_ref, st;
                data[k] ^= 0x21;
                st_ref =
                    fsr_ilv_decode_planar_with(FSR_IMPL_SCALAR, &t.view, lanes, ROWS, 37, data, len, back);
                st = fsr_ilv_decode_planar_with(impl, &t.view, lanes, ROWS, 37, data, len, back);
                CHECK(st == st_ref); /* the same verdict on damaged input too */
                data[k] ^= 0x21;
            }
        }
    }
}

/* A lookup that does not belong to the tables: refused or harmless, never wrong symbols. */
static void test_stale_lookup(void)
{
    static int32_t sym[ROWS * 64], back[ROWS * 64];
    static uint8_t data[ROWS * 64 * 11 + 128];
    tables t;
    size_t len = 0, ii, trial;
    make_tables(&t, 16);
    make_latent(&t, sym, ROWS, 64);
    CHECK(fsr_ilv_encode_planar(&t.view, 16, sym, ROWS, 64, data, sizeof data, &len) == FSR_OK);
    t.view.lookup = t.lookup;
    for (trial = 0; trial < 200; trial++) {
        size_t at = rnd() % (ROWS * FSR_LOOKUP_STRIDE);
        uint16_t saved = t.lookup[at];
        t.lookup[at] = (uint16_t)(trial < 100 ? rnd() : (uint32_t)saved + 1u);
        for (ii = 0; ii < 3; ii++) {
            int st;
            if (!fsr_ilv_impl_available(impls[ii]))
                continue;
            st = fsr_ilv_decode_planar_with(impls[ii], &t.view, 16, ROWS, 64, data, len, back);
            CHECK(st == FSR_ERR_TABLES || (st == FSR_OK && memcmp(back, sym, sizeof sym) == 0));
        }
        t.lookup[at] = saved;
    }
}

/* Payload version 2: every implementation here writes the scalar bytes, decodes them, and gives the
 * scalar verdict (and symbols) on every truncation and many byte changes. */
static void test_v2(void)
{
    static int32_t sym[ROWS * 300], back[ROWS * 300], back_ref[ROWS * 300];
    static uint8_t ref[ROWS * 300 * 64 + 4096], out[ROWS * 300 * 64 + 4096];
    static uint32_t mem[1 << 14];
    static const size_t sizes[] = {0, 1, 7, 8, 13, 64, 299};
    static const unsigned precs[] = {16, 14, 12};
    fsr_ilv2_tables q;
    tables t;
    size_t si, pi, li, ii, k;
    for (pi = 0; pi < sizeof precs / sizeof *precs; pi++) {
        make_tables(&t, precs[pi]);
        CHECK(fsr_ilv2_tables_size(&t.view) <= sizeof mem);
        CHECK(fsr_ilv2_tables_build(&t.view, mem, sizeof mem, &q) == FSR_OK);
        for (si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            size_t ps = sizes[si], n = ROWS * ps;
            make_latent(&t, sym, ROWS, ps);
            for (li = 0; li < 3; li++) {
                uint32_t lanes = lane_counts[li];
                size_t cap = fsr_ilv2_encode_bound(n, lanes), ref_len = 0, len = 0;
                CHECK(cap <= sizeof ref);
                CHECK(fsr_ilv2_encode_planar_with(FSR_IMPL_SCALAR, &q, lanes, sym, ROWS, ps, ref, cap,
                                                  &ref_len) == FSR_OK);
                for (ii = 0; ii < 3; ii++) {
                    int impl = impls[ii];
                    if (!fsr_ilv_impl_available(impl))
                        continue;
                    CHECK(fsr_ilv2_encode_planar_with(impl, &q, lanes, sym, ROWS, ps, out, cap, &len) ==
                          FSR_OK);
                    CHECK(len == ref_len && memcmp(out, ref, len) == 0);
                    memset(back, 0, sizeof back);
                    CHECK(fsr_ilv2_decode_planar_with(impl, &q, lanes, ROWS, ps, ref, ref_len, back) ==
                          FSR_OK);
                    CHECK(memcmp(back, sym, n * sizeof *sym) == 0);
                    if (ps != 64)
                        continue;
                    for (k = 0; k < ref_len; k++) { /* truncations and byte changes: the scalar verdict */
                        int st_ref, st;
                        CHECK(fsr_ilv2_decode_planar_with(impl, &q, lanes, ROWS, ps, ref, k, back) != FSR_OK);
                        ref[k] ^= (uint8_t)(1u << (k % 8));
                        st_ref = fsr_ilv2_decode_planar_with(FSR_IMPL_SCALAR, &q, lanes, ROWS, ps, ref,
                                                             ref_len, back_ref);
                        st = fsr_ilv2_decode_planar_with(impl, &q, lanes, ROWS, ps, ref, ref_len, back);
                        CHECK(st == st_ref && (st != FSR_OK || memcmp(back, back_ref, n * sizeof *sym) == 0));
                        ref[k] ^= (uint8_t)(1u << (k % 8));
                    }
                }
            }
        }
    }
}

int main(void)
{
    test_round_trips();
    test_empty_and_errors();
    test_damage();
    test_stale_lookup();
    test_v2();
    printf("interleaved (%s): %d checks, %d failures\n", fsr_ilv_impl_name(FSR_IMPL_AUTO), checks, failures);
    return failures == 0 ? 0 : 1;
}
