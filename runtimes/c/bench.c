/*
 * bench.c - timing of the C coder for benchmarks/codec: encodes and decodes one latent many times and
 * prints one JSON line with median ns per symbol and ms per latent.
 *   bench TABLES.fsct SYMBOLS.i32 C H W [SECONDS_PER_PHASE]
 * SYMBOLS.i32 holds C*H*W little-endian int32 symbols in C order. The single stream is timed first,
 * then the interleaved payload for 8, 16 and 32 lanes, scalar and with the SIMD path chosen at run
 * time (checked byte-identical to scalar), then the same for payload version 2 ("interleaved2" list;
 * derived 14-bit tables built once beforehand), all phases in one process.
 */
#define _POSIX_C_SOURCE 199309L
#include "fsplit_interleaved.h"
#include "fsplit_interleaved2.h"
#include "fsplit_rans.h"
#include "fsplit_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SAMPLES 65536

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (uint8_t *)malloc((size_t)size + 1);
        if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)size;
    }
    if (f != NULL)
        fclose(f);
    return buf;
}

typedef struct {
    const fsr_tables *t;
    const int32_t *symbols;
    int32_t *decoded;
    uint32_t channels;
    size_t plane, cap, len;
    uint8_t *stream;
    uint32_t lanes;
    int impl;
    const fsr_ilv2_tables *q;
    const fsr_eentry *et;
} job;

static int run_encode(job *j)
{
    return fsr_encode_planar(j->t, j->symbols, j->channels, j->plane, j->stream, j->cap, &j->len);
}

static int run_encode_trusted(job *j)
{
    return fsr_encode_planar_trusted(j->t, j->et, j->symbols, j->channels, j->plane, j->stream, j->cap,
                                     &j->len);
}

static int run_decode(job *j)
{
    return fsr_decode_planar(j->t, j->channels, j->plane, j->stream, j->len, j->decoded);
}

static int run_ilv_encode(job *j)
{
    return fsr_ilv_encode_planar_with(j->impl, j->t, j->lanes, j->symbols, j->channels, j->plane, j->stream,
                                      j->cap, &j->len);
}

static int run_ilv_decode(job *j)
{
    return fsr_ilv_decode_planar_with(j->impl, j->t, j->lanes, j->channels, j->plane, j->stream, j->len,
                                      j->decoded);
}

static double time_phase(job *j, int (*body)(job *), double seconds, double *samples, long *runs);

static int run_ilv2_encode(job *j)
{
    return fsr_ilv2_encode_planar_with(j->impl, j->q, j->lanes, j->symbols, j->channels, j->plane, j->stream,
                                       j->cap, &j->len);
}

static int run_ilv2_decode(job *j)
{
    return fsr_ilv2_decode_planar_with(j->impl, j->q, j->lanes, j->channels, j->plane, j->stream, j->len,
                                       j->decoded);
}

/* Times the interleaved payload (version 1 or 2) at 8, 16 and 32 lanes, scalar and the SIMD path chosen at
 * run time (checked byte-identical to scalar), printing a JSON list; 0 on success. */
static int time_interleaved(job *j, int version, size_t n, double seconds, double *samples)
{
    static const uint32_t lane_counts[] = {8, 16, 32};
    const int impls[] = {FSR_IMPL_SCALAR, fsr_ilv_impl_auto()};
    int (*enc_body)(job *) = version == 2 ? run_ilv2_encode : run_ilv_encode;
    int (*dec_body)(job *) = version == 2 ? run_ilv2_decode : run_ilv_decode;
    size_t bound = version == 2 ? fsr_ilv2_encode_bound(n, 32) : fsr_ilv_encode_bound(n, 32);
    uint8_t *ref = (uint8_t *)malloc(bound);
    size_t li, ii, ref_len = 0;
    long enc_runs, dec_runs;
    double enc, dec;
    int first = 1;
    if (ref == NULL)
        return 3;
    printf("[");
    for (li = 0; li < 3; li++) {
        j->lanes = lane_counts[li];
        j->cap = version == 2 ? fsr_ilv2_encode_bound(n, j->lanes) : fsr_ilv_encode_bound(n, j->lanes);
        for (ii = 0; ii < 2; ii++) {
            j->impl = impls[ii];
            if (ii == 1 && impls[1] == FSR_IMPL_SCALAR)
                break;
            if (enc_body(j) != FSR_OK || dec_body(j) != FSR_OK ||
                memcmp(j->decoded, j->symbols, n * 4) != 0) {
                fprintf(stderr, "interleaved (version %d) round trip failed\n", version);
                return 3;
            }
            if (ii == 0) {
                memcpy(ref, j->stream, j->len);
                ref_len = j->len;
            } else if (j->len != ref_len || memcmp(ref, j->stream, j->len) != 0) {
                fprintf(stderr, "SIMD stream (version %d) differs from scalar\n", version);
                return 3;
            }
            enc = time_phase(j, enc_body, seconds, samples, &enc_runs);
            dec = time_phase(j, dec_body, seconds, samples, &dec_runs);
            printf("%s{\"lanes\": %u, \"impl\": \"%s\", \"payload_bytes\": %zu, "
                   "\"encode_ns_per_symbol\": %.4f, \"decode_ns_per_symbol\": %.4f, "
                   "\"encode_ms\": %.5f, \"decode_ms\": %.5f, \"encode_runs\": %ld, \"decode_runs\": %ld}",
                   first ? "" : ", ", j->lanes, fsr_ilv_impl_name(j->impl), j->len, enc / (double)n,
                   dec / (double)n, enc / 1e6, dec / 1e6, enc_runs, dec_runs);
            first = 0;
        }
    }
    printf("]");
    free(ref);
    return 0;
}

/* Warm up for 0.3 s, then time runs for `seconds`; returns the median ns per run. */
static double time_phase(job *j, int (*body)(job *), double seconds, double *samples, long *runs)
{
    double end = now_ns() + 0.3e9;
    long count = 0;
    while (now_ns() < end)
        if (body(j) != FSR_OK)
            exit(3);
    end = now_ns() + seconds * 1e9;
    while (count < MAX_SAMPLES && (count < 5 || now_ns() < end)) {
        double t0 = now_ns();
        if (body(j) != FSR_OK)
            exit(3);
        samples[count++] = now_ns() - t0;
    }
    qsort(samples, (size_t)count, sizeof(double), compare_double);
    *runs = count;
    return samples[count / 2];
}

int main(int argc, char **argv)
{
    fsr_tables_file_info info;
    fsr_tables t;
    job j;
    size_t tables_len, sym_len, n;
    uint8_t *tables_file, *sym_file;
    int32_t *cdf, *lengths, *offsets;
    double seconds, enc, enc_trusted, dec, dec_search, *samples;
    long enc_runs, dec_runs, search_runs, trusted_runs;
    uint16_t *lookup;
    uint32_t h, w;
    size_t i;

    if (argc < 6) {
        fprintf(stderr, "usage: bench TABLES.fsct SYMBOLS.i32 C H W [SECONDS_PER_PHASE]\n");
        return 2;
    }
    seconds = argc > 6 ? atof(argv[6]) : 2.0;
    tables_file = read_all(argv[1], &tables_len);
    sym_file = read_all(argv[2], &sym_len);
    if (tables_file == NULL || sym_file == NULL ||
        fsr_tables_file_info_read(tables_file, tables_len, &info) != FSR_OK) {
        fprintf(stderr, "cannot read inputs\n");
        return 2;
    }
    cdf = (int32_t *)malloc((size_t)info.num_channels * info.max_length * sizeof(int32_t));
    lengths = (int32_t *)malloc(info.num_channels * sizeof(int32_t));
    offsets = (int32_t *)malloc(info.num_channels * sizeof(int32_t));
    if (fsr_tables_file_read(tables_file, tables_len, cdf, (size_t)info.num_channels * info.max_length,
                             lengths, offsets, info.num_channels, &t, NULL) != FSR_OK) {
        fprintf(stderr, "bad tables file\n");
        return 2;
    }
    j.channels = (uint32_t)atol(argv[3]);
    h = (uint32_t)atol(argv[4]);
    w = (uint32_t)atol(argv[5]);
    j.plane = (size_t)h * w;
    n = j.channels * j.plane;
    if (sym_len != 4 * n) {
        fprintf(stderr, "symbols file holds %zu symbols, expected %zu\n", sym_len / 4, n);
        return 2;
    }
    j.t = &t;
    j.symbols = (const int32_t *)malloc(n * sizeof(int32_t));
    for (i = 0; i < n; i++) { /* little-endian file to host order */
        const uint8_t *p = sym_file + 4 * i;
        ((int32_t *)j.symbols)[i] =
            (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    }
    j.decoded = (int32_t *)malloc(n * sizeof(int32_t));
    j.cap = fsr_encode_bound(n);
    j.stream = (uint8_t *)malloc(j.cap);
    samples = (double *)malloc(MAX_SAMPLES * sizeof(double));
    if (run_encode(&j) != FSR_OK || run_decode(&j) != FSR_OK || memcmp(j.decoded, j.symbols, n * 4) != 0) {
        fprintf(stderr, "round trip failed\n");
        return 3;
    }
    enc = time_phase(&j, run_encode, seconds, samples, &enc_runs);
    { /* the trusted encoder: reciprocals instead of the division, the same bytes */
        size_t entries = fsr_etable_entries(&t), ref_len = j.len;
        uint8_t *ref = (uint8_t *)malloc(ref_len);
        fsr_eentry *et = (fsr_eentry *)malloc(entries * sizeof(fsr_eentry));
        memcpy(ref, j.stream, ref_len);
        if (et == NULL || fsr_etable_build(&t, et, entries) != FSR_OK) {
            fprintf(stderr, "cannot build the encoder table\n");
            return 3;
        }
        j.et = et;
        if (run_encode_trusted(&j) != FSR_OK || j.len != ref_len || memcmp(j.stream, ref, ref_len) != 0) {
            fprintf(stderr, "trusted encoder bytes differ\n");
            return 3;
        }
        enc_trusted = time_phase(&j, run_encode_trusted, seconds, samples, &trusted_runs);
        free(ref);
    }
    dec_search = time_phase(&j, run_decode, seconds, samples, &search_runs); /* binary search only */
    lookup = (uint16_t *)malloc((size_t)t.num_cdfs * FSR_LOOKUP_STRIDE * sizeof(uint16_t));
    if (fsr_lookup_build(&t, lookup, (size_t)t.num_cdfs * FSR_LOOKUP_STRIDE) != FSR_OK)
        return 3;
    t.lookup = lookup;
    dec = time_phase(&j, run_decode, seconds, samples, &dec_runs);
    printf("{\"symbols\": %zu, \"payload_bytes\": %zu, \"encode_ms\": %.5f, \"decode_ms\": %.5f, "
           "\"encode_ns_per_symbol\": %.4f, \"decode_ns_per_symbol\": %.4f, \"encode_runs\": %ld, "
           "\"decode_runs\": %ld, \"decode_no_lookup_ns_per_symbol\": %.4f, \"simd\": \"%s\", "
           "\"encode_trusted_ms\": %.5f, \"encode_trusted_runs\": %ld, \"interleaved\": ",
           n, j.len, enc / 1e6, dec / 1e6, enc / (double)n, dec / (double)n, enc_runs, dec_runs,
           dec_search / (double)n, fsr_ilv_impl_name(FSR_IMPL_AUTO), enc_trusted / 1e6, trusted_runs);
    if (time_interleaved(&j, 1, n, seconds, samples) != 0)
        return 3;
    {
        size_t q_size = fsr_ilv2_tables_size(&t);
        void *q_mem = q_size > 0 ? malloc(q_size) : NULL;
        fsr_ilv2_tables q;
        if (q_mem == NULL || fsr_ilv2_tables_build(&t, q_mem, q_size, &q) != FSR_OK) {
            fprintf(stderr, "cannot build the version 2 tables\n");
            return 3;
        }
        j.q = &q;
        printf(", \"interleaved2\": ");
        if (time_interleaved(&j, 2, n, seconds, samples) != 0)
            return 3;
        free(q_mem);
    }
    printf("}\n");
    return 0;
}
