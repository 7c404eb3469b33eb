/* fsplit_tables.c - codec tables file reader/writer (see fsplit_tables.h, docs/formats.md). */
#include "fsplit_tables.h"

#include "fsplit_hash.h"

#include <string.h>

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void sha256_of(const uint8_t *data, size_t len, uint8_t digest[32])
{
    fsr_sha256 s;
    fsr_sha256_init(&s);
    fsr_sha256_update(&s, data, len);
    fsr_sha256_final(&s, digest);
}

int fsr_tables_file_info_read(const uint8_t *data, size_t len, fsr_tables_file_info *info)
{
    if (data == NULL || info == NULL)
        return FSR_ERR_ARGUMENT;
    if (len < FSR_TABLES_HEADER_SIZE + FSR_TABLES_HASH_SIZE)
        return FSR_ERR_TRUNCATED;
    if (memcmp(data, FSR_TABLES_MAGIC, 4) != 0)
        return FSR_ERR_FORMAT;
    info->version = rd16(data + 4);
    info->precision = rd16(data + 6);
    info->num_channels = rd32(data + 8);
    info->max_length = rd32(data + 12);
    if (info->version != FSR_TABLES_VERSION)
        return FSR_ERR_FORMAT;
    if (info->precision < 1 || info->precision > FSR_MAX_PRECISION)
        return FSR_ERR_FORMAT;
    if (info->num_channels < 1 || info->num_channels > FSR_TABLES_MAX_CHANNELS)
        return FSR_ERR_FORMAT;
    if (info->max_length < 2 || info->max_length > (UINT32_C(1) << info->precision) + 1)
        return FSR_ERR_FORMAT;
    if ((uint64_t)info->num_channels * info->max_length > FSR_TABLES_MAX_ENTRIES)
        return FSR_ERR_LIMIT;
    return FSR_OK;
}

int fsr_tables_file_read(const uint8_t *data, size_t len, int32_t *cdf, size_t cdf_capacity,
                         int32_t *cdf_length, int32_t *offset, size_t channels_capacity, fsr_tables *view,
                         uint8_t content_hash[32])
{
    fsr_tables_file_info info;
    uint8_t digest[32];
    const uint8_t *p, *body_end;
    uint32_t c, k, longest = 0;
    int st = fsr_tables_file_info_read(data, len, &info);
    if (st != FSR_OK)
        return st;
    if (cdf == NULL || cdf_length == NULL || offset == NULL || view == NULL)
        return FSR_ERR_ARGUMENT;
    if (channels_capacity < info.num_channels || cdf_capacity < (size_t)info.num_channels * info.max_length)
        return FSR_ERR_BUFFER;

    p = data + FSR_TABLES_HEADER_SIZE;
    body_end = data + len - FSR_TABLES_HASH_SIZE;
    for (c = 0; c < info.num_channels; c++) {
        int32_t *row = cdf + (size_t)c * info.max_length;
        uint32_t n;
        if (body_end - p < 8)
            return FSR_ERR_TRUNCATED;
        offset[c] = (int32_t)rd32(p);
        n = rd32(p + 4);
        p += 8;
        if (n < 2 || n > info.max_length)
            return FSR_ERR_FORMAT;
        if ((size_t)(body_end - p) / 4 < n)
            return FSR_ERR_TRUNCATED;
        for (k = 0; k < n; k++)
            row[k] = (int32_t)rd32(p + 4 * (size_t)k);
        for (; k < info.max_length; k++)
            row[k] = 0;
        cdf_length[c] = (int32_t)n;
        if (n > longest)
            longest = n;
        p += 4 * (size_t)n;
    }
    if (p != body_end)
        return FSR_ERR_FORMAT; /* bytes left between the last channel and the hash */
    if (longest != info.max_length)
        return FSR_ERR_FORMAT;
    sha256_of(data, len - FSR_TABLES_HASH_SIZE, digest);
    if (memcmp(digest, body_end, 32) != 0)
        return FSR_ERR_CHECKSUM;

    view->cdf = cdf;
    view->cdf_stride = info.max_length;
    view->cdf_length = cdf_length;
    view->offset = offset;
    view->num_cdfs = info.num_channels;
    view->precision = info.precision;
    view->lookup = NULL;
    if ((st = fsr_tables_check(view)) != FSR_OK)
        return st;
    if (content_hash != NULL)
        memcpy(content_hash, digest, 32);
    return FSR_OK;
}

size_t fsr_tables_file_size(const fsr_tables *t)
{
    size_t size = FSR_TABLES_HEADER_SIZE + FSR_TABLES_HASH_SIZE;
    uint32_t c;
    if (fsr_tables_check(t) != FSR_OK || t->num_cdfs > FSR_TABLES_MAX_CHANNELS)
        return 0;
    for (c = 0; c < t->num_cdfs; c++)
        size += 8 + 4 * (size_t)t->cdf_length[c];
    return size;
}

int fsr_tables_file_write(const fsr_tables *t, uint8_t *out, size_t out_capacity, size_t *out_len,
                          uint8_t content_hash[32])
{
    size_t size = fsr_tables_file_size(t);
    uint32_t c, k, longest = 0;
    uint8_t *p;
    if (size == 0)
        return t == NULL ? FSR_ERR_ARGUMENT : FSR_ERR_TABLES;
    if (out == NULL || out_len == NULL)
        return FSR_ERR_ARGUMENT;
    if (out_capacity < size)
        return FSR_ERR_BUFFER;
    for (c = 0; c < t->num_cdfs; c++)
        if ((uint32_t)t->cdf_length[c] > longest)
            longest = (uint32_t)t->cdf_length[c];
    if ((uint64_t)t->num_cdfs * longest > FSR_TABLES_MAX_ENTRIES)
        return FSR_ERR_LIMIT;

    memcpy(out, FSR_TABLES_MAGIC, 4);
    wr16(out + 4, FSR_TABLES_VERSION);
    wr16(out + 6, t->precision);
    wr32(out + 8, t->num_cdfs);
    wr32(out + 12, longest);
    p = out + FSR_TABLES_HEADER_SIZE;
    for (c = 0; c < t->num_cdfs; c++) {
        const int32_t *row = t->cdf + (size_t)c * t->cdf_stride;
        wr32(p, (uint32_t)t->offset[c]);
        wr32(p + 4, (uint32_t)t->cdf_length[c]);
        p += 8;
        for (k = 0; k < (uint32_t)t->cdf_length[c]; k++, p += 4)
            wr32(p, (uint32_t)row[k]);
    }
    sha256_of(out, size - FSR_TABLES_HASH_SIZE, p);
    if (content_hash != NULL)
        memcpy(content_hash, p, 32);
    *out_len = size;
    return FSR_OK;
}
