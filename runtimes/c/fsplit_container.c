/* fsplit_container.c - stream container (see fsplit_container.h, docs/formats.md). */
#include "fsplit_container.h"

#include "fsplit_hash.h"

#include <string.h>

#define CRC_COVERED_HEADER 32u /* the CRC covers the header up to (not including) itself */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void header_bytes(const fsr_container_header *h, uint8_t out[FSR_CONTAINER_HEADER_SIZE])
{
    memcpy(out, FSR_CONTAINER_MAGIC, 4);
    out[4] = (uint8_t)FSR_CONTAINER_VERSION; /* u16 version */
    out[5] = 0;
    out[6] = 0; /* u16 flags, reserved */
    out[7] = 0;
    memcpy(out + 8, h->table_hash, FSR_CONTAINER_HASH_PREFIX);
    wr32(out + 16, h->channels);
    wr32(out + 20, h->height);
    wr32(out + 24, h->width);
    wr32(out + 28, h->payload_len);
    wr32(out + 32, h->crc32);
}

static uint32_t container_crc(const uint8_t *header, const uint8_t *payload, size_t payload_len)
{
    return fsr_crc32(fsr_crc32(0, header, CRC_COVERED_HEADER), payload, payload_len);
}

int fsr_container_parse(const uint8_t *data, size_t len, fsr_container_header *h,
                        const uint8_t **payload)
{
    if (data == NULL || h == NULL || payload == NULL)
        return FSR_ERR_ARGUMENT;
    if (len < FSR_CONTAINER_HEADER_SIZE)
        return FSR_ERR_TRUNCATED;
    if (memcmp(data, FSR_CONTAINER_MAGIC, 4) != 0)
        return FSR_ERR_FORMAT;
    if ((data[4] | (data[5] << 8)) != FSR_CONTAINER_VERSION || data[6] != 0 || data[7] != 0)
        return FSR_ERR_FORMAT;
    memcpy(h->table_hash, data + 8, FSR_CONTAINER_HASH_PREFIX);
    h->channels = rd32(data + 16);
    h->height = rd32(data + 20);
    h->width = rd32(data + 24);
    h->payload_len = rd32(data + 28);
    h->crc32 = rd32(data + 32);
    if (len - FSR_CONTAINER_HEADER_SIZE < h->payload_len)
        return FSR_ERR_TRUNCATED;
    if (len - FSR_CONTAINER_HEADER_SIZE > h->payload_len)
        return FSR_ERR_FORMAT; /* trailing bytes */
    *payload = data + FSR_CONTAINER_HEADER_SIZE;
    if (container_crc(data, *payload, h->payload_len) != h->crc32)
        return FSR_ERR_CHECKSUM;
    return FSR_OK;
}

int fsr_container_write_header(fsr_container_header *h, const uint8_t *payload,
                               uint8_t out[FSR_CONTAINER_HEADER_SIZE])
{
    if (h == NULL || out == NULL || (payload == NULL && h->payload_len > 0))
        return FSR_ERR_ARGUMENT;
    h->crc32 = 0;
    header_bytes(h, out);
    h->crc32 = container_crc(out, payload, h->payload_len);
    wr32(out + 32, h->crc32);
    return FSR_OK;
}

size_t fsr_latent_encode_bound(size_t num_symbols)
{
    size_t payload = fsr_encode_bound(num_symbols);
    if (payload == 0 || payload > SIZE_MAX - FSR_CONTAINER_HEADER_SIZE)
        return 0;
    return FSR_CONTAINER_HEADER_SIZE + payload;
}

static int check_shape(const fsr_tables *t, uint32_t channels, uint32_t height, uint32_t width)
{
    uint64_t n = (uint64_t)channels * height * width;
    if (channels != t->num_cdfs)
        return FSR_ERR_MISMATCH;
    if ((uint64_t)height * width > FSR_CONTAINER_MAX_SYMBOLS || n > FSR_CONTAINER_MAX_SYMBOLS)
        return FSR_ERR_LIMIT;
    return FSR_OK;
}

int fsr_latent_encode(const fsr_tables *t, const uint8_t content_hash[32], const int32_t *symbols,
                      uint32_t channels, uint32_t height, uint32_t width, uint8_t *out,
                      size_t out_capacity, size_t *out_len)
{
    fsr_container_header h;
    size_t payload_len;
    int st;
    if (t == NULL || content_hash == NULL || out == NULL || out_len == NULL)
        return FSR_ERR_ARGUMENT;
    if ((st = check_shape(t, channels, height, width)) != FSR_OK)
        return st;
    if (out_capacity < FSR_CONTAINER_HEADER_SIZE)
        return FSR_ERR_BUFFER;
    st = fsr_encode_planar(t, symbols, channels, (size_t)height * width,
                           out + FSR_CONTAINER_HEADER_SIZE, out_capacity - FSR_CONTAINER_HEADER_SIZE,
                           &payload_len);
    if (st != FSR_OK)
        return st;
    if (payload_len > UINT32_MAX)
        return FSR_ERR_LIMIT;
    memcpy(h.table_hash, content_hash, FSR_CONTAINER_HASH_PREFIX);
    h.channels = channels;
    h.height = height;
    h.width = width;
    h.payload_len = (uint32_t)payload_len;
    fsr_container_write_header(&h, out + FSR_CONTAINER_HEADER_SIZE, out);
    *out_len = FSR_CONTAINER_HEADER_SIZE + payload_len;
    return FSR_OK;
}

int fsr_latent_decode(const fsr_tables *t, const uint8_t content_hash[32], const uint8_t *data,
                      size_t len, fsr_container_header *h, int32_t *symbols_out,
                      size_t symbols_capacity)
{
    const uint8_t *payload;
    size_t n;
    int st;
    if (t == NULL || content_hash == NULL || h == NULL)
        return FSR_ERR_ARGUMENT;
    if ((st = fsr_container_parse(data, len, h, &payload)) != FSR_OK)
        return st;
    if (memcmp(h->table_hash, content_hash, FSR_CONTAINER_HASH_PREFIX) != 0)
        return FSR_ERR_MISMATCH;
    if ((st = check_shape(t, h->channels, h->height, h->width)) != FSR_OK)
        return st;
    n = (size_t)h->channels * h->height * h->width;
    if (n > symbols_capacity)
        return FSR_ERR_BUFFER;
    return fsr_decode_planar(t, h->channels, (size_t)h->height * h->width, payload, h->payload_len,
                             symbols_out);
}
