/*
 * conformance.c - checks the C coder against runtimes/conformance/vectors.txt:
 * every stream is reproduced byte for byte and decoded back, every rejection case is refused
 * with the expected error code. Usage: conformance [path/to/vectors.txt]. Exit 0 = all pass.
 */
#include "fsplit_container.h"
#include "fsplit_interleaved.h"
#include "fsplit_rans.h"
#include "fsplit_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TABLES 16

typedef struct {
    char name[64];
    fsr_tables view; /* binary search */
    fsr_tables fast; /* same tables with the decoder lookup */
    int32_t *cdf, *length, *offset;
    uint16_t *lookup;
    void *q_mem; /* derived tables of the version 2 interleaved payload (NULL: not representable) */
    fsr_ilv2_tables q;
    uint8_t hash[32];
} table_entry;

typedef struct {
    char *text; /* whole file, NUL-terminated */
    char *cursor;
    const char *dir; /* directory of the vectors file */
} tokenizer;

static int failures = 0, checks = 0;

static void fail(const char *name, const char *what)
{
    fprintf(stderr, "FAIL %s: %s\n", name, what);
    failures++;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = (char *)malloc((size_t)size + 1);
    if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[size] = '\0';
        *len = (size_t)size;
    }
    return buf;
}

/* Next whitespace-separated token; '#' at a token start comments out the rest of the line. */
static char *next_token(tokenizer *tk)
{
    char *p = tk->cursor, *start;
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        if (*p != '#')
            break;
        while (*p != '\0' && *p != '\n')
            p++;
    }
    if (*p == '\0') {
        tk->cursor = p;
        return NULL;
    }
    start = p;
    while (*p != '\0' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
        p++;
    if (*p != '\0')
        *p++ = '\0';
    tk->cursor = p;
    return start;
}

static char *expect_token(tokenizer *tk)
{
    char *t = next_token(tk);
    if (t == NULL) {
        fprintf(stderr, "vectors file ends unexpectedly\n");
        exit(2);
    }
    return t;
}

static long long expect_int(tokenizer *tk)
{
    char *t = expect_token(tk), *end;
    long long v = strtoll(t, &end, 10);
    if (*end != '\0') {
        fprintf(stderr, "expected an integer, got '%s'\n", t);
        exit(2);
    }
    return v;
}

static int32_t *read_ints(tokenizer *tk, size_t n)
{
    int32_t *v = (int32_t *)malloc(n > 0 ? n * sizeof *v : 1);
    size_t i;
    for (i = 0; i < n; i++)
        v[i] = (int32_t)expect_int(tk);
    return v;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static uint8_t *read_hex(tokenizer *tk, size_t *len)
{
    char *t = expect_token(tk);
    size_t n = strcmp(t, "-") == 0 ? 0 : strlen(t), i;
    uint8_t *out = (uint8_t *)malloc(n / 2 + 1);
    if (n % 2 != 0) {
        fprintf(stderr, "odd hex length\n");
        exit(2);
    }
    for (i = 0; i < n / 2; i++) {
        int hi = hex_value(t[2 * i]), lo = hex_value(t[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "bad hex digit\n");
            exit(2);
        }
        out[i] = (uint8_t)(hi * 16 + lo);
    }
    *len = n / 2;
    return out;
}

static int kind_code(const char *kind)
{
    if (strcmp(kind, "truncated") == 0)
        return FSR_ERR_TRUNCATED;
    if (strcmp(kind, "corrupt") == 0)
        return FSR_ERR_CORRUPT;
    if (strcmp(kind, "format") == 0)
        return FSR_ERR_FORMAT;
    if (strcmp(kind, "checksum") == 0)
        return FSR_ERR_CHECKSUM;
    if (strcmp(kind, "mismatch") == 0)
        return FSR_ERR_MISMATCH;
    if (strcmp(kind, "limit") == 0)
        return FSR_ERR_LIMIT;
    fprintf(stderr, "unknown kind '%s'\n", kind);
    exit(2);
}

static void load_table(table_entry *t, const char *dir, const char *rel)
{
    char path[2048];
    size_t dir_len = strlen(dir), rel_len = strlen(rel);
    fsr_tables_file_info info;
    size_t len;
    uint8_t *data;
    int st;
    if (dir_len + rel_len + 2 > sizeof path) {
        fprintf(stderr, "path too long\n");
        exit(2);
    }
    memcpy(path, dir, dir_len);
    path[dir_len] = '/';
    memcpy(path + dir_len + 1, rel, rel_len + 1);
    data = (uint8_t *)read_file(path, &len);
    if (data == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    if ((st = fsr_tables_file_info_read(data, len, &info)) != FSR_OK) {
        fprintf(stderr, "%s: %s\n", path, fsr_strerror(st));
        exit(2);
    }
    t->cdf = (int32_t *)malloc((size_t)info.num_channels * info.max_length * sizeof(int32_t));
    t->length = (int32_t *)malloc(info.num_channels * sizeof(int32_t));
    t->offset = (int32_t *)malloc(info.num_channels * sizeof(int32_t));
    st = fsr_tables_file_read(data, len, t->cdf, (size_t)info.num_channels * info.max_length, t->length,
                              t->offset, info.num_channels, &t->view, t->hash);
    if (st != FSR_OK) {
        fprintf(stderr, "%s: %s\n", path, fsr_strerror(st));
        exit(2);
    }
    t->lookup = (uint16_t *)malloc((size_t)info.num_channels * FSR_LOOKUP_STRIDE * sizeof(uint16_t));
    if (fsr_lookup_build(&t->view, t->lookup, (size_t)info.num_channels * FSR_LOOKUP_STRIDE) != FSR_OK) {
        fprintf(stderr, "%s: cannot build the lookup\n", path);
        exit(2);
    }
    t->fast = t->view;
    t->fast.lookup = t->lookup;
    {
        size_t qsize = fsr_ilv2_tables_size(&t->view);
        t->q_mem = qsize > 0 ? malloc(qsize) : NULL;
        if (t->q_mem != NULL && fsr_ilv2_tables_build(&t->view, t->q_mem, qsize, &t->q) != FSR_OK) {
            free(t->q_mem);
            t->q_mem = NULL;
        }
    }
    /* the writer must reproduce the file byte for byte */
    {
        size_t size = fsr_tables_file_size(&t->view), out_len = 0;
        uint8_t *again = (uint8_t *)malloc(size);
        checks++;
        if (fsr_tables_file_write(&t->view, again, size, &out_len, NULL) != FSR_OK || out_len != len ||
            memcmp(again, data, len) != 0)
            fail(rel, "tables file not reproduced by the writer");
        free(again);
    }
    free(data);
}

static table_entry *find_table(table_entry *tables, int count, const char *name)
{
    int i;
    for (i = 0; i < count; i++)
        if (strcmp(tables[i].name, name) == 0)
            return &tables[i];
    fprintf(stderr, "unknown table '%s'\n", name);
    exit(2);
}

static void check_encode(const char *name, table_entry *t, size_t n, const int32_t *idx, const int32_t *sym,
                         const uint8_t *expected, size_t expected_len)
{
    size_t cap = fsr_encode_bound(n), len = 0;
    uint8_t *out = (uint8_t *)malloc(cap);
    int32_t *back = (int32_t *)malloc(n > 0 ? n * sizeof(int32_t) : 1);
    int st = fsr_encode(&t->view, sym, idx, n, out, cap, &len);
    checks++;
    if (st != FSR_OK)
        fail(name, fsr_strerror(st));
    else if (len != expected_len || memcmp(out, expected, len) != 0)
        fail(name, "encoded bytes differ");
    st = fsr_decode(&t->view, idx, n, expected, expected_len, back);
    checks++;
    if (st != FSR_OK)
        fail(name, fsr_strerror(st));
    else if (n > 0 && memcmp(back, sym, n * sizeof(int32_t)) != 0)
        fail(name, "decoded symbols differ");
    memset(back, 0, n * sizeof(int32_t));
    st = fsr_decode(&t->fast, idx, n, expected, expected_len, back);
    checks++;
    if (st != FSR_OK)
        fail(name, fsr_strerror(st));
    else if (n > 0 && memcmp(back, sym, n * sizeof(int32_t)) != 0)
        fail(name, "decoded symbols differ (with lookup)");
    free(out);
    free(back);
}

static void check_reject(const char *name, table_entry *t, size_t n, const int32_t *idx, const uint8_t *data,
                         size_t len, int expected)
{
    int32_t *back = (int32_t *)malloc(n > 0 ? n * sizeof(int32_t) : 1);
    int st = fsr_decode(&t->view, idx, n, data, len, back),
        st_fast = fsr_decode(&t->fast, idx, n, data, len, back);
    checks += 2;
    if (st != expected || st_fast != expected) {
        char msg[160];
        snprintf(msg, sizeof msg, "expected '%s', got '%s' / '%s' (with lookup)", fsr_strerror(expected),
                 fsr_strerror(st), fsr_strerror(st_fast));
        fail(name, msg);
    }
    free(back);
}

/* An interleaved payload, written and read by every implementation this CPU runs (same bytes). */
static void check_interleaved_impls(const char *name, table_entry *t, uint32_t lanes, uint32_t c,
                                    size_t plane, const int32_t *sym, const uint8_t *payload,
                                    size_t payload_len)
{
    static const int impls[] = {FSR_IMPL_SCALAR, FSR_IMPL_AVX2, FSR_IMPL_NEON};
    size_t n = (size_t)c * plane, cap = fsr_ilv_encode_bound(n, lanes), len = 0, i;
    uint8_t *out = (uint8_t *)malloc(cap);
    int32_t *back = (int32_t *)malloc(n > 0 ? n * sizeof(int32_t) : 1);
    for (i = 0; i < sizeof impls / sizeof *impls; i++) {
        char what[96];
        int st;
        if (!fsr_ilv_impl_available(impls[i]))
            continue;
        snprintf(what, sizeof what, "%s payload differs", fsr_ilv_impl_name(impls[i]));
        st = fsr_ilv_encode_planar_with(impls[i], &t->view, lanes, sym, c, plane, out, cap, &len);
        checks++;
        if (st != FSR_OK || len != payload_len || memcmp(out, payload, len) != 0)
            fail(name, what);
        snprintf(what, sizeof what, "%s decode differs", fsr_ilv_impl_name(impls[i]));
        st = fsr_ilv_decode_planar_with(impls[i], &t->fast, lanes, c, plane, payload, payload_len, back);
        checks++;
        if (st != FSR_OK || (n > 0 && memcmp(back, sym, n * sizeof(int32_t)) != 0))
            fail(name, what);
    }
    free(out);
    free(back);
}

/* A version 2 interleaved payload, written and read by every implementation this CPU runs. */
static void check_ilv2_impls(const char *name, table_entry *t, uint32_t lanes, uint32_t c, size_t plane,
                             const int32_t *sym, const uint8_t *payload, size_t payload_len)
{
    static const int impls[] = {FSR_IMPL_SCALAR, FSR_IMPL_AVX2, FSR_IMPL_NEON};
    size_t n = (size_t)c * plane, cap = fsr_ilv2_encode_bound(n, lanes), len = 0, i;
    uint8_t *out = (uint8_t *)malloc(cap);
    int32_t *back = (int32_t *)malloc(n > 0 ? n * sizeof(int32_t) : 1);
    for (i = 0; i < sizeof impls / sizeof *impls; i++) {
        char what[96];
        int st;
        if (!fsr_ilv_impl_available(impls[i]))
            continue;
        snprintf(what, sizeof what, "%s v2 payload differs", fsr_ilv_impl_name(impls[i]));
        st = fsr_ilv2_encode_planar_with(impls[i], &t->q, lanes, sym, c, plane, out, cap, &len);
        checks++;
        if (st != FSR_OK || len != payload_len || memcmp(out, payload, len) != 0)
            fail(name, what);
        snprintf(what, sizeof what, "%s v2 decode differs", fsr_ilv_impl_name(impls[i]));
        st = fsr_ilv2_decode_planar_with(impls[i], &t->q, lanes, c, plane, payload, payload_len, back);
        checks++;
        if (st != FSR_OK || (n > 0 && memcmp(back, sym, n * sizeof(int32_t)) != 0))
            fail(name, what);
    }
    free(out);
    free(back);
}

static void check_latent(const char *name, table_entry *t, const fsr_stream_format *format, uint32_t c,
                         uint32_t h, uint32_t w, const int32_t *sym, const uint8_t *expected,
                         size_t expected_len)
{
    size_t n = (size_t)c * h * w, cap = fsr_latent_encode_bound(n), len = 0;
    uint8_t *out = (uint8_t *)malloc(cap);
    int32_t *back = (int32_t *)malloc(n > 0 ? n * sizeof(int32_t) : 1);
    fsr_container_header header;
    const fsr_ilv2_tables *q = t->q_mem != NULL ? &t->q : NULL;
    int st = fsr_latent_encode_format2(&t->view, q, t->hash, sym, c, h, w, format, out, cap, &len);
    checks++;
    if (st != FSR_OK)
        fail(name, fsr_strerror(st));
    else if (len != expected_len || memcmp(out, expected, len) != 0)
        fail(name, "container bytes differ");
    st = fsr_latent_decode2(&t->fast, q, t->hash, expected, expected_len, &header, back, n);
    checks++;
    if (st != FSR_OK)
        fail(name, fsr_strerror(st));
    else if (header.channels != c || header.height != h || header.width != w ||
             (n > 0 && memcmp(back, sym, n * sizeof(int32_t)) != 0))
        fail(name, "decoded latent differs");
    else if (header.format.payload_format != format->payload_format || header.format.lanes != format->lanes ||
             header.format.rate_point != format->rate_point)
        fail(name, "header format fields differ");
    if (format->payload_format == FSR_FORMAT_INTERLEAVED && expected_len >= FSR_CONTAINER_HEADER_SIZE)
        check_interleaved_impls(name, t, format->lanes, c, (size_t)h * w, sym,
                                expected + FSR_CONTAINER_HEADER_SIZE,
                                expected_len - FSR_CONTAINER_HEADER_SIZE);
    if (format->payload_format == FSR_FORMAT_INTERLEAVED2 && q != NULL &&
        expected_len >= FSR_CONTAINER_HEADER_SIZE)
        check_ilv2_impls(name, t, format->lanes, c, (size_t)h * w, sym, expected + FSR_CONTAINER_HEADER_SIZE,
                         expected_len - FSR_CONTAINER_HEADER_SIZE);
    free(out);
    free(back);
}

static void check_latent_reject(const char *name, table_entry *t, const uint8_t *data, size_t len,
                                int expected)
{
    fsr_container_header header;
    size_t cap = 1u << 16;
    int32_t *back = (int32_t *)malloc(cap * sizeof(int32_t));
    int st =
        fsr_latent_decode2(&t->view, t->q_mem != NULL ? &t->q : NULL, t->hash, data, len, &header, back, cap);
    checks++;
    if (st != expected) {
        char msg[160];
        snprintf(msg, sizeof msg, "expected '%s', got '%s'", fsr_strerror(expected), fsr_strerror(st));
        fail(name, msg);
    }
    free(back);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "../conformance/vectors.txt";
    char dir[1024], *slash, *tok;
    table_entry tables[MAX_TABLES];
    int num_tables = 0, cases = 0, i;
    size_t len;
    tokenizer tk;

    tk.text = read_file(path, &len);
    if (tk.text == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    tk.cursor = tk.text;
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (strcmp(expect_token(&tk), "fsplit-rans-vectors") != 0 || expect_int(&tk) != 1) {
        fprintf(stderr, "%s: not a version-1 vectors file\n", path);
        return 2;
    }

    while ((tok = expect_token(&tk)) != NULL && strcmp(tok, "end") != 0) {
        char name[128];
        if (strcmp(tok, "table") == 0) {
            if (num_tables == MAX_TABLES)
                return 2;
            snprintf(tables[num_tables].name, sizeof tables[num_tables].name, "%s", expect_token(&tk));
            load_table(&tables[num_tables], dir, expect_token(&tk));
            num_tables++;
            continue;
        }
        snprintf(name, sizeof name, "%s", expect_token(&tk));
        cases++;
        if (strcmp(tok, "encode") == 0 || strcmp(tok, "reject") == 0) {
            table_entry *t = find_table(tables, num_tables, expect_token(&tk));
            size_t n = (size_t)expect_int(&tk);
            int expected = strcmp(tok, "reject") == 0 ? kind_code(expect_token(&tk)) : FSR_OK;
            int32_t *idx = read_ints(&tk, n);
            int32_t *sym = expected == FSR_OK ? read_ints(&tk, n) : NULL;
            size_t data_len;
            uint8_t *data = read_hex(&tk, &data_len);
            if (expected == FSR_OK)
                check_encode(name, t, n, idx, sym, data, data_len);
            else
                check_reject(name, t, n, idx, data, data_len, expected);
            free(idx);
            free(sym);
            free(data);
        } else if (strcmp(tok, "latent") == 0 || strcmp(tok, "stream") == 0) {
            table_entry *t = find_table(tables, num_tables, expect_token(&tk));
            fsr_stream_format format = {FSR_FORMAT_SINGLE, 1, 0};
            uint32_t c, h, w;
            int32_t *sym;
            size_t data_len;
            uint8_t *data;
            if (strcmp(tok, "stream") == 0) { /* stream <table> <format> <lanes> <rate point> C H W */
                const char *fmt = expect_token(&tk);
                format.payload_format = strcmp(fmt, "interleaved2") == 0  ? FSR_FORMAT_INTERLEAVED2
                                        : strcmp(fmt, "interleaved") == 0 ? FSR_FORMAT_INTERLEAVED
                                                                          : FSR_FORMAT_SINGLE;
                format.lanes = (uint32_t)expect_int(&tk);
                format.rate_point = (uint32_t)expect_int(&tk);
            }
            c = (uint32_t)expect_int(&tk);
            h = (uint32_t)expect_int(&tk);
            w = (uint32_t)expect_int(&tk);
            sym = read_ints(&tk, (size_t)c * h * w);
            data = read_hex(&tk, &data_len);
            check_latent(name, t, &format, c, h, w, sym, data, data_len);
            free(sym);
            free(data);
        } else if (strcmp(tok, "latent-reject") == 0) {
            table_entry *t = find_table(tables, num_tables, expect_token(&tk));
            int expected = kind_code(expect_token(&tk));
            size_t data_len;
            uint8_t *data = read_hex(&tk, &data_len);
            check_latent_reject(name, t, data, data_len, expected);
            free(data);
        } else {
            fprintf(stderr, "unknown record '%s'\n", tok);
            return 2;
        }
    }
    for (i = 0; i < num_tables; i++) {
        free(tables[i].cdf);
        free(tables[i].length);
        free(tables[i].offset);
        free(tables[i].lookup);
        free(tables[i].q_mem);
    }
    free(tk.text);
    printf("conformance: %d cases, %d tables, %d checks, %d failures\n", cases, num_tables, checks, failures);
    return failures == 0 && cases > 0 ? 0 : 1;
}
