/* fsplit_container.c - stream container (see fsplit_container.h, docs/formats.md). */
#include "fsplit_container.h"

#include "fsplit_hash.h"
#include "fsplit_interleaved.h"

#include <string.h>

#define CRC_COVERED_HEADER 32u /* the CRC covers the header up to (not including) itself */
#define FLAGS_FORMAT_MASK 0x3u
#define FLAGS_RESERVED_MASK 0xCu
#define FLAGS_LANES_SHIFT 4u
#define FLAGS_LANES_MASK 0xF0u
#define FLAGS_RATE_SHIFT 8u

static int interleaved_lanes_supported(uint32_t lanes)
{
    return lanes == 8 || lanes == 16 || lanes == 32;
}

static unsigned log2_u32(uint32_t v)
{
    unsigned k = 0;
    while (v > 1) {
        v >>= 1;
        k++;
    }
    return k;
}

int fsr_container_flags(const fsr_stream_format *f, uint16_t *flags)
{
    if (f == NULL || flags == NULL || f->rate_point > FSR_MAX_RATE_POINT)
        return FSR_ERR_ARGUMENT;
    if (f->payload_format == FSR_FORMAT_SINGLE) {
        if (f->lanes != 1)
            return FSR_ERR_ARGUMENT;
    } else if (f->payload_format == FSR_FORMAT_INTERLEAVED || f->payload_format == FSR_FORMAT_INTERLEAVED2) {
        if (!interleaved_lanes_supported(f->lanes))
            return FSR_ERR_ARGUMENT;
    } else {
        return FSR_ERR_ARGUMENT;
    }
    *flags = (uint16_t)(f->payload_format | (log2_u32(f->lanes) << FLAGS_LANES_SHIFT) |
                        (f->rate_point << FLAGS_RATE_SHIFT));
    return FSR_OK;
}

int fsr_container_parse_flags(uint16_t version, uint16_t flags, fsr_stream_format *f, const char **problem)
{
    const char *why = "";
    unsigned log2_lanes = (flags & FLAGS_LANES_MASK) >> FLAGS_LANES_SHIFT;
    if (f == NULL)
        return FSR_ERR_ARGUMENT;
    f->payload_format = flags & FLAGS_FORMAT_MASK;
    f->lanes = UINT32_C(1) << log2_lanes;
    f->rate_point = (uint32_t)flags >> FLAGS_RATE_SHIFT;
    if (version != FSR_CONTAINER_VERSION && version != FSR_CONTAINER_VERSION_FLAGS)
        why = "unsupported container version";
    else if (version == FSR_CONTAINER_VERSION && flags != 0)
        why = "unknown container flags (version 1 defines none)";
    else if (version == FSR_CONTAINER_VERSION_FLAGS && flags == 0)
        why = "container version 2 with flags 0 (such a stream is written as version 1)";
    else if (f->payload_format != FSR_FORMAT_SINGLE && f->payload_format != FSR_FORMAT_INTERLEAVED &&
             f->payload_format != FSR_FORMAT_INTERLEAVED2)
        why = "unknown container flags: payload format (bits 0-1)";
    else if ((flags & FLAGS_RESERVED_MASK) != 0)
        why = "unknown container flags: reserved bits 2-3 set";
    else if (f->payload_format == FSR_FORMAT_SINGLE && log2_lanes != 0)
        why = "unknown container flags: lanes (bits 4-7) must be 0 for the single stream";
    else if (f->payload_format != FSR_FORMAT_SINGLE && !interleaved_lanes_supported(f->lanes))
        why = "unknown container flags: unsupported interleaved lane count (bits 4-7)";
    if (problem != NULL)
        *problem = why;
    return why[0] == '\0' ? FSR_OK : FSR_ERR_FORMAT;
}

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

static void header_bytes(const fsr_container_header *h, uint16_t flags,
                         uint8_t out[FSR_CONTAINER_HEADER_SIZE])
{
    memcpy(out, FSR_CONTAINER_MAGIC, 4);
    out[4] = (uint8_t)h->version; /* u16 version */
    out[5] = (uint8_t)(h->version >> 8);
    out[6] = (uint8_t)flags; /* u16 flags */
    out[7] = (uint8_t)(flags >> 8);
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

int fsr_container_parse(const uint8_t *data, size_t len, fsr_container_header *h, const uint8_t **payload)
{
    if (data == NULL || h == NULL || payload == NULL)
        return FSR_ERR_ARGUMENT;
    if (len < FSR_CONTAINER_HEADER_SIZE)
        return FSR_ERR_TRUNCATED;
    if (memcmp(data, FSR_CONTAINER_MAGIC, 4) != 0)
        return FSR_ERR_FORMAT;
    h->version = (uint32_t)data[4] | ((uint32_t)data[5] << 8);
    if (fsr_container_parse_flags((uint16_t)h->version, (uint16_t)(data[6] | (data[7] << 8)), &h->format,
                                  NULL) != FSR_OK)
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
    uint16_t flags;
    if (h == NULL || out == NULL || (payload == NULL && h->payload_len > 0))
        return FSR_ERR_ARGUMENT;
    if (fsr_container_flags(&h->format, &flags) != FSR_OK)
        return FSR_ERR_ARGUMENT;
    h->version = flags == 0 ? FSR_CONTAINER_VERSION : FSR_CONTAINER_VERSION_FLAGS;
    h->crc32 = 0;
    header_bytes(h, flags, out);
    h->crc32 = container_crc(out, payload, h->payload_len);
    wr32(out + 32, h->crc32);
    return FSR_OK;
}

size_t fsr_latent_encode_bound(size_t num_symbols)
{
    /* the single stream's bound (4 * (2 + 10 n)) covers the interleaved one (4 * 32 + 11 n) for n >= 4;
     * the larger of the two covers both formats for every n */
    size_t payload = fsr_encode_bound(num_symbols), ilv = fsr_ilv_encode_bound(num_symbols, 32);
    size_t ilv2 = fsr_ilv2_encode_bound(num_symbols, 32);
    if (ilv == 0 || payload == 0 || ilv2 == 0)
        return 0;
    if (ilv > payload)
        payload = ilv;
    if (ilv2 > payload)
        payload = ilv2;
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
                      uint32_t channels, uint32_t height, uint32_t width, uint8_t *out, size_t out_capacity,
                      size_t *out_len)
{
    return fsr_latent_encode_format(t, content_hash, symbols, channels, height, width, NULL, out,
                                    out_capacity, out_len);
}

int fsr_latent_encode_format(const fsr_tables *t, const uint8_t content_hash[32], const int32_t *symbols,
                             uint32_t channels, uint32_t height, uint32_t width,
                             const fsr_stream_format *format, uint8_t *out, size_t out_capacity,
                             size_t *out_len)
{
    return fsr_latent_encode_format2(t, NULL, content_hash, symbols, channels, height, width, format, out,
                                     out_capacity, out_len);
}

int fsr_latent_encode_format2(const fsr_tables *t, const fsr_ilv2_tables *q, const uint8_t content_hash[32],
                              const int32_t *symbols, uint32_t channels, uint32_t height, uint32_t width,
                              const fsr_stream_format *format, uint8_t *out, size_t out_capacity,
                              size_t *out_len)
{
    return fsr_latent_encode_trusted(t, NULL, q, content_hash, symbols, channels, height, width, format, out,
                                     out_capacity, out_len);
}

int fsr_latent_encode_trusted(const fsr_tables *t, const fsr_eentry *et, const fsr_ilv2_tables *q,
                              const uint8_t content_hash[32], const int32_t *symbols, uint32_t channels,
                              uint32_t height, uint32_t width, const fsr_stream_format *format, uint8_t *out,
                              size_t out_capacity, size_t *out_len)
{
    static const fsr_stream_format single = {FSR_FORMAT_SINGLE, 1, 0};
    fsr_container_header h;
    size_t payload_len;
    uint16_t flags;
    int st;
    if (t == NULL || content_hash == NULL || out == NULL || out_len == NULL)
        return FSR_ERR_ARGUMENT;
    if (format == NULL)
        format = &single;
    if (fsr_container_flags(format, &flags) != FSR_OK)
        return FSR_ERR_ARGUMENT;

    if ((st = check_shape(t, channels, height, width)) != FSR_OK)
        return st;
    if (out_capacity < FSR_CONTAINER_HEADER_SIZE)
        return FSR_ERR_BUFFER;
    if (format->payload_format == FSR_FORMAT_INTERLEAVED2 && q == NULL)
        return FSR_ERR_ARGUMENT;
    if (format->payload_format == FSR_FORMAT_INTERLEAVED2)
        st = fsr_ilv2_encode_planar_with(FSR_IMPL_AUTO, q, format->lanes, symbols, channels,
                                         (size_t)height * width, out + FSR_CONTAINER_HEADER_SIZE,
                                         out_capacity - FSR_CONTAINER_HEADER_SIZE, &payload_len);
    else if (format->payload_format == FSR_FORMAT_INTERLEAVED)
        st = fsr_ilv_encode_planar(t, format->lanes, symbols, channels, (size_t)height * width,
                                   out + FSR_CONTAINER_HEADER_SIZE, out_capacity - FSR_CONTAINER_HEADER_SIZE,
                                   &payload_len);
    else if (et != NULL)
        st = fsr_encode_planar_trusted(t, et, symbols, channels, (size_t)height * width,
                                       out + FSR_CONTAINER_HEADER_SIZE,
                                       out_capacity - FSR_CONTAINER_HEADER_SIZE, &payload_len);
    else
        st = fsr_encode_planar(t, symbols, channels, (size_t)height * width, out + FSR_CONTAINER_HEADER_SIZE,
                               out_capacity - FSR_CONTAINER_HEADER_SIZE, &payload_len);
    if (st != FSR_OK)
        return st;
    if (payload_len > UINT32_MAX)
        return FSR_ERR_LIMIT;
    h.format = *format;
    memcpy(h.table_hash, content_hash, FSR_CONTAINER_HASH_PREFIX);
    h.channels = channels;
    h.height = height;
    h.width = width;
    h.payload_len = (uint32_t)payload_len;
    fsr_container_write_header(&h, out + FSR_CONTAINER_HEADER_SIZE, out);
    *out_len = FSR_CONTAINER_HEADER_SIZE + payload_len;
    return FSR_OK;
}

int fsr_latent_decode(const fsr_tables *t, const uint8_t content_hash[32], const uint8_t *data, size_t len,
                      fsr_container_header *h, int32_t *symbols_out, size_t symbols_capacity)
{
    return fsr_latent_decode2(t, NULL, content_hash, data, len, h, symbols_out, symbols_capacity);
}

int fsr_latent_decode2(const fsr_tables *t, const fsr_ilv2_tables *q, const uint8_t content_hash[32],
                       const uint8_t *data, size_t len, fsr_container_header *h, int32_t *symbols_out,
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
    if (h->format.payload_format == FSR_FORMAT_INTERLEAVED2)
        return q == NULL ? FSR_ERR_ARGUMENT
                         : fsr_ilv2_decode_planar_with(FSR_IMPL_AUTO, q, h->format.lanes, h->channels,
                                                       (size_t)h->height * h->width, payload, h->payload_len,
                                                       symbols_out);
    if (h->format.payload_format == FSR_FORMAT_INTERLEAVED)
        return fsr_ilv_decode_planar(t, h->format.lanes, h->channels, (size_t)h->height * h->width, payload,
                                     h->payload_len, symbols_out);
    return fsr_decode_planar(t, h->channels, (size_t)h->height * h->width, payload, h->payload_len,
                             symbols_out);
}
